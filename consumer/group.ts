/**
 * What the two group membership protocols share (internal): the interface the consumer drives
 * and the interface through which a protocol tells the consumer about assignments.
 *
 * @module
 */

import type { Logger } from "../protocol/logger.ts";
import type { ConsumerGroupMetadata, TopicPartition, TopicPartitionOffset } from "./types.ts";

/** What a group protocol needs from the consumer. */
export interface GroupHost {
  /** The topics to subscribe to now (a pattern is resolved against fresh metadata). */
  resolveSubscription(signal?: AbortSignal): Promise<string[]>;
  /** Partitions given to this member: look up where to start, then fetch them. */
  assigned(partitions: TopicPartition[]): Promise<void>;
  /**
   * Partitions taken away. `lost`: the member was fenced or expired, so it must neither
   * commit nor read them any more; otherwise it commits what was taken first.
   */
  revoked(partitions: TopicPartition[], lost: boolean): Promise<void>;
  /** An unrecoverable group error: the consumer fails with it. */
  fail(error: unknown): void;
  /** Where to log. */
  readonly logger: Logger;
}

/** A group membership, as the consumer drives it. */
export interface GroupMembership {
  /** Starts joining (idempotent). */
  start(): void;
  /** The group identity for transactional offset commits. */
  metadata(): ConsumerGroupMetadata;
  /** The partitions this member owns. */
  owned(): TopicPartition[];
  /** Commits offsets with the member's current generation/epoch, retrying what can be. */
  commit(offsets: readonly TopicPartitionOffset[], signal?: AbortSignal): Promise<void>;
  /** The subscription changed (or may have, for a pattern): rejoin if it did. */
  subscriptionChanged(): void;
  /** Revokes everything (committing first) and leaves the group unless told not to. */
  close(leave: boolean): Promise<void>;
}

/**
 * Partitions in `a` and not in `b`.
 *
 * @example
 * ```ts ignore
 * minus([{ topic: "t", partition: 0 }], []).length; // 1
 * ```
 */
export function minus(
  a: readonly TopicPartition[],
  b: readonly TopicPartition[],
): TopicPartition[] {
  const keys = new Set(b.map((tp) => `${tp.topic}\u0000${tp.partition}`));
  return a.filter((tp) => !keys.has(`${tp.topic}\u0000${tp.partition}`));
}
