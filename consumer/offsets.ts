/**
 * Offset requests of the consumer (internal): ListOffsets (earliest, latest, by time),
 * OffsetForLeaderEpoch (KIP-320), and the group's OffsetFetch and OffsetCommit.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { Api } from "../protocol/apis.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { offsetFetchAnswer, offsetFetchRequest } from "../protocol/offset_fetch.ts";
import { versionForTopicIds } from "../protocol/topic_id_version.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import { type TopicPartition, type TopicPartitionOffset, tpKey } from "./types.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { COORDINATOR_ERRORS } from "../protocol/error_sets.ts";

/** ListOffsets' special timestamps. */
export const LATEST = -1n;
/** ListOffsets' special timestamps. */
export const EARLIEST = -2n;

/** One ListOffsets query. */
export interface OffsetQuery extends TopicPartition {
  /** A timestamp in ms, or {@linkcode LATEST} / {@linkcode EARLIEST}. */
  timestamp: bigint;
  /** The leader epoch the client knows (-1 unknown). */
  currentLeaderEpoch: number;
}

/** A ListOffsets answer: an offset, or the partition's error code. */
export type OffsetAnswer =
  | { errorCode: typeof ErrorCode.NONE; offset: bigint; timestamp: bigint; leaderEpoch: number }
  | { errorCode: number };

function groupByLeader<T extends TopicPartition>(cluster: Cluster, items: readonly T[]) {
  const byLeader = new Map<number, T[]>();
  const leaderless: T[] = [];
  for (const it of items) {
    const leader = cluster.leaderFor(it.topic, it.partition);
    if (leader < 0) {
      leaderless.push(it);
      continue;
    }
    let list = byLeader.get(leader);
    if (!list) byLeader.set(leader, list = []);
    list.push(it);
  }
  return { byLeader, leaderless };
}

function byTopic<T extends TopicPartition>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    let list = m.get(it.topic);
    if (!list) m.set(it.topic, list = []);
    list.push(it);
  }
  return m;
}

/**
 * Sends ListOffsets to each partition's leader. A failed request (connection, timeout)
 * rejects; per-partition errors are answers.
 *
 * @example
 * ```ts ignore
 * const answers = await listOffsets(cluster, 1, [{ topic: "t", partition: 0,
 *   timestamp: LATEST, currentLeaderEpoch: -1 }]);
 * ```
 */
export async function listOffsets(
  cluster: Cluster,
  isolationLevel: number,
  queries: readonly OffsetQuery[],
  signal?: AbortSignal,
): Promise<Map<string, OffsetAnswer>> {
  const out = new Map<string, OffsetAnswer>();
  const { byLeader, leaderless } = groupByLeader(cluster, queries);
  for (const q of leaderless) {
    out.set(tpKey(q.topic, q.partition), { errorCode: ErrorCode.LEADER_NOT_AVAILABLE });
  }
  await Promise.all([...byLeader].map(async ([node, list]) => {
    const res = await cluster.send({ node }, Api.ListOffsets, {
      replicaId: -1,
      isolationLevel,
      topics: [...byTopic(list)].map(([name, ps]) => ({
        name,
        partitions: ps.map((q) => ({
          partitionIndex: q.partition,
          currentLeaderEpoch: q.currentLeaderEpoch,
          timestamp: q.timestamp,
        })),
      })),
      timeoutMs: cluster.options.requestTimeoutMs ?? 30_000,
    }, signal ? { signal } : {});
    for (const t of res.topics) {
      for (const p of t.partitions) {
        out.set(
          tpKey(t.name, p.partitionIndex),
          p.errorCode === ErrorCode.NONE
            ? {
              errorCode: ErrorCode.NONE,
              offset: p.offset,
              timestamp: p.timestamp,
              leaderEpoch: p.leaderEpoch,
            }
            : { errorCode: p.errorCode },
        );
      }
    }
  }));
  return out;
}

/** One OffsetForLeaderEpoch query. */
export interface EpochQuery extends TopicPartition {
  /** The epoch whose end offset is wanted. */
  leaderEpoch: number;
  /** The leader epoch the client knows (-1 unknown). */
  currentLeaderEpoch: number;
}

/** The end of an epoch in the leader's log, or an error code. */
export interface EpochAnswer {
  errorCode: number;
  leaderEpoch: number;
  endOffset: bigint;
}

/**
 * Asks each leader where the given epochs end in its log (KIP-320: was the log truncated
 * under our position?).
 *
 * @example
 * ```ts ignore
 * const a = await offsetForLeaderEpoch(cluster, [{ topic: "t", partition: 0, leaderEpoch: 3,
 *   currentLeaderEpoch: 4 }]);
 * ```
 */
export async function offsetForLeaderEpoch(
  cluster: Cluster,
  queries: readonly EpochQuery[],
  signal?: AbortSignal,
): Promise<Map<string, EpochAnswer>> {
  const out = new Map<string, EpochAnswer>();
  const { byLeader, leaderless } = groupByLeader(cluster, queries);
  for (const q of leaderless) {
    out.set(tpKey(q.topic, q.partition), {
      errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
      leaderEpoch: -1,
      endOffset: -1n,
    });
  }
  await Promise.all([...byLeader].map(async ([node, list]) => {
    const res = await cluster.send({ node }, Api.OffsetForLeaderEpoch, {
      replicaId: -1,
      topics: [...byTopic(list)].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((q) => ({
          partition: q.partition,
          currentLeaderEpoch: q.currentLeaderEpoch,
          leaderEpoch: q.leaderEpoch,
        })),
      })),
    }, signal ? { signal } : {});
    for (const t of res.topics) {
      for (const p of t.partitions) {
        out.set(tpKey(t.topic, p.partition), {
          errorCode: p.errorCode,
          leaderEpoch: p.leaderEpoch,
          endOffset: p.endOffset,
        });
      }
    }
  }));
  return out;
}

/** A committed offset as OffsetFetch returns it (offset -1: none). */
export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

/**
 * Reads a group's committed offsets (OffsetFetch, `requireStable`: offsets of pending
 * transactions are waited for, KIP-447). Throws {@linkcode ProtocolError} for group errors
 * and per-partition errors.
 *
 * @example
 * ```ts ignore
 * const committed = await fetchCommitted(cluster, "g", [{ topic: "t", partition: 0 }]);
 * ```
 */
export async function fetchCommitted(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[],
  member: { memberId: string | null; memberEpoch: number },
  signal?: AbortSignal,
): Promise<Map<string, CommittedOffset>> {
  const broker = await cluster.coordinator("group", groupId, signal);
  const conn = await cluster.connectTo(broker, "commit", signal);
  let version = conn.versionFor(Api.OffsetFetch);
  const ids = new Map<string, string>();
  for (const t of byTopic(partitions).keys()) {
    ids.set(t, cluster.metadata.topic(t)?.topicId ?? ZERO_UUID);
  }
  version = versionForTopicIds(version, 10, ids.values());
  const grouped = [...byTopic(partitions)];
  const out = new Map<string, CommittedOffset>();
  const opts = { version, ...signal && { signal } };
  try {
    const res = await conn.request(
      Api.OffsetFetch,
      offsetFetchRequest(version, {
        groupId,
        memberId: member.memberId,
        memberEpoch: member.memberEpoch,
        topics: grouped.map(([name, ps]) => ({
          name,
          topicId: ids.get(name)!,
          partitionIndexes: ps.map((p) => p.partition),
        })),
        requireStable: true,
      }),
      opts,
    );
    const g = offsetFetchAnswer(version, res, groupId);
    if (!g) {
      throw new ProtocolError(
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        `OffsetFetch ${groupId}: no group in the response`,
      );
    }
    if (g.errorCode !== ErrorCode.NONE) {
      throw new ProtocolError(g.errorCode, `OffsetFetch ${groupId}`);
    }
    for (const t of g.topics) {
      const name = version >= 10 ? cluster.metadata.topicName(t.topicId) : t.name;
      if (name === undefined) continue;
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) {
          throw new ProtocolError(
            p.errorCode,
            `OffsetFetch ${groupId} ${name}-${p.partitionIndex}`,
          );
        }
        out.set(tpKey(name, p.partitionIndex), {
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.metadata,
        });
      }
    }
  } catch (e) {
    if (e instanceof ProtocolError && COORDINATOR_ERRORS.has(e.code)) {
      cluster.forgetCoordinator("group", groupId);
    }
    throw e;
  }
  return out;
}

/** Who commits: the generation (classic) or member epoch (KIP-848) and member id. */
export interface CommitIdentity {
  generationIdOrMemberEpoch: number;
  memberId: string;
  groupInstanceId: string | null;
}

/**
 * Commits offsets (OffsetCommit). Resolves with the per-partition error codes (0 = done);
 * rejects when the request itself fails.
 *
 * @example
 * ```ts ignore
 * const errors = await commitOffsets(cluster, "g", [{ topic: "t", partition: 0, offset: 5n }],
 *   { generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null });
 * ```
 */
export async function commitOffsets(
  cluster: Cluster,
  groupId: string,
  offsets: readonly TopicPartitionOffset[],
  who: CommitIdentity,
  signal?: AbortSignal,
): Promise<Map<string, number>> {
  const broker = await cluster.coordinator("group", groupId, signal);
  const conn = await cluster.connectTo(broker, "commit", signal);
  let version = conn.versionFor(Api.OffsetCommit);
  const grouped = [...byTopic(offsets)];
  const ids = new Map(grouped.map(([t]) => [t, cluster.metadata.topic(t)?.topicId ?? ZERO_UUID]));
  version = versionForTopicIds(version, 10, ids.values());
  const out = new Map<string, number>();
  try {
    const res = await conn.request(Api.OffsetCommit, {
      groupId,
      generationIdOrMemberEpoch: who.generationIdOrMemberEpoch,
      memberId: who.memberId,
      groupInstanceId: who.groupInstanceId,
      topics: grouped.map(([name, list]) => ({
        ...(version >= 10 ? { topicId: ids.get(name)! } : { name }),
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedLeaderEpoch: o.leaderEpoch ?? -1,
          committedMetadata: o.metadata ?? "",
        })),
      })),
    }, { version, ...signal && { signal } });
    for (const t of res.topics) {
      const name = version >= 10 ? cluster.metadata.topicName(t.topicId) : t.name;
      if (name === undefined) continue;
      for (const p of t.partitions) out.set(tpKey(name, p.partitionIndex), p.errorCode);
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) cluster.forgetCoordinator("group", groupId);
    throw e;
  }
  if ([...out.values()].some((c) => COORDINATOR_ERRORS.has(c))) {
    cluster.forgetCoordinator("group", groupId);
  }
  return out;
}
