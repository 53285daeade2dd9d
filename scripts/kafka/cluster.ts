/**
 * The launcher's commands: start, reuse, inspect and stop the test bed's Kafka clusters, and
 * stop/start/restart single nodes (for broker-restart and failover tests).
 *
 * Two clusters can run side by side: `single` (1 combined KRaft node, ports 9092-9095) and
 * `trio` (3 combined nodes: 19092-19095, 20092-20095, 21092-21095; all below the ephemeral port
 * range, see ports.ts). A broker is found in this order: an existing one we started (state file
 * + live pid + answering port), else Docker (`docker info` works and `KAFKA_LAUNCHER` is not
 * `jars`), else Kafka assembled from Maven Central jars.
 * (`KAFKA_BROKERS`, an external cluster, is handled by the CLI and tests/helpers/broker.ts.)
 *
 * Each command takes the cluster's lock and keeps the state file (state.ts); what it does to
 * the nodes goes through a {@linkcode NodeBackend}: JVMs (jvm_nodes.ts) or containers
 * (docker.ts), picked by the state's `mode`.
 *
 * Every call awaits its child processes and closes its files, so it is safe inside `deno test`.
 *
 * @module
 */

import {
  type ClusterLayout,
  clusterLayout,
  type ClusterName,
  type LayoutOptions,
  type NodeCount,
} from "./config.ts";
import { dockerAvailable, dockerNodes } from "./docker.ts";
import { LauncherError } from "./errors.ts";
import { jvmNodes } from "./jvm_nodes.ts";
import type { NodeBackend } from "./node_backend.ts";
import { checkPortsOutsideEphemeral } from "./ports.ts";
import { hostPort, probeApiVersions } from "./process.ts";
import { type Progress, stderrProgress } from "./progress.ts";
import { nodeAnswers } from "./readiness.ts";
import { ensureScramUsers } from "./scram_users.ts";
import {
  type ClusterState,
  type LaunchMode,
  readState,
  removeLock,
  removeState,
  requireNode,
  requireState,
  withLock,
  writeState,
} from "./state.ts";
import { kafkaVersion } from "./versions.ts";

/**
 * Options of {@linkcode up}.
 *
 * @example
 * ```ts
 * import type { UpOptions } from "./cluster.ts";
 * const o: UpOptions = { nodes: 3, version: "4.3.1" };
 * console.log(o.nodes);
 * ```
 */
export interface UpOptions {
  /** 1 (the `single` cluster, default) or 3 (the `trio`). */
  nodes?: NodeCount;
  /** Kafka release; default `KAFKA_VERSION` or the pinned one. */
  version?: string;
  /** Where progress lines go; default stderr. */
  progress?: Progress;
  /** How long to wait for the brokers to answer; default 180 s. */
  timeoutMs?: number;
  /**
   * The benchmark's broker options (tests leave them unset): where the logs go and extra
   * broker properties. A running cluster started with other ones is not reused: `up` throws.
   */
  layout?: LayoutOptions;
}

/**
 * A cluster's health as seen by {@linkcode status}.
 *
 * @example
 * ```ts
 * import { status } from "./cluster.ts";
 * for (const s of await status()) console.log(s.cluster, s.healthy);
 * ```
 */
export interface ClusterStatus {
  /** `single` or `trio`. */
  cluster: ClusterName;
  /** The recorded state. */
  state: ClusterState;
  /** Per node: is the process alive, does its PLAINTEXT listener answer ApiVersions. */
  nodes: { id: number; pid: number; alive: boolean; answering: boolean }[];
  /** Every node alive and answering. */
  healthy: boolean;
}

/**
 * Options naming which cluster a node belongs to.
 *
 * @example
 * ```ts
 * import type { NodeOptions } from "./cluster.ts";
 * const o: NodeOptions = { nodes: 3 };
 * console.log(o.nodes);
 * ```
 */
export interface NodeOptions {
  /** The cluster: 1 (`single`, default) or 3 (`trio`). */
  nodes?: NodeCount;
  /** Where progress lines go; default stderr. */
  progress?: Progress;
  /** SIGKILL after this long (stop) or give up waiting (start); defaults 30 s / 120 s. */
  timeoutMs?: number;
}

/** The backend that runs a recorded cluster's nodes. */
function backendFor(mode: LaunchMode): NodeBackend {
  return mode === "docker" ? dockerNodes : jvmNodes;
}

/** The backend for a new cluster: Docker where an engine answers, unless told to use jars. */
async function chooseBackend(): Promise<NodeBackend> {
  if (Deno.env.get("KAFKA_LAUNCHER") !== "jars" && await dockerAvailable()) return dockerNodes;
  return jvmNodes;
}

async function healthyState(name: ClusterName): Promise<ClusterState | undefined> {
  const state = await readState(name);
  if (!state || !state.ready) return undefined;
  const backend = backendFor(state.mode);
  const caPem = await Deno.readTextFile(state.tls.caFile).catch(() => "");
  for (const b of state.brokers) {
    if (!(await nodeAnswers(backend, b, caPem))) return undefined;
  }
  return state;
}

function sameLayoutOptions(state: ClusterState, layout: ClusterLayout): boolean {
  return state.dataRoot === layout.dataRoot &&
    JSON.stringify(state.extraProperties ?? []) === JSON.stringify(layout.extraProperties ?? []);
}

async function stopCluster(state: ClusterState, progress: Progress): Promise<void> {
  await backendFor(state.mode).stopCluster(state, progress);
  await removeState(state.cluster);
}

/**
 * Ensures a cluster is running and returns its state: reuses the one we started earlier when
 * it is healthy, else starts it afresh (new data, formatted with the SCRAM users) under Docker
 * or from Maven Central jars.
 *
 * @example
 * ```ts
 * import { up } from "./cluster.ts";
 * const single = await up();
 * const trio = await up({ nodes: 3 });
 * console.log(single.listeners.PLAINTEXT, trio.listeners.PLAINTEXT);
 * ```
 */
export function up(options: UpOptions = {}): Promise<ClusterState> {
  const nodes = options.nodes ?? 1;
  const layout = clusterLayout(nodes, undefined, options.layout);
  try {
    checkPortsOutsideEphemeral(layout);
  } catch (e) {
    return Promise.reject(e);
  }
  return withLock(layout.name, () => upLocked(layout, options));
}

async function upLocked(layout: ClusterLayout, options: UpOptions): Promise<ClusterState> {
  const version = options.version ?? kafkaVersion();
  const progress = options.progress ?? stderrProgress;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const existing = await readState(layout.name);
  if (existing) {
    const healthy = await healthyState(layout.name);
    if (healthy && options.layout && !sameLayoutOptions(healthy, layout)) {
      throw new LauncherError(
        `the running ${layout.name} cluster was started with other broker options ` +
          `(logs in ${healthy.brokers[0]?.dataDir}, extra properties ` +
          `${JSON.stringify(healthy.extraProperties ?? [])}): run \`deno task kafka:down\` first`,
      );
    }
    if (healthy && healthy.version === version) {
      progress(`kafka: reusing the running ${layout.name} cluster (Kafka ${version})`);
      return healthy;
    }
    if (healthy) {
      throw new LauncherError(
        `the running ${layout.name} cluster is Kafka ${healthy.version}, not ${version}: ` +
          "run `deno task kafka:down` first",
      );
    }
    // Stale or half-dead: stop whatever is left of it and start afresh.
    progress(`kafka: the recorded ${layout.name} cluster is not healthy; restarting it`);
    await stopCluster(existing, progress);
  }
  const t0 = Date.now();
  const backend = await chooseBackend();
  const state = await backend.startCluster(layout, version, { progress, timeoutMs });
  state.ready = true;
  await writeState(state);
  const how = backend.mode === "docker" ? " (Docker)" : "";
  progress(`kafka: ${layout.name}${how} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return state;
}

/**
 * Stops launcher-managed clusters (only processes it started, by pid) and removes their state
 * files. `nodes` picks one cluster; without it, both are stopped.
 *
 * @example
 * ```ts
 * import { down } from "./cluster.ts";
 * await down({ nodes: 3 }); // only the trio
 * await down(); // everything the launcher runs
 * ```
 */
export async function down(
  options: { nodes?: NodeCount; progress?: Progress } = {},
): Promise<ClusterName[]> {
  const progress = options.progress ?? stderrProgress;
  const names: ClusterName[] = options.nodes === undefined
    ? ["single", "trio"]
    : [clusterLayout(options.nodes).name];
  const stopped: ClusterName[] = [];
  for (const name of names) {
    await withLock(name, async () => {
      const state = await readState(name);
      if (!state) return;
      progress(`kafka: stopping ${name}`);
      await stopCluster(state, progress);
      stopped.push(name);
    });
  }
  return stopped;
}

/**
 * The health of each launcher-managed cluster that has a state file.
 *
 * @example
 * ```ts
 * import { status } from "./cluster.ts";
 * const all = await status();
 * console.log(all.map((s) => `${s.cluster}: ${s.healthy ? "up" : "down"}`));
 * ```
 */
export async function status(): Promise<ClusterStatus[]> {
  const out: ClusterStatus[] = [];
  for (const name of ["single", "trio"] as const) {
    const state = await readState(name);
    if (!state) continue;
    const backend = backendFor(state.mode);
    const nodes = await Promise.all(state.brokers.map(async (b) => {
      const alive = backend.isAlive(b);
      const answering = await probeApiVersions(hostPort(b.listeners.PLAINTEXT), 3000);
      return { id: b.id, pid: b.pid, alive, answering };
    }));
    out.push({
      cluster: name,
      state,
      nodes,
      healthy: state.ready && nodes.every((n) => n.alive && n.answering),
    });
  }
  return out;
}

/**
 * Stops one node (SIGTERM, SIGKILL after the timeout) and leaves its data for
 * {@linkcode startNode}. `nodes` picks the cluster (default the single node).
 *
 * @example
 * ```ts
 * import { startNode, stopNode } from "./cluster.ts";
 * await stopNode(2, { nodes: 3 });
 * // ... a failover test runs without node 2 ...
 * await startNode(2, { nodes: 3 });
 * ```
 */
export async function stopNode(id: number, options: NodeOptions = {}): Promise<void> {
  const nodes = options.nodes ?? 1;
  await withLock(clusterLayout(nodes).name, async () => {
    const state = await requireState(nodes);
    const node = requireNode(state, id);
    await backendFor(state.mode).stopNode(state, node, options.timeoutMs ?? 30_000);
    state.ready = false;
    await writeState(state);
  });
}

/**
 * Starts a node stopped by {@linkcode stopNode} again (same data, same ports) and waits until
 * it answers on every listener and the metadata lists every node again. A node that is still
 * running is left alone. Once every node runs, the test users' SCRAM credentials are restored
 * where the restart lost them.
 *
 * @example
 * ```ts
 * import { startNode } from "./cluster.ts";
 * await startNode(1); // the single node
 * ```
 */
export async function startNode(id: number, options: NodeOptions = {}): Promise<void> {
  const nodes = options.nodes ?? 1;
  const progress = options.progress ?? stderrProgress;
  await withLock(clusterLayout(nodes).name, async () => {
    const state = await requireState(nodes);
    const node = requireNode(state, id);
    const backend = backendFor(state.mode);
    await backend.startNode(state, node, { progress, timeoutMs: options.timeoutMs ?? 120_000 });
    state.ready = state.brokers.every((b) => backend.isAlive(b));
    await writeState(state);
    if (state.ready) {
      // A restarted Kafka 4.3.1 node can lose SCRAM credentials it served before (scram_users.ts
      // says when); every SCRAM test after a restart would then fail.
      const added = await ensureScramUsers(state.listeners.SASL_PLAINTEXT);
      if (added.length > 0) {
        progress(`restored SCRAM credentials lost in the restart: ${added.join(", ")}`);
      }
    }
  });
}

/**
 * Restarts one node: {@linkcode stopNode} (SIGTERM) then {@linkcode startNode}.
 *
 * @example
 * ```ts
 * import { restartNode } from "./cluster.ts";
 * await restartNode(1); // the producer's broker-restart test
 * ```
 */
export async function restartNode(id: number, options: NodeOptions = {}): Promise<void> {
  await stopNode(id, options);
  await startNode(id, options);
}

/**
 * Stops a cluster without taking its lock: for a Ctrl-C handler in the very process that holds
 * the lock while starting. Kills only the recorded pids and removes the state and lock files.
 *
 * @example
 * ```ts
 * import { abortCluster } from "./cluster.ts";
 * Deno.addSignalListener("SIGINT", () => abortCluster("single").finally(() => Deno.exit(130)));
 * ```
 */
export async function abortCluster(name: ClusterName): Promise<void> {
  const state = await readState(name);
  if (state) await stopCluster(state, () => {});
  await removeLock(name);
}
