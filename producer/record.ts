/**
 * The shapes a producer takes and gives: records, their delivery results, and the consumer
 * group metadata a transaction commits offsets for.
 *
 * @module
 */

import type { KafkaError } from "../protocol/errors.ts";

/**
 * One header of a record. Headers are ordered and a key may appear more than once.
 *
 * @example
 * ```ts
 * import type { ProducerRecordHeader } from "@denokafka/kafka/producer";
 * const h: ProducerRecordHeader = { key: "trace", value: "abc" };
 * console.log(h.key);
 * ```
 */
export interface ProducerRecordHeader {
  /** The header name. */
  readonly key: string;
  /** The value: bytes, a string (sent as UTF-8), or `null`. */
  readonly value: Uint8Array | string | null;
}

/**
 * A record to produce.
 *
 * @example
 * ```ts
 * import type { ProducerRecord } from "@denokafka/kafka/producer";
 * const r: ProducerRecord = {
 *   topic: "orders",
 *   key: "customer-7",
 *   value: JSON.stringify({ total: 12 }),
 *   headers: [{ key: "source", value: "web" }],
 * };
 * console.log(r.topic);
 * ```
 */
export interface ProducerRecord {
  /** The topic; defaults to the producer's `defaultTopic`. */
  readonly topic?: string;
  /** The key (strings are sent as UTF-8); `null` or absent for none. */
  readonly key?: Uint8Array | string | null;
  /** The value (strings are sent as UTF-8); `null` is a tombstone. */
  readonly value: Uint8Array | string | null;
  /** Headers, in order, duplicates kept. */
  readonly headers?: readonly ProducerRecordHeader[];
  /** An explicit partition, bypassing the partitioner. */
  readonly partition?: number;
  /**
   * The record's timestamp (ms since the epoch, or a Date); default: the time the producer
   * accepted it (its CreateTime), from a clock read at least once per 32 records and once per
   * turn of the event loop (see `producer/clock.ts`).
   */
  readonly timestamp?: number | Date;
}

/**
 * Where a record was written, as the broker acknowledged it. With `acks: 0` the broker says
 * nothing, and `offset` is `-1n`.
 *
 * @example
 * ```ts
 * import type { RecordMetadata } from "@denokafka/kafka/producer";
 * const md: RecordMetadata = { topic: "t", partition: 0, offset: 42n, timestamp: Date.now() };
 * console.log(md.offset);
 * ```
 */
export interface RecordMetadata {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** The record's offset (`-1n` when unknown: acks 0, or a duplicate the broker no longer tracks). */
  readonly offset: bigint;
  /** The log-append time when the topic uses LogAppendTime, else the record's own timestamp. */
  readonly timestamp: number;
}

/**
 * The outcome of one record written through `producer.writable`, in write order per
 * partition: its metadata, or the error that failed it.
 *
 * @example
 * ```ts
 * import type { DeliveryReport } from "@denokafka/kafka/producer";
 * const show = (r: DeliveryReport) => r.error ? r.error.message : `${r.partition}@${r.offset}`;
 * console.log(typeof show);
 * ```
 */
export interface DeliveryReport extends RecordMetadata {
  /** The record as written. */
  readonly record: ProducerRecord;
  /** Set when the record was not delivered. */
  readonly error?: KafkaError | Error;
}

/**
 * The consumer group a transaction commits offsets for: what `consumer.groupMetadata()`
 * returns. Passing the generation and member id lets the broker fence zombie consumers
 * (KIP-447).
 *
 * @example
 * ```ts
 * import type { ConsumerGroupMetadata } from "@denokafka/kafka/producer";
 * const g: ConsumerGroupMetadata = { groupId: "g", generationId: -1, memberId: "", groupInstanceId: null };
 * console.log(g.groupId);
 * ```
 */
export interface ConsumerGroupMetadata {
  /** The group id. */
  readonly groupId: string;
  /** The generation; `-1` when unknown. */
  readonly generationId: number;
  /** The member id; `""` when unknown. */
  readonly memberId: string;
  /** The static member id, or `null`. */
  readonly groupInstanceId: string | null;
}

/**
 * An offset to commit within a transaction (the position of the next record to consume).
 *
 * @example
 * ```ts
 * import type { TransactionOffset } from "@denokafka/kafka/producer";
 * const o: TransactionOffset = { topic: "in", partition: 0, offset: 10n };
 * console.log(o.offset);
 * ```
 */
export interface TransactionOffset {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** The offset to commit. */
  readonly offset: bigint;
  /** Optional metadata string stored with the offset. */
  readonly metadata?: string;
  /** The leader epoch of the consumed record, when known. */
  readonly leaderEpoch?: number;
}
