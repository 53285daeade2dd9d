/**
 * Configs of topics, brokers, broker loggers, groups and client-metrics subscriptions:
 * DescribeConfigs and IncrementalAlterConfigs (KIP-339).
 *
 * @module
 */

import { Api } from "../protocol/apis.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  checkArray,
  itemError,
  type Outcome,
} from "./context.ts";
import {
  ALTER_CONFIG_OP,
  type AlterConfigOpType,
  CONFIG_RESOURCE,
  CONFIG_SOURCE,
  CONFIG_TYPE,
  type ConfigResourceType,
  type ConfigSource,
  type ConfigType,
} from "./enums.ts";

/**
 * A resource that has configs. Brokers are named by node id (`"1"`); `""` names the
 * cluster-wide broker defaults.
 *
 * @example
 * ```ts
 * import type { ConfigResource } from "@denokafka/kafka/admin";
 * const r: ConfigResource = { type: "broker", name: "1" };
 * console.log(r.name);
 * ```
 */
export interface ConfigResource {
  /** What kind of resource. */
  readonly type: ConfigResourceType;
  /** Its name: topic, node id, group id... */
  readonly name: string;
}

/**
 * A resource to describe, optionally limited to some keys.
 *
 * @example
 * ```ts
 * import type { DescribeConfigsResource } from "@denokafka/kafka/admin";
 * const r: DescribeConfigsResource = { type: "topic", name: "orders", keys: ["retention.ms"] };
 * console.log(r.keys?.length);
 * ```
 */
export interface DescribeConfigsResource extends ConfigResource {
  /** Only these config keys (default: all). */
  readonly keys?: readonly string[] | undefined;
}

/**
 * Another source of a config's value, in precedence order (KIP-226).
 *
 * @example
 * ```ts
 * import type { ConfigSynonym } from "@denokafka/kafka/admin";
 * const s: ConfigSynonym = { name: "log.retention.ms", value: null, source: "static-broker" };
 * console.log(s.source);
 * ```
 */
export interface ConfigSynonym {
  /** The synonym's key (it may differ from the config's, e.g. `log.retention.ms`). */
  readonly name: string;
  /** Its value (null for sensitive configs). */
  readonly value: string | null;
  /** Where it comes from. */
  readonly source: ConfigSource;
}

/**
 * One config of a resource.
 *
 * @example
 * ```ts
 * import type { ConfigEntry } from "@denokafka/kafka/admin";
 * const show = (e: ConfigEntry) => `${e.name}=${e.sensitive ? "***" : e.value}`;
 * console.log(typeof show);
 * ```
 */
export interface ConfigEntry {
  /** The key. */
  readonly name: string;
  /** The value; null when sensitive or unset. */
  readonly value: string | null;
  /** Where the value comes from. */
  readonly source: ConfigSource;
  /** Whether it is the built-in default (`source === "default"`). */
  readonly isDefault: boolean;
  /** Whether it can be altered. */
  readonly readOnly: boolean;
  /** Whether it is a secret (its value is never sent). */
  readonly sensitive: boolean;
  /** Its value type (`unknown` from older brokers). */
  readonly type: ConfigType;
  /** Its documentation, when asked for. */
  readonly documentation: string | null;
  /** Other sources of the value, when asked for. */
  readonly synonyms: readonly ConfigSynonym[];
}

/**
 * The configs of one resource.
 *
 * @example
 * ```ts
 * import type { ResourceConfigs } from "@denokafka/kafka/admin";
 * const get = (r: ResourceConfigs, k: string) => r.entries.find((e) => e.name === k)?.value;
 * console.log(typeof get);
 * ```
 */
export interface ResourceConfigs extends ConfigResource {
  /** Its configs. */
  readonly entries: readonly ConfigEntry[];
}

/**
 * Options of `describeConfigs`.
 *
 * @example
 * ```ts
 * import type { DescribeConfigsOptions } from "@denokafka/kafka/admin";
 * const o: DescribeConfigsOptions = { includeSynonyms: true };
 * console.log(o.includeSynonyms);
 * ```
 */
export interface DescribeConfigsOptions extends AdminCallOptions {
  /** Include each config's synonyms. */
  includeSynonyms?: boolean;
  /** Include each config's documentation. */
  includeDocumentation?: boolean;
}

/**
 * One incremental change to a config. `set` (the default) needs a value; `delete` reverts to
 * the default; `append`/`subtract` edit list configs.
 *
 * @example
 * ```ts
 * import type { ConfigOp } from "@denokafka/kafka/admin";
 * const ops: ConfigOp[] = [{ name: "retention.ms", value: "60000" }, { name: "cleanup.policy", op: "delete" }];
 * console.log(ops.length);
 * ```
 */
export interface ConfigOp {
  /** The config key. */
  readonly name: string;
  /** What to do. Default `set`. */
  readonly op?: AlterConfigOpType | undefined;
  /** The value (`set`, `append`, `subtract`). */
  readonly value?: string | null | undefined;
}

/**
 * Changes to one resource's configs.
 *
 * @example
 * ```ts
 * import type { ConfigAlteration } from "@denokafka/kafka/admin";
 * const a: ConfigAlteration = { type: "topic", name: "orders", ops: [{ name: "retention.ms", value: "1000" }] };
 * console.log(a.ops.length);
 * ```
 */
export interface ConfigAlteration extends ConfigResource {
  /** The changes, applied together. */
  readonly ops: readonly ConfigOp[];
}

/**
 * Options of `alterConfigs`.
 *
 * @example
 * ```ts
 * import type { AlterConfigsOptions } from "@denokafka/kafka/admin";
 * const o: AlterConfigsOptions = { validateOnly: true };
 * console.log(o.validateOnly);
 * ```
 */
export interface AlterConfigsOptions extends AdminCallOptions {
  /** Only check the changes. */
  validateOnly?: boolean;
}

/** Broker and broker-logger configs live on that broker: ask it, not any broker. */
function routeKey(resource: ConfigResource): string {
  if ((resource.type === "broker" || resource.type === "broker-logger") && resource.name !== "") {
    const id = Number(resource.name);
    if (!Number.isInteger(id) || id < 0) {
      throw new TypeError(
        `a ${resource.type} resource is named by its node id, got "${resource.name}"`,
      );
    }
    return `node:${id}`;
  }
  return "any";
}

function target(key: string): { node: number } | { any: true } {
  return key.startsWith("node:") ? { node: Number(key.slice(5)) } : { any: true };
}

function resourceName(resource: ConfigResource): string {
  return `${resource.type}:${resource.name}`;
}

function checkResource(resource: ConfigResource): void {
  if (resource === null || typeof resource !== "object") {
    throw new TypeError("a config resource is an object");
  }
  CONFIG_RESOURCE.code(resource.type, "config resource type");
  if (typeof resource.name !== "string") throw new TypeError("a config resource needs a name");
}

/** DescribeConfigs for several resources; per-resource errors as AdminBatchError. */
export function describeConfigs(
  ctx: AdminContext,
  resources: readonly DescribeConfigsResource[],
  options: DescribeConfigsOptions = {},
): Promise<ResourceConfigs[]> {
  checkArray(resources, "resources");
  resources.forEach(checkResource);
  return ctx.items<DescribeConfigsResource, ResourceConfigs>(
    options,
    "describeConfigs",
    resources,
    resourceName,
    (pending, signal) =>
      ctx.grouped(pending, routeKey, signal, async (key, list) => {
        const res = await ctx.cluster.send(target(key), Api.DescribeConfigs, {
          resources: list.map((r) => ({
            resourceType: CONFIG_RESOURCE.code(r.type, "config resource type"),
            resourceName: r.name,
            configurationKeys: r.keys ?? null,
          })),
          includeSynonyms: options.includeSynonyms ?? false,
          includeDocumentation: options.includeDocumentation ?? false,
        }, { signal });
        const out: Outcome<DescribeConfigsResource, ResourceConfigs>[] = [];
        for (const r of list) {
          const code = CONFIG_RESOURCE.code(r.type, "config resource type");
          const got = res.results.find((x) => x.resourceType === code && x.resourceName === r.name);
          if (!got) continue;
          const err = itemError(got.errorCode, resourceName(r), got.errorMessage);
          out.push([
            r,
            err ?? {
              type: r.type,
              name: r.name,
              entries: got.configs.map(configEntry),
            },
          ]);
        }
        return out;
      }),
  );
}

/** A config as DescribeConfigs (or CreateTopics, which has no type, docs or synonyms) gives it. */
export function configEntry(c: {
  name: string;
  value: string | null;
  configSource: number;
  readOnly: boolean;
  isSensitive: boolean;
  configType?: number;
  documentation?: string | null;
  synonyms?: readonly { name: string; value: string | null; source: number }[];
}): ConfigEntry {
  const source = CONFIG_SOURCE.name(c.configSource, "unknown");
  return {
    name: c.name,
    value: c.value,
    source,
    isDefault: source === "default",
    readOnly: c.readOnly,
    sensitive: c.isSensitive,
    type: c.configType === undefined ? "unknown" : CONFIG_TYPE.name(c.configType, "unknown"),
    documentation: c.documentation ?? null,
    synonyms: (c.synonyms ?? []).map((s) => ({
      name: s.name,
      value: s.value,
      source: CONFIG_SOURCE.name(s.source, "unknown"),
    })),
  };
}

/** IncrementalAlterConfigs for several resources; per-resource errors as AdminBatchError. */
export async function alterConfigs(
  ctx: AdminContext,
  alterations: readonly ConfigAlteration[],
  options: AlterConfigsOptions = {},
): Promise<void> {
  checkArray(alterations, "alterations");
  for (const a of alterations) {
    checkResource(a);
    checkArray(a.ops, `${resourceName(a)}: ops`);
    for (const op of a.ops) {
      const kind = op.op ?? "set";
      ALTER_CONFIG_OP.code(kind, "config operation");
      if (typeof op.name !== "string" || op.name === "") {
        throw new TypeError(`${resourceName(a)}: every op needs a config name`);
      }
      if (kind !== "delete" && typeof op.value !== "string") {
        throw new TypeError(`${resourceName(a)}: "${kind}" of ${op.name} needs a string value`);
      }
    }
  }
  await ctx.items<ConfigAlteration, void>(
    options,
    "alterConfigs",
    alterations,
    resourceName,
    (pending, signal) =>
      ctx.grouped(pending, routeKey, signal, async (key, list) => {
        const res = await ctx.cluster.send(target(key), Api.IncrementalAlterConfigs, {
          resources: list.map((a) => ({
            resourceType: CONFIG_RESOURCE.code(a.type, "config resource type"),
            resourceName: a.name,
            configs: a.ops.map((op) => ({
              name: op.name,
              configOperation: ALTER_CONFIG_OP.code(op.op ?? "set", "config operation"),
              value: op.op === "delete" ? null : op.value ?? null,
            })),
          })),
          validateOnly: options.validateOnly ?? false,
        }, { signal });
        const out: Outcome<ConfigAlteration, void>[] = [];
        for (const a of list) {
          const code = CONFIG_RESOURCE.code(a.type, "config resource type");
          const got = res.responses.find((x) =>
            x.resourceType === code && x.resourceName === a.name
          );
          if (!got) continue;
          out.push([a, itemError(got.errorCode, resourceName(a), got.errorMessage)]);
        }
        return out;
      }),
  );
}
