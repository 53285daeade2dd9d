/**
 * The shapes the consumer hands out and takes: records, partitions, offsets, group metadata.
 *
 * @module
 */

import type { TopicPartition } from "../cluster/types.ts";

// The position shapes shared with the producer and the admin client.
export type { TopicPartition, TopicPartitionOffset } from "../cluster/types.ts";

/**
 * One record read from Kafka. `key`, `value` and header values are views into the fetched (or
 * decompressed) bytes: copy them (`slice()`) to keep them long after reading, or they keep
 * that whole buffer alive.
 *
 * @example
 * ```ts
 * import type { ConsumerRecord } from "@denokafka/kafka/consumer";
 * const show = (r: ConsumerRecord) => `${r.topic}[${r.partition}]@${r.offset}`;
 * console.log(typeof show);
 * ```
 */
export interface ConsumerRecord {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The record's offset in its partition. */
  offset: bigint;
  /** The key, or `null`. */
  key: Uint8Array | null;
  /** The value, or `null` (a tombstone). */
  value: Uint8Array | null;
  /**
   * The headers, in wire order. Records without headers share one frozen empty array (one
   * allocation less per record): copy before adding to it.
   */
  headers: { key: string; value: Uint8Array | null }[];
  /** Milliseconds since the epoch: the producer's time, or the broker's (see `timestampType`). */
  timestamp: number;
  /** Whether `timestamp` was set by the producer (`create`) or the broker (`log-append`). */
  timestampType: "create" | "log-append";
  /** The leader epoch of the batch that held the record (-1 when unknown). */
  leaderEpoch: number;
}

/**
 * Where to start reading a partition.
 *
 * - a `bigint`: that offset;
 * - `"earliest"` / `"latest"`: the log start, or the end (only records written from now on);
 * - `{ timestamp }`: the first record whose timestamp is at or after it (ListOffsets by time),
 *   or the end when there is none;
 * - `"committed"`: the group's committed offset, else `autoOffsetReset`.
 *
 * @example
 * ```ts
 * import type { StartOffset } from "@denokafka/kafka/consumer";
 * const from: StartOffset = { timestamp: Date.now() - 3_600_000 };
 * console.log(typeof from);
 * ```
 */
export type StartOffset =
  | bigint
  | "earliest"
  | "latest"
  | "committed"
  | { timestamp: number | Date };

/**
 * Where to stop reading a partition (exclusive): an offset, the end of the log at assignment
 * time, or the first offset at or after a timestamp.
 *
 * @example
 * ```ts
 * import type { EndOffset } from "@denokafka/kafka/consumer";
 * const until: EndOffset = "latest";
 * console.log(until);
 * ```
 */
export type EndOffset = bigint | "latest" | { timestamp: number | Date };

/**
 * A partition to read, for {@linkcode Consumer.assign}.
 *
 * @example
 * ```ts
 * import type { PartitionAssignment } from "@denokafka/kafka/consumer";
 * const a: PartitionAssignment = { topic: "t", partition: 0, offset: "earliest", end: "latest" };
 * console.log(a.partition);
 * ```
 */
export interface PartitionAssignment {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** Where to start. Default `"committed"` with a `groupId`, else `autoOffsetReset`. */
  offset?: StartOffset;
  /**
   * Where to stop (exclusive). When every assigned partition has reached its end the stream
   * ends: a bounded read, e.g. `{ offset: "earliest", end: "latest" }` reads what is there.
   * The consumer stays open (commits, `committed()`, `position()`, `lag()`) until `close()`.
   */
  end?: EndOffset;
}

/**
 * A partition's read position and lag.
 *
 * @example
 * ```ts
 * import type { PartitionLag } from "@denokafka/kafka/consumer";
 * const l: PartitionLag = { topic: "t", partition: 0, position: 5n, highWatermark: 9n, lag: 4n };
 * console.log(l.lag);
 * ```
 */
export interface PartitionLag {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The offset of the next record the reader will take, when known. */
  position: bigint | undefined;
  /** The high watermark from the last fetch, when known. */
  highWatermark: bigint | undefined;
  /** `highWatermark - position`, when both are known. */
  lag: bigint | undefined;
}

/**
 * The group identity a transactional producer needs for `sendOffsetsToTransaction` (KIP-447):
 * the producer's own type, so `consumer.groupMetadata()` goes straight in.
 */
export type { ConsumerGroupMetadata } from "../producer/record.ts";

/**
 * A rebalance callback. The consumer awaits it: a `revoked` callback may commit before the
 * partitions go to another member.
 *
 * @example
 * ```ts
 * import type { RebalanceCallback } from "@denokafka/kafka/consumer";
 * const log: RebalanceCallback = (tps) => console.log(tps.length);
 * log([]);
 * ```
 */
export type RebalanceCallback = (partitions: TopicPartition[]) => void | Promise<void>;

/**
 * `topic` NUL `partition`: the key of per-partition maps (internal).
 *
 * @example
 * ```ts ignore
 * console.log(tpKey("t", 1).length); // 3
 * ```
 */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Options of `Consumer.close()`.
 *
 * @example
 * ```ts
 * import { Consumer } from "@denokafka/kafka";
 * const consumer = new Consumer({ brokers: ["127.0.0.1:9092"] });
 * await consumer.close({ timeoutMs: 5_000 }); // commit and leave within 5 s, or give up
 * ```
 */
export interface ConsumerCloseOptions {
  /** Give up committing and leaving the group after this long (capped by `retry.deadlineMs`). */
  timeoutMs?: number;
}
