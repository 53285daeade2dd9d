/**
 * Classic-protocol partition assignors: the interface, and the lookup of the built-in ones.
 *
 * @module
 */

import type { Subscription } from "./consumer_protocol.ts";
import type { TopicPartition } from "./types.ts";

/**
 * One member as the group leader sees it when assigning.
 *
 * @example
 * ```ts
 * import type { AssignorMember } from "@denokafka/kafka/consumer";
 * const m: AssignorMember = { memberId: "m-1", groupInstanceId: null, subscription: {
 *   version: 3, topics: ["t"], userData: null, ownedPartitions: [], generationId: -1,
 *   rackId: null } };
 * console.log(m.memberId);
 * ```
 */
export interface AssignorMember {
  /** The member id. */
  memberId: string;
  /** Its static id (KIP-345), or `null`. */
  groupInstanceId: string | null;
  /** What it sent in JoinGroup. */
  subscription: Subscription;
}

/**
 * A classic-protocol assignor. The built-in ones are named by {@linkcode AssignorName}; an
 * object of this shape plugs in a custom one. The leader runs `assign` for the whole group;
 * every member puts `userData` into its own subscription.
 *
 * @example
 * ```ts
 * import type { Assignor } from "@denokafka/kafka/consumer";
 * // Everything to the first member, sorted by id.
 * const greedy: Assignor = {
 *   name: "greedy",
 *   rebalanceProtocol: "eager",
 *   assign(members, partitionsPerTopic) {
 *     const first = [...members].sort((a, b) => a.memberId < b.memberId ? -1 : 1)[0]!;
 *     const out = new Map(members.map((m) => [m.memberId, [] as { topic: string; partition: number }[]]));
 *     for (const [topic, n] of partitionsPerTopic) {
 *       if (!first.subscription.topics.includes(topic)) continue;
 *       for (let p = 0; p < n; p++) out.get(first.memberId)!.push({ topic, partition: p });
 *     }
 *     return out;
 *   },
 * };
 * console.log(greedy.name);
 * ```
 */
export interface Assignor {
  /** The protocol name members agree on (e.g. `range`). */
  readonly name: string;
  /**
   * `cooperative` assignors never hand a partition to a new owner in the same rebalance in
   * which its old owner still holds it (KIP-429); `eager` ones expect every member to give up
   * everything before joining.
   */
  readonly rebalanceProtocol: "eager" | "cooperative";
  /** User data for this member's subscription. */
  userData?(state: { owned: readonly TopicPartition[]; generation: number }): Uint8Array | null;
  /** Assigns partitions to members. Every member id must appear in the result. */
  assign(
    members: readonly AssignorMember[],
    partitionsPerTopic: ReadonlyMap<string, number>,
  ): Map<string, TopicPartition[]>;
}

/**
 * Java's member order for assignment (`MemberInfo.compareTo`): static members by instance id
 * first, then dynamic members by member id.
 *
 * @example
 * ```ts ignore
 * members.sort(compareMembers);
 * ```
 */
export function compareMembers(a: AssignorMember, b: AssignorMember): number {
  const ai = a.groupInstanceId;
  const bi = b.groupInstanceId;
  if (ai !== null && bi !== null) return ai < bi ? -1 : ai > bi ? 1 : 0;
  if (ai !== null) return -1;
  if (bi !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

/**
 * An empty result with every member present.
 *
 * @example
 * ```ts ignore
 * const out = emptyAssignment(members);
 * ```
 */
export function emptyAssignment(members: readonly AssignorMember[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]));
}
