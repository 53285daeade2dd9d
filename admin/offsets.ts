/**
 * Partition offsets: ListOffsets (earliest, latest, max timestamp, by timestamp) and
 * DeleteRecords, both routed to each partition's leader.
 *
 * @module
 */

import { Api } from "../protocol/apis.ts";
import { UnsupportedVersionError } from "../protocol/errors.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  checkArray,
  findPartition,
  itemError,
  type Outcome,
} from "./context.ts";

/**
 * Which offset to look up:
 * - `earliest`: the log start offset; `latest`: the high watermark (or the last stable offset
 *   with `read_committed`);
 * - `max-timestamp`: the record with the largest timestamp (KIP-734);
 * - `earliest-local` / `latest-tiered`: tiered-storage bounds (KIP-1005);
 * - `{ timestamp }`: the first offset whose timestamp is at or after it (offset -1 if none).
 *
 * @example
 * ```ts
 * import type { OffsetSpec } from "@denokafka/kafka/admin";
 * const specs: OffsetSpec[] = ["earliest", "latest", { timestamp: Date.now() - 3_600_000 }];
 * console.log(specs.length);
 * ```
 */
export type OffsetSpec =
  | "earliest"
  | "latest"
  | "max-timestamp"
  | "earliest-local"
  | "latest-tiered"
  | { readonly timestamp: number | bigint | Date };

/**
 * A partition and the offset to look up in it.
 *
 * @example
 * ```ts
 * import type { OffsetQuery } from "@denokafka/kafka/admin";
 * const q: OffsetQuery = { topic: "orders", partition: 0, spec: "latest" };
 * console.log(q.spec);
 * ```
 */
export interface OffsetQuery {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** Which offset. */
  readonly spec: OffsetSpec;
}

/**
 * An offset found by `listOffsets`.
 *
 * @example
 * ```ts
 * import type { ListedOffset } from "@denokafka/kafka/admin";
 * const lag = (end: ListedOffset, committed: bigint) => end.offset - committed;
 * console.log(typeof lag);
 * ```
 */
export interface ListedOffset {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** The offset; -1 when no record matches a timestamp query. */
  readonly offset: bigint;
  /** The record's timestamp (ms), or -1 when not applicable. */
  readonly timestamp: number;
  /** The leader epoch of that offset, or -1. */
  readonly leaderEpoch: number;
}

/**
 * Options of `listOffsets`.
 *
 * @example
 * ```ts
 * import type { ListOffsetsOptions } from "@denokafka/kafka/admin";
 * const o: ListOffsetsOptions = { isolationLevel: "read_committed" };
 * console.log(o.isolationLevel);
 * ```
 */
export interface ListOffsetsOptions extends AdminCallOptions {
  /** `read_committed` makes `latest` the last stable offset. Default `read_uncommitted`. */
  isolationLevel?: "read_uncommitted" | "read_committed";
}

/**
 * Records to delete: every record of the partition before `offset` (`-1n`: up to the high
 * watermark, i.e. all of them).
 *
 * @example
 * ```ts
 * import type { RecordsToDelete } from "@denokafka/kafka/admin";
 * const d: RecordsToDelete = { topic: "orders", partition: 0, offset: 100n };
 * console.log(d.offset);
 * ```
 */
export interface RecordsToDelete {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** Delete before this offset; -1n for everything. */
  readonly offset: bigint;
}

/**
 * What `deleteRecords` left: the partition's new log start offset.
 *
 * @example
 * ```ts
 * import type { DeletedRecords } from "@denokafka/kafka/admin";
 * const show = (d: DeletedRecords) => `${d.topic}-${d.partition} starts at ${d.lowWatermark}`;
 * console.log(typeof show);
 * ```
 */
export interface DeletedRecords {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** The new log start offset. */
  readonly lowWatermark: bigint;
}

/** ListOffsets's special timestamps (KIP-734, KIP-1005), with the version each needs. */
const SPECIAL: Record<string, [timestamp: bigint, minVersion: number]> = {
  latest: [-1n, 0],
  earliest: [-2n, 0],
  "max-timestamp": [-3n, 7],
  "earliest-local": [-4n, 8],
  "latest-tiered": [-5n, 9],
};

function specTimestamp(spec: OffsetSpec): [bigint, number] {
  if (typeof spec === "string") {
    const s = SPECIAL[spec];
    if (!s) throw new TypeError(`unknown offset spec "${spec}"`);
    return s;
  }
  if (spec === null || typeof spec !== "object" || !("timestamp" in spec)) {
    throw new TypeError("an offset spec is a name or { timestamp }");
  }
  const t = spec.timestamp;
  const ms = t instanceof Date ? BigInt(t.getTime()) : typeof t === "bigint" ? t : BigInt(t);
  if (ms < 0n) throw new RangeError("a timestamp query needs a timestamp >= 0");
  return [ms, 0];
}

/** `topic-partition`, the name of a partition item in batch results. */
export function partitionName(p: { topic: string; partition: number }): string {
  return `${p.topic}-${p.partition}`;
}

/** Throws TypeError/RangeError unless `p` names a topic and a partition index. */
export function checkPartition(p: { topic: string; partition: number }): void {
  if (p === null || typeof p !== "object" || typeof p.topic !== "string" || p.topic === "") {
    throw new TypeError("each item needs a topic");
  }
  if (!Number.isInteger(p.partition) || p.partition < 0) {
    throw new RangeError(`${p.topic}: bad partition ${p.partition}`);
  }
}

function checkUniquePartitions(items: readonly { topic: string; partition: number }[]): void {
  const seen = new Set<string>();
  for (const i of items) {
    const k = partitionName(i);
    if (seen.has(k)) throw new TypeError(`partition ${k} is listed twice`);
    seen.add(k);
  }
}

/** ListOffsets to each leader; per-partition errors as AdminBatchError. */
export function listOffsets(
  ctx: AdminContext,
  queries: readonly OffsetQuery[],
  options: ListOffsetsOptions = {},
): Promise<ListedOffset[]> {
  checkArray(queries, "queries");
  queries.forEach(checkPartition);
  checkUniquePartitions(queries);
  const stamps = new Map(queries.map((q) => [q, specTimestamp(q.spec)]));
  const isolationLevel = options.isolationLevel === "read_committed" ? 1 : 0;
  return ctx.items<OffsetQuery, ListedOffset>(
    options,
    "listOffsets",
    queries,
    partitionName,
    (pending, signal) =>
      ctx.byLeader(pending, signal, async (node, list) => {
        const conn = await ctx.cluster.connectToNode(node, "default", signal);
        const version = conn.versionFor(Api.ListOffsets);
        const need = Math.max(...list.map((q) => stamps.get(q)![1]));
        if (version < need) {
          throw new UnsupportedVersionError("ListOffsets", {
            apiKey: Api.ListOffsets.key,
            detail: `the offset spec needs v${need}, broker ${node} speaks v${version}`,
          });
        }
        const topics = new Map<string, OffsetQuery[]>();
        for (const q of list) topics.set(q.topic, [...topics.get(q.topic) ?? [], q]);
        const res = await conn.request(Api.ListOffsets, {
          replicaId: -1,
          isolationLevel,
          topics: [...topics].map(([name, qs]) => ({
            name,
            partitions: qs.map((q) => ({
              partitionIndex: q.partition,
              currentLeaderEpoch: -1,
              timestamp: stamps.get(q)![0],
            })),
          })),
          timeoutMs: ctx.brokerTimeoutMs(options),
        }, { signal });
        const out: Outcome<OffsetQuery, ListedOffset>[] = [];
        for (const q of list) {
          const p = findPartition(res.topics, q);
          if (!p) continue;
          out.push([
            q,
            itemError(p.errorCode, partitionName(q)) ?? {
              topic: q.topic,
              partition: q.partition,
              offset: p.offset,
              timestamp: Number(p.timestamp),
              leaderEpoch: p.leaderEpoch,
            },
          ]);
        }
        return out;
      }),
    { topicOf: (q) => q.topic },
  );
}

/** DeleteRecords to each leader; per-partition errors as AdminBatchError. */
export function deleteRecords(
  ctx: AdminContext,
  items: readonly RecordsToDelete[],
  options: AdminCallOptions = {},
): Promise<DeletedRecords[]> {
  checkArray(items, "items");
  for (const i of items) {
    checkPartition(i);
    if (typeof i.offset !== "bigint" || i.offset < -1n) {
      throw new RangeError(`${partitionName(i)}: offset must be a bigint >= -1n`);
    }
  }
  checkUniquePartitions(items);
  return ctx.items<RecordsToDelete, DeletedRecords>(
    options,
    "deleteRecords",
    items,
    partitionName,
    (pending, signal) =>
      ctx.byLeader(pending, signal, async (node, list) => {
        const topics = new Map<string, RecordsToDelete[]>();
        for (const d of list) topics.set(d.topic, [...topics.get(d.topic) ?? [], d]);
        const res = await ctx.cluster.send({ node }, Api.DeleteRecords, {
          topics: [...topics].map(([name, ds]) => ({
            name,
            partitions: ds.map((d) => ({ partitionIndex: d.partition, offset: d.offset })),
          })),
          timeoutMs: ctx.brokerTimeoutMs(options),
        }, { signal, timeoutMs: ctx.requestTimeoutMs(options) });
        const out: Outcome<RecordsToDelete, DeletedRecords>[] = [];
        for (const d of list) {
          const p = findPartition(res.topics, d);
          if (!p) continue;
          out.push([
            d,
            itemError(p.errorCode, partitionName(d)) ??
              { topic: d.topic, partition: d.partition, lowWatermark: p.lowWatermark },
          ]);
        }
        return out;
      }),
    { topicOf: (d) => d.topic },
  );
}
