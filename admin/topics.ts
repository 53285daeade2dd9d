/**
 * Topics: create, delete, list, describe, and grow (CreatePartitions).
 *
 * @module
 */

import { Api } from "../protocol/apis.ts";
import { type KafkaError, ProtocolError } from "../protocol/errors.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import { type ConfigEntry, configEntry } from "./configs.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  answered,
  checkArray,
  checkTopLevel,
  itemError,
  type Outcome,
} from "./context.ts";
import { type AclOperation, authorizedOperations } from "./enums.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { TopicPartitionInfo } from "../cluster/metadata.ts";

/**
 * A topic to create. Give either a partition count and replication factor (each defaulting
 * to the broker's `num.partitions` / `default.replication.factor`), or explicit assignments.
 *
 * @example
 * ```ts
 * import type { NewTopic } from "@denokafka/kafka/admin";
 * const t: NewTopic = { name: "orders", numPartitions: 6, replicationFactor: 3,
 *   configs: { "cleanup.policy": "compact" } };
 * const pinned: NewTopic = { name: "pinned", assignments: [[1, 2], [2, 3]] };
 * console.log(t.name, pinned.assignments?.length);
 * ```
 */
export interface NewTopic {
  /** The topic name. */
  readonly name: string;
  /** Partitions. Default: the broker's `num.partitions`. */
  readonly numPartitions?: number | undefined;
  /** Replicas per partition. Default: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number | undefined;
  /** Replica broker ids per partition (index = partition; first = preferred leader). */
  readonly assignments?: readonly (readonly number[])[] | undefined;
  /** Topic configs, e.g. `{ "retention.ms": "60000" }`. */
  readonly configs?: Readonly<Record<string, string | null>> | undefined;
}

/**
 * Options of `createTopics`.
 *
 * @example
 * ```ts
 * import type { CreateTopicsOptions } from "@denokafka/kafka/admin";
 * const o: CreateTopicsOptions = { validateOnly: true };
 * console.log(o.validateOnly);
 * ```
 */
export interface CreateTopicsOptions extends AdminCallOptions {
  /** Only check that the topics could be created. */
  validateOnly?: boolean;
}

/**
 * A topic as created (or as it would be, with `validateOnly`).
 *
 * @example
 * ```ts
 * import type { CreatedTopic } from "@denokafka/kafka/admin";
 * const show = (t: CreatedTopic) => `${t.name} ${t.topicId} x${t.numPartitions}`;
 * console.log(typeof show);
 * ```
 */
export interface CreatedTopic {
  /** The name. */
  readonly name: string;
  /** Its id (the zero id with `validateOnly`). */
  readonly topicId: string;
  /** Partitions (-1 if the broker did not say). */
  readonly numPartitions: number;
  /** Replication factor (-1 if the broker did not say). */
  readonly replicationFactor: number;
  /** Its configs, as the broker reports them after creation. */
  readonly configs: readonly ConfigEntry[];
}

/**
 * A topic in `listTopics`.
 *
 * @example
 * ```ts
 * import type { TopicListing } from "@denokafka/kafka/admin";
 * const names = (l: TopicListing[]) => l.map((t) => t.name);
 * console.log(typeof names);
 * ```
 */
export interface TopicListing {
  /** The name. */
  readonly name: string;
  /** Its id. */
  readonly topicId: string;
  /** Whether it is internal (`__consumer_offsets`, `__transaction_state`...). */
  readonly isInternal: boolean;
}

/**
 * Options of `listTopics`.
 *
 * @example
 * ```ts
 * import type { ListTopicsOptions } from "@denokafka/kafka/admin";
 * const o: ListTopicsOptions = { includeInternal: true };
 * console.log(o.includeInternal);
 * ```
 */
export interface ListTopicsOptions extends AdminCallOptions {
  /** Include internal topics. Default false. */
  includeInternal?: boolean;
}

// One partition in a topic description: the placement the metadata cache holds too, one type.
export type { TopicPartitionInfo } from "../cluster/metadata.ts";

/**
 * A topic's partitions and placement.
 *
 * @example
 * ```ts
 * import type { TopicDescription } from "@denokafka/kafka/admin";
 * const rf = (t: TopicDescription) => t.partitions[0]?.replicas.length ?? 0;
 * console.log(typeof rf);
 * ```
 */
export interface TopicDescription {
  /** The name. */
  readonly name: string;
  /** Its id. */
  readonly topicId: string;
  /** Whether it is internal. */
  readonly isInternal: boolean;
  /** Its partitions, by index. */
  readonly partitions: readonly TopicPartitionInfo[];
  /** What the caller may do with it, when asked for. */
  readonly authorizedOperations?: readonly AclOperation[] | undefined;
}

/**
 * Options of `describeTopics`.
 *
 * @example
 * ```ts
 * import type { DescribeTopicsOptions } from "@denokafka/kafka/admin";
 * const o: DescribeTopicsOptions = { includeAuthorizedOperations: true };
 * console.log(o.includeAuthorizedOperations);
 * ```
 */
export interface DescribeTopicsOptions extends AdminCallOptions {
  /** Ask which operations the caller may perform on each topic (KIP-430). */
  includeAuthorizedOperations?: boolean;
}

/**
 * A topic to delete: by name, or by id.
 *
 * @example
 * ```ts
 * import type { TopicRef } from "@denokafka/kafka/admin";
 * const refs: TopicRef[] = ["orders", { topicId: "x4Bq0Z2iQm2Hq5O2s1XQ2w" }];
 * console.log(refs.length);
 * ```
 */
export type TopicRef = string | { readonly topicId: string };

/**
 * Grows a topic to `count` partitions, optionally placing the new ones.
 *
 * @example
 * ```ts
 * import type { NewPartitions } from "@denokafka/kafka/admin";
 * const n: NewPartitions = { topic: "orders", count: 8 };
 * console.log(n.count);
 * ```
 */
export interface NewPartitions {
  /** The topic. */
  readonly topic: string;
  /** The new total partition count (it can only grow). */
  readonly count: number;
  /** Replica node ids for each new partition, in order. */
  readonly assignments?: readonly (readonly number[])[] | undefined;
}

/**
 * Options of `createPartitions`.
 *
 * @example
 * ```ts
 * import type { CreatePartitionsOptions } from "@denokafka/kafka/admin";
 * const o: CreatePartitionsOptions = { validateOnly: true };
 * console.log(o.validateOnly);
 * ```
 */
export interface CreatePartitionsOptions extends AdminCallOptions {
  /** Only check. */
  validateOnly?: boolean;
}

/** Controller-side item errors worth retrying; others (incl. timeouts) may have taken effect. */
function controllerRetriable(e: KafkaError): boolean {
  return e instanceof ProtocolError &&
    (e.code === ErrorCode.NOT_CONTROLLER || e.code === ErrorCode.THROTTLING_QUOTA_EXCEEDED);
}

function checkName(name: unknown, what = "topic name"): asserts name is string {
  if (typeof name !== "string" || name === "") throw new TypeError(`a ${what} must be a string`);
}

function checkUnique(names: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new TypeError(`${what} "${n}" is listed twice`);
    seen.add(n);
  }
}

function checkBrokerIds(ids: readonly number[], what: string): void {
  checkArray(ids, what);
  if (ids.length === 0) throw new TypeError(`${what} must list at least one node id`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`${what}: bad node id ${id}`);
  }
}

/** CreateTopics; per-topic errors as AdminBatchError. */
export function createTopics(
  ctx: AdminContext,
  topics: readonly NewTopic[],
  options: CreateTopicsOptions = {},
): Promise<CreatedTopic[]> {
  checkArray(topics, "topics");
  for (const t of topics) {
    checkName(t?.name);
    for (const k of ["numPartitions", "replicationFactor"] as const) {
      const v = t[k];
      if (v !== undefined && !(Number.isInteger(v) && (v > 0 || v === -1))) {
        throw new RangeError(`${t.name}: ${k} must be a positive integer`);
      }
    }
    if (t.assignments !== undefined) {
      if (t.numPartitions !== undefined || t.replicationFactor !== undefined) {
        throw new TypeError(
          `${t.name}: give assignments or numPartitions/replicationFactor, not both`,
        );
      }
      checkArray(t.assignments, `${t.name}: assignments`);
      if (t.assignments.length === 0) throw new TypeError(`${t.name}: assignments is empty`);
      t.assignments.forEach((a, i) => checkBrokerIds(a, `${t.name} partition ${i}`));
    }
  }
  checkUnique(topics.map((t) => t.name), "topic");
  return ctx.items<NewTopic, CreatedTopic>(
    options,
    "createTopics",
    topics,
    (t) => t.name,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.CreateTopics, {
        topics: pending.map((t) => ({
          name: t.name,
          numPartitions: t.assignments ? -1 : t.numPartitions ?? -1,
          replicationFactor: t.assignments ? -1 : t.replicationFactor ?? -1,
          assignments: (t.assignments ?? []).map((brokerIds, partitionIndex) => ({
            partitionIndex,
            brokerIds,
          })),
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs: ctx.brokerTimeoutMs(options),
        validateOnly: options.validateOnly ?? false,
      }, { signal, timeoutMs: ctx.requestTimeoutMs(options) });
      const byName = new Map(res.topics.map((r) => [r.name, r]));
      const out: Outcome<NewTopic, CreatedTopic>[] = [];
      for (const t of pending) {
        const r = byName.get(t.name);
        if (!r) continue;
        const err = itemError(r.errorCode, `topic ${t.name}`, r.errorMessage);
        if (err) {
          out.push([t, err]);
          continue;
        }
        if (!options.validateOnly) ctx.cluster.expectTopics([t.name]);
        out.push([t, {
          name: t.name,
          topicId: r.topicId,
          numPartitions: r.numPartitions,
          replicationFactor: r.replicationFactor,
          configs: (r.configs ?? []).map(configEntry),
        }]);
      }
      return out;
    },
    { retriable: controllerRetriable },
  );
}

/** DeleteTopics by name or id; per-topic errors as AdminBatchError. */
export async function deleteTopics(
  ctx: AdminContext,
  topics: readonly TopicRef[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkArray(topics, "topics");
  const nameOf = (t: TopicRef) => typeof t === "string" ? t : t.topicId;
  for (const t of topics) {
    if (typeof t === "string") checkName(t);
    else checkName(t?.topicId, "topic id");
  }
  checkUnique(topics.map(nameOf), "topic");
  await ctx.items<TopicRef, void>(
    options,
    "deleteTopics",
    topics,
    nameOf,
    async (pending, signal) => {
      const version = await ctx.versionFor(Api.DeleteTopics, signal);
      if (version < 6 && pending.some((t) => typeof t !== "string")) {
        throw new TypeError("this broker cannot delete topics by id (DeleteTopics v6+)");
      }
      const res = await ctx.cluster.send(
        { controller: true },
        Api.DeleteTopics,
        version >= 6
          ? {
            topics: pending.map((t) =>
              typeof t === "string" ? { name: t, topicId: ZERO_UUID } : { name: null, ...t }
            ),
            timeoutMs: ctx.brokerTimeoutMs(options),
          }
          : { topicNames: pending as string[], timeoutMs: ctx.brokerTimeoutMs(options) },
        { signal, timeoutMs: ctx.requestTimeoutMs(options), version },
      );
      const out: Outcome<TopicRef, void>[] = [];
      for (const t of pending) {
        const r = typeof t === "string"
          ? res.responses.find((x) => x.name === t)
          : res.responses.find((x) => x.topicId === t.topicId);
        if (!r) continue;
        const err = itemError(r.errorCode, `topic ${nameOf(t)}`, r.errorMessage);
        if (!err && r.name) {
          ctx.cluster.metadata.forget(r.name);
          ctx.cluster.expectTopics([r.name], 0);
        }
        out.push([t, err]);
      }
      return out;
    },
    { retriable: controllerRetriable },
  );
}

/** Every topic's name and id (Metadata for all topics). */
export function listTopics(
  ctx: AdminContext,
  options: ListTopicsOptions = {},
): Promise<TopicListing[]> {
  return ctx.call(options, async (signal) => {
    const res = await ctx.cluster.send({ any: true }, Api.Metadata, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    }, { signal });
    checkTopLevel(res.errorCode, "Metadata");
    ctx.cluster.metadata.update(res, true);
    return res.topics
      .filter((t) =>
        t.name !== null && t.errorCode === ErrorCode.NONE &&
        (options.includeInternal || !t.isInternal)
      )
      .map((t) => ({ name: t.name!, topicId: t.topicId, isInternal: t.isInternal }))
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
}

/** Metadata for some topics; per-topic errors as AdminBatchError. */
export function describeTopics(
  ctx: AdminContext,
  names: readonly string[],
  options: DescribeTopicsOptions = {},
): Promise<TopicDescription[]> {
  checkArray(names, "names");
  names.forEach((n) => checkName(n));
  return ctx.items<string, TopicDescription>(
    options,
    "describeTopics",
    names,
    (n) => n,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ any: true }, Api.Metadata, {
        topics: pending.map((name) => ({ name, topicId: ZERO_UUID })),
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: options.includeAuthorizedOperations ?? false,
      }, { signal });
      checkTopLevel(res.errorCode, "Metadata");
      ctx.cluster.metadata.update(res, false);
      return answered(
        pending,
        (name) => res.topics.find((x) => x.name === name),
        (t, name) =>
          itemError(t.errorCode, `topic ${name}`) ?? {
            name,
            topicId: t.topicId,
            isInternal: t.isInternal,
            partitions: t.partitions.map((p) => ({
              partition: p.partitionIndex,
              leader: p.leaderId,
              leaderEpoch: p.leaderEpoch,
              replicas: p.replicaNodes,
              isr: p.isrNodes,
              offlineReplicas: p.offlineReplicas,
            })).sort((a, b) => a.partition - b.partition),
            ...options.includeAuthorizedOperations &&
              { authorizedOperations: authorizedOperations(t.topicAuthorizedOperations) },
          },
      );
    },
    { topicOf: (n) => n },
  );
}

/** CreatePartitions; per-topic errors as AdminBatchError. */
export async function createPartitions(
  ctx: AdminContext,
  topics: readonly NewPartitions[],
  options: CreatePartitionsOptions = {},
): Promise<void> {
  checkArray(topics, "topics");
  for (const t of topics) {
    checkName(t?.topic);
    if (!Number.isInteger(t.count) || t.count < 1) {
      throw new RangeError(`${t.topic}: count must be a positive integer`);
    }
    t.assignments?.forEach((a, i) => checkBrokerIds(a, `${t.topic} new partition ${i}`));
  }
  checkUnique(topics.map((t) => t.topic), "topic");
  await ctx.items<NewPartitions, void>(
    options,
    "createPartitions",
    topics,
    (t) => t.topic,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.CreatePartitions, {
        topics: pending.map((t) => ({
          name: t.topic,
          count: t.count,
          assignments: t.assignments ? t.assignments.map((brokerIds) => ({ brokerIds })) : null,
        })),
        timeoutMs: ctx.brokerTimeoutMs(options),
        validateOnly: options.validateOnly ?? false,
      }, { signal, timeoutMs: ctx.requestTimeoutMs(options) });
      const out: Outcome<NewPartitions, void>[] = [];
      for (const t of pending) {
        const r = res.results.find((x) => x.name === t.topic);
        if (!r) continue;
        const err = itemError(r.errorCode, `topic ${t.topic}`, r.errorMessage);
        // The cached partition count is stale now.
        if (!err && !options.validateOnly) ctx.cluster.metadata.forget(t.topic);
        out.push([t, err]);
      }
      return out;
    },
    { retriable: controllerRetriable },
  );
}
