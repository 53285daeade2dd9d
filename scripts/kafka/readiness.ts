/**
 * When a launcher-managed node counts as up: its process is alive, it answers ApiVersions on
 * all four listeners, and (for a whole start) the cluster's metadata lists every running node.
 * Shared by both node backends and by the commands' health checks.
 *
 * @module
 */

import { LISTENERS } from "./config.ts";
import { LauncherError } from "./errors.ts";
import type { NodeBackend, WaitOptions } from "./node_backend.ts";
import {
  hostPort,
  metadataBrokerIds,
  probeApiVersions,
  type ProbeTarget,
  sleep,
} from "./process.ts";
import type { ClusterState, NodeState } from "./state.ts";

/** How often a long wait says what it is still waiting for. */
const PROGRESS_EVERY_MS = 5000;

/**
 * A node being started, and how long its log was before the start (what it logs after that
 * offset tells whether this start has finished).
 *
 * @example
 * ```ts
 * import type { StartingNode } from "./readiness.ts";
 * import { requireNode, requireState } from "./state.ts";
 * const s: StartingNode = { node: requireNode(await requireState(1), 1), logOffset: 0 };
 * console.log(s.node.id);
 * ```
 */
export interface StartingNode {
  /** The node as recorded in the state. */
  node: NodeState;
  /** Its log's size in bytes when it was started (0 when it has no log on the host). */
  logOffset: number;
}

function probeTargets(node: NodeState, caPem: string): ProbeTarget[] {
  return LISTENERS.map((l) => {
    const hp = hostPort(node.listeners[l]);
    return l === "SSL" || l === "SASL_SSL" ? { ...hp, caCerts: [caPem] } : hp;
  });
}

/**
 * Whether one node's process is alive and all its listeners answer ApiVersions.
 *
 * @example
 * ```ts
 * import { nodeAnswers } from "./readiness.ts";
 * import { jvmNodes } from "./jvm_nodes.ts";
 * import { requireNode, requireState } from "./state.ts";
 * const state = await requireState(1);
 * const caPem = await Deno.readTextFile(state.tls.caFile);
 * console.log(await nodeAnswers(jvmNodes, requireNode(state, 1), caPem));
 * ```
 */
export async function nodeAnswers(
  backend: NodeBackend,
  node: NodeState,
  caPem: string,
): Promise<boolean> {
  if (!backend.isAlive(node)) return false;
  const results = await Promise.all(
    probeTargets(node, caPem).map((t) => probeApiVersions(t, 3000)),
  );
  return results.every((ok) => ok);
}

/**
 * Waits until the given nodes have started (their backend says so) and answer ApiVersions on
 * all four listeners, then until the cluster's metadata lists every node that is alive.
 *
 * @example
 * ```ts
 * import { waitReady } from "./readiness.ts";
 * import { jvmNodes } from "./jvm_nodes.ts";
 * import { requireNode, requireState } from "./state.ts";
 * const state = await requireState(1);
 * await waitReady(jvmNodes, state, [{ node: requireNode(state, 1), logOffset: 0 }], {
 *   progress: console.error,
 *   timeoutMs: 60_000,
 * });
 * ```
 */
export async function waitReady(
  backend: NodeBackend,
  state: ClusterState,
  nodes: StartingNode[],
  wait: WaitOptions,
): Promise<void> {
  const caPem = await Deno.readTextFile(state.tls.caFile);
  const started = Date.now();
  let lastReport = started;
  const pending = new Set(nodes.map((n) => n.node.id));
  while (pending.size > 0) {
    for (const { node, logOffset } of nodes) {
      if (!pending.has(node.id)) continue;
      if (!(await backend.hasStarted(node, logOffset))) continue;
      if (await nodeAnswers(backend, node, caPem)) pending.delete(node.id);
    }
    if (pending.size === 0) break;
    const elapsed = Date.now() - started;
    if (elapsed > wait.timeoutMs) {
      throw new LauncherError(
        `Kafka node(s) ${[...pending].join(",")} not ready after ${Math.round(elapsed / 1000)}s`,
      );
    }
    if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = Date.now();
      wait.progress(
        `kafka: waiting for ${state.cluster} node(s) ${[...pending].join(",")} ` +
          `(${Math.round(elapsed / 1000)}s)`,
      );
    }
    await sleep(300);
  }
  // All listeners answer; now every node must be registered (unfenced) in the metadata.
  // (Nodes a test has stopped on purpose are not expected.)
  const want = state.brokers.filter((b) => backend.isAlive(b)).map((b) => b.id).join(",");
  for (;;) {
    const first = nodes[0]!.node;
    const ids = await metadataBrokerIds(hostPort(first.listeners.PLAINTEXT), 3000).catch(() => []);
    if (ids.join(",") === want) return;
    if (Date.now() - started > wait.timeoutMs) {
      throw new LauncherError(`cluster metadata lists brokers [${ids}] instead of [${want}]`);
    }
    await sleep(300);
  }
}
