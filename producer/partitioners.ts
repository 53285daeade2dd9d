/**
 * Partitioners: the hash functions of the Java client (murmur2), sarama and kafka-go (FNV-1a,
 * with both of sarama's absolute-value variants) and librdkafka (CRC-32), each reduced to a
 * partition exactly as its home client does it, plus round-robin, random and Java's uniform
 * sticky partitioner for records without a key (KIP-794).
 *
 * @module
 */

/**
 * What a partitioner is told about one record.
 *
 * @example
 * ```ts
 * import type { PartitionerInput } from "@denokafka/kafka/producer";
 * const input: PartitionerInput = { topic: "t", key: null, partitionCount: 3, available: [0, 2] };
 * console.log(input.partitionCount); // 3
 * ```
 */
export interface PartitionerInput {
  /** The record's topic. */
  readonly topic: string;
  /** The serialized key, or `null`. */
  readonly key: Uint8Array | null;
  /**
   * The serialized value, or `null` (a tombstone), as the Java client's `Partitioner.partition`
   * gets `valueBytes`. Absent outside a producer.
   */
  readonly value?: Uint8Array | null;
  /** The topic's partition count. */
  readonly partitionCount: number;
  /** Partitions that currently have a leader (never empty when the topic has any). */
  readonly available: readonly number[];
  /**
   * Bytes of a partition's records accepted by the producer and not yet acknowledged (in its
   * batches or in flight), for load-aware partitioners such as `least_bytes`. Absent outside
   * a producer.
   */
  readonly bufferedBytes?: (partition: number) => number;
}

/**
 * Chooses a partition for a record. It may also return `-1` for "no opinion", which makes the
 * producer use the uniform sticky choice (the one Java makes for records without a key).
 *
 * @example
 * ```ts
 * import type { Partitioner } from "@denokafka/kafka/producer";
 * const byFirstByte: Partitioner = ({ key, partitionCount }) =>
 *   key && key.length > 0 ? key[0]! % partitionCount : -1;
 * console.log(byFirstByte({ topic: "t", key: new Uint8Array([7]), partitionCount: 4, available: [] })); // 3
 * ```
 */
export type Partitioner = (input: PartitionerInput) => number;

/**
 * The built-in partitioners by name.
 *
 * - `default`: Java's: `murmur2(key) & 0x7fffffff % n`; records without a key use the uniform
 *   sticky partition (KIP-794).
 * - `murmur2`, `murmur2_random`: murmur2 as Java; without a key, `murmur2` hashes nothing as
 *   librdkafka's does, `murmur2_random` picks at random (an empty key is hashed by both).
 * - `fnv1a`: sarama's `NewHashPartitioner` (its default) and kafka-go's `Hash`: `int32(fnv1a) % n`,
 *   negated when negative; random without a key.
 * - `fnv1a_reference`: sarama's `NewReferenceHashPartitioner` and kafka-go's `ReferenceHash`:
 *   `(int32(fnv1a) & 0x7fffffff) % n`.
 * - `consistent`, `consistent_random`: librdkafka's, `crc32(key) % n` (unsigned); without a key
 *   (or with an empty one) `consistent` hashes nothing (partition 0) and `consistent_random`
 *   picks at random. kafka-go's `CRC32Balancer` is `consistent`.
 * - `round_robin`, `random`: every record, keyed or not.
 * - `least_bytes`: kafka-go's `LeastBytes` idea, every record keyed or not: the available
 *   partition with the fewest bytes buffered or in flight (`PartitionerInput.bufferedBytes`),
 *   ties going round-robin. kafka-go counts every byte ever sent to a partition instead; with
 *   nothing outstanding both spread records evenly, and under load this one also steers away
 *   from a partition whose leader is slow.
 *
 * @example
 * ```ts
 * import type { PartitionerName } from "@denokafka/kafka/producer";
 * const p: PartitionerName = "fnv1a";
 * console.log(p);
 * ```
 */
export type PartitionerName =
  | "default"
  | "murmur2"
  | "murmur2_random"
  | "fnv1a"
  | "fnv1a_reference"
  | "consistent"
  | "consistent_random"
  | "round_robin"
  | "random"
  | "least_bytes";

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`), as a signed 32-bit integer.
 *
 * @example
 * ```ts
 * import { murmur2 } from "@denokafka/kafka/producer";
 * console.log(murmur2(new TextEncoder().encode("21"))); // -973932308
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  const base = length & ~3;
  // The fall-through of Java's switch: each case adds its byte, the last one multiplies.
  if (rest === 3) h ^= data[base + 2]! << 16;
  if (rest >= 2) h ^= data[base + 1]! << 8;
  if (rest >= 1) {
    h ^= data[base]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * 32-bit FNV-1a (Go's `hash/fnv.New32a`), as an unsigned integer.
 *
 * @example
 * ```ts
 * import { fnv1a32 } from "@denokafka/kafka/producer";
 * console.log(fnv1a32(new Uint8Array(0)).toString(16)); // 811c9dc5
 * ```
 */
export function fnv1a32(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

const CRC32_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-32 (IEEE, zlib's), as an unsigned integer: librdkafka's `consistent` hash.
 *
 * @example
 * ```ts
 * import { crc32 } from "@denokafka/kafka/producer";
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // cbf43926
 * ```
 */
export function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC32_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * Java's `BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(key)) % n`, where
 * `toPositive` masks the sign bit (it does not negate).
 *
 * @example
 * ```ts
 * import { javaPartitionForKey } from "@denokafka/kafka/producer";
 * console.log(javaPartitionForKey(new TextEncoder().encode("key"), 6));
 * ```
 */
export function javaPartitionForKey(key: Uint8Array, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}

/**
 * sarama's default `NewHashPartitioner` (and kafka-go's `Hash`): `int32(fnv1a(key)) % n`, then
 * negated when negative (Go's `%` keeps the dividend's sign, as JavaScript's does).
 *
 * @example
 * ```ts
 * import { saramaHashPartition } from "@denokafka/kafka/producer";
 * console.log(saramaHashPartition(new TextEncoder().encode("key"), 6));
 * ```
 */
export function saramaHashPartition(key: Uint8Array, partitionCount: number): number {
  const p = (fnv1a32(key) | 0) % partitionCount;
  // `| 0` turns JavaScript's -0 (e.g. -14 % 7) into 0.
  return (p < 0 ? -p : p) | 0;
}

/**
 * sarama's `NewReferenceHashPartitioner` (and kafka-go's `ReferenceHash`):
 * `(int32(fnv1a(key)) & 0x7fffffff) % n`.
 *
 * @example
 * ```ts
 * import { saramaReferenceHashPartition } from "@denokafka/kafka/producer";
 * console.log(saramaReferenceHashPartition(new TextEncoder().encode("key"), 6));
 * ```
 */
export function saramaReferenceHashPartition(key: Uint8Array, partitionCount: number): number {
  return (fnv1a32(key) & 0x7fffffff) % partitionCount;
}

/**
 * librdkafka's `consistent` partitioner: `crc32(key) % n`, unsigned.
 *
 * @example
 * ```ts
 * import { consistentPartition } from "@denokafka/kafka/producer";
 * console.log(consistentPartition(new TextEncoder().encode("key"), 6));
 * ```
 */
export function consistentPartition(key: Uint8Array, partitionCount: number): number {
  return crc32(key) % partitionCount;
}

function randomOf(list: readonly number[], partitionCount: number): number {
  if (list.length > 0) return list[(Math.random() * list.length) | 0]!;
  return (Math.random() * partitionCount) | 0;
}

const EMPTY = new Uint8Array(0);

/**
 * Builds a named partitioner. Each call makes a fresh one (round-robin keeps a counter).
 * Returns `-1` where the producer's uniform sticky choice applies (no key, `default`).
 *
 * @example
 * ```ts
 * import { builtInPartitioner } from "@denokafka/kafka/producer";
 * const p = builtInPartitioner("consistent");
 * console.log(p({ topic: "t", key: new TextEncoder().encode("k"), partitionCount: 3, available: [0, 1, 2] }));
 * ```
 */
export function builtInPartitioner(name: PartitionerName): Partitioner {
  switch (name) {
    case "default":
      return ({ key, partitionCount }) =>
        key === null ? -1 : javaPartitionForKey(key, partitionCount);
    case "murmur2":
      return ({ key, partitionCount }) => javaPartitionForKey(key ?? EMPTY, partitionCount);
    case "murmur2_random":
      // Only a missing key is random: librdkafka (`if (!key)`) and kafka-go's Murmur2Balancer
      // hash an empty key, as Java does.
      return ({ key, partitionCount, available }) =>
        key === null
          ? randomOf(available, partitionCount)
          : javaPartitionForKey(key, partitionCount);
    case "fnv1a":
      return ({ key, partitionCount }) =>
        key === null
          ? (Math.random() * partitionCount) | 0
          : saramaHashPartition(key, partitionCount);
    case "fnv1a_reference":
      return ({ key, partitionCount }) =>
        key === null
          ? (Math.random() * partitionCount) | 0
          : saramaReferenceHashPartition(key, partitionCount);
    case "consistent":
      return ({ key, partitionCount }) => consistentPartition(key ?? EMPTY, partitionCount);
    case "consistent_random":
      return ({ key, partitionCount, available }) =>
        key === null || key.length === 0
          ? randomOf(available, partitionCount)
          : consistentPartition(key, partitionCount);
    case "round_robin": {
      // Java's RoundRobinPartitioner walks the available partitions when some are down.
      let next = 0;
      return ({ partitionCount, available }) => {
        const i = next++ & 0x7fffffff;
        return available.length > 0 && available.length < partitionCount
          ? available[i % available.length]!
          : i % partitionCount;
      };
    }
    case "random":
      return ({ partitionCount, available }) => randomOf(available, partitionCount);
    case "least_bytes":
      return leastBytes();
    default:
      throw new RangeError(`unknown partitioner "${name as string}"`);
  }
}

/**
 * The `least_bytes` partitioner: the candidate with the fewest buffered bytes, scanning from
 * just after the last choice so that ties (e.g. nothing outstanding) go round-robin.
 */
function leastBytes(): Partitioner {
  let next = 0;
  return ({ partitionCount, available, bufferedBytes }) => {
    // Every partition when none has a known leader, as the other partitioners do.
    const some = available.length > 0;
    const n = some ? available.length : partitionCount;
    let best = 0;
    let bestBytes = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (next + k) % n;
      const p = some ? available[i]! : i;
      const bytes = bufferedBytes === undefined ? 0 : bufferedBytes(p);
      if (bytes < bestBytes) {
        best = i;
        bestBytes = bytes;
      }
    }
    next = best + 1;
    return some ? available[best]! : best;
  };
}

/**
 * The uniform sticky choice for records without a key (Java's KIP-794): stay on one partition
 * until about `batchSize` bytes went to it, then move to the next. The producer also moves on
 * when the partition's batch is full and the next record would start another one (see
 * {@linkcode StickyPartition.next}), so a stay ends with its full batch and leaves no small
 * batch of the overflowing records behind.
 *
 * Java and librdkafka pick each next partition at random. This deals them from a shuffled
 * deck of the available partitions instead: every partition is visited once before any is
 * visited twice, in a random order. Each choice is as uniform as a random one, the spread
 * over time is exactly even, and on a topic with many partitions a stay does not land on a
 * partition that still has a batch open or in flight from a recent stay (which would split
 * one partition's data into more, smaller batches and requests).
 *
 * @example
 * ```ts
 * import { StickyPartition } from "@denokafka/kafka/producer";
 * const s = new StickyPartition(16384);
 * const p = s.current(3, [0, 1, 2]);
 * s.produced(100, 3, [0, 1, 2]);
 * console.log(p === s.current(3, [0, 1, 2])); // true
 * ```
 */
export class StickyPartition {
  readonly #batchSize: number;
  #partition = -1;
  #bytes = 0;
  /** Partitions still to visit in this pass (dealt from the end), shuffled. */
  #deck: number[] = [];
  /** The `available` list and partition count the deck was dealt from. */
  #dealtFrom: readonly number[] | null = null;
  #dealtCount = 0;

  /** `batchSize`: bytes to produce to one partition before switching. */
  constructor(batchSize: number) {
    this.#batchSize = Math.max(1, batchSize);
  }

  /** Bytes produced to the current partition since it was chosen. */
  get producedBytes(): number {
    return this.#bytes;
  }

  /** The partition to use now. */
  current(partitionCount: number, available: readonly number[]): number {
    if (this.#partition < 0 || this.#partition >= partitionCount) {
      this.next(partitionCount, available);
    }
    return this.#partition;
  }

  /**
   * Moves to the next partition now and returns it. The producer calls this when the current
   * partition's batch is full and the next record would open a new batch there (Java's
   * `abortOnNewBatch`, applied to the built-in choice).
   */
  next(partitionCount: number, available: readonly number[]): number {
    // A metadata snapshot with other partitions (leaders moved, partitions added) deals a new
    // deck; one with the same partitions (any metadata refresh makes new arrays) keeps it.
    if (this.#dealtFrom !== available && sameList(this.#dealtFrom, available)) {
      this.#dealtFrom = available;
    }
    if (
      this.#deck.length === 0 || this.#dealtFrom !== available ||
      this.#dealtCount !== partitionCount
    ) this.#deal(partitionCount, available);
    const deck = this.#deck;
    // (An empty deck: a topic without partitions, where the old random choice gave 0 too.)
    let p = deck.pop() ?? 0;
    if (p === this.#partition && deck.length > 0) {
      // A new deck starting where the last one ended: take the next card, keep this one.
      const q = deck.pop()!;
      deck.unshift(p);
      p = q;
    }
    this.#partition = p;
    this.#bytes = 0;
    return p;
  }

  /** Shuffles the available partitions (all of them when none has a leader) into the deck. */
  #deal(partitionCount: number, available: readonly number[]): void {
    const deck = available.length > 0
      ? available.slice()
      : Array.from({ length: partitionCount }, (_, i) => i);
    for (let i = deck.length - 1; i > 0; i--) {
      const j = (Math.random() * (i + 1)) | 0;
      const t = deck[i]!;
      deck[i] = deck[j]!;
      deck[j] = t;
    }
    this.#deck = deck;
    this.#dealtFrom = available;
    this.#dealtCount = partitionCount;
  }

  /**
   * Counts bytes appended to the current partition; switches once the batch size is reached
   * and the batch is closed, or at twice the batch size regardless (as Java does).
   */
  produced(
    bytes: number,
    partitionCount: number,
    available: readonly number[],
    batchClosed = true,
  ): void {
    this.#bytes += bytes;
    if (
      (this.#bytes >= this.#batchSize && batchClosed) || this.#bytes >= 2 * this.#batchSize
    ) {
      this.next(partitionCount, available);
    }
  }
}

function sameList(a: readonly number[] | null, b: readonly number[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
