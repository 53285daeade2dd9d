/**
 * The assigned partitions of a consumer (internal), by `assign()` or by the group, and the
 * operations on them: seek, pause, positions and lag.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import type { FetchBuffer } from "./fetch_buffer.ts";
import { PartitionState } from "./partition_state.ts";
import { checkStart, checkTopicPartition, type Positions } from "./positions.ts";
import {
  type PartitionAssignment,
  type PartitionLag,
  type StartOffset,
  type TopicPartition,
  tpKey,
} from "./types.ts";

/**
 * The partitions, keyed by topic and partition.
 *
 * @example
 * ```ts ignore
 * const parts = new Partitions(cluster);
 * parts.attach(buffer, positions);
 * parts.assign([{ topic: "t", partition: 0, offset: "earliest" }], seen, false);
 * ```
 */
export class Partitions {
  readonly #cluster: Cluster;
  readonly #map = new Map<string, PartitionState>();
  #buffer: FetchBuffer | undefined;
  #positions: Positions | undefined;
  /** Chosen by `assign()` (not by a group). */
  manual = false;

  /** The partitions of a consumer of `cluster`. */
  constructor(cluster: Cluster) {
    this.#cluster = cluster;
  }

  /** Where fetched data is dropped, and where start positions are looked up. */
  attach(buffer: FetchBuffer, positions: Positions): void {
    this.#buffer = buffer;
    this.#positions = positions;
  }

  /** How many. */
  get size(): number {
    return this.#map.size;
  }

  /** Every partition. */
  values(): IterableIterator<PartitionState> {
    return this.#map.values();
  }

  /** A partition by name, if assigned. */
  get(topic: string, partition: number): PartitionState | undefined {
    return this.#map.get(tpKey(topic, partition));
  }

  /** A partition by key (`tpKey`), if assigned. */
  byKey(key: string): PartitionState | undefined {
    return this.#map.get(key);
  }

  /** Adds a partition the group assigned (no-op when it is there). */
  addAssigned(tp: TopicPartition): void {
    const k = tpKey(tp.topic, tp.partition);
    if (this.#map.has(k)) return;
    const ps = new PartitionState(tp.topic, tp.partition);
    ps.leader = this.#cluster.leaderFor(tp.topic, tp.partition);
    ps.leaderEpoch = this.#cluster.metadata.partition(tp.topic, tp.partition)?.leaderEpoch ?? -1;
    this.#map.set(k, ps);
  }

  /** Replaces the partitions with `assign()`'s (checked: `keys` are theirs). */
  assign(partitions: readonly PartitionAssignment[], keys: Set<string>, hasGroup: boolean): void {
    this.manual = true;
    for (const [k, ps] of this.#map) if (!keys.has(k)) this.remove(ps);
    for (const a of partitions) {
      const k = tpKey(a.topic, a.partition);
      const ps = this.#map.get(k) ?? new PartitionState(a.topic, a.partition);
      this.#map.set(k, ps);
      ps.endSpec = a.end;
      ps.end = undefined;
      ps.endTime = undefined;
      ps.endResolveAt = 0;
      this.#buffer!.evict(ps);
      this.#positions!.setStart(ps, a.offset ?? (hasGroup ? "committed" : undefined));
    }
    this.#cluster.addInterest(partitions.map((p) => p.topic));
  }

  /** Drops a partition and everything fetched for it. */
  remove(ps: PartitionState): void {
    this.#buffer!.evict(ps);
    ps.removed = true;
    this.#map.delete(ps.key);
  }

  /** Drops every partition. */
  clear(): void {
    for (const ps of [...this.#map.values()]) this.remove(ps);
  }

  /** The partitions, as `{ topic, partition }`. */
  list(): TopicPartition[] {
    return [...this.#map.values()].map((ps) => ({ topic: ps.topic, partition: ps.partition }));
  }

  /** Moves a partition's position (see `Consumer.seek`). */
  seek(target: TopicPartition & { offset: StartOffset }): void {
    checkTopicPartition(target);
    checkStart(target.offset);
    const ps = this.get(target.topic, target.partition);
    if (!ps) throw new RangeError(`${target.topic}-${target.partition} is not assigned`);
    this.#buffer!.evict(ps);
    this.#positions!.setStart(ps, target.offset);
  }

  /** Pauses or resumes partitions (unknown ones are ignored). */
  setPaused(partitions: readonly TopicPartition[], paused: boolean): void {
    for (const tp of partitions) {
      checkTopicPartition(tp);
      const ps = this.get(tp.topic, tp.partition);
      if (!ps) continue;
      ps.paused = paused;
      // Paused data must not hold the budget other partitions need.
      if (paused) this.#buffer!.evict(ps);
    }
  }

  /** The partitions paused now. */
  paused(): TopicPartition[] {
    return [...this.#map.values()].filter((ps) => ps.paused)
      .map((ps) => ({ topic: ps.topic, partition: ps.partition }));
  }

  /**
   * The offset after the last record the reader took, when known: not while a start is being
   * looked up or checked against the leader's log (KIP-320 may still move it).
   */
  position(tp: TopicPartition): bigint | undefined {
    checkTopicPartition(tp);
    const ps = this.get(tp.topic, tp.partition);
    if (!ps || ps.taken < 0n || (ps.phase !== "ready" && ps.phase !== "done")) return undefined;
    return ps.taken;
  }

  /** Position, high watermark and lag of every partition. */
  lag(): PartitionLag[] {
    return [...this.#map.values()].map((ps) => {
      const position = ps.taken >= 0n ? ps.taken : undefined;
      const hw = ps.highWatermark;
      const lag = position !== undefined && hw !== undefined
        ? (hw > position ? hw - position : 0n)
        : undefined;
      return { topic: ps.topic, partition: ps.partition, position, highWatermark: hw, lag };
    });
  }

  /** Whether a bounded read is over: every assigned partition reached its end. */
  allDone(): boolean {
    if (!this.manual || this.#map.size === 0) return false;
    for (const ps of this.#map.values()) {
      if (ps.endSpec === undefined || ps.phase !== "done") return false;
    }
    return true;
  }
}
