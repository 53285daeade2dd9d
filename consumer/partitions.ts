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
    const state = new PartitionState(tp.topic, tp.partition);
    state.leader = this.#cluster.leaderFor(tp.topic, tp.partition);
    state.leaderEpoch = this.#cluster.metadata.partition(tp.topic, tp.partition)?.leaderEpoch ?? -1;
    this.#map.set(k, state);
  }

  /** Replaces the partitions with `assign()`'s (checked: `keys` are theirs). */
  assign(partitions: readonly PartitionAssignment[], keys: Set<string>, hasGroup: boolean): void {
    this.manual = true;
    for (const [k, state] of this.#map) if (!keys.has(k)) this.remove(state);
    for (const a of partitions) {
      const k = tpKey(a.topic, a.partition);
      const state = this.#map.get(k) ?? new PartitionState(a.topic, a.partition);
      this.#map.set(k, state);
      state.endSpec = a.end;
      state.end = undefined;
      state.endTime = undefined;
      state.endResolveAt = 0;
      this.#buffer!.evict(state);
      this.#positions!.setStart(state, a.offset ?? (hasGroup ? "committed" : undefined));
    }
    this.#cluster.addInterest(partitions.map((p) => p.topic));
  }

  /** Drops a partition and everything fetched for it. */
  remove(state: PartitionState): void {
    this.#buffer!.evict(state);
    state.removed = true;
    this.#map.delete(state.key);
  }

  /** Drops every partition. */
  clear(): void {
    for (const state of [...this.#map.values()]) this.remove(state);
  }

  /** The partitions, as `{ topic, partition }`. */
  list(): TopicPartition[] {
    return [...this.#map.values()].map((state) => ({
      topic: state.topic,
      partition: state.partition,
    }));
  }

  /** Moves a partition's position (see `Consumer.seek`). */
  seek(target: TopicPartition & { offset: StartOffset }): void {
    checkTopicPartition(target);
    checkStart(target.offset);
    const state = this.get(target.topic, target.partition);
    if (!state) throw new RangeError(`${target.topic}-${target.partition} is not assigned`);
    this.#buffer!.evict(state);
    this.#positions!.setStart(state, target.offset);
  }

  /** Pauses or resumes partitions (unknown ones are ignored). */
  setPaused(partitions: readonly TopicPartition[], paused: boolean): void {
    for (const tp of partitions) {
      checkTopicPartition(tp);
      const state = this.get(tp.topic, tp.partition);
      if (!state) continue;
      state.paused = paused;
      // Paused data must not hold the budget other partitions need.
      if (paused) this.#buffer!.evict(state);
    }
  }

  /** The partitions paused now. */
  paused(): TopicPartition[] {
    return [...this.#map.values()].filter((state) => state.paused)
      .map((state) => ({ topic: state.topic, partition: state.partition }));
  }

  /**
   * The offset after the last record the reader took, when known: not while a start is being
   * looked up or checked against the leader's log (KIP-320 may still move it).
   */
  position(tp: TopicPartition): bigint | undefined {
    checkTopicPartition(tp);
    const state = this.get(tp.topic, tp.partition);
    if (!state || state.taken < 0n || (state.phase !== "ready" && state.phase !== "done")) {
      return undefined;
    }
    return state.taken;
  }

  /** Position, high watermark and lag of every partition. */
  lag(): PartitionLag[] {
    return [...this.#map.values()].map((state) => {
      const position = state.taken >= 0n ? state.taken : undefined;
      const hw = state.highWatermark;
      const lag = position !== undefined && hw !== undefined
        ? (hw > position ? hw - position : 0n)
        : undefined;
      return { topic: state.topic, partition: state.partition, position, highWatermark: hw, lag };
    });
  }

  /** Whether a bounded read is over: every assigned partition reached its end. */
  allDone(): boolean {
    if (!this.manual || this.#map.size === 0) return false;
    for (const state of this.#map.values()) {
      if (state.endSpec === undefined || state.phase !== "done") return false;
    }
    return true;
  }
}
