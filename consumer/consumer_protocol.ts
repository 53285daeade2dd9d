/**
 * The classic consumer protocol's embedded formats (Java's `ConsumerProtocol`) in the
 * consumer's terms: the subscription a member sends in JoinGroup, the assignment the leader
 * sends in SyncGroup, and the sticky assignors' user data. The first two are read and written
 * by the codecs generated from Kafka's `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`
 * specs (protocol/consumer_protocol.ts); the sticky user data has no spec (Java's
 * `StickyAssignor` builds it from a hand-made `Struct` schema), so it is written here, the one
 * place that knows it.
 *
 * @module
 */

import {
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from "../protocol/consumer_protocol.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import type { TopicPartition } from "./types.ts";

/** The newest subscription/assignment version this client writes (Kafka 3.x+: 3). */
export const CONSUMER_PROTOCOL_VERSION = 3;

/**
 * A member's subscription (ConsumerProtocolSubscription v0-3).
 *
 * @example
 * ```ts
 * import type { Subscription } from "@denokafka/kafka/consumer";
 * const s: Subscription = { version: 3, topics: ["t"], userData: null, ownedPartitions: [],
 *   generationId: -1, rackId: null };
 * console.log(s.topics);
 * ```
 */
export interface Subscription {
  /** The version it was (or will be) encoded with. */
  version: number;
  /** Subscribed topics. */
  topics: string[];
  /** Assignor-specific bytes. */
  userData: Uint8Array | null;
  /** Partitions the member owns now (v1+; cooperative rebalancing). */
  ownedPartitions: TopicPartition[];
  /** The generation the owned partitions belong to (v2+), -1 when unknown. */
  generationId: number;
  /** The member's rack (v3+). */
  rackId: string | null;
}

/**
 * The partitions the leader gives a member (ConsumerProtocolAssignment v0-3).
 *
 * @example
 * ```ts
 * import type { MemberAssignment } from "@denokafka/kafka/consumer";
 * const a: MemberAssignment = { version: 3, partitions: [{ topic: "t", partition: 0 }],
 *   userData: null };
 * console.log(a.partitions.length);
 * ```
 */
export interface MemberAssignment {
  /** The version it was (or will be) encoded with. */
  version: number;
  /** The assigned partitions. */
  partitions: TopicPartition[];
  /** Assignor-specific bytes. */
  userData: Uint8Array | null;
}

/** Groups partitions by topic, keeping first-seen topic order and partition order. */
function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = m.get(tp.topic);
    if (!list) m.set(tp.topic, list = []);
    list.push(tp.partition);
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}

function flat(list: readonly { topic: string; partitions: readonly number[] }[]): TopicPartition[] {
  return list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

/**
 * Encodes a subscription for JoinGroup's protocol metadata.
 *
 * @example
 * ```ts
 * import { decodeSubscription, encodeSubscription } from "@denokafka/kafka/consumer";
 * const bytes = encodeSubscription({ version: 3, topics: ["a"], userData: null,
 *   ownedPartitions: [{ topic: "a", partition: 1 }], generationId: 4, rackId: null });
 * console.log(decodeSubscription(bytes).generationId); // 4
 * ```
 */
export function encodeSubscription(s: Subscription): Uint8Array {
  return encodeConsumerSubscription(s.version, {
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: byTopic(s.ownedPartitions),
    generationId: s.generationId,
    rackId: s.rackId,
  });
}

/**
 * Decodes a member's subscription. Fields a version lacks get their defaults; bytes a newer
 * version appends are ignored.
 *
 * @example
 * ```ts
 * import { decodeSubscription, encodeSubscription } from "@denokafka/kafka/consumer";
 * const bytes = encodeSubscription({ version: 0, topics: ["a", "b"], userData: null,
 *   ownedPartitions: [], generationId: -1, rackId: null });
 * console.log(decodeSubscription(bytes).topics); // [ "a", "b" ]
 * ```
 */
export function decodeSubscription(bytes: Uint8Array): Subscription {
  const { version, value: s } = decodeConsumerSubscription(bytes);
  return {
    version,
    topics: s.topics,
    userData: s.userData === null ? null : s.userData.slice(),
    ownedPartitions: flat(s.ownedPartitions),
    generationId: s.generationId,
    rackId: s.rackId,
  };
}

/**
 * Encodes an assignment for SyncGroup.
 *
 * @example
 * ```ts
 * import { decodeAssignment, encodeAssignment } from "@denokafka/kafka/consumer";
 * const bytes = encodeAssignment({ version: 3, userData: null,
 *   partitions: [{ topic: "a", partition: 0 }, { topic: "a", partition: 2 }] });
 * console.log(decodeAssignment(bytes).partitions.length); // 2
 * ```
 */
export function encodeAssignment(a: MemberAssignment): Uint8Array {
  return encodeConsumerAssignment(a.version, {
    assignedPartitions: byTopic(a.partitions),
    userData: a.userData,
  });
}

/**
 * Decodes the assignment SyncGroup returned. Empty bytes (a member given nothing by some
 * clients) decode as an empty assignment.
 *
 * @example
 * ```ts
 * import { decodeAssignment } from "@denokafka/kafka/consumer";
 * console.log(decodeAssignment(new Uint8Array(0)).partitions); // []
 * ```
 */
export function decodeAssignment(bytes: Uint8Array): MemberAssignment {
  const { version, value: a } = decodeConsumerAssignment(bytes);
  return {
    version,
    partitions: flat(a.assignedPartitions),
    userData: a.userData === null ? null : a.userData.slice(),
  };
}

/**
 * The `sticky` assignor's user data (Java's StickyAssignor v1, also written by librdkafka's
 * `cooperative-sticky`): the previous assignment and its generation.
 *
 * @example
 * ```ts
 * import { decodeStickyUserData, encodeStickyUserData } from "@denokafka/kafka/consumer";
 * const b = encodeStickyUserData([{ topic: "t", partition: 3 }], 7);
 * console.log(decodeStickyUserData(b)?.generation); // 7
 * ```
 */
export function encodeStickyUserData(
  partitions: readonly TopicPartition[],
  generation: number,
): Uint8Array {
  const w = new Writer(64);
  const grouped = byTopic(partitions);
  w.arrayLength(grouped.length);
  for (const t of grouped) {
    w.string(t.topic);
    w.arrayLength(t.partitions.length);
    for (const p of t.partitions) w.int32(p);
  }
  w.int32(generation);
  return w.toBytes();
}

/**
 * Reads sticky user data (v1, or v0 without the generation). Undecodable bytes give
 * `undefined`, as Java ignores them.
 *
 * @example
 * ```ts
 * import { decodeStickyUserData } from "@denokafka/kafka/consumer";
 * console.log(decodeStickyUserData(new Uint8Array([1]))); // undefined
 * ```
 */
export function decodeStickyUserData(
  bytes: Uint8Array,
): { partitions: TopicPartition[]; generation: number | undefined } | undefined {
  try {
    const r = new Reader(bytes);
    const partitions: TopicPartition[] = [];
    const n = r.arrayLength(6) ?? 0;
    for (let i = 0; i < n; i++) {
      const topic = r.string();
      const m = r.arrayLength(4) ?? 0;
      for (let j = 0; j < m; j++) partitions.push({ topic, partition: r.int32() });
    }
    const generation = r.remaining >= 4 ? r.int32() : undefined;
    return { partitions, generation };
  } catch {
    return undefined;
  }
}

/**
 * The `cooperative-sticky` assignor's user data (Java): the generation, as one int32.
 *
 * @example
 * ```ts
 * import { encodeCooperativeUserData } from "@denokafka/kafka/consumer";
 * console.log(encodeCooperativeUserData(2)); // Uint8Array(4) [ 0, 0, 0, 2 ]
 * ```
 */
export function encodeCooperativeUserData(generation: number): Uint8Array {
  return new Writer(4).int32(generation).toBytes();
}
