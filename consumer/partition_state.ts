/**
 * Per-partition state of the consumer (internal): where the reader is, what is fetched ahead,
 * and what must be looked up before fetching.
 *
 * @module
 */

import type { Chunk } from "./chunk.ts";
import { type EndOffset, tpKey } from "./types.ts";

/**
 * What a partition waits for before it can be fetched:
 * - `committed`: the group's committed offset (OffsetFetch);
 * - `reset`: an offset by policy or time (ListOffsets);
 * - `validate`: a position checked against the leader's log (OffsetForLeaderEpoch, KIP-320);
 * - `ready`: fetchable; `done`: its end offset was reached.
 */
export type Phase = "committed" | "reset" | "validate" | "ready" | "done";

/** Where a `reset` goes. */
export type ResetTarget = "earliest" | "latest" | "error" | { timestamp: number };

/**
 * One assigned partition.
 *
 * @example
 * ```ts ignore
 * const state = new PartitionState("t", 0);
 * state.startAt(5n, -1);
 * console.log(state.phase); // ready
 * ```
 */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  phase: Phase = "committed";
  resetTo: ResetTarget = "latest";
  /** Why the reset happens (for the error when the policy is `error`). */
  resetReason = "no committed offset";
  /** The requested end, until resolved into `end`. */
  endSpec: EndOffset | undefined;
  /** The exclusive end offset, once known. */
  end: bigint | undefined;
  /**
   * An end `{ timestamp }` still in the future: records are handed out until one at or after
   * it shows up (that one is the end), and the end is looked up once it has passed.
   */
  endTime: number | undefined;
  /** When to look the end up (ms since epoch; 0: now). */
  endResolveAt = 0;
  /** The next offset to hand to the reader. */
  position = -1n;
  /** The leader epoch of the record before `position` (-1 unknown). */
  positionEpoch = -1;
  #taken = -1n;
  /** `#taken` came from a seek or a committed offset, not from records the reader took. */
  #startedOnly = false;
  /** The leader epoch of the last record taken. */
  #takenEpoch = -1;
  /**
   * The offset of the last record the reader took, not yet folded into `#taken` (null: none):
   * {@linkcode tookRecord} runs once per record, and `offset + 1n` would allocate a bigint
   * each time; the fold happens when `taken` is read (a commit, `position()`), far less often.
   */
  #lastOffset: bigint | null = null;
  #lastEpoch = -1;
  /** The next offset to fetch (ahead of `position` when data is buffered). */
  fetchOffset = -1n;
  /** The leader epoch of the last fetched batch (Fetch's LastFetchedEpoch, KIP-320). */
  fetchEpoch = -1;
  /** The last offset this consumer committed or read from the group, if any. */
  committed: bigint | undefined;
  paused = false;
  /** Being revoked: nothing more is handed out or fetched for it. */
  revoking = false;
  /** Whether it was revoked or unassigned: stale work for it is dropped. */
  removed = false;
  /** Bumped by seeks, resets and evictions: older fetch results are then discarded. */
  gen = 0;
  /**
   * Bumped when the position is set (a seek, a reset, a committed offset, a truncation), not
   * by evictions that keep it (a pause): a record whose pipe write resolves later still counts
   * as taken unless this moved meanwhile (see `FetchBuffer.took`).
   */
  moves = 0;
  highWatermark: bigint | undefined;
  lastStableOffset: bigint | undefined;
  logStartOffset: bigint | undefined;
  leader = -1;
  leaderEpoch = -1;
  /** Set when a fetch error says the leader moved: refresh metadata before fetching again. */
  needsMetadata = false;
  /** When metadata first lacked this partition (0: it has it). */
  unknownSince = 0;
  /** No fetches before this time (ms since epoch), after a partition error. */
  backoffUntil = 0;
  /** Fetched data not yet handed to the reader, in offset order. */
  readonly chunks: Chunk[] = [];
  /** Whether it sits in the consumer's ready queue. */
  queued = false;

  /** A partition, waiting for its committed offset by default. */
  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = tpKey(topic, partition);
  }

  /**
   * The offset after the last record the reader took (what auto-commit commits and
   * `position()` reports); -1 while a start offset is still being validated (KIP-320), as
   * Java's position() waits for a valid position: a committed offset beyond a truncated log
   * is never reported nor committed back.
   */
  get taken(): bigint {
    if (this.#lastOffset !== null) this.#fold();
    return this.#startedOnly && this.phase === "validate" ? -1n : this.#taken;
  }

  set taken(offset: bigint) {
    this.#lastOffset = null;
    this.#taken = offset;
    this.#startedOnly = false;
  }

  /** The leader epoch of the last record taken (-1 unknown). */
  get takenEpoch(): number {
    if (this.#lastOffset !== null) this.#fold();
    return this.#takenEpoch;
  }

  set takenEpoch(epoch: number) {
    if (this.#lastOffset !== null) this.#fold();
    this.#takenEpoch = epoch;
  }

  /**
   * The reader took the record at `offset` (of a batch of leader epoch `epoch`): `taken` moves
   * past it unless it is already there. Records of one generation come in offset order.
   */
  tookRecord(offset: bigint, epoch: number): void {
    const last = this.#lastOffset;
    if (
      last !== null
        ? offset > last
        : offset >= this.#taken || (this.#startedOnly && this.phase === "validate")
    ) {
      this.#lastOffset = offset;
      this.#lastEpoch = epoch;
    }
  }

  #fold(): void {
    this.#taken = this.#lastOffset! + 1n;
    this.#takenEpoch = this.#lastEpoch;
    this.#startedOnly = false;
    this.#lastOffset = null;
  }

  /** Sets every offset to `offset` (a seek, a reset, a committed offset) and makes it ready. */
  startAt(offset: bigint, epoch: number): void {
    this.position = offset;
    this.positionEpoch = epoch;
    this.#lastOffset = null;
    this.#taken = offset;
    this.#startedOnly = true;
    this.#takenEpoch = epoch;
    this.fetchOffset = offset;
    this.fetchEpoch = epoch;
    this.gen++;
    this.moves++;
    this.phase = this.end !== undefined && offset >= this.end ? "done" : "ready";
  }

  /** Whether the reader has everything before `end`. */
  get finished(): boolean {
    return this.phase === "done";
  }
}
