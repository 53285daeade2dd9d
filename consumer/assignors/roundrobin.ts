/**
 * The `roundrobin` assignor (Java's RoundRobinAssignor): every partition of every topic, in
 * topic then partition order, to the next member (circularly) subscribed to its topic.
 *
 * @module
 */

import { type Assignor, compareMembers, emptyAssignment } from "../assignor.ts";

/**
 * Creates the `roundrobin` assignor.
 *
 * @example
 * ```ts
 * import { roundRobinAssignor } from "@denokafka/kafka/consumer";
 * const sub = (topics: string[]) => ({ version: 3, topics, userData: null,
 *   ownedPartitions: [], generationId: -1, rackId: null });
 * const out = roundRobinAssignor().assign([
 *   { memberId: "a", groupInstanceId: null, subscription: sub(["t"]) },
 *   { memberId: "b", groupInstanceId: null, subscription: sub(["t"]) },
 * ], new Map([["t", 3]]));
 * console.log(out.get("a")!.map((tp) => tp.partition)); // [ 0, 2 ]
 * ```
 */
export function roundRobinAssignor(): Assignor {
  return {
    name: "roundrobin",
    rebalanceProtocol: "eager",
    assign(members, partitionsPerTopic) {
      const out = emptyAssignment(members);
      const sorted = [...members].sort(compareMembers);
      if (sorted.length === 0) return out;
      const topics = new Set<string>();
      for (const m of sorted) for (const t of m.subscription.topics) topics.add(t);
      let next = 0;
      for (const topic of [...topics].sort()) {
        const count = partitionsPerTopic.get(topic);
        if (count === undefined) continue;
        for (let p = 0; p < count; p++) {
          // Someone is subscribed to `topic` (it came from a subscription): this ends.
          while (!sorted[next % sorted.length]!.subscription.topics.includes(topic)) next++;
          out.get(sorted[next % sorted.length]!.memberId)!.push({ topic, partition: p });
          next++;
        }
      }
      return out;
    },
  };
}
