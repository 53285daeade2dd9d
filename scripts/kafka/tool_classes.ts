/**
 * The one place that knows the main class of each Kafka Java tool per Kafka release.
 *
 * Kafka 4.0 moved several tools from the Scala `kafka.*` packages to `org.apache.kafka.tools`
 * (KIP-906 and its follow-ups): a test that names the 4.x class fails on a 3.x jar set. Tests
 * (through `runJavaTool`, which accepts a short name) and scripts ask here instead of spelling
 * the class. Checked with `unzip -l` against the 3.9.2 and 4.3.1 jars.
 *
 * @module
 */

import { kafkaMajor } from "./versions.ts";

/**
 * Where a tool lives: its class in 3.x and in 4.x (the same string when it did not move).
 *
 * @example
 * ```ts
 * import type { ToolClasses } from "./tool_classes.ts";
 * const t: ToolClasses = { v3: "kafka.admin.AclCommand", v4: "org.apache.kafka.tools.AclCommand" };
 * console.log(t.v4);
 * ```
 */
export interface ToolClasses {
  /** Main class in Kafka 3.x (3.9 checked). */
  readonly v3: string;
  /** Main class in Kafka 4.x (4.3 checked). */
  readonly v4: string;
}

const T = "org.apache.kafka.tools.";
const same = (c: string): ToolClasses => ({ v3: c, v4: c });

/**
 * The Java tools the test bed runs, by short name.
 *
 * @example
 * ```ts
 * import { JAVA_TOOLS } from "./tool_classes.ts";
 * console.log(JAVA_TOOLS.ConsoleProducer.v3); // kafka.tools.ConsoleProducer
 * ```
 */
export const JAVA_TOOLS = {
  AclCommand: { v3: "kafka.admin.AclCommand", v4: `${T}AclCommand` },
  BrokerApiVersionsCommand: {
    v3: "kafka.admin.BrokerApiVersionsCommand",
    v4: `${T}BrokerApiVersionsCommand`,
  },
  ClusterTool: same(`${T}ClusterTool`),
  ConfigCommand: same("kafka.admin.ConfigCommand"),
  ConsoleConsumer: same(`${T}consumer.ConsoleConsumer`),
  ConsoleProducer: { v3: "kafka.tools.ConsoleProducer", v4: `${T}ConsoleProducer` },
  ConsumerGroupCommand: same(`${T}consumer.group.ConsumerGroupCommand`),
  ConsumerPerformance: same(`${T}ConsumerPerformance`),
  DeleteRecordsCommand: same(`${T}DeleteRecordsCommand`),
  FeatureCommand: same(`${T}FeatureCommand`),
  GetOffsetShell: same(`${T}GetOffsetShell`),
  LeaderElectionCommand: same(`${T}LeaderElectionCommand`),
  LogDirsCommand: same(`${T}LogDirsCommand`),
  MetadataQuorumCommand: same(`${T}MetadataQuorumCommand`),
  ProducerPerformance: same(`${T}ProducerPerformance`),
  ReassignPartitionsCommand: same(`${T}reassign.ReassignPartitionsCommand`),
  StorageTool: same("kafka.tools.StorageTool"),
  TopicCommand: same(`${T}TopicCommand`),
  TransactionsCommand: same(`${T}TransactionsCommand`),
} as const satisfies Record<string, ToolClasses>;

/**
 * A short tool name known to {@linkcode JAVA_TOOLS}.
 *
 * @example
 * ```ts
 * import type { JavaToolName } from "./tool_classes.ts";
 * const n: JavaToolName = "TopicCommand";
 * console.log(n);
 * ```
 */
export type JavaToolName = keyof typeof JAVA_TOOLS;

/**
 * The main class of a tool in a Kafka release. A name with a dot is taken as a class already
 * and returned as it is; an unknown short name is a `RangeError`.
 *
 * @example
 * ```ts
 * import { javaToolClass } from "./tool_classes.ts";
 * console.log(javaToolClass("AclCommand", "3.9.2")); // kafka.admin.AclCommand
 * console.log(javaToolClass("AclCommand", "4.3.1")); // org.apache.kafka.tools.AclCommand
 * ```
 */
export function javaToolClass(name: JavaToolName | string, version: string): string {
  if (name.includes(".")) return name;
  const t = (JAVA_TOOLS as Record<string, ToolClasses>)[name];
  if (!t) throw new RangeError(`unknown Kafka tool: ${name}`);
  return kafkaMajor(version) >= 4 ? t.v4 : t.v3;
}

/**
 * Whether `name` is one of Kafka's tools known to {@linkcode javaToolClass}.
 *
 * @example
 * ```ts
 * import { isJavaTool } from "./tool_classes.ts";
 * console.log(isJavaTool("AclCommand"), isJavaTool("JavaClient")); // true false
 * ```
 */
export function isJavaTool(name: string): boolean {
  return Object.hasOwn(JAVA_TOOLS, name);
}
