/**
 * The consumer's side of a rebalance (internal): what a group membership (classic or
 * KIP-848) calls when partitions are assigned or revoked, and the subscription it resolves.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import type { Committer } from "./committer.ts";
import type { GroupHost } from "./group.ts";
import type { ConsumerOptions, ResolvedConsumerOptions } from "./options.ts";
import type { Partitions } from "./partitions.ts";
import { type TopicPartition, tpKey } from "./types.ts";

/** What the rebalance callbacks need from the consumer. */
export interface RebalanceDeps {
  readonly cluster: Cluster;
  readonly options: ConsumerOptions;
  readonly resolved: ResolvedConsumerOptions;
  readonly parts: Partitions;
  readonly committer: Committer;
  /** The subscription now. */
  subscription(): readonly string[] | RegExp | undefined;
  /** Partitions changed: fetch loops, the resolver and a waiting pull look again. */
  changed(): void;
  /** An unrecoverable error: the stream fails with it. */
  fail(error: unknown): void;
}

/**
 * The group host of a consumer.
 *
 * @example
 * ```ts ignore
 * const group = new ClassicGroup(cluster, options, assignors, rebalanceHost(deps));
 * ```
 */
export function rebalanceHost(deps: RebalanceDeps): GroupHost {
  const { cluster, options } = deps;
  const callback = async (
    cb: ((tps: TopicPartition[]) => void | Promise<void>) | undefined,
    partitions: TopicPartition[],
  ): Promise<void> => {
    if (!cb || partitions.length === 0) return;
    try {
      await cb(partitions.map((tp) => ({ ...tp })));
    } catch (e) {
      cluster.logger.error("rebalance callback threw", { error: (e as Error)?.message });
    }
  };
  return {
    logger: cluster.logger,
    resolveSubscription: async (signal) => {
      const sub = deps.subscription();
      if (sub === undefined) return [];
      if (sub instanceof RegExp) {
        await cluster.refreshMetadata(null, { signal });
        const topics = cluster.metadata.topics()
          .filter((t) => !t.isInternal && sub.test(t.name))
          .map((t) => t.name);
        cluster.addInterest(topics);
        return topics;
      }
      cluster.addInterest(sub);
      await cluster.refreshMetadata(sub, { signal });
      return [...sub];
    },
    assigned: async (partitions) => {
      for (const tp of partitions) deps.parts.addAssigned(tp);
      cluster.logger.info("partitions assigned", { count: partitions.length });
      await callback(options.onPartitionsAssigned, partitions);
      deps.changed();
    },
    revoked: async (partitions, lost) => {
      const keys = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
      // From now on nothing more of these partitions reaches the reader: records of them
      // still queued are skipped (FetchBuffer.take), so what is committed here is final.
      for (const k of keys) {
        const ps = deps.parts.byKey(k);
        if (ps) ps.revoking = true;
      }
      if (!lost) {
        if (deps.resolved.autoCommit) {
          await deps.committer.commitTaken("commit on revocation", keys);
        }
        await callback(options.onPartitionsRevoked, partitions);
      } else {
        await callback(options.onPartitionsLost ?? options.onPartitionsRevoked, partitions);
      }
      for (const k of keys) {
        const ps = deps.parts.byKey(k);
        if (ps) deps.parts.remove(ps);
      }
      deps.changed();
    },
    fail: (e) => deps.fail(e),
  };
}
