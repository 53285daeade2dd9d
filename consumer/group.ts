/**
 * What the two group membership protocols share (internal): the interface the consumer drives
 * and the interface through which a protocol tells the consumer about assignments.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import { KafkaError } from "../protocol/errors.ts";
import type { Logger } from "../protocol/logger.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { ConsumerGroupMetadata, TopicPartition, TopicPartitionOffset } from "./types.ts";

/**
 * What a group membership ({@linkcode GroupMembership}: `ClassicGroup` or the KIP-848
 * `ModernGroup`) calls back on the consumer. The consumer implements it as `RebalanceHost`
 * (rebalance.ts); tests/unit/consumer_modern_group_test.ts scripts its own. Every call comes
 * from the membership's join or heartbeat loop, or from its `close`.
 */
export interface GroupHost {
  /**
   * The topics to subscribe to now (a pattern is resolved against fresh metadata): called
   * before each JoinGroup (classic) or each heartbeat that sends the subscription (KIP-848),
   * and by the classic protocol's metadata check for partition count changes.
   */
  resolveSubscription(signal?: AbortSignal): Promise<string[]>;
  /**
   * Partitions given to this member, after a rebalance (classic) or a heartbeat's new target
   * assignment (KIP-848): the consumer looks up where to start, fetches them and runs
   * `onPartitionsAssigned`.
   */
  assigned(partitions: TopicPartition[]): Promise<void>;
  /**
   * Partitions taken away: before a rejoin (classic, eager), on a new assignment without them,
   * or on close. `lost`: the member was fenced or expired, so it must neither commit nor read
   * them any more (`onPartitionsLost`); otherwise the consumer commits what was taken of them
   * first (`onPartitionsRevoked`).
   */
  revoked(partitions: TopicPartition[], lost: boolean): Promise<void>;
  /**
   * An unrecoverable group error (authorization, an unknown member the protocol cannot
   * recover from, a loop that broke): the consumer's stream fails with it.
   */
  fail(error: unknown): void;
  /** Where the membership logs: the consumer's cluster logger. */
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
 * The group identity a membership reports for transactional offset commits (KIP-447
 * `sendOffsetsToTransaction`): the classic protocol's generation, or the KIP-848 member epoch
 * (-1 before the first heartbeat answered).
 *
 * @example
 * ```ts ignore
 * groupMetadata(options, "member-1", 3).generationId; // 3
 * ```
 */
export function groupMetadata(
  options: ResolvedConsumerOptions,
  memberId: string,
  generationId: number,
): ConsumerGroupMetadata {
  return {
    groupId: options.groupId!,
    generationId,
    memberId,
    groupInstanceId: options.groupInstanceId,
  };
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

/**
 * What a membership loop does with an error it caught: a retriable one is logged as
 * `what` and waited out (the `failures`-th backoff), then the loop goes on (true); anything
 * else fails the consumer and the loop ends (false).
 *
 * @example
 * ```ts ignore
 * if (!await retryOrFail(host, cluster, e, { group, what: "heartbeat failed", failures, signal })) return;
 * ```
 */
export async function retryOrFail(
  host: GroupHost,
  cluster: Cluster,
  error: unknown,
  at: { group: string; what: string; failures: number; signal: AbortSignal },
): Promise<boolean> {
  if (error instanceof KafkaError && error.retriable) {
    host.logger.warn(`${at.what}, retrying`, { group: at.group, error: error.message });
    await sleep(backoffMs(cluster.retryPolicy, at.failures), at.signal).catch(() => {});
    return true;
  }
  host.fail(error);
  return false;
}
