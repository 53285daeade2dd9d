/**
 * OffsetFetch in one shape for every version: v8 moved the group id, topics and error code into
 * a `groups` array (KIP-709, batched OffsetFetch), v9 added the member (KIP-848) and v10 topic
 * ids. The consumer and the admin client both build the request and read their group's answer
 * through these two functions, so the version split is written once.
 *
 * @module
 */

import { ErrorCode } from "./error_codes.ts";
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetFetchResponsePartitions,
} from "./messages/offset_fetch.ts";
import { ZERO_UUID } from "./uuid.ts";

/**
 * What to read from one group. `topics: null` asks for every committed offset (v2+).
 *
 * @example
 * ```ts
 * import type { OffsetFetchQuery } from "@denokafka/kafka/protocol";
 * const q: OffsetFetchQuery = { groupId: "g", requireStable: true,
 *   topics: [{ name: "t", partitionIndexes: [0, 1] }] };
 * console.log(q.groupId);
 * ```
 */
export interface OffsetFetchQuery {
  /** The group. */
  readonly groupId: string;
  /** The topics and partitions; each by name, and by id for v10 (a version that lacks one drops it). */
  readonly topics:
    | readonly { name: string; topicId?: string; partitionIndexes: readonly number[] }[]
    | null;
  /** Wait for offsets of pending transactions (KIP-447, v7+). */
  readonly requireStable: boolean;
  /** The asking member (v9+, KIP-848); null for none. */
  readonly memberId?: string | null;
  /** The asking member's epoch (v9+); -1 for none. */
  readonly memberEpoch?: number;
}

/**
 * One group's answer, the same shape for every version. `topicId` is the zero UUID below v10,
 * `name` is empty from v10.
 *
 * @example
 * ```ts
 * import { ErrorCode, type OffsetFetchGroupAnswer } from "@denokafka/kafka/protocol";
 * const failed = (a: OffsetFetchGroupAnswer) => a.errorCode !== ErrorCode.NONE;
 * console.log(typeof failed); // function
 * ```
 */
export interface OffsetFetchGroupAnswer {
  /** The group-level error code. */
  readonly errorCode: number;
  /** The topics with their partitions' offsets and error codes. */
  readonly topics: readonly {
    readonly name: string;
    readonly topicId: string;
    readonly partitions: readonly OffsetFetchResponsePartitions[];
  }[];
}

/**
 * The OffsetFetch request body for `version`.
 *
 * @example
 * ```ts
 * import { offsetFetchRequest } from "@denokafka/kafka/protocol";
 * const body = offsetFetchRequest(8, { groupId: "g", topics: null, requireStable: false });
 * console.log(body.groups?.[0]?.groupId); // g
 * ```
 */
export function offsetFetchRequest(version: number, q: OffsetFetchQuery): OffsetFetchRequest {
  if (version < 8) {
    const topics = q.topics?.map((t) => ({ name: t.name, partitionIndexes: t.partitionIndexes }));
    return { groupId: q.groupId, topics: topics ?? null, requireStable: q.requireStable };
  }
  return {
    groups: [{
      groupId: q.groupId,
      memberId: q.memberId ?? null,
      memberEpoch: q.memberEpoch ?? -1,
      topics: q.topics?.map((t) => ({
        name: t.name,
        topicId: t.topicId ?? ZERO_UUID,
        partitionIndexes: t.partitionIndexes,
      })) ?? null,
    }],
    requireStable: q.requireStable,
  };
}

/**
 * The answer for `groupId` in an OffsetFetch response of `version`; undefined when a batched
 * (v8+) response leaves the group out.
 *
 * @example
 * ```ts
 * import { offsetFetchAnswer, type OffsetFetchResponse } from "@denokafka/kafka/protocol";
 * const res: OffsetFetchResponse = { throttleTimeMs: 0, topics: [], errorCode: 0, groups: [] };
 * console.log(offsetFetchAnswer(8, res, "g")); // undefined
 * ```
 */
export function offsetFetchAnswer(
  version: number,
  res: OffsetFetchResponse,
  groupId: string,
): OffsetFetchGroupAnswer | undefined {
  if (version >= 8) return res.groups.find((g) => g.groupId === groupId);
  return {
    errorCode: res.errorCode ?? ErrorCode.NONE,
    topics: res.topics.map((t) => ({ ...t, topicId: ZERO_UUID })),
  };
}
