/**
 * The committer (internal): commits offsets to the group one request at a time, in order,
 * and runs auto-commit on its timer.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { ProtocolError } from "../protocol/errors.ts";
import type { GroupMembership } from "./group.ts";
import { commitOffsets, fetchCommitted } from "./offsets.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { Partitions } from "./partitions.ts";
import { checkTopicPartition } from "./positions.ts";
import {
  type ConsumerRecord,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from "./types.ts";

/**
 * What `commit(what)` commits: a record's next offset (`record.offset + 1`, with its leader
 * epoch), or the offsets given, checked. TypeError / RangeError for bad input.
 *
 * @example
 * ```ts ignore
 * offsetsToCommit([{ topic: "t", partition: 0, offset: 42n }]);
 * ```
 */
export function offsetsToCommit(
  what: ConsumerRecord | readonly TopicPartitionOffset[],
): TopicPartitionOffset[] {
  if (Array.isArray(what)) {
    return (what as readonly TopicPartitionOffset[]).map((o) => {
      checkTopicPartition(o);
      if (typeof o.offset !== "bigint" || o.offset < 0n) {
        throw new RangeError(`a commit offset must be a bigint >= 0, got ${String(o.offset)}`);
      }
      if (o.metadata !== undefined && typeof o.metadata !== "string") {
        throw new TypeError("commit metadata must be a string");
      }
      return { ...o };
    });
  }
  const r = what as ConsumerRecord;
  checkTopicPartition(r);
  if (typeof r.offset !== "bigint" || r.offset < 0n) {
    throw new RangeError(`a record offset must be a bigint >= 0, got ${String(r.offset)}`);
  }
  return [{
    topic: r.topic,
    partition: r.partition,
    offset: r.offset + 1n,
    leaderEpoch: r.leaderEpoch,
  }];
}

/**
 * Commits offsets for a consumer.
 *
 * @example
 * ```ts ignore
 * const committer = new Committer(cluster, options, parts, () => group);
 * await committer.commit(committer.takenOffsets(undefined, true));
 * ```
 */
export class Committer {
  readonly #cluster: Cluster;
  readonly #options: ResolvedConsumerOptions;
  readonly #parts: Partitions;
  readonly #group: () => GroupMembership | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** A committer for `options.groupId`, of these partitions, as a member of `group()`. */
  constructor(
    cluster: Cluster,
    options: ResolvedConsumerOptions,
    parts: Partitions,
    group: () => GroupMembership | undefined,
  ) {
    this.#cluster = cluster;
    this.#options = options;
    this.#parts = parts;
    this.#group = group;
  }

  /**
   * What the reader took, as offsets to commit (`onlyChanged`: those not yet committed).
   * `taken` is the offset after the last record the reader received: never beyond it.
   */
  takenOffsets(filter: Set<string> | undefined, onlyChanged: boolean): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const state of this.#parts.values()) {
      if (filter && !filter.has(state.key)) continue;
      if (state.taken < 0n) continue;
      if (onlyChanged && state.committed === state.taken) continue;
      out.push({
        topic: state.topic,
        partition: state.partition,
        offset: state.taken,
        ...state.takenEpoch >= 0 ? { leaderEpoch: state.takenEpoch } : {},
      });
    }
    return out;
  }

  /** Commits in order (one at a time), and records what the broker accepted. */
  commit(offsets: readonly TopicPartitionOffset[], signal?: AbortSignal): Promise<void> {
    if (offsets.length === 0) return Promise.resolve();
    const run = async () => {
      const groupId = this.#options.groupId!;
      const group = this.#group();
      if (group) await group.commit(offsets, signal);
      else {
        await this.#cluster.retry(async (_a, sig) => {
          const errors = await commitOffsets(this.#cluster, groupId, offsets, {
            generationIdOrMemberEpoch: -1,
            memberId: "",
            groupInstanceId: null,
          }, sig);
          for (const [k, code] of errors) {
            if (code !== ErrorCode.NONE) {
              throw new ProtocolError(code, `OffsetCommit ${groupId} ${k.replace("\u0000", "-")}`);
            }
          }
        }, { coordinator: ["group", groupId], ...signal && { signal } });
      }
      for (const o of offsets) {
        const state = this.#parts.get(o.topic, o.partition);
        if (state) state.committed = o.offset;
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
    const groupId = this.#options.groupId!;
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
    }, this.#options.autoCommitIntervalMs);
  }

  /** Stops auto-commit (commits already started still finish: see {@linkcode settled}). */
  stopAutoCommit(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
