/**
 * The consumer's side of a rebalance (internal): what a group membership (classic or
 * KIP-848) calls when partitions are assigned or revoked, and the subscription it resolves.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import type { Committer } from "./committer.ts";
import type { Logger } from "../protocol/logger.ts";
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
 * The group host of a consumer: what its group membership calls back (see
 * {@linkcode GroupHost} for when each member is called).
 *
 * @example
 * ```ts ignore
 * const group = new ClassicGroup(cluster, options, assignors, new RebalanceHost(deps));
 * ```
 */
export class RebalanceHost implements GroupHost {
  readonly #deps: RebalanceDeps;

  /** The host for the consumer whose parts are `deps`. */
  constructor(deps: RebalanceDeps) {
    this.#deps = deps;
  }

  /** The consumer's cluster logger. */
  get logger(): Logger {
    return this.#deps.cluster.logger;
  }

  /** The subscribed topics now; a pattern is matched against freshly refreshed metadata. */
  async resolveSubscription(signal?: AbortSignal): Promise<string[]> {
    const { cluster } = this.#deps;
    const sub = this.#deps.subscription();
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
  }

  /** Adds the partitions (the resolver finds their start), then runs `onPartitionsAssigned`. */
  async assigned(partitions: TopicPartition[]): Promise<void> {
    const deps = this.#deps;
    for (const tp of partitions) deps.parts.addAssigned(tp);
    deps.cluster.logger.info("partitions assigned", { count: partitions.length });
    await this.#callback(deps.options.onPartitionsAssigned, partitions);
    deps.changed();
  }

  /** Stops handing the partitions out, commits what was taken (unless lost), then drops them. */
  async revoked(partitions: TopicPartition[], lost: boolean): Promise<void> {
    const { parts, options } = this.#deps;
    const keys = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
    // From now on nothing more of these partitions reaches the reader: records of them
    // still queued are skipped (FetchBuffer.take), so what is committed here is final.
    for (const k of keys) {
      const state = parts.byKey(k);
      if (state) state.revoking = true;
    }
    if (!lost) {
      if (this.#deps.resolved.autoCommit) {
        await this.#deps.committer.commitTaken("commit on revocation", keys);
      }
      await this.#callback(options.onPartitionsRevoked, partitions);
    } else {
      await this.#callback(options.onPartitionsLost ?? options.onPartitionsRevoked, partitions);
    }
    for (const k of keys) {
      const state = parts.byKey(k);
      if (state) parts.remove(state);
    }
    this.#deps.changed();
  }

  /** Fails the consumer. */
  fail(error: unknown): void {
    this.#deps.fail(error);
  }

  /** Runs a user's rebalance callback on copies of the partitions; what it throws is logged. */
  async #callback(
    callback: ((tps: TopicPartition[]) => void | Promise<void>) | undefined,
    partitions: TopicPartition[],
  ): Promise<void> {
    if (!callback || partitions.length === 0) return;
    try {
      await callback(partitions.map((tp) => ({ ...tp })));
    } catch (e) {
      this.#deps.cluster.logger.error("rebalance callback threw", { error: (e as Error)?.message });
    }
  }
}
