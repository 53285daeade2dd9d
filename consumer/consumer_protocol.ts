/**
 * The classic consumer protocol's embedded formats (Java's `ConsumerProtocol`): the
 * subscription a member sends in JoinGroup, the assignment the leader sends in SyncGroup, and
 * the sticky assignors' user data. Byte-compatible with Java and librdkafka, so mixed groups
 * work. All are non-flexible (classic strings and arrays) with an int16 version prefix; newer
 * versions are read by their known prefix, as Java does.
 *
 * @module
 */

import { DecodeError } from "../protocol/errors.ts";
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
function byTopic(partitions: readonly TopicPartition[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = m.get(tp.topic);
    if (!list) m.set(tp.topic, list = []);
    list.push(tp.partition);
  }
  return m;
}

function writeTopicPartitions(w: Writer, partitions: readonly TopicPartition[]): void {
  const grouped = byTopic(partitions);
  w.arrayLength(grouped.size);
  for (const [topic, parts] of grouped) {
    w.string(topic);
    w.arrayLength(parts.length);
    for (const p of parts) w.int32(p);
  }
}

function readTopicPartitions(r: Reader): TopicPartition[] {
  const out: TopicPartition[] = [];
  const n = r.arrayLength(6) ?? 0;
  for (let i = 0; i < n; i++) {
    const topic = r.string();
    const m = r.arrayLength(4) ?? 0;
    for (let j = 0; j < m; j++) out.push({ topic, partition: r.int32() });
  }
  return out;
}

function wrapDecode<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`cannot decode ${what}: ${(e as Error).message}`, { cause: e });
  }
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
  const v = Math.min(s.version, CONSUMER_PROTOCOL_VERSION);
  const w = new Writer(64);
  w.int16(v);
  w.arrayLength(s.topics.length);
  for (const t of s.topics) w.string(t);
  w.bytes(s.userData);
  if (v >= 1) writeTopicPartitions(w, s.ownedPartitions);
  if (v >= 2) w.int32(s.generationId);
  if (v >= 3) w.string(s.rackId);
  return w.toBytes();
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
  return wrapDecode("consumer subscription", () => {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) throw new DecodeError(`consumer subscription version ${version}`);
    const n = r.arrayLength(2) ?? 0;
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(r.string());
    const userData = r.remaining > 0 ? r.nullableBytes() : null;
    let ownedPartitions: TopicPartition[] = [];
    let generationId = -1;
    let rackId: string | null = null;
    if (version >= 1 && r.remaining > 0) ownedPartitions = readTopicPartitions(r);
    if (version >= 2 && r.remaining >= 4) generationId = r.int32();
    if (version >= 3 && r.remaining >= 2) rackId = r.nullableString();
    return {
      version,
      topics,
      userData: userData === null ? null : userData.slice(),
      ownedPartitions,
      generationId,
      rackId,
    };
  });
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
  const w = new Writer(64);
  w.int16(Math.min(a.version, CONSUMER_PROTOCOL_VERSION));
  writeTopicPartitions(w, a.partitions);
  w.bytes(a.userData);
  return w.toBytes();
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
  if (bytes.length === 0) return { version: 0, partitions: [], userData: null };
  return wrapDecode("consumer assignment", () => {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) throw new DecodeError(`consumer assignment version ${version}`);
    const partitions = readTopicPartitions(r);
    const userData = r.remaining > 0 ? r.nullableBytes() : null;
    return { version, partitions, userData: userData === null ? null : userData.slice() };
  });
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
  writeTopicPartitions(w, partitions);
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
    const partitions = readTopicPartitions(r);
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
