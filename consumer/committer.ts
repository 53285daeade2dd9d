/**
 * The committer (internal): commits offsets to the group one request at a time, in order,
 * and runs auto-commit on its timer.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { ProtocolError } from "../protocol/errors.ts";
import type { GroupMembership } from "./group.ts";
import { commitOffsets, fetchCommitted } from "./offsets.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { PartitionState } from "./partition_state.ts";
import { type TopicPartition, type TopicPartitionOffset, tpKey } from "./types.ts";

/** What the committer needs from the consumer. */
export interface CommitterHost {
  /** Every assigned partition, with `taken` up to date. */
  partitions(): Iterable<PartitionState>;
  /** The partition, if assigned. */
  partition(topic: string, partition: number): PartitionState | undefined;
  /** The group membership, when a member (commits then carry its generation or epoch). */
  readonly group: GroupMembership | undefined;
}

/**
 * Commits offsets for a consumer.
 *
 * @example
 * ```ts ignore
 * const committer = new Committer(cluster, options, host);
 * await committer.commit(committer.takenOffsets(undefined, true));
 * ```
 */
export class Committer {
  readonly #cluster: Cluster;
  readonly #o: ResolvedConsumerOptions;
  readonly #host: CommitterHost;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** A committer for the host's group (`options.groupId`). */
  constructor(cluster: Cluster, options: ResolvedConsumerOptions, host: CommitterHost) {
    this.#cluster = cluster;
    this.#o = options;
    this.#host = host;
  }

  /**
   * What the reader took, as offsets to commit (`onlyChanged`: those not yet committed).
   * `taken` is the offset after the last record the reader received: never beyond it.
   */
  takenOffsets(filter: Set<string> | undefined, onlyChanged: boolean): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const ps of this.#host.partitions()) {
      if (filter && !filter.has(ps.key)) continue;
      if (ps.taken < 0n) continue;
      if (onlyChanged && ps.committed === ps.taken) continue;
      out.push({
        topic: ps.topic,
        partition: ps.partition,
        offset: ps.taken,
        ...ps.takenEpoch >= 0 ? { leaderEpoch: ps.takenEpoch } : {},
      });
    }
    return out;
  }

  /** Commits in order (one at a time), and records what the broker accepted. */
  commit(offsets: readonly TopicPartitionOffset[], signal?: AbortSignal): Promise<void> {
    if (offsets.length === 0) return Promise.resolve();
    const run = async () => {
      const groupId = this.#o.groupId!;
      const group = this.#host.group;
      if (group) await group.commit(offsets, signal);
      else {
        await this.#cluster.retry(async (_a, sig) => {
          const errors = await commitOffsets(this.#cluster, groupId, offsets, {
            generationIdOrMemberEpoch: -1,
            memberId: "",
            groupInstanceId: null,
          }, sig);
          for (const [k, code] of errors) {
            if (code !== 0) {
              throw new ProtocolError(code, `OffsetCommit ${groupId} ${k.replace("\u0000", "-")}`);
            }
          }
        }, { coordinator: ["group", groupId], ...signal && { signal } });
      }
      for (const o of offsets) {
        const ps = this.#host.partition(o.topic, o.partition);
        if (ps) ps.committed = o.offset;
      }
    };
    const p = this.#chain.then(run, run);
    this.#chain = p.catch(() => {});
    return p;
  }

  /** Commits what was taken and not yet committed; failures are logged (`what` says when). */
  commitTaken(what: string, filter?: Set<string>, onlyChanged = true): Promise<void> {
    return this.commit(this.takenOffsets(filter, onlyChanged)).catch((e) => {
      this.#cluster.logger.warn(`${what} failed`, { error: (e as Error).message });
    });
  }

  /** Resolves once every commit started so far has settled. */
  settled(): Promise<void> {
    return this.#chain.then(() => {}, () => {});
  }

  /** The group's committed offsets for these partitions (-1n: none), from the broker. */
  async committed(
    partitions: readonly TopicPartition[],
    signal?: AbortSignal,
  ): Promise<TopicPartitionOffset[]> {
    const groupId = this.#o.groupId!;
    const res = await this.#cluster.retry(
      (_a, sig) =>
        fetchCommitted(
          this.#cluster,
          groupId,
          partitions,
          { memberId: null, memberEpoch: -1 },
          sig,
        ),
      { coordinator: ["group", groupId], ...signal && { signal } },
    );
    return partitions.map((tp) => {
      const c = res.get(tpKey(tp.topic, tp.partition));
      return {
        topic: tp.topic,
        partition: tp.partition,
        offset: c?.offset ?? -1n,
        ...c?.metadata ? { metadata: c.metadata } : {},
        ...c && c.leaderEpoch >= 0 ? { leaderEpoch: c.leaderEpoch } : {},
      };
    });
  }

  /** Starts auto-commit: every `autoCommitIntervalMs`, what was taken since. */
  startAutoCommit(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      if (this.#stopped) return;
      await this.commitTaken("auto-commit");
      this.startAutoCommit();
    }, this.#o.autoCommitIntervalMs);
  }

  /** Stops auto-commit (commits already started still finish: see {@linkcode settled}). */
  stopAutoCommit(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
