/**
 * The `sticky` (eager) and `cooperative-sticky` (KIP-429) assignors: balanced assignments that
 * move as few partitions as possible from one rebalance to the next.
 *
 * Wire compatibility with Java and librdkafka lies in what each member claims to own:
 * - `sticky` members are eager and own nothing while joining, so they carry their previous
 *   assignment and its generation in user data (StickyAssignor v1 format);
 * - `cooperative-sticky` members send `ownedPartitions` and the generation (subscription v2+;
 *   older Java put the generation alone in user data, librdkafka the sticky v1 format).
 *
 * The algorithm is this client's own: keep every valid claim, give out the free partitions to
 * the eligible member with the fewest, then move partitions from the fullest members to the
 * emptiest eligible ones until no move improves the balance. With identical subscriptions the
 * result is as balanced as possible (member sizes differ by at most one).
 *
 * @module
 */

import { type Assignor, type AssignorMember, compareMembers } from "../assignor.ts";
import {
  decodeStickyUserData,
  encodeCooperativeUserData,
  encodeStickyUserData,
  type Subscription,
} from "../consumer_protocol.ts";
import { type TopicPartition, tpKey } from "../types.ts";

interface Claim {
  partitions: TopicPartition[];
  generation: number;
}

/** What a member claims to own, from its subscription. */
function claimOf(subscription: Subscription, cooperative: boolean): Claim {
  if (cooperative && (subscription.ownedPartitions.length > 0 || subscription.version >= 2)) {
    let generation = subscription.generationId;
    if (subscription.version < 2 && subscription.userData) {
      generation = userDataGeneration(subscription.userData);
    }
    return { partitions: subscription.ownedPartitions, generation };
  }
  if (subscription.userData && subscription.userData.length > 0) {
    if (cooperative && subscription.userData.length === 4) {
      return {
        partitions: subscription.ownedPartitions,
        generation: userDataGeneration(subscription.userData),
      };
    }
    const stored = decodeStickyUserData(subscription.userData);
    if (stored) {
      return {
        partitions: stored.partitions.length > 0 ? stored.partitions : subscription.ownedPartitions,
        generation: stored.generation ?? -1,
      };
    }
  }
  return { partitions: subscription.ownedPartitions, generation: subscription.generationId };
}

function userDataGeneration(userData: Uint8Array): number {
  if (userData.length === 4) {
    return new DataView(userData.buffer, userData.byteOffset, 4).getInt32(0);
  }
  return decodeStickyUserData(userData)?.generation ?? -1;
}

/**
 * The sticky assignment (shared by both assignors). With `cooperative`, partitions that move
 * from one member to another are left out this round: their owner revokes them first, then a
 * follow-up rebalance gives them to the new owner.
 *
 * @example
 * ```ts
 * import { stickyAssign } from "@denokafka/kafka/consumer";
 * const sub = (owned: { topic: string; partition: number }[]) => ({ version: 3, topics: ["t"],
 *   userData: null, ownedPartitions: owned, generationId: 1, rackId: null });
 * const out = stickyAssign([
 *   { memberId: "a", groupInstanceId: null, subscription: sub([{ topic: "t", partition: 0 },
 *     { topic: "t", partition: 1 }]) },
 *   { memberId: "b", groupInstanceId: null, subscription: sub([]) },
 * ], new Map([["t", 2]]), true);
 * console.log(out.get("a")!.length, out.get("b")!.length); // 1 0 (b gets it next round)
 * ```
 */
export function stickyAssign(
  members: readonly AssignorMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
  cooperative: boolean,
): Map<string, TopicPartition[]> {
  const sorted = [...members].sort(compareMembers);
  const ids = sorted.map((m) => m.memberId);
  const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.subscription.topics)]));
  // Every assignable partition, in topic then partition order.
  const all: TopicPartition[] = [];
  const partitionByKey = new Map<string, TopicPartition>();
  for (const topic of [...partitionsPerTopic.keys()].sort()) {
    if (!sorted.some((m) => subscribed.get(m.memberId)!.has(topic))) continue;
    for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) {
      const tp = { topic, partition: p };
      all.push(tp);
      partitionByKey.set(tpKey(topic, p), tp);
    }
  }
  const eligible = (memberId: string, tp: TopicPartition) =>
    subscribed.get(memberId)!.has(tp.topic);

  // 1. Claims: the highest generation wins; equal generations claiming one partition lose it.
  const claims = new Map(sorted.map((m) => [m.memberId, claimOf(m.subscription, cooperative)]));
  const owner = new Map<string, { member: string; generation: number; contested: boolean }>();
  for (const id of ids) {
    const c = claims.get(id)!;
    for (const tp of c.partitions) {
      const k = tpKey(tp.topic, tp.partition);
      if (!partitionByKey.has(k)) continue;
      const prev = owner.get(k);
      if (!prev || c.generation > prev.generation) {
        owner.set(k, { member: id, generation: c.generation, contested: false });
      } else if (c.generation === prev.generation) prev.contested = true;
    }
  }
  const assignment = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]));
  const assigned = new Set<string>();
  for (const [k, o] of owner) {
    const tp = partitionByKey.get(k)!;
    if (o.contested || !eligible(o.member, tp)) continue;
    assignment.get(o.member)!.push(tp);
    assigned.add(k);
  }

  // 2. Trim members above the most any member should hold when subscriptions are identical
  //    (the common case), so the free pool is filled evenly.
  const identical = ids.every((id) => sameSet(subscribed.get(id)!, subscribed.get(ids[0]!)!));
  if (identical && ids.length > 0) {
    const quotaMax = Math.ceil(all.length / ids.length);
    const quotaMin = Math.floor(all.length / ids.length);
    let maxSlots = all.length - quotaMin * ids.length; // members allowed quotaMax
    // Members that already hold more get the larger quota first (fewer moves).
    const bySize = [...ids].sort((a, b) => assignment.get(b)!.length - assignment.get(a)!.length);
    for (const id of bySize) {
      const list = assignment.get(id)!;
      let keep = quotaMin;
      if (list.length > quotaMin && maxSlots > 0) {
        keep = quotaMax;
        maxSlots--;
      }
      for (const tp of list.splice(keep)) assigned.delete(tpKey(tp.topic, tp.partition));
    }
  }

  // 3. Free partitions (fewest eligible members first) to the eligible member holding fewest.
  const free = all.filter((tp) => !assigned.has(tpKey(tp.topic, tp.partition)));
  const eligibleCount = (tp: TopicPartition) => ids.filter((id) => eligible(id, tp)).length;
  free.sort((a, b) => eligibleCount(a) - eligibleCount(b));
  for (const tp of free) {
    let best: string | undefined;
    for (const id of ids) {
      if (!eligible(id, tp)) continue;
      if (best === undefined || assignment.get(id)!.length < assignment.get(best)!.length) {
        best = id;
      }
    }
    if (best !== undefined) assignment.get(best)!.push(tp);
  }

  // 4. Balance: move from the fullest to the emptiest eligible member while that helps.
  for (let guard = all.length * ids.length + 1; guard > 0; guard--) {
    const bySize = [...ids].sort((a, b) => assignment.get(b)!.length - assignment.get(a)!.length);
    let moved = false;
    outer: for (const from of bySize) {
      const src = assignment.get(from)!;
      for (let j = bySize.length - 1; j >= 0; j--) {
        const to = bySize[j]!;
        const dst = assignment.get(to)!;
        if (src.length <= dst.length + 1) break;
        // Prefer moving a partition `from` did not own before (keeps stickiness).
        let idx = -1;
        for (let i = src.length - 1; i >= 0; i--) {
          if (!eligible(to, src[i]!)) continue;
          const o = owner.get(tpKey(src[i]!.topic, src[i]!.partition));
          if (idx < 0 || o?.member !== from) idx = i;
          if (o?.member !== from) break;
        }
        if (idx >= 0) {
          dst.push(src.splice(idx, 1)[0]!);
          moved = true;
          break outer;
        }
      }
    }
    if (!moved) break;
  }

  for (const list of assignment.values()) {
    list.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
  }
  if (!cooperative) return assignment;

  // 5. Cooperative (KIP-429): a partition claimed by one member and assigned to another is
  //    withheld from its new owner until the old one has revoked it (Java's
  //    partitionsTransferringOwnership).
  const claimedBy = new Map<string, string[]>();
  for (const m of sorted) {
    for (const tp of m.subscription.ownedPartitions) {
      const k = tpKey(tp.topic, tp.partition);
      const list = claimedBy.get(k) ?? [];
      list.push(m.memberId);
      claimedBy.set(k, list);
    }
  }
  for (const [id, list] of assignment) {
    assignment.set(
      id,
      list.filter((tp) => {
        const claimers = claimedBy.get(tpKey(tp.topic, tp.partition));
        return !claimers || claimers.includes(id);
      }),
    );
  }
  return assignment;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * Creates the eager `sticky` assignor (Java's StickyAssignor).
 *
 * @example
 * ```ts
 * import { stickyAssignor } from "@denokafka/kafka/consumer";
 * console.log(stickyAssignor().name); // sticky
 * ```
 */
export function stickyAssignor(): Assignor {
  return {
    name: "sticky",
    rebalanceProtocol: "eager",
    userData: ({ owned, generation }) =>
      generation < 0 && owned.length === 0 ? null : encodeStickyUserData(owned, generation),
    assign: (members, partitionsPerTopic) => stickyAssign(members, partitionsPerTopic, false),
  };
}

/**
 * Creates the `cooperative-sticky` assignor (Java's CooperativeStickyAssignor, KIP-429):
 * partitions that stay with their member are never revoked in a rebalance.
 *
 * @example
 * ```ts
 * import { cooperativeStickyAssignor } from "@denokafka/kafka/consumer";
 * console.log(cooperativeStickyAssignor().rebalanceProtocol); // cooperative
 * ```
 */
export function cooperativeStickyAssignor(): Assignor {
  return {
    name: "cooperative-sticky",
    rebalanceProtocol: "cooperative",
    userData: ({ generation }) => encodeCooperativeUserData(generation),
    assign: (members, partitionsPerTopic) => stickyAssign(members, partitionsPerTopic, true),
  };
}
