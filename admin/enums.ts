/**
 * The admin API's named values (resource types, ACL operations, config sources...) and their
 * wire codes, as Kafka's Java enums define them.
 *
 * @module
 */

/** Builds a two-way map between names and wire codes. */
function codes<N extends string>(entries: Record<N, number>) {
  const byName = new Map<string, number>(Object.entries(entries) as [string, number][]);
  const byCode = new Map<number, N>();
  for (const [n, c] of byName) byCode.set(c, n as N);
  return {
    code(name: N, what: string): number {
      const c = byName.get(name);
      if (c === undefined) {
        throw new TypeError(`unknown ${what} "${name}"; expected one of ${[...byName.keys()]}`);
      }
      return c;
    },
    name(code: number, fallback: N): N {
      return byCode.get(code) ?? fallback;
    },
  };
}

/**
 * The kinds of resource that have configs (DescribeConfigs, IncrementalAlterConfigs).
 *
 * @example
 * ```ts
 * import type { ConfigResourceType } from "@denokafka/kafka/admin";
 * const t: ConfigResourceType = "topic";
 * console.log(t);
 * ```
 */
export type ConfigResourceType =
  | "topic"
  | "broker"
  | "broker-logger"
  | "client-metrics"
  | "group"
  | "unknown";

/** @internal */
export const CONFIG_RESOURCE = codes<ConfigResourceType>({
  unknown: 0,
  topic: 2,
  broker: 4,
  "broker-logger": 8,
  "client-metrics": 16,
  group: 32,
});

/**
 * Where a config value comes from.
 *
 * @example
 * ```ts
 * import type { ConfigSource } from "@denokafka/kafka/admin";
 * const s: ConfigSource = "dynamic-topic";
 * console.log(s !== "default");
 * ```
 */
export type ConfigSource =
  | "unknown"
  | "dynamic-topic"
  | "dynamic-broker"
  | "dynamic-default-broker"
  | "static-broker"
  | "default"
  | "dynamic-broker-logger"
  | "client-metrics"
  | "group";

/** @internal */
export const CONFIG_SOURCE = codes<ConfigSource>({
  unknown: 0,
  "dynamic-topic": 1,
  "dynamic-broker": 2,
  "dynamic-default-broker": 3,
  "static-broker": 4,
  default: 5,
  "dynamic-broker-logger": 6,
  "client-metrics": 7,
  group: 8,
});

/**
 * A config's value type.
 *
 * @example
 * ```ts
 * import type { ConfigType } from "@denokafka/kafka/admin";
 * const t: ConfigType = "long";
 * console.log(t);
 * ```
 */
export type ConfigType =
  | "unknown"
  | "boolean"
  | "string"
  | "int"
  | "short"
  | "long"
  | "double"
  | "list"
  | "class"
  | "password";

/** @internal */
export const CONFIG_TYPE = codes<ConfigType>({
  unknown: 0,
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
});

/**
 * An incremental config change (KIP-339): set a value, delete it (back to the default),
 * append to or subtract from a list.
 *
 * @example
 * ```ts
 * import type { AlterConfigOpType } from "@denokafka/kafka/admin";
 * const op: AlterConfigOpType = "append";
 * console.log(op);
 * ```
 */
export type AlterConfigOpType = "set" | "delete" | "append" | "subtract";

/** @internal */
export const ALTER_CONFIG_OP = codes<AlterConfigOpType>({
  set: 0,
  delete: 1,
  append: 2,
  subtract: 3,
});

/**
 * The kinds of resource an ACL can protect. `any` only in filters.
 *
 * @example
 * ```ts
 * import type { AclResourceType } from "@denokafka/kafka/admin";
 * const t: AclResourceType = "transactional-id";
 * console.log(t);
 * ```
 */
export type AclResourceType =
  | "unknown"
  | "any"
  | "topic"
  | "group"
  | "cluster"
  | "transactional-id"
  | "delegation-token"
  | "user";

/** @internal */
export const ACL_RESOURCE = codes<AclResourceType>({
  unknown: 0,
  any: 1,
  topic: 2,
  group: 3,
  cluster: 4,
  "transactional-id": 5,
  "delegation-token": 6,
  user: 7,
});

/**
 * How an ACL's resource name matches: exactly (`literal`), as a prefix (`prefixed`); in
 * filters also `any` (both) and `match` (every ACL that would apply to the name).
 *
 * @example
 * ```ts
 * import type { AclPatternType } from "@denokafka/kafka/admin";
 * const p: AclPatternType = "prefixed";
 * console.log(p);
 * ```
 */
export type AclPatternType = "unknown" | "any" | "match" | "literal" | "prefixed";

/** @internal */
export const ACL_PATTERN = codes<AclPatternType>({
  unknown: 0,
  any: 1,
  match: 2,
  literal: 3,
  prefixed: 4,
});

/**
 * An operation an ACL allows or denies. `any` only in filters.
 *
 * @example
 * ```ts
 * import type { AclOperation } from "@denokafka/kafka/admin";
 * const op: AclOperation = "describe";
 * console.log(op);
 * ```
 */
export type AclOperation =
  | "unknown"
  | "any"
  | "all"
  | "read"
  | "write"
  | "create"
  | "delete"
  | "alter"
  | "describe"
  | "cluster-action"
  | "describe-configs"
  | "alter-configs"
  | "idempotent-write"
  | "create-tokens"
  | "describe-tokens"
  | "two-phase-commit";

/** @internal */
export const ACL_OPERATION = codes<AclOperation>({
  unknown: 0,
  any: 1,
  all: 2,
  read: 3,
  write: 4,
  create: 5,
  delete: 6,
  alter: 7,
  describe: 8,
  "cluster-action": 9,
  "describe-configs": 10,
  "alter-configs": 11,
  "idempotent-write": 12,
  "create-tokens": 13,
  "describe-tokens": 14,
  "two-phase-commit": 15,
});

/**
 * Whether an ACL allows or denies. `any` only in filters.
 *
 * @example
 * ```ts
 * import type { AclPermission } from "@denokafka/kafka/admin";
 * const p: AclPermission = "deny";
 * console.log(p);
 * ```
 */
export type AclPermission = "unknown" | "any" | "deny" | "allow";

/** @internal */
export const ACL_PERMISSION = codes<AclPermission>({ unknown: 0, any: 1, deny: 2, allow: 3 });

/**
 * The SCRAM mechanisms whose credentials a broker stores.
 *
 * @example
 * ```ts
 * import type { ScramMechanism } from "@denokafka/kafka/admin";
 * const m: ScramMechanism = "SCRAM-SHA-512";
 * console.log(m);
 * ```
 */
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

/** @internal */
export const SCRAM_MECHANISM = codes<ScramMechanism | "UNKNOWN">({
  UNKNOWN: 0,
  "SCRAM-SHA-256": 1,
  "SCRAM-SHA-512": 2,
});

/** The bitfield value brokers send when authorized operations were not asked for. */
const NOT_REQUESTED = -2147483648;

/**
 * Decodes the authorized-operations bitfield of Metadata, DescribeGroups and
 * DescribeCluster (KIP-430); undefined when the broker did not include it.
 *
 * @example
 * ```ts
 * import { authorizedOperations } from "@denokafka/kafka/admin";
 * console.log(authorizedOperations((1 << 3) | (1 << 8))); // ["read", "describe"]
 * ```
 */
export function authorizedOperations(bits: number): AclOperation[] | undefined {
  if (bits === NOT_REQUESTED) return undefined;
  const out: AclOperation[] = [];
  for (let code = 0; code < 31; code++) {
    if ((bits & (1 << code)) !== 0) out.push(ACL_OPERATION.name(code, "unknown"));
  }
  return out;
}
