/**
 * The one interface between the launcher's commands (up, down, status, stop/start/restart a
 * node: cluster.ts) and the two ways its nodes run: JVMs from Maven Central jars
 * (jvm_nodes.ts) and Docker containers (docker.ts). The commands take the lock, read and write
 * the state file and decide what to do; a backend only does it for its kind of node.
 *
 * @module
 */

import type { ClusterLayout } from "./config.ts";
import type { Progress } from "./progress.ts";
import type { ClusterState, LaunchMode, NodeState } from "./state.ts";

/**
 * How long to wait for nodes to answer, and where to say so meanwhile.
 *
 * @example
 * ```ts
 * import type { WaitOptions } from "./node_backend.ts";
 * const w: WaitOptions = { progress: console.error, timeoutMs: 120_000 };
 * console.log(w.timeoutMs);
 * ```
 */
export interface WaitOptions {
  /** Where progress lines go. */
  progress: Progress;
  /** Give up (a `LauncherError`) after this long. */
  timeoutMs: number;
}

/**
 * Starts, stops and checks the nodes of one kind (JVMs or containers).
 *
 * @example
 * ```ts
 * import type { NodeBackend } from "./node_backend.ts";
 * import { jvmNodes } from "./jvm_nodes.ts";
 * const backend: NodeBackend = jvmNodes;
 * console.log(backend.mode); // jars
 * ```
 */
export interface NodeBackend {
  /** The `mode` recorded in the state file of the clusters it runs. */
  readonly mode: LaunchMode;
  /**
   * Starts a fresh cluster and waits until every node answers on every listener and the
   * metadata lists them all. Returns its state (written to the state file, `ready` still
   * false: marking it ready is the caller's).
   */
  startCluster(layout: ClusterLayout, version: string, wait: WaitOptions): Promise<ClusterState>;
  /** Stops every node of a cluster (removing the state file is the caller's). */
  stopCluster(state: ClusterState, progress: Progress): Promise<void>;
  /**
   * Stops one node, keeping its data. `timeoutMs` bounds a graceful stop where the backend
   * owns one (the JVM is then killed); `state` is updated, not written.
   */
  stopNode(state: ClusterState, node: NodeState, timeoutMs: number): Promise<void>;
  /**
   * Starts a stopped node again (same data, same ports) and waits until it answers and the
   * metadata lists every running node. A node that is still running is left alone.
   */
  startNode(state: ClusterState, node: NodeState, wait: WaitOptions): Promise<void>;
  /** Whether a node's process is up (cheap, no network; not whether it answers). */
  isAlive(node: NodeState): boolean;
  /**
   * Whether a node has finished starting, judged by what it logged after byte `logOffset` of
   * its log (a `LauncherError` when it died meanwhile). A JVM's log says when its server has
   * started; a container has no log on the host, so there only the listeners count.
   */
  hasStarted(node: NodeState, logOffset: number): Promise<boolean>;
}
