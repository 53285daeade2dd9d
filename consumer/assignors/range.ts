/**
 * The `range` assignor (Java's RangeAssignor): per topic, consecutive partition ranges to the
 * subscribed members in member order, the first `partitions % members` getting one more.
 *
 * @module
 */

import {
  type Assignor,
  type AssignorMember,
  compareMembers,
  emptyAssignment,
} from "../assignor.ts";
import type { TopicPartition } from "../types.ts";

/**
 * Creates the `range` assignor.
 *
 * @example
 * ```ts
 * import { rangeAssignor } from "@denokafka/kafka/consumer";
 * const sub = (topics: string[]) => ({ version: 3, topics, userData: null,
 *   ownedPartitions: [], generationId: -1, rackId: null });
 * const out = rangeAssignor().assign([
 *   { memberId: "a", groupInstanceId: null, subscription: sub(["t"]) },
 *   { memberId: "b", groupInstanceId: null, subscription: sub(["t"]) },
 * ], new Map([["t", 3]]));
 * console.log(out.get("a")!.length, out.get("b")!.length); // 2 1
 * ```
 */
export function rangeAssignor(): Assignor {
  return {
    name: "range",
    rebalanceProtocol: "eager",
    assign(members, partitionsPerTopic) {
      const out = emptyAssignment(members);
      const sorted = [...members].sort(compareMembers);
      for (const [topic, count] of partitionsPerTopic) {
        const subscribed: AssignorMember[] = sorted.filter((m) =>
          m.subscription.topics.includes(topic)
        );
        if (subscribed.length === 0) continue;
        const per = Math.floor(count / subscribed.length);
        const extra = count % subscribed.length;
        subscribed.forEach((m, i) => {
          const start = per * i + Math.min(i, extra);
          const len = per + (i < extra ? 1 : 0);
          const list: TopicPartition[] = out.get(m.memberId)!;
          for (let p = start; p < start + len; p++) list.push({ topic, partition: p });
        });
      }
      return out;
    },
  };
}
