/**
 * The JVM path of the launcher: each node is a `java kafka.Kafka server.properties` process
 * started detached from Maven Central jars, with its data under `.kafka/<cluster>/`, formatted
 * with the test users' SCRAM credentials before its first start, and stopped by its pid.
 *
 * @module
 */

import {
  ADMIN_USER,
  brokerProperties,
  type ClusterLayout,
  logConfigProperty,
  type NodeLayout,
  TEST_USER,
} from "./config.ts";
import { LauncherError } from "./errors.ts";
import { ensureLogConfigs, QUICK_JVM, runJava } from "./java.ts";
import { checkJava, ensureJars } from "./jars.ts";
import type { NodeBackend, WaitOptions } from "./node_backend.ts";
import { isOurProcess, portInUse, spawnDetached, tailFile, terminate } from "./process.ts";
import type { Progress } from "./progress.ts";
import { type StartingNode, waitReady } from "./readiness.ts";
import {
  type ClusterState,
  layoutOf,
  newState,
  type NodeState,
  removeState,
  writeState,
} from "./state.ts";
import { ensureTls, type TlsFiles } from "./tls.ts";

function newClusterId(): string {
  // Kafka's cluster ids are 16 random bytes in unpadded base64url; avoid a leading '-' (it
  // would look like a command-line flag) as Kafka's own generator does.
  for (;;) {
    const b = crypto.getRandomValues(new Uint8Array(16));
    const id = btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_")
      .replace(/=+$/, "");
    if (!id.startsWith("-")) return id;
  }
}

/** Writes a node's `server.properties` for the host (its data folder, the host's TLS files). */
async function writeNodeConfig(
  layout: ClusterLayout,
  node: NodeLayout,
  version: string,
  tls: TlsFiles,
): Promise<void> {
  await Deno.writeTextFile(
    node.configFile,
    brokerProperties(layout, node, version, {
      dataDir: node.dataDir,
      keystore: tls.brokerKeystore,
      caFile: tls.caFile,
    }),
  );
}

async function formatNode(
  state: ClusterState,
  node: NodeState,
  logs: { tools: string },
): Promise<void> {
  // The users exist from the first start: SCRAM credentials can only be created through a
  // broker otherwise, and tests authenticate as soon as the cluster is up.
  const scram = [ADMIN_USER, TEST_USER].flatMap((u) =>
    ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) => [
      "--add-scram",
      `${m}=[name=${u.username},password=${u.password}]`,
    ])
  );
  const r = await runJava(state.jarsDir, "kafka.tools.StorageTool", [
    "format",
    "--config",
    node.configFile,
    "--cluster-id",
    state.clusterId,
    ...scram,
  ], [...QUICK_JVM, logConfigProperty(state.version, logs.tools)]);
  if (r.code !== 0) {
    throw new LauncherError(
      `formatting node ${node.id} failed (exit ${r.code}):\n${(r.stdout + r.stderr).trim()}`,
    );
  }
}

function brokerJvmArgs(state: ClusterState, layout: NodeLayout, brokerLog: string): string[] {
  return [
    `-Xms${Math.min(512, layout.heapMiB)}m`,
    `-Xmx${layout.heapMiB}m`,
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    `-Dkafka.logs.dir=${layout.dir}`,
    logConfigProperty(state.version, brokerLog),
    "-cp",
    `${state.jarsDir}/*`,
    "kafka.Kafka",
    layout.configFile,
  ];
}

async function logSize(file: string): Promise<number> {
  try {
    return (await Deno.stat(file)).size;
  } catch {
    return 0;
  }
}

async function logSince(file: string, offset: number): Promise<string> {
  try {
    // Node logs stay small (INFO, test-sized runs), so reading the whole file is fine.
    const bytes = await Deno.readFile(file);
    return new TextDecoder().decode(bytes.subarray(Math.min(offset, bytes.length)));
  } catch {
    return "";
  }
}

/** Starts one node's JVM and records its pid in `state` (not yet written). */
async function startNodeProcess(
  state: ClusterState,
  layout: NodeLayout,
  brokerLog: string,
): Promise<StartingNode> {
  const node = state.brokers.find((b) => b.id === layout.id)!;
  const busy = [...Object.values(layout.ports), layout.controllerPort].filter(portInUse);
  if (busy.length > 0) {
    throw new LauncherError(
      `port(s) ${busy.join(",")} on 127.0.0.1 are in use by a process the launcher did not ` +
        `start; stop it or set KAFKA_BROKERS to use that cluster`,
    );
  }
  const logOffset = await logSize(layout.logFile);
  node.pid = await spawnDetached(brokerJvmArgs(state, layout, brokerLog), layout.logFile);
  return { node, logOffset };
}

async function stopJvms(state: ClusterState, progress: Progress): Promise<void> {
  // All at once: stopping a KRaft quorum one by one makes the last nodes wait for a quorum.
  const results = await Promise.all(
    state.brokers.map((b) => terminate(b.pid, b.configFile, 30_000)),
  );
  const killed = state.brokers.filter((_, i) => results[i] === "killed").map((b) => b.id);
  if (killed.length > 0) progress(`kafka: node(s) ${killed} needed SIGKILL`);
  // Logs outside .kafka/ (the benchmark's, on tmpfs) would hold their memory until a reboot.
  if (state.dataRoot) {
    for (const b of state.brokers) {
      await Deno.remove(b.dataDir, { recursive: true }).catch(() => {});
    }
    // The root itself when nothing else (the other cluster) keeps its logs there.
    await Deno.remove(state.dataRoot).catch(() => {});
  }
}

/**
 * Nodes as JVM processes from Maven Central jars (state `mode: "jars"`). A node is alive when
 * its recorded pid is still a JVM running its `server.properties` (a reused pid is not ours).
 *
 * @example
 * ```ts
 * import { jvmNodes } from "./jvm_nodes.ts";
 * import { clusterLayout } from "./config.ts";
 * const state = await jvmNodes.startCluster(clusterLayout(1), "4.3.1", {
 *   progress: console.error,
 *   timeoutMs: 180_000,
 * });
 * await jvmNodes.stopCluster(state, console.error);
 * ```
 */
export const jvmNodes: NodeBackend = {
  mode: "jars",

  async startCluster(layout: ClusterLayout, version: string, wait: WaitOptions) {
    const { progress } = wait;
    await checkJava(version); // also when the jars are cached: the broker needs it either way
    const jarsDir = await ensureJars(version, progress);
    const tls = await ensureTls();
    const logs = await ensureLogConfigs(version);
    const state = newState({
      layout,
      version,
      mode: "jars",
      tls,
      jarsDir,
      clusterId: newClusterId(),
    });
    // Fresh data on every cold start: tests expect an empty cluster with the SCRAM users.
    await Deno.remove(layout.dir, { recursive: true }).catch(() => {});
    for (const n of layout.nodes) {
      if (layout.dataRoot) await Deno.remove(n.dataDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(n.dir, { recursive: true });
      await Deno.mkdir(n.dataDir, { recursive: true });
      await writeNodeConfig(layout, n, version, tls);
    }
    progress(`kafka: formatting ${layout.nodes.length} node(s) (cluster id ${state.clusterId})`);
    await Promise.all(state.brokers.map((b) => formatNode(state, b, logs)));
    progress(`kafka: starting ${layout.name} (Kafka ${version}, ${layout.nodes.length} node(s))`);
    const started: StartingNode[] = [];
    try {
      for (const n of layout.nodes) {
        started.push(await startNodeProcess(state, n, logs.broker));
        // Record pids at once, so `kafka:down` can stop a start that fails half-way.
        await writeState(state);
      }
      await waitReady(jvmNodes, state, started, wait);
    } catch (e) {
      // Nothing half-started stays behind: a later `up` would find its ports taken.
      await stopJvms(state, progress);
      await removeState(state.cluster);
      throw e;
    }
    return state;
  },

  stopCluster: stopJvms,

  async stopNode(_state: ClusterState, node: NodeState, timeoutMs: number) {
    await terminate(node.pid, node.configFile, timeoutMs);
    node.pid = 0;
  },

  async startNode(state: ClusterState, node: NodeState, wait: WaitOptions) {
    if (jvmNodes.isAlive(node)) return;
    const logs = await ensureLogConfigs(state.version);
    const layout = layoutOf(state);
    const nodeLayout = layout.nodes.find((n) => n.id === node.id)!;
    // Rewrite the properties, as a cold start does, so config changes apply on restart.
    await writeNodeConfig(layout, nodeLayout, state.version, await ensureTls());
    const started = await startNodeProcess(state, nodeLayout, logs.broker);
    await writeState(state);
    await waitReady(jvmNodes, state, [started], wait);
  },

  isAlive(node: NodeState) {
    return isOurProcess(node.pid, node.configFile);
  },

  async hasStarted(node: NodeState, logOffset: number) {
    if (!jvmNodes.isAlive(node)) {
      throw new LauncherError(
        `Kafka node ${node.id} exited during start-up; last lines of ${node.logFile}:\n` +
          await tailFile(node.logFile, 25),
      );
    }
    return /Kafka ?Server.*started/.test(await logSince(node.logFile, logOffset));
  },
};
