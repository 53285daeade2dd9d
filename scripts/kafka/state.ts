/**
 * The launcher's record of what it runs: one state file per cluster
 * (`.kafka/state/<cluster>.json`), the only thing a later process (a test, `kafka:down`) needs
 * to find and stop a cluster, and a lock file beside it so that two processes never start or
 * change the same cluster at once.
 *
 * @module
 */

import {
  ADMIN_USER,
  bootstrapList,
  type ClusterLayout,
  clusterLayout,
  type ClusterName,
  type Credentials,
  KAFKA_DIR,
  type ListenerName,
  LISTENERS,
  type NodeCount,
  SASL_MECHANISMS,
  stateFile,
  TEST_USER,
} from "./config.ts";
import { LauncherError } from "./errors.ts";
import { isOurProcess, sleep } from "./process.ts";
import type { TlsFiles } from "./tls.ts";

/**
 * How a cluster's nodes run: JVMs from Maven Central jars, or Docker containers.
 *
 * @example
 * ```ts
 * import type { LaunchMode } from "./state.ts";
 * const m: LaunchMode = "jars";
 * console.log(m);
 * ```
 */
export type LaunchMode = "jars" | "docker";

/**
 * One node as recorded in the state file.
 *
 * @example
 * ```ts
 * import type { NodeState } from "./state.ts";
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
 * import { readState } from "./state.ts";
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
  mode: LaunchMode;
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
  /** The layout's `dataRoot`, when the nodes keep their logs outside `.kafka/clusters/`. */
  dataRoot?: string;
  /** The layout's `extraProperties`, when it had some. */
  extraProperties?: string[];
}

/**
 * What {@linkcode newState} needs to describe a cluster about to start.
 *
 * @example
 * ```ts
 * import type { NewStateOptions } from "./state.ts";
 * import { clusterLayout } from "./config.ts";
 * import { tlsFiles } from "./tls.ts";
 * const o: NewStateOptions = {
 *   layout: clusterLayout(1), version: "4.3.1", mode: "jars", tls: tlsFiles(),
 *   jarsDir: "/x/libs", clusterId: "dGVzdGJlZC1zaW5nbGUwMQ",
 * };
 * console.log(o.mode);
 * ```
 */
export interface NewStateOptions {
  /** Ports and paths of the cluster. */
  layout: ClusterLayout;
  /** The Kafka release. */
  version: string;
  /** How its nodes run. */
  mode: LaunchMode;
  /** The TLS files the brokers and clients use. */
  tls: TlsFiles;
  /** The jars folder for tools (may be empty under Docker when Maven is missing). */
  jarsDir: string;
  /** The KRaft cluster id its storage is formatted with. */
  clusterId: string;
}

/**
 * The state of a cluster about to start: not ready, no pids yet.
 *
 * @example
 * ```ts
 * import { newState } from "./state.ts";
 * import { clusterLayout } from "./config.ts";
 * import { tlsFiles } from "./tls.ts";
 * const s = newState({
 *   layout: clusterLayout(3), version: "4.3.1", mode: "jars", tls: tlsFiles(),
 *   jarsDir: "/x/libs", clusterId: "dGVzdGJlZC10cmlvLTAwMQ",
 * });
 * console.log(s.listeners.PLAINTEXT, s.brokers.length); // 127.0.0.1:19092,... 3
 * ```
 */
export function newState(options: NewStateOptions): ClusterState {
  const { layout, version, mode, tls, jarsDir, clusterId } = options;
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
    brokers: layout.nodes.map((n) => {
      const nodeListeners = {} as Record<ListenerName, string>;
      for (const l of LISTENERS) nodeListeners[l] = `127.0.0.1:${n.ports[l]}`;
      return {
        id: n.id,
        pid: 0,
        configFile: n.configFile,
        // Docker nodes log inside their containers.
        logFile: mode === "jars" ? n.logFile : "",
        dataDir: n.dataDir,
        listeners: nodeListeners,
        controller: `127.0.0.1:${n.controllerPort}`,
      };
    }),
    startedAt: new Date().toISOString(),
    ...(layout.dataRoot && { dataRoot: layout.dataRoot }),
    ...(layout.extraProperties?.length && { extraProperties: [...layout.extraProperties] }),
  };
}

/**
 * The layout (ports, paths) a recorded cluster was started with.
 *
 * @example
 * ```ts
 * import { layoutOf, readState } from "./state.ts";
 * const s = await readState("trio");
 * if (s) console.log(layoutOf(s).nodes.map((n) => n.configFile));
 * ```
 */
export function layoutOf(state: ClusterState): ClusterLayout {
  return clusterLayout(state.nodeCount as NodeCount, undefined, {
    ...(state.dataRoot && { dataRoot: state.dataRoot }),
    ...(state.extraProperties && { extraProperties: state.extraProperties }),
  });
}

/**
 * Reads a cluster's state file, or undefined when there is none.
 *
 * @example
 * ```ts
 * import { readState } from "./state.ts";
 * console.log((await readState("trio"))?.listeners.PLAINTEXT);
 * ```
 */
export async function readState(name: ClusterName): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(stateFile(name))) as ClusterState;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    // An unreadable file counts as no cluster, so `up` starts afresh instead of failing.
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/**
 * Writes a cluster's state file.
 *
 * @example
 * ```ts
 * import { readState, writeState } from "./state.ts";
 * const s = await readState("single");
 * if (s) await writeState({ ...s, ready: false });
 * ```
 */
export async function writeState(state: ClusterState): Promise<void> {
  const file = stateFile(state.cluster);
  await Deno.mkdir(file.replace(/\/[^/]+$/, ""), { recursive: true });
  // Write then rename, so a reader never sees half a file.
  await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n");
  await Deno.rename(`${file}.tmp`, file);
}

/**
 * Removes a cluster's state file (none is fine).
 *
 * @example
 * ```ts
 * import { removeState } from "./state.ts";
 * await removeState("trio");
 * ```
 */
export async function removeState(name: ClusterName): Promise<void> {
  await Deno.remove(stateFile(name)).catch(() => {});
}

/**
 * The recorded state of a running cluster; a {@linkcode LauncherError} when none is recorded.
 *
 * @example
 * ```ts
 * import { requireState } from "./state.ts";
 * const s = await requireState(3);
 * console.log(s.brokers.map((b) => b.id));
 * ```
 */
export async function requireState(nodes: NodeCount): Promise<ClusterState> {
  const name = clusterLayout(nodes).name;
  const state = await readState(name);
  if (!state) {
    throw new LauncherError(`no ${name} cluster is running: call up({ nodes: ${nodes} }) first`);
  }
  return state;
}

/**
 * One node of a recorded cluster; a `RangeError` for an id it does not have.
 *
 * @example
 * ```ts
 * import { requireNode, requireState } from "./state.ts";
 * console.log(requireNode(await requireState(1), 1).listeners.PLAINTEXT);
 * ```
 */
export function requireNode(state: ClusterState, id: number): NodeState {
  const node = state.brokers.find((b) => b.id === id);
  if (!node) throw new RangeError(`${state.cluster} has no node ${id}`);
  return node;
}

function lockFile(name: ClusterName): string {
  return `${KAFKA_DIR}/state/${name}.lock`;
}

/**
 * Runs `fn` holding a cross-process lock per cluster (a file holding the owner's pid), so two
 * test processes calling `up` at once do not both start a cluster. A lock whose owner died is
 * taken over; a live owner is waited for up to 10 minutes (a cold start downloads jars).
 *
 * @example
 * ```ts
 * import { readState, withLock } from "./state.ts";
 * const s = await withLock("single", () => readState("single"));
 * console.log(s?.ready);
 * ```
 */
export async function withLock<T>(name: ClusterName, fn: () => Promise<T>): Promise<T> {
  const file = lockFile(name);
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
    await removeLock(name);
  }
}

/**
 * Removes a cluster's lock file whoever holds it: only for the process that holds it and is
 * exiting without unwinding (a Ctrl-C handler), since `withLock` cannot release it then.
 *
 * @example
 * ```ts
 * import { removeLock } from "./state.ts";
 * Deno.addSignalListener("SIGINT", () => removeLock("single").finally(() => Deno.exit(130)));
 * ```
 */
export async function removeLock(name: ClusterName): Promise<void> {
  await Deno.remove(lockFile(name)).catch(() => {});
}
