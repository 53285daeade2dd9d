/**
 * The launcher's module API: start, reuse, inspect and stop the test bed's Kafka clusters,
 * and stop/start/restart single nodes (for broker-restart and failover tests).
 *
 * Two clusters can run side by side: `single` (1 combined KRaft node, ports 9092-9095) and
 * `trio` (3 combined nodes: 19092-19095, 20092-20095, 21092-21095; all below the ephemeral port
 * range, see ports.ts). A broker is found in this order: an existing one we started (state file
 * + live pid + answering port), else Docker (`docker info` works and `KAFKA_LAUNCHER` is not
 * `jars`), else Kafka assembled from Maven Central jars.
 * (`KAFKA_BROKERS`, an external cluster, is handled by the CLI and tests/helpers/broker.ts.)
 *
 * Every call awaits its child processes and closes its files, so it is safe inside `deno test`.
 *
 * @module
 */

import {
  ADMIN_USER,
  bootstrapList,
  brokerProperties,
  type ClusterLayout,
  clusterLayout,
  type ClusterName,
  type Credentials,
  KAFKA_DIR,
  type ListenerName,
  LISTENERS,
  logConfig,
  logConfigProperty,
  type NodeCount,
  type NodeLayout,
  SASL_MECHANISMS,
  stateFile,
  TEST_USER,
} from "./config.ts";
import { checkJava, ensureJars, LauncherError, type Progress, stderrProgress } from "./jars.ts";
import {
  isOurProcess,
  metadataBrokerIds,
  portInUse,
  probeApiVersions,
  type ProbeTarget,
  sleep,
  spawnDetached,
  tailFile,
  terminate,
} from "./process.ts";
import { checkPortsOutsideEphemeral } from "./ports.ts";
import { ensureScramUsers } from "./scram_users.ts";
import { ensureTls, type TlsFiles } from "./tls.ts";
import { kafkaVersion } from "./versions.ts";
import * as docker from "./docker.ts";

export { LauncherError } from "./jars.ts";
export type { Progress } from "./jars.ts";
export type { ClusterName, Credentials, ListenerName, NodeCount } from "./config.ts";

/**
 * One node as recorded in the state file.
 *
 * @example
 * ```ts
 * import type { NodeState } from "./cluster.ts";
 * const n: NodeState = {
 *   id: 1, pid: 4242, configFile: "/x/server.properties", logFile: "/x/server.log",
 *   dataDir: "/x/data", controller: "127.0.0.1:9099",
 *   listeners: { PLAINTEXT: "127.0.0.1:9092", SASL_PLAINTEXT: "127.0.0.1:9093",
 *     SSL: "127.0.0.1:9094", SASL_SSL: "127.0.0.1:9095" },
 * };
 * console.log(n.listeners.SSL);
 * ```
 */
export interface NodeState {
  /** `node.id`. */
  id: number;
  /** The JVM's pid (0 under Docker). */
  pid: number;
  /** Its `server.properties` (on the host). */
  configFile: string;
  /** Where its output goes (empty under Docker: use `docker compose logs`). */
  logFile: string;
  /** Its data folder (on the host; under Docker, a volume). */
  dataDir: string;
  /** `host:port` of each client listener on this node. */
  listeners: Record<ListenerName, string>;
  /** `host:port` of its KRaft controller listener. */
  controller: string;
}

/**
 * The state file (`.kafka/state/<cluster>.json`): everything a test needs to reach a
 * launcher-managed cluster.
 *
 * @example
 * ```ts
 * import { readState } from "./cluster.ts";
 * const s = await readState("single");
 * if (s) console.log(s.listeners.SASL_SSL, s.tls.caFile);
 * ```
 */
export interface ClusterState {
  /** `single` or `trio`. */
  cluster: ClusterName;
  /** The Kafka release running. */
  version: string;
  /** How it runs: JVMs from Maven Central jars, or Docker containers. */
  mode: "jars" | "docker";
  /** Always true here: the launcher started it and may stop it. */
  managed: true;
  /** Whether every node answered on every listener (false while starting). */
  ready: boolean;
  /** Number of nodes. */
  nodeCount: number;
  /** The KRaft cluster id. */
  clusterId: string;
  /** Bootstrap list (`host:port,...`) per listener. */
  listeners: Record<ListenerName, string>;
  /** SASL mechanisms enabled on both SASL listeners. */
  saslMechanisms: string[];
  /** The super user (PLAIN and SCRAM). */
  admin: Credentials;
  /** The ordinary user (PLAIN and SCRAM). */
  user: Credentials;
  /** TLS files: CA to trust, an untrusted CA, and a CA-signed client certificate and key. */
  tls: {
    caFile: string;
    untrustedCaFile: string;
    clientCertFile: string;
    clientKeyFile: string;
    clientBundleFile: string;
  };
  /** The jars folder (`java -cp '<jarsDir>/*'`) matching the broker's version. */
  jarsDir: string;
  /** The log configuration for tools run from those jars (WARN to stderr). */
  toolsLogConfig: string;
  /** The nodes, ids ascending. */
  brokers: NodeState[];
  /** ISO time the cluster was started. */
  startedAt: string;
}

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

const PROGRESS_EVERY_MS = 5000;

function useDocker(): boolean {
  const choice = Deno.env.get("KAFKA_LAUNCHER");
  return choice !== "jars";
}

/**
 * Reads a cluster's state file, or undefined when there is none.
 *
 * @example
 * ```ts
 * import { readState } from "./cluster.ts";
 * console.log((await readState("trio"))?.listeners.PLAINTEXT);
 * ```
 */
export async function readState(name: ClusterName): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(stateFile(name))) as ClusterState;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

async function writeState(state: ClusterState): Promise<void> {
  const file = stateFile(state.cluster);
  await Deno.mkdir(file.replace(/\/[^/]+$/, ""), { recursive: true });
  // Write then rename, so a reader never sees half a file.
  await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n");
  await Deno.rename(`${file}.tmp`, file);
}

async function removeState(name: ClusterName): Promise<void> {
  await Deno.remove(stateFile(name)).catch(() => {});
}

/**
 * A cross-process lock per cluster (a file holding the owner's pid), so two test processes
 * calling {@linkcode up} at once do not both start a cluster.
 */
async function withLock<T>(name: ClusterName, fn: () => Promise<T>): Promise<T> {
  const file = `${KAFKA_DIR}/state/${name}.lock`;
  await Deno.mkdir(`${KAFKA_DIR}/state`, { recursive: true });
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      const f = await Deno.open(file, { write: true, createNew: true });
      await f.write(new TextEncoder().encode(String(Deno.pid)));
      f.close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const owner = Number.parseInt(await Deno.readTextFile(file).catch(() => ""), 10);
      if (!isOurProcess(owner, "")) {
        await Deno.remove(file).catch(() => {}); // its owner died: steal it
        continue;
      }
      if (Date.now() > deadline) throw new LauncherError(`timed out waiting for ${file}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

function nodeListeners(node: NodeLayout): Record<ListenerName, string> {
  const out = {} as Record<ListenerName, string>;
  for (const l of LISTENERS) out[l] = `127.0.0.1:${node.ports[l]}`;
  return out;
}

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

function probeTargets(node: NodeState, caPem: string): ProbeTarget[] {
  return LISTENERS.map((l) => {
    const hp = hostPort(node.listeners[l]);
    return l === "SSL" || l === "SASL_SSL" ? { ...hp, caCerts: [caPem] } : hp;
  });
}

/** Whether one node's process is alive (jars mode) and all its listeners answer. */
async function nodeAnswers(state: ClusterState, node: NodeState, caPem: string) {
  if (state.mode === "jars" && !isOurProcess(node.pid, node.configFile)) return false;
  const results = await Promise.all(
    probeTargets(node, caPem).map((t) => probeApiVersions(t, 3000)),
  );
  return results.every((ok) => ok);
}

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

function baseState(
  layout: ClusterLayout,
  version: string,
  mode: "jars" | "docker",
  tls: TlsFiles,
  jarsDir: string,
  clusterId: string,
): ClusterState {
  const listeners = {} as Record<ListenerName, string>;
  for (const l of LISTENERS) listeners[l] = bootstrapList(layout, l);
  return {
    cluster: layout.name,
    version,
    mode,
    managed: true,
    ready: false,
    nodeCount: layout.nodes.length,
    clusterId,
    listeners,
    saslMechanisms: [...SASL_MECHANISMS],
    admin: ADMIN_USER,
    user: TEST_USER,
    tls: {
      caFile: tls.caFile,
      untrustedCaFile: tls.untrustedCaFile,
      clientCertFile: tls.clientCertFile,
      clientKeyFile: tls.clientKeyFile,
      clientBundleFile: tls.clientBundleFile,
    },
    jarsDir,
    toolsLogConfig: `${KAFKA_DIR}/conf/${version}/tools-log.properties`,
    brokers: layout.nodes.map((n) => ({
      id: n.id,
      pid: 0,
      configFile: n.configFile,
      logFile: mode === "jars" ? n.logFile : "",
      dataDir: n.dataDir,
      listeners: nodeListeners(n),
      controller: `127.0.0.1:${n.controllerPort}`,
    })),
    startedAt: new Date().toISOString(),
  };
}

/**
 * Writes the broker and tools log configurations of a Kafka version into `.kafka/conf/<version>/`
 * and returns their paths.
 *
 * @example
 * ```ts
 * import { ensureLogConfigs } from "./cluster.ts";
 * const { tools } = await ensureLogConfigs("4.3.1");
 * console.log(tools);
 * ```
 */
export async function ensureLogConfigs(
  version: string,
): Promise<{ broker: string; tools: string }> {
  const dir = `${KAFKA_DIR}/conf/${version}`;
  await Deno.mkdir(dir, { recursive: true });
  const broker = `${dir}/broker-log.properties`;
  const tools = `${dir}/tools-log.properties`;
  await Deno.writeTextFile(broker, logConfig(version, "broker"));
  await Deno.writeTextFile(tools, logConfig(version, "tools"));
  return { broker, tools };
}

/**
 * Runs a Java main class from a jars folder to completion and returns its output. Used for
 * the storage tool here and by tests for the Kafka CLIs.
 *
 * @example
 * ```ts
 * import { runJava } from "./cluster.ts";
 * const r = await runJava("/root/.kafka/jars/4.3.1/libs", "kafka.tools.StorageTool", ["random-uuid"]);
 * console.log(r.stdout.trim());
 * ```
 */
export async function runJava(
  jarsDir: string,
  mainClass: string,
  args: string[],
  jvmArgs: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("java", {
    args: [...jvmArgs, "-cp", `${jarsDir}/*`, mainClass, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

/**
 * JVM flags that make short tool runs start faster (C1 only, serial GC, shared archive). Not
 * for throughput tools (perf tests): C1-only code is slower.
 *
 * @example
 * ```ts
 * import { QUICK_JVM } from "./cluster.ts";
 * console.log(QUICK_JVM.join(" "));
 * ```
 */
export const QUICK_JVM: readonly string[] = [
  "-XX:TieredStopAtLevel=1",
  "-XX:+UseSerialGC",
  "-Xshare:auto",
  "-Xmx256m",
];

async function formatNode(
  state: ClusterState,
  node: NodeState,
  logs: { tools: string },
): Promise<void> {
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

/**
 * Waits until the given nodes say "Kafka Server started" in their logs (jars mode) and answer
 * ApiVersions on all four listeners, then until the cluster's metadata lists every node.
 */
async function waitReady(
  state: ClusterState,
  nodes: { node: NodeState; logOffset: number }[],
  progress: Progress,
  timeoutMs: number,
): Promise<void> {
  const caPem = await Deno.readTextFile(state.tls.caFile);
  const started = Date.now();
  let lastReport = started;
  const pending = new Set(nodes.map((n) => n.node.id));
  while (pending.size > 0) {
    for (const { node, logOffset } of nodes) {
      if (!pending.has(node.id)) continue;
      if (state.mode === "jars") {
        if (!isOurProcess(node.pid, node.configFile)) {
          throw new LauncherError(
            `Kafka node ${node.id} exited during start-up; last lines of ${node.logFile}:\n` +
              await tailFile(node.logFile, 25),
          );
        }
        const log = await logSince(node.logFile, logOffset);
        if (!/Kafka ?Server.*started/.test(log)) continue;
      }
      if (await nodeAnswers(state, node, caPem)) pending.delete(node.id);
    }
    if (pending.size === 0) break;
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) {
      throw new LauncherError(
        `Kafka node(s) ${[...pending].join(",")} not ready after ${Math.round(elapsed / 1000)}s`,
      );
    }
    if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = Date.now();
      progress(
        `kafka: waiting for ${state.cluster} node(s) ${[...pending].join(",")} ` +
          `(${Math.round(elapsed / 1000)}s)`,
      );
    }
    await sleep(300);
  }
  // All listeners answer; now every node must be registered (unfenced) in the metadata.
  // (Nodes a test has stopped on purpose are not expected.)
  const want = state.brokers
    .filter((b) => state.mode === "docker" || isOurProcess(b.pid, b.configFile))
    .map((b) => b.id).join(",");
  for (;;) {
    const first = nodes[0]!.node;
    const ids = await metadataBrokerIds(hostPort(first.listeners.PLAINTEXT), 3000).catch(() => []);
    if (ids.join(",") === want) return;
    if (Date.now() - started > timeoutMs) {
      throw new LauncherError(`cluster metadata lists brokers [${ids}] instead of [${want}]`);
    }
    await sleep(300);
  }
}

async function startNodeProcess(
  state: ClusterState,
  layout: NodeLayout,
  brokerLog: string,
): Promise<{ node: NodeState; logOffset: number }> {
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

async function healthyState(name: ClusterName): Promise<ClusterState | undefined> {
  const state = await readState(name);
  if (!state || !state.ready) return undefined;
  const caPem = await Deno.readTextFile(state.tls.caFile).catch(() => "");
  for (const b of state.brokers) {
    if (!(await nodeAnswers(state, b, caPem))) return undefined;
  }
  return state;
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
  const layout = clusterLayout(nodes);
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
  if (useDocker() && await docker.dockerAvailable()) {
    const tls = await ensureTls();
    const jarsDir = await ensureJars(version, progress).catch(() => "");
    const state = baseState(layout, version, "docker", tls, jarsDir, docker.clusterIdFor(layout));
    await ensureLogConfigs(version);
    await docker.composeUp(layout, version, tls, progress);
    await writeState(state);
    await waitReady(
      state,
      state.brokers.map((node) => ({ node, logOffset: 0 })),
      progress,
      timeoutMs,
    );
    state.ready = true;
    await writeState(state);
    progress(`kafka: ${layout.name} (Docker) ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return state;
  }
  await checkJava(version); // also when the jars are cached: the broker needs it either way
  const jarsDir = await ensureJars(version, progress);
  const tls = await ensureTls();
  const logs = await ensureLogConfigs(version);
  const state = baseState(layout, version, "jars", tls, jarsDir, newClusterId());
  // Fresh data on every cold start: tests expect an empty cluster with the SCRAM users.
  await Deno.remove(layout.dir, { recursive: true }).catch(() => {});
  for (const n of layout.nodes) {
    await Deno.mkdir(n.dataDir, { recursive: true });
    await Deno.writeTextFile(
      n.configFile,
      brokerProperties(layout, n, version, {
        dataDir: n.dataDir,
        keystore: tls.brokerKeystore,
        caFile: tls.caFile,
      }),
    );
  }
  progress(`kafka: formatting ${layout.nodes.length} node(s) (cluster id ${state.clusterId})`);
  await Promise.all(state.brokers.map((b) => formatNode(state, b, logs)));
  progress(`kafka: starting ${layout.name} (Kafka ${version}, ${layout.nodes.length} node(s))`);
  const started: { node: NodeState; logOffset: number }[] = [];
  try {
    for (const n of layout.nodes) {
      started.push(await startNodeProcess(state, n, logs.broker));
      // Record pids at once, so `kafka:down` can stop a start that fails half-way.
      await writeState(state);
    }
    await waitReady(state, started, progress, timeoutMs);
  } catch (e) {
    await stopCluster(state, progress);
    throw e;
  }
  state.ready = true;
  await writeState(state);
  progress(`kafka: ${layout.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return state;
}

async function stopCluster(state: ClusterState, progress: Progress): Promise<void> {
  if (state.mode === "docker") {
    await docker.composeDown(clusterLayout(state.nodeCount as NodeCount), progress);
  } else {
    // All at once: stopping a KRaft quorum one by one makes the last nodes wait for a quorum.
    const results = await Promise.all(
      state.brokers.map((b) => terminate(b.pid, b.configFile, 30_000)),
    );
    const killed = state.brokers.filter((_, i) => results[i] === "killed").map((b) => b.id);
    if (killed.length > 0) progress(`kafka: node(s) ${killed} needed SIGKILL`);
  }
  await removeState(state.cluster);
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
    const nodes = await Promise.all(state.brokers.map(async (b) => {
      const alive = state.mode === "docker" || isOurProcess(b.pid, b.configFile);
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

async function requireState(nodes: NodeCount): Promise<ClusterState> {
  const name = clusterLayout(nodes).name;
  const state = await readState(name);
  if (!state) {
    throw new LauncherError(`no ${name} cluster is running: call up({ nodes: ${nodes} }) first`);
  }
  return state;
}

function requireNode(state: ClusterState, id: number): NodeState {
  const node = state.brokers.find((b) => b.id === id);
  if (!node) throw new RangeError(`${state.cluster} has no node ${id}`);
  return node;
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
    if (state.mode === "docker") {
      await docker.composeStopNode(clusterLayout(nodes), id);
    } else {
      await terminate(node.pid, node.configFile, options.timeoutMs ?? 30_000);
      node.pid = 0;
    }
    state.ready = false;
    await writeState(state);
  });
}

/**
 * Starts a node stopped by {@linkcode stopNode} again (same data, same ports) and waits until
 * it answers on every listener and the metadata lists every node again. A node that is still
 * running is left alone.
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
  const layout = clusterLayout(nodes);
  await withLock(layout.name, async () => {
    const state = await requireState(nodes);
    const node = requireNode(state, id);
    if (state.mode === "docker") {
      await docker.composeStartNode(layout, id);
      await waitReady(state, [{ node, logOffset: 0 }], progress, options.timeoutMs ?? 120_000);
    } else if (!isOurProcess(node.pid, node.configFile)) {
      const logs = await ensureLogConfigs(state.version);
      const nodeLayout = layout.nodes[id - 1]!;
      // Rewrite the properties, as a cold start does, so config changes apply on restart.
      const tls = await ensureTls();
      await Deno.writeTextFile(
        nodeLayout.configFile,
        brokerProperties(layout, nodeLayout, state.version, {
          dataDir: nodeLayout.dataDir,
          keystore: tls.brokerKeystore,
          caFile: tls.caFile,
        }),
      );
      const started = await startNodeProcess(state, nodeLayout, logs.broker);
      await writeState(state);
      await waitReady(state, [started], progress, options.timeoutMs ?? 120_000);
    }
    state.ready = state.mode === "docker" ||
      state.brokers.every((b) => isOurProcess(b.pid, b.configFile));
    await writeState(state);
    if (state.ready) {
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
  await Deno.remove(`${KAFKA_DIR}/state/${name}.lock`).catch(() => {});
}
