/**
 * The test bed's fixed layout: cluster names, ports, folders, test users, and the broker
 * properties each node runs with. Everything here is pure (no I/O) so the Docker path and the
 * jar path render the same broker configuration.
 *
 * @module
 */

import { kafkaMajor, PROJECT_ROOT } from "./versions.ts";

/**
 * The four client listeners every test-bed broker offers, in port order.
 *
 * @example
 * ```ts
 * import { LISTENERS } from "./config.ts";
 * console.log(LISTENERS.join(",")); // PLAINTEXT,SASL_PLAINTEXT,SSL,SASL_SSL
 * ```
 */
export const LISTENERS = ["PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"] as const;

/**
 * One of {@linkcode LISTENERS}; also the listener's security protocol.
 *
 * @example
 * ```ts
 * import type { ListenerName } from "./config.ts";
 * const l: ListenerName = "SASL_SSL";
 * console.log(l);
 * ```
 */
export type ListenerName = typeof LISTENERS[number];

/**
 * The SASL mechanisms the brokers enable on both SASL listeners.
 *
 * @example
 * ```ts
 * import { SASL_MECHANISMS } from "./config.ts";
 * console.log(SASL_MECHANISMS.includes("SCRAM-SHA-512")); // true
 * ```
 */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

/**
 * A user name and password.
 *
 * @example
 * ```ts
 * import type { Credentials } from "./config.ts";
 * const c: Credentials = { username: "alice", password: "alice-secret" };
 * console.log(c.username);
 * ```
 */
export interface Credentials {
  /** The SASL user name. */
  readonly username: string;
  /** The SASL password (test-only, never a real secret). */
  readonly password: string;
}

/**
 * The super user, known to PLAIN and to both SCRAM mechanisms. Test-only credentials.
 *
 * @example
 * ```ts
 * import { ADMIN_USER } from "./config.ts";
 * console.log(ADMIN_USER.username); // admin
 * ```
 */
export const ADMIN_USER: Credentials = { username: "admin", password: "admin-secret" };

/**
 * An ordinary user (no super-user rights, so ACL tests can deny it). Test-only credentials.
 *
 * @example
 * ```ts
 * import { TEST_USER } from "./config.ts";
 * console.log(TEST_USER.username); // alice
 * ```
 */
export const TEST_USER: Credentials = { username: "alice", password: "alice-secret" };

/**
 * Password of the broker's PKCS#12 key store (test-only).
 *
 * @example
 * ```ts
 * import { KEYSTORE_PASSWORD } from "./config.ts";
 * console.log(KEYSTORE_PASSWORD.length > 0);
 * ```
 */
export const KEYSTORE_PASSWORD = "testbed-secret";

/**
 * Where all launcher state lives (git-ignored).
 *
 * @example
 * ```ts
 * import { KAFKA_DIR } from "./config.ts";
 * console.log(KAFKA_DIR.endsWith("/.kafka")); // true
 * ```
 */
export const KAFKA_DIR = `${PROJECT_ROOT}/.kafka`;

/**
 * The name of a launcher-managed cluster: `single` (1 node) or `trio` (3 nodes).
 *
 * @example
 * ```ts
 * import type { ClusterName } from "./config.ts";
 * const n: ClusterName = "trio";
 * console.log(n);
 * ```
 */
export type ClusterName = "single" | "trio";

/**
 * The node counts the launcher supports.
 *
 * @example
 * ```ts
 * import type { NodeCount } from "./config.ts";
 * const n: NodeCount = 3;
 * console.log(n);
 * ```
 */
export type NodeCount = 1 | 3;

/**
 * Ports, files and heap of one node.
 *
 * @example
 * ```ts
 * import { clusterLayout } from "./config.ts";
 * const node = clusterLayout(1).nodes[0]!;
 * console.log(node.ports.PLAINTEXT); // 9092
 * ```
 */
export interface NodeLayout {
  /** `node.id`: 1 for the single node, 1..3 for the trio. */
  readonly id: number;
  /** The client listeners' ports on 127.0.0.1. */
  readonly ports: Readonly<Record<ListenerName, number>>;
  /** The KRaft controller listener's port. */
  readonly controllerPort: number;
  /** The node's folder (properties, log, data). */
  readonly dir: string;
  /** Its `server.properties`. */
  readonly configFile: string;
  /** Where its stdout/stderr (the log4j console output) goes. */
  readonly logFile: string;
  /** Its `log.dirs`. */
  readonly dataDir: string;
  /** JVM heap in MiB. */
  readonly heapMiB: number;
}

/**
 * The fixed layout of one cluster.
 *
 * @example
 * ```ts
 * import { clusterLayout } from "./config.ts";
 * console.log(clusterLayout(3).voters); // 1@127.0.0.1:19099,2@127.0.0.1:20099,3@127.0.0.1:21099
 * ```
 */
export interface ClusterLayout {
  /** `single` or `trio`. */
  readonly name: ClusterName;
  /** Its nodes, ids ascending. */
  readonly nodes: readonly NodeLayout[];
  /** The cluster's folder under `.kafka/clusters/`. */
  readonly dir: string;
  /** The JSON state file written once the cluster is ready. */
  readonly stateFile: string;
  /** `controller.quorum.voters`. */
  readonly voters: string;
  /** Set when the nodes keep their logs outside `dir` (see {@linkcode LayoutOptions}). */
  readonly dataRoot?: string;
  /** Broker properties added after the test bed's own (see {@linkcode LayoutOptions}). */
  readonly extraProperties?: readonly string[];
}

/**
 * Options of {@linkcode clusterLayout} that the benchmark uses and the tests do not.
 *
 * @example
 * ```ts
 * import type { LayoutOptions } from "./config.ts";
 * const o: LayoutOptions = {
 *   dataRoot: "/dev/shm/kafka-bench",
 *   extraProperties: ["log.segment.delete.delay.ms=1000"],
 * };
 * console.log(o.dataRoot);
 * ```
 */
export interface LayoutOptions {
  /**
   * Where the nodes keep their logs (`log.dirs`): `<dataRoot>/<cluster>-node-<id>` instead of
   * `.kafka/clusters/<cluster>/node-<id>/data`. The benchmark puts them on tmpfs (bench/README.md
   * says why). The jars launcher removes them when the cluster stops.
   */
  dataRoot?: string;
  /** `key=value` lines appended to every node's `server.properties`. */
  extraProperties?: readonly string[];
}

/**
 * The cluster name for a node count.
 *
 * @example
 * ```ts
 * import { clusterName } from "./config.ts";
 * console.log(clusterName(3)); // trio
 * ```
 */
export function clusterName(nodes: NodeCount): ClusterName {
  return nodes === 1 ? "single" : "trio";
}

/**
 * Where the state file of a cluster lives.
 *
 * @example
 * ```ts
 * import { stateFile } from "./config.ts";
 * console.log(stateFile("single")); // <root>/.kafka/state/single.json
 * ```
 */
export function stateFile(name: ClusterName): string {
  return `${KAFKA_DIR}/state/${name}.json`;
}

/**
 * The largest `KAFKA_PORT_OFFSET`: it keeps the trio's highest port (21099 + offset) below
 * 32768, where Linux's default ephemeral range starts.
 *
 * @example
 * ```ts
 * import { MAX_PORT_OFFSET } from "./config.ts";
 * console.log(21099 + MAX_PORT_OFFSET < 32768); // true
 * ```
 */
export const MAX_PORT_OFFSET = 10000;

/**
 * `KAFKA_PORT_OFFSET` (default 0), added to every port of the jar-based clusters, so a second
 * checkout on the same machine can run its own brokers (compose.yaml keeps the fixed ports).
 * Offsets below 1000 keep every checkout's single node and trio apart.
 *
 * @example
 * ```ts
 * import { portOffset } from "./config.ts";
 * console.log(portOffset()); // 0 unless KAFKA_PORT_OFFSET is set
 * ```
 */
export function portOffset(): number {
  const raw = Deno.env.get("KAFKA_PORT_OFFSET");
  if (!raw) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PORT_OFFSET) {
    throw new RangeError(
      `KAFKA_PORT_OFFSET must be an integer in 0..${MAX_PORT_OFFSET}, not ${raw}`,
    );
  }
  return n;
}

/**
 * The layout of the single node (ports 9092-9095, controller 9099) or of the trio (node 1 on
 * 19092-19095 and 19099, node 2 on 20092..., node 3 on 21092...), plus {@linkcode portOffset}.
 * Both can run at once, and every port stays below 32768: Linux's ephemeral range (32768-60999
 * by default) is where the kernel picks local ports of outgoing connections, so a listener in
 * there can find its port briefly taken (scripts/kafka/ports.ts refuses such ports at start).
 * `offset` defaults to `KAFKA_PORT_OFFSET`.
 *
 * @example
 * ```ts
 * import { clusterLayout } from "./config.ts";
 * console.log(clusterLayout(3).nodes.map((n) => n.ports.SASL_SSL)); // [19095, 20095, 21095]
 * ```
 */
export function clusterLayout(
  nodes: NodeCount,
  offset: number = portOffset(),
  options: LayoutOptions = {},
): ClusterLayout {
  const name = clusterName(nodes);
  const dir = `${KAFKA_DIR}/clusters/${name}`;
  const list: NodeLayout[] = [];
  for (let id = 1; id <= nodes; id++) {
    const base = (nodes === 1 ? 9092 : 19092 + (id - 1) * 1000) + offset;
    const nodeDir = `${dir}/node-${id}`;
    list.push({
      id,
      ports: { PLAINTEXT: base, SASL_PLAINTEXT: base + 1, SSL: base + 2, SASL_SSL: base + 3 },
      controllerPort: base + 7,
      dir: nodeDir,
      configFile: `${nodeDir}/server.properties`,
      logFile: `${nodeDir}/server.log`,
      dataDir: options.dataRoot ? `${options.dataRoot}/${name}-node-${id}` : `${nodeDir}/data`,
      heapMiB: nodes === 1 ? 1024 : 768,
    });
  }
  const voters = list.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(",");
  return {
    name,
    nodes: list,
    dir,
    stateFile: stateFile(name),
    voters,
    ...(options.dataRoot && { dataRoot: options.dataRoot }),
    ...(options.extraProperties?.length && { extraProperties: [...options.extraProperties] }),
  };
}

/**
 * A listener's bootstrap list (`host:port,...`) over all nodes of a layout.
 *
 * @example
 * ```ts
 * import { bootstrapList, clusterLayout } from "./config.ts";
 * console.log(bootstrapList(clusterLayout(1), "SSL")); // 127.0.0.1:9094
 * ```
 */
export function bootstrapList(layout: ClusterLayout, listener: ListenerName): string {
  return layout.nodes.map((n) => `127.0.0.1:${n.ports[listener]}`).join(",");
}

/**
 * File locations the broker properties refer to; the Docker path maps them into the container.
 *
 * @example
 * ```ts
 * import type { BrokerPaths } from "./config.ts";
 * const p: BrokerPaths = { dataDir: "/d", keystore: "/k.p12", caFile: "/ca.pem" };
 * console.log(p.dataDir);
 * ```
 */
export interface BrokerPaths {
  /** `log.dirs`. */
  readonly dataDir: string;
  /** The broker's PKCS#12 key store. */
  readonly keystore: string;
  /** The CA (PEM) used to verify client certificates on the SSL listener. */
  readonly caFile: string;
}

/** Session lifetime the broker gives PLAIN logins on SASL_SSL (KIP-368 tests). */
export const REAUTH_TEST_MS = 5000;

function jaas(listener: string, mechanism: string): string {
  const prefix = `listener.name.${listener.toLowerCase()}.${mechanism.toLowerCase()}`;
  if (mechanism === "PLAIN") {
    // The PLAIN login module keeps its users in the JAAS line (user_<name>="<password>").
    const users = [ADMIN_USER, TEST_USER].map((u) => `user_${u.username}="${u.password}"`);
    return `${prefix}.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule ` +
      `required username="${ADMIN_USER.username}" password="${ADMIN_USER.password}" ` +
      `${users.join(" ")};`;
  }
  // SCRAM users live in the metadata log (added at format time with --add-scram).
  return `${prefix}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`;
}

/**
 * Renders one node's `server.properties`.
 *
 * Notes on choices: the inter-broker and controller listeners are PLAINTEXT, whose principal is
 * `User:ANONYMOUS`, hence that super user; `allow.everyone.if.no.acl.found` keeps everything open
 * until a test adds an ACL for `alice`; internal topics use RF 1 on one node and RF 3 / min ISR 2
 * on the trio; the KIP-848 heartbeat and session limits are lowered so group tests run fast.
 *
 * @example
 * ```ts
 * import { brokerProperties, clusterLayout } from "./config.ts";
 * const layout = clusterLayout(1);
 * const text = brokerProperties(layout, layout.nodes[0]!, "4.3.1", {
 *   dataDir: "/tmp/d", keystore: "/tmp/broker.p12", caFile: "/tmp/ca.pem",
 * });
 * console.log(text.includes("node.id=1")); // true
 * ```
 */
export function brokerProperties(
  layout: ClusterLayout,
  node: NodeLayout,
  version: string,
  paths: BrokerPaths,
): string {
  const n = layout.nodes.length;
  const rf = n >= 3 ? 3 : 1;
  const minIsr = n >= 3 ? 2 : 1;
  const kafka4 = kafkaMajor(version) >= 4;
  const client = LISTENERS.map((l) => `${l}://127.0.0.1:${node.ports[l]}`);
  const lines = [
    "# Generated by scripts/kafka (the test-bed launcher). Do not edit: rewritten on each start.",
    "process.roles=broker,controller",
    `node.id=${node.id}`,
    `controller.quorum.voters=${layout.voters}`,
    "controller.listener.names=CONTROLLER",
    `listeners=${[...client, `CONTROLLER://127.0.0.1:${node.controllerPort}`].join(",")}`,
    `advertised.listeners=${client.join(",")}`,
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT," +
    "SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${paths.dataDir}`,
    "",
    "# SASL: the default mechanism list is GSSAPI only.",
    `sasl.enabled.mechanisms=${SASL_MECHANISMS.join(",")}`,
    ...["SASL_PLAINTEXT", "SASL_SSL"].flatMap((l) => SASL_MECHANISMS.map((m) => jaas(l, m))),
    // KIP-368: sessions of PLAIN over SASL_SSL (only) expire after 5 s, so the client's
    // re-authentication is exercised; every other listener/mechanism keeps unlimited sessions.
    `listener.name.sasl_ssl.plain.connections.max.reauth.ms=${REAUTH_TEST_MS}`,
    "",
    "# TLS: requested client auth, so mTLS can be tested while plain TLS still works.",
    "ssl.keystore.type=PKCS12",
    `ssl.keystore.location=${paths.keystore}`,
    `ssl.keystore.password=${KEYSTORE_PASSWORD}`,
    `ssl.key.password=${KEYSTORE_PASSWORD}`,
    "ssl.truststore.type=PEM",
    `ssl.truststore.location=${paths.caFile}`,
    // Prefixed: a broker-wide ssl.client.auth only reaches SSL listeners anyway (and warns).
    "listener.name.ssl.ssl.client.auth=requested",
    "",
    "# Authorizer: open unless an ACL exists; admin and the PLAINTEXT principal are super users.",
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=true",
    `super.users=User:${ADMIN_USER.username};User:ANONYMOUS`,
    "",
    "# Small and fast for tests.",
    "num.network.threads=2",
    "num.io.threads=4",
    "num.partitions=1",
    `default.replication.factor=${rf}`,
    "auto.create.topics.enable=true",
    `offsets.topic.replication.factor=${rf}`,
    "offsets.topic.num.partitions=3",
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    "transaction.state.log.num.partitions=3",
    "group.initial.rebalance.delay.ms=0",
    "log.retention.check.interval.ms=60000",
  ];
  if (kafka4) {
    lines.push(
      `share.coordinator.state.topic.replication.factor=${rf}`,
      `share.coordinator.state.topic.min.isr=${minIsr}`,
      "# KIP-848 consumer groups (on by default in 4.x): faster heartbeats and failure detection.",
      "group.consumer.min.heartbeat.interval.ms=500",
      "group.consumer.heartbeat.interval.ms=1000",
      "group.consumer.min.session.timeout.ms=6000",
      "group.consumer.session.timeout.ms=10000",
    );
  }
  if (layout.extraProperties?.length) {
    lines.push(
      "",
      "# Added by the caller (the benchmark's broker options).",
      ...layout.extraProperties,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The log configuration file for a Kafka version: log4j 2 properties for 4.x, log4j 1
 * (reload4j) properties for 3.x. Brokers log INFO to stdout (redirected to the node's log
 * file); tools log WARN to stderr.
 *
 * @example
 * ```ts
 * import { logConfig } from "./config.ts";
 * console.log(logConfig("4.3.1", "tools").includes("WARN")); // true
 * ```
 */
export function logConfig(version: string, kind: "broker" | "tools"): string {
  const level = kind === "broker" ? "INFO" : "WARN";
  const target = kind === "broker" ? "SYSTEM_OUT" : "SYSTEM_ERR";
  if (kafkaMajor(version) >= 4) {
    return [
      "status = warn",
      "appender.out.type = Console",
      "appender.out.name = OUT",
      `appender.out.target = ${target}`,
      "appender.out.layout.type = PatternLayout",
      "appender.out.layout.pattern = [%d] %p %m (%c)%n",
      `rootLogger.level = ${level}`,
      "rootLogger.appenderRef.out.ref = OUT",
      // The request logger is noisy at INFO and its DEBUG output is only for protocol debugging.
      "logger.request.name = kafka.request.logger",
      "logger.request.level = WARN",
      "",
    ].join("\n");
  }
  return [
    `log4j.rootLogger=${level}, out`,
    "log4j.appender.out=org.apache.log4j.ConsoleAppender",
    `log4j.appender.out.Target=${kind === "broker" ? "System.out" : "System.err"}`,
    "log4j.appender.out.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n",
    "log4j.logger.kafka.request.logger=WARN",
    "",
  ].join("\n");
}

/**
 * The JVM system property that points a Kafka version's logging at a config file.
 *
 * @example
 * ```ts
 * import { logConfigProperty } from "./config.ts";
 * console.log(logConfigProperty("3.9.2", "/tmp/log4j.properties"));
 * ```
 */
export function logConfigProperty(version: string, file: string): string {
  return kafkaMajor(version) >= 4
    ? `-Dlog4j2.configurationFile=${file}`
    : `-Dlog4j.configuration=file:${file}`;
}
