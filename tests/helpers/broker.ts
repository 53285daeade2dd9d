/**
 * The one module integration tests import to find their Kafka broker.
 *
 * - `KAFKA_BROKERS` set: an external cluster described by the `KAFKA_*` variables
 *   (scripts/kafka/env.ts lists them); nothing is started, node control is unavailable.
 * - Otherwise the launcher's `single` cluster: reused when running (state file), else started
 *   (so `deno test tests/integration/x_test.ts` works on its own; `deno task test` stops it).
 *
 * {@linkcode trio} does the same for the three-node cluster used by failover tests.
 *
 * ```ts
 * import { broker } from "./broker.ts";
 * const b = await broker();
 * console.log(b.listeners.SASL_SSL, b.user?.username, b.tls.caPem?.length);
 * ```
 *
 * @module
 */

import { restartNode, startNode, stopNode, up } from "../../scripts/kafka/cluster.ts";
import type { Credentials, ListenerName, NodeCount } from "../../scripts/kafka/config.ts";
import { externalFromEnv } from "../../scripts/kafka/env.ts";
import { LauncherError } from "../../scripts/kafka/errors.ts";
import { hostPort, probeApiVersions } from "../../scripts/kafka/process.ts";
import { type ClusterState, readState } from "../../scripts/kafka/state.ts";

export type { Credentials, ListenerName } from "../../scripts/kafka/config.ts";
export { clientProps, ensureKcat, runJavaTool } from "./tools.ts";
export type { ClientPropsOptions, JavaToolOptions, JavaToolResult } from "./tools.ts";

/**
 * TLS material of a broker: file paths (for Java tools, kcat) and PEM contents (for Deno).
 *
 * @example
 * ```ts
 * import { broker } from "./broker.ts";
 * const { tls } = await broker();
 * if (tls.caPem) console.log(tls.caPem.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 */
export interface BrokerTls {
  /** CA that signed the broker certificates. */
  caFile?: string;
  /** Its PEM text. */
  caPem?: string;
  /** A CA that did not sign them (negative tests). */
  untrustedCaFile?: string;
  /** Its PEM text. */
  untrustedCaPem?: string;
  /** Client certificate (PEM) signed by the CA, for mTLS. */
  clientCertFile?: string;
  /** Its PEM text. */
  clientCertPem?: string;
  /** The client's private key (PKCS#8 PEM). */
  clientKeyFile?: string;
  /** Its PEM text. */
  clientKeyPem?: string;
  /** Key + certificate in one PEM file (Java's `ssl.keystore.type=PEM`). */
  clientBundleFile?: string;
}

/**
 * How tests reach a Kafka cluster.
 *
 * @example
 * ```ts
 * import { broker } from "./broker.ts";
 * const b = await broker();
 * const [host, port] = b.bootstrap("PLAINTEXT")[0]!.split(":");
 * console.log(host, Number(port));
 * ```
 */
export interface Broker {
  /** `launcher` (a cluster scripts/kafka started) or `env` (`KAFKA_*` variables). */
  readonly source: "launcher" | "env";
  /** Whether stopNode/startNode/restartNode work (launcher-managed clusters only). */
  readonly managed: boolean;
  /** Kafka release, when known. */
  readonly version: string | undefined;
  /** Node count, when known (launcher) or 0. */
  readonly nodeCount: number;
  /** Node ids, when known. */
  readonly nodeIds: readonly number[];
  /** Bootstrap list per listener (`host:port,...`); PLAINTEXT always, the others when known. */
  readonly listeners: Readonly<Partial<Record<ListenerName, string>>> & {
    readonly PLAINTEXT: string;
  };
  /** SASL mechanisms the SASL listeners accept. */
  readonly saslMechanisms: readonly string[];
  /** The super user, when known. */
  readonly admin: Credentials | undefined;
  /** The ordinary user, when known. */
  readonly user: Credentials | undefined;
  /** TLS material, when known. */
  readonly tls: BrokerTls;
  /** Jars folder for the Java tools (`java -cp '<jarsDir>/*'`), when known. */
  readonly jarsDir: string | undefined;
  /** The launcher's state, when launcher-managed. */
  readonly state: ClusterState | undefined;
  /** A listener's bootstrap addresses as an array; throws when the listener is unknown. */
  bootstrap(listener?: ListenerName): string[];
  /** Stops one node (SIGTERM, SIGKILL after 30 s); data is kept. Managed clusters only. */
  stopNode(id: number): Promise<void>;
  /** Starts a stopped node and waits until it serves. Managed clusters only. */
  startNode(id: number): Promise<void>;
  /** stopNode + startNode. Managed clusters only. */
  restartNode(id: number): Promise<void>;
}

async function readOptional(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

async function tlsOf(files: {
  caFile?: string | undefined;
  untrustedCaFile?: string | undefined;
  clientCertFile?: string | undefined;
  clientKeyFile?: string | undefined;
  clientBundleFile?: string | undefined;
}): Promise<BrokerTls> {
  const out: BrokerTls = {};
  const put = <K extends keyof BrokerTls>(k: K, v: BrokerTls[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  put("caFile", files.caFile);
  put("caPem", await readOptional(files.caFile));
  put("untrustedCaFile", files.untrustedCaFile);
  put("untrustedCaPem", await readOptional(files.untrustedCaFile));
  put("clientCertFile", files.clientCertFile);
  put("clientCertPem", await readOptional(files.clientCertFile));
  put("clientKeyFile", files.clientKeyFile);
  put("clientKeyPem", await readOptional(files.clientKeyFile));
  put("clientBundleFile", files.clientBundleFile);
  return out;
}

function unmanaged(): Promise<void> {
  return Promise.reject(
    new LauncherError("this cluster is not managed by the launcher (KAFKA_BROKERS is set)"),
  );
}

function makeBroker(
  fields: Omit<Broker, "bootstrap" | "stopNode" | "startNode" | "restartNode">,
  nodes?: NodeCount,
): Broker {
  const control = (fn: typeof stopNode) => (id: number) =>
    fields.managed && nodes !== undefined ? fn(id, { nodes }) : unmanaged();
  return {
    ...fields,
    bootstrap(listener: ListenerName = "PLAINTEXT") {
      const list = fields.listeners[listener];
      if (list === undefined) {
        throw new LauncherError(`no ${listener} listener is known for this cluster`);
      }
      return list.split(",").map((s) => s.trim()).filter((s) => s);
    },
    stopNode: control(stopNode),
    startNode: control(startNode),
    restartNode: control(restartNode),
  };
}

async function fromState(state: ClusterState, nodes: NodeCount): Promise<Broker> {
  return makeBroker({
    source: "launcher",
    managed: true,
    version: state.version,
    nodeCount: state.nodeCount,
    nodeIds: state.brokers.map((b) => b.id),
    listeners: state.listeners,
    saslMechanisms: state.saslMechanisms,
    admin: state.admin,
    user: state.user,
    tls: await tlsOf(state.tls),
    jarsDir: state.jarsDir || undefined,
    state,
  }, nodes);
}

/** Java's PEM key store wants key and certificate in one file: join the two given ones. */
async function bundle(tls: { clientCertFile?: string; clientKeyFile?: string }) {
  const cert = await readOptional(tls.clientCertFile);
  const key = await readOptional(tls.clientKeyFile);
  if (cert === undefined || key === undefined) return undefined;
  const file = await Deno.makeTempFile({ prefix: "kafka-client-bundle-", suffix: ".pem" });
  await Deno.writeTextFile(file, key.trimEnd() + "\n" + cert);
  return file;
}

async function fromEnv(plaintext?: string): Promise<Broker | undefined> {
  const ext = externalFromEnv();
  if (!ext) return undefined;
  const listeners = plaintext === undefined ? ext.listeners : { PLAINTEXT: plaintext };
  return makeBroker({
    source: "env",
    managed: false,
    version: Deno.env.get("KAFKA_VERSION") || undefined,
    nodeCount: 0,
    nodeIds: [],
    listeners,
    saslMechanisms: ext.saslMechanisms,
    admin: ext.admin,
    user: ext.user,
    tls: await tlsOf({ ...ext.tls, clientBundleFile: await bundle(ext.tls) }),
    jarsDir: ext.jarsDir,
    state: undefined,
  });
}

async function launcherCluster(nodes: NodeCount): Promise<Broker> {
  const name = nodes === 1 ? "single" : "trio";
  let state = await readState(name);
  const first = state?.listeners.PLAINTEXT.split(",")[0];
  const alive = state?.ready && first !== undefined &&
    await probeApiVersions(hostPort(first), 3000);
  if (!alive) state = await up({ nodes });
  return fromState(state!, nodes);
}

let single: Promise<Broker> | undefined;
let three: Promise<Broker | undefined> | undefined;

/**
 * The broker every integration test uses: the external cluster from `KAFKA_*` variables, or
 * the launcher's single node (started when not running). Cached per process.
 *
 * @example
 * ```ts
 * import { broker } from "./broker.ts";
 * const b = await broker();
 * console.log(b.bootstrap("SASL_SSL"));
 * ```
 */
export function broker(): Promise<Broker> {
  single ??= fromEnv().then((b) => b ?? launcherCluster(1));
  return single;
}

/**
 * Whether tests that need three brokers should run: not when `KAFKA_TEST_TRIO=0`, and with an
 * external cluster only when `KAFKA_TRIO_BROKERS` is set. Cheap (starts nothing), for
 * `Deno.test({ ignore: !trioWanted() })`.
 *
 * @example
 * ```ts
 * import { trio, trioWanted } from "./broker.ts";
 * Deno.test({ name: "failover", ignore: !trioWanted(), async fn() {
 *   const t = (await trio())!;
 *   await t.stopNode(2);
 *   await t.startNode(2);
 * } });
 * ```
 */
export function trioWanted(): boolean {
  if (Deno.env.get("KAFKA_TEST_TRIO") === "0") return false;
  const ext = externalFromEnv();
  return ext === undefined || ext.trioBrokers !== undefined;
}

/**
 * The three-node cluster: `KAFKA_TRIO_BROKERS` with an external cluster (unmanaged: no node
 * control), else the launcher's trio, started on first use (it can run beside the single node).
 * Undefined when {@linkcode trioWanted} is false.
 *
 * @example
 * ```ts
 * import { trio } from "./broker.ts";
 * const t = await trio();
 * if (t?.managed) await t.restartNode(3);
 * ```
 */
export function trio(): Promise<Broker | undefined> {
  three ??= (async () => {
    if (!trioWanted()) return undefined;
    const ext = externalFromEnv();
    if (ext) return await fromEnv(ext.trioBrokers);
    return await launcherCluster(3);
  })();
  return three;
}
