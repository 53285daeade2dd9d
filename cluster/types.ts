/**
 * Record-position shapes shared by the producer, the consumer and the admin client.
 *
 * @module
 */

/**
 * A partition of a topic.
 *
 * @example
 * ```ts
 * import type { TopicPartition } from "@denokafka/kafka";
 * const tp: TopicPartition = { topic: "orders", partition: 0 };
 * console.log(`${tp.topic}-${tp.partition}`);
 * ```
 */
export interface TopicPartition {
  /** The topic. */
  readonly topic: string;
  /** The partition index. */
  readonly partition: number;
}

/**
 * A position in a partition, as committed by a consumer group.
 *
 * @example
 * ```ts
 * import type { TopicPartitionOffset } from "@denokafka/kafka";
 * const c: TopicPartitionOffset = { topic: "orders", partition: 0, offset: 42n };
 * console.log(c.offset);
 * ```
 */
export interface TopicPartitionOffset extends TopicPartition {
  /** The offset (of the next record to consume, for commits). */
  readonly offset: bigint;
  /** Free-form metadata stored with a commit. */
  readonly metadata?: string | undefined;
  /** The leader epoch of the record before `offset` (KIP-320), when known. */
  readonly leaderEpoch?: number | undefined;
}
