/**
 * The fetch buffer (internal): fetched data per partition, decoded batch by batch and handed
 * to the reader round-robin (a fetched chunk at a time), within the consumer's one memory
 * budget. Every byte the buffer holds beyond a fetch response (decompressed batches) is
 * charged here, and every byte is released here, once the reader took the records it backs.
 * It also keeps the commit contract: it knows which records the reader's code received (see
 * `handOut`).
 *
 * @module
 */

import { DecodeError } from "../protocol/errors.ts";
import type { BatchOf } from "../protocol/record_batch_decoder.ts";
import type { ByteBudget } from "./budget.ts";
import type { Chunk, FrameRef } from "./chunk.ts";
import type { Fetcher } from "./fetcher.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { PartitionState } from "./partition_state.ts";
import type { ConsumerRecord } from "./types.ts";

/** The memory a decoded batch holds beyond its fetch response: its decompressed buffer. */
function decompressedBytes(
  batch: { compression: number; records: ConsumerRecord[] },
  frame: ArrayBufferLike,
): number {
  if (batch.compression === 0) return 0;
  const records = batch.records;
  for (let i = 0; i < records.length && i < 4; i++) {
    const v = records[i]!.value ?? records[i]!.key;
    if (v && v.buffer !== frame) return v.buffer.byteLength;
  }
  return 0;
}

/**
 * The records of a batch at or after `from` and before `end`: all of them but for the batch a
 * fetch started inside of (a compressed batch, a seek) or the one an end offset cuts.
 */
function inRange(
  records: ConsumerRecord[],
  from: bigint,
  end: bigint | undefined,
): ConsumerRecord[] {
  const n = records.length;
  if (n === 0) return records;
  if (records[0]!.offset >= from && (end === undefined || records[n - 1]!.offset < end)) {
    return records;
  }
  return records.filter((r) => r.offset >= from && (end === undefined || r.offset < end));
}

/**
 * Whether a record handed out (or a batch) may still reach the reader's code: its partition
 * was not moved (seek, reset: a new generation), paused, revoked nor removed since.
 */
function current(from: { ps: PartitionState; gen: number }): boolean {
  const ps = from.ps;
  return from.gen === ps.gen && !ps.removed && !ps.revoking && !ps.paused;
}

/** A record handed out, with the generation of its partition then. */
export interface Handed {
  ps: PartitionState;
  gen: number;
  record: ConsumerRecord;
}

/**
 * A record a counting reader took ({@linkcode FetchBuffer.take}) but could not deliver, with
 * its partition's {@linkcode PartitionState.moves} when it was taken (see
 * {@linkcode FetchBuffer.abandon}).
 */
export interface Unsent {
  from: { ps: PartitionState; gen: number };
  record: ConsumerRecord;
  moves?: number;
}

/** A decoded batch being handed out. */
export interface Cursor {
  ps: PartitionState;
  gen: number;
  records: ConsumerRecord[];
  /** The next record to hand out. */
  next: number;
  /** Decompressed bytes it holds. */
  bytes: number;
  /** A fetch response to release with it (its chunk was dropped early: the end was reached). */
  frame: FrameRef | undefined;
}

/**
 * Fetched data waiting for the reader, and the bookkeeping of what the reader took.
 *
 * @example
 * ```ts ignore
 * const buffer = new FetchBuffer(options, budget, controller, () => parts.values());
 * buffer.attach(fetcher);
 * if (!buffer.handOut()) {
 *   const ps = buffer.nextReady();
 *   if (ps) await buffer.fill(ps);
 * }
 * ```
 */
export class FetchBuffer {
  readonly #options: ResolvedConsumerOptions;
  readonly #budget: ByteBudget;
  readonly #controller: ReadableStreamDefaultController<ConsumerRecord>;
  readonly #partitions: () => Iterable<PartitionState>;
  #fetcher: Fetcher | undefined;
  /** Partitions with fetched data, served round-robin. */
  #ready: PartitionState[] = [];
  /**
   * The batch being handed out (one record per pull to a reader that does not count; whole to
   * one that does). `ps.position` is already past it: the records from `next` on were not
   * handed out yet (see {@linkcode FetchBuffer.evict}).
   */
  #cursor: Cursor | undefined;
  /**
   * A record enqueued while no read was waiting for it (the reader let go during a pull): it
   * sits in the stream's queue, and counts as taken only when a later read takes it.
   */
  #queued: Handed | undefined;
  /** Counting readers attached (see {@linkcode FetchBuffer.countingStarted}). */
  #counting = 0;
  /** The consumer is closing: no record reaches the reader's code any more. */
  #closing = false;
  /** Batches queued for a counting reader, in order, until it took them. */
  #handed: Cursor[] = [];
  /** Why {@linkcode fillNow} last left a batch to {@linkcode fill}. */
  #tooLarge: DecodeError | undefined;
  /** The partition whose head chunk is being served, and that chunk (see {@linkcode nextReady}). */
  #serving: PartitionState | undefined;
  #servingChunk: Chunk | undefined;
  /** Room kept free for the next decompressed batch: the largest seen (capped). */
  #decodeReserve = 0;

  /** A buffer charging `budget`, handing records to `controller`. */
  constructor(
    options: ResolvedConsumerOptions,
    budget: ByteBudget,
    controller: ReadableStreamDefaultController<ConsumerRecord>,
    partitions: () => Iterable<PartitionState>,
  ) {
    this.#options = options;
    this.#budget = budget;
    this.#controller = controller;
    this.#partitions = partitions;
  }

  /** The fetcher to wake when memory is released (and to hold while re-decoding). */
  attach(fetcher: Fetcher): void {
    this.#fetcher = fetcher;
  }

  /** Room to keep free for decompressing the next batch. */
  get decodeReserve(): number {
    return this.#decodeReserve;
  }

  /** A fetched chunk for the reader. */
  addChunk(chunk: Chunk): void {
    const ps = chunk.ps;
    ps.chunks.push(chunk);
    if (!ps.queued) {
      ps.queued = true;
      this.#ready.push(ps);
    }
  }

  // ---------------------------------------------------------------------------------------
  // The budget. A fetch response is charged when it arrives (the fetcher's reservation
  // becomes held bytes: ByteBudget.settle); a decompressed batch is charged here; and every
  // held byte is released here, once the reader took the records it backs or they are dropped.

  /** Holds `bytes` of decompressed data against the budget. */
  #charge(bytes: number): void {
    if (bytes <= 0) return;
    this.#budget.charge(bytes);
    if (bytes > this.#decodeReserve) {
      this.#decodeReserve = Math.min(bytes, Math.floor(this.#budget.limit / 2));
    }
  }

  /** Gives `bytes` back to the budget and lets the fetcher use them. */
  #release(bytes: number): void {
    if (bytes <= 0) return;
    this.#budget.release(bytes);
    this.#fetcher?.wake();
  }

  /** Drops a chunk's claim on its frame; returns the bytes to release. */
  #unrefFrame(f: FrameRef): number {
    f.refs--;
    if (f.refs !== 0) return 0;
    if (f.lane) f.lane.held -= f.bytes;
    return f.bytes;
  }

  // ---------------------------------------------------------------------------------------
  // Delivery

  /**
   * Hands records to the reader. This is where the commit contract is kept: a record counts
   * as taken (what auto-commit and `commit()` commit) only once the reader's code has it,
   * never when it is fetched, decoded or sits in a queue.
   *
   * - A counting reader attached (the consumer's pipe; see
   *   {@linkcode countingStarted}): the rest of the batch goes to the stream's queue at once,
   *   and the reader reports each record it takes ({@linkcode take}, {@linkcode took}).
   * - Any other reader (`getReader()`, `tee()`...): one record per pull. The stream's queue
   *   is empty when it pulls (highWaterMark 0), so `enqueue` fulfils the waiting read, and the
   *   record is taken then. (A whole batch per pull would be cheaper, but a cancel empties the
   *   stream's queue before the source hears of it: what was taken could not be known.)
   *
   * Returns false when no record is ready (call {@linkcode nextReady} and {@linkcode fill}).
   */
  handOut(): boolean {
    const cur = this.#cursor;
    if (cur === undefined) return false;
    const ps = cur.ps;
    if (cur.gen !== ps.gen || ps.removed || ps.revoking || ps.paused) {
      this.#dropCursor();
      return false;
    }
    const c = this.#controller;
    if (this.#counting > 0) {
      this.#cursor = undefined;
      this.#handed.push(cur);
      const records = cur.records;
      for (let i = cur.next; i < records.length; i++) c.enqueue(records[i]!);
      return true;
    }
    const record = cur.records[cur.next++]!;
    if (cur.next === cur.records.length) this.#finishCursor();
    c.enqueue(record);
    if ((c.desiredSize ?? 0) < 0) {
      // No read was waiting (released during the pull): the record is queued, not taken.
      this.#queued = { ps, gen: cur.gen, record };
    } else this.took(cur, record);
    return true;
  }

  /**
   * The next record for the consumer's own reader ({@linkcode DirectReader}), taken now, without
   * a trip through the stream: undefined when none is ready without a pull. The next batch is
   * decoded here when that needs no waiting ({@linkcode fillNow}). Only while the stream's
   * queue is empty, so records still come in order; a batch that must not be handed out
   * (revoked, paused, moved) and one that needs room made are left to the pull.
   */
  takeNext(): ConsumerRecord | undefined {
    const cur = this.#readyCursor();
    if (cur === undefined) return undefined;
    const record = this.#advance(cur);
    cur.ps.tookRecord(record.offset, record.leaderEpoch);
    return record;
  }

  /**
   * {@linkcode takeNext} without taking: the next ready record, handed out but not counted
   * (the consumer's pipe, which reports it with {@linkcode took} once the destination has it,
   * and {@linkcode from}; if it never does, {@linkcode abandon} fetches it again).
   */
  nextRecord(): ConsumerRecord | undefined {
    const cur = this.#readyCursor();
    if (cur === undefined) return undefined;
    const record = this.#advance(cur);
    this.#from = cur;
    return record;
  }

  /** The cursor's next record, moving past it (and finishing the cursor after its last). */
  #advance(cur: Cursor): ConsumerRecord {
    const record = cur.records[cur.next++]!;
    if (cur.next === cur.records.length) this.#finishCursor();
    return record;
  }

  /**
   * The batch the last {@linkcode nextRecord} came from (its partition and generation then),
   * for {@linkcode took}.
   */
  get from(): { readonly ps: PartitionState; readonly gen: number } {
    return this.#from!;
  }

  #from: Cursor | undefined;

  /**
   * The cursor to hand the next record from, when one is ready now: {@linkcode takeNext}'s and
   * {@linkcode nextRecord}'s shared steps.
   */
  #readyCursor(): Cursor | undefined {
    if (this.#queued !== undefined || this.#handed.length > 0) return undefined;
    let cur = this.#cursor;
    if (cur === undefined) {
      // The first record of the next batch: decoded here when that needs no waiting, as the
      // pull would (the same round-robin), so the read needs no pull either.
      for (;;) {
        const ps = this.nextReady();
        if (ps === undefined) return undefined;
        const held = this.fillNow(ps);
        if (held === true) break;
        if (held === undefined) {
          // It needs room made (async): the pull serves `ps` next, as it would have
          // (nextReady keeps serving the chunk it chose until that chunk is done).
          this.#tooLarge = undefined;
          return undefined;
        }
      }
      cur = this.#cursor!;
    }
    const ps = cur.ps;
    if (cur.gen !== ps.gen || ps.removed || ps.revoking || ps.paused) return undefined;
    return cur;
  }

  /**
   * The stream pulls: its queue is empty, so whatever was queued was read, by a reader that
   * did not count (a counting reader reports every record before it reads again).
   */
  pulled(): void {
    const q = this.#queued;
    if (q !== undefined) {
      this.#queued = undefined;
      this.took(q, q.record);
    }
    if (this.#handed.length === 0) return;
    for (const e of this.#handed) {
      if (e.next < e.records.length) this.took(e, e.records[e.records.length - 1]!);
      e.next = e.records.length;
    }
    this.#dropHanded();
  }

  /** A counting reader attaches: whole batches are queued, and it reports what it takes. */
  countingStarted(): void {
    this.#counting++;
  }

  /** The counting reader let go. */
  countingEnded(): void {
    this.#counting--;
    // The last batch a pipe took from directly (and its fetch response) must not outlive the
    // pipe: that memory is no longer counted in the budget.
    this.#from = undefined;
  }

  /**
   * A counting reader read `record` from the stream: returns where it comes from, or
   * undefined when it must not reach the reader's code (its partition was revoked, paused or
   * moved since it was queued). The reader then reports it with {@linkcode took}.
   */
  take(record: ConsumerRecord): Handed | Cursor | undefined {
    // Closing: a batch queued whole for the pipe must not go on reaching it after the commit
    // on close was sent (those records would be delivered and never committed).
    if (this.#closing) return undefined;
    const q = this.#handed;
    while (q.length > 0) {
      const e = q[0]!;
      if (e.records[e.next] !== record) {
        // Not the head's next record: the head was dropped from the stream's queue.
        this.#dropHanded(1);
        continue;
      }
      e.next++;
      if (e.next === e.records.length) this.#dropHanded(1);
      return e.gen === e.ps.gen && !e.ps.removed && !e.ps.revoking ? e : undefined;
    }
    const h = this.#queued;
    if (h?.record === record) {
      this.#queued = undefined;
      return current(h) ? h : undefined;
    }
    return undefined;
  }

  /**
   * A reader that does not count (the consumer's own, {@linkcode DirectReader}) read `record`
   * from the stream's queue: whether its code may have it (then it is taken now). A record
   * queued while no read waited for it (a reader let go with a read pending, its pull went on)
   * must not reach a reader once its partition was moved, paused or revoked: it is dropped,
   * and the reader reads on.
   */
  readFromQueue(record: ConsumerRecord): boolean {
    const q = this.#queued;
    if (q === undefined || q.record !== record) return true;
    this.#queued = undefined;
    if (this.#closing || !current(q)) return false;
    this.took(q, record);
    return true;
  }

  /**
   * The reader's code has `record` (of `from`, from {@linkcode take}): it is taken. With
   * `moves` (the partition's {@linkcode PartitionState.moves} when the record was taken, given
   * by the pipe, whose destination may accept it after a pause), it counts unless the position
   * was set since: a pause evicts (a new generation) but leaves the position after the record.
   */
  took(from: { ps: PartitionState; gen: number }, record: ConsumerRecord, moves?: number): void {
    if (!stillAt(from, moves)) return;
    from.ps.tookRecord(record.offset, record.leaderEpoch);
  }

  /**
   * Forgets the batches queued for a counting reader (`count` of them, or all): their memory
   * goes back to the budget. Records of them still in the stream's queue are not taken.
   */
  #dropHanded(count = this.#handed.length): void {
    let freed = 0;
    for (const e of this.#handed.splice(0, count)) {
      freed += e.bytes;
      if (e.frame) freed += this.#unrefFrame(e.frame);
    }
    this.#release(freed);
  }

  /** Records sitting in the stream's queue (its highWaterMark is 0: a count below zero). */
  get queuedInStream(): number {
    return Math.max(0, -(this.#controller.desiredSize ?? 0));
  }

  /**
   * A counting reader (the consumer's pipe) lets go early with the stream still open (a pipe
   * stopped with `preventCancel`), having read and dropped what sat in the stream's queue
   * ({@linkcode queuedInStream}): those records, and `unsent` (one it took with
   * {@linkcode take} but could not deliver), reach no reader. Their partitions go back to the
   * first of them and fetch it again, so the next reader gets each record not delivered, in
   * order (the rest of a batch after a queued record would otherwise be skipped, see
   * {@linkcode take}).
   */
  abandon(unsent: Unsent | undefined): void {
    const parts = new Set<PartitionState>();
    const back = (
      from: { ps: PartitionState; gen: number },
      record: ConsumerRecord,
      moves?: number,
    ) => {
      if (!stillAt(from, moves)) return;
      this.#rewindTo(from.ps, record);
      parts.add(from.ps);
    };
    // A pause (or a KIP-320 check) while its write ran evicted (a new generation) and left the
    // position after it, as the write could still succeed (see `took`). It failed: the position
    // goes back to it, unless the partition was moved (a seek, a reset) meanwhile.
    if (unsent !== undefined) back(unsent.from, unsent.record, unsent.moves);
    const q = this.#queued;
    this.#queued = undefined;
    if (q !== undefined) back(q, q.record);
    for (const e of this.#handed) {
      if (e.next < e.records.length) back(e, e.records[e.next]!);
    }
    this.#dropHanded();
    // Whatever was fetched after them is dropped and fetched again from the rewound position.
    for (const ps of parts) this.evict(ps);
    this.#fetcher?.wake();
  }

  /**
   * The consumer is closing: nothing more is handed out (as by the pull), and what sits in
   * the stream's queue is not taken, so the commit on close is exactly what the reader got.
   */
  closing(): void {
    this.#closing = true;
  }

  /** The stream was cancelled (its queue emptied) or closed: nothing queued is taken. */
  dropQueued(): void {
    this.#queued = undefined;
    this.#dropHanded();
  }

  /** Every record of the cursor was handed out: its memory goes back to the budget. */
  #finishCursor(): void {
    const cur = this.#cursor!;
    this.#cursor = undefined;
    let freed = cur.bytes;
    if (cur.frame) freed += this.#unrefFrame(cur.frame);
    this.#release(freed);
  }

  /**
   * Drops the records of the cursor not handed out yet: the partition's position goes back to
   * the first of them, so they are fetched again (after a pause) rather than skipped.
   */
  #dropCursor(): void {
    const cur = this.#cursor;
    if (cur === undefined) return;
    this.#rewind(cur);
    cur.next = cur.records.length;
    this.#finishCursor();
  }

  /** Moves the position of a batch's partition back to its first record not taken. */
  #rewind(batch: Cursor): void {
    const ps = batch.ps;
    if (batch.gen !== ps.gen || batch.next >= batch.records.length) return;
    this.#rewindTo(ps, batch.records[batch.next]!);
  }

  /** Moves the position of `ps` back to `first` (of the current generation), if beyond it. */
  #rewindTo(ps: PartitionState, first: ConsumerRecord): void {
    if (first.offset >= ps.position) return;
    ps.position = first.offset;
    // Same batch: the epoch of the record before is this record's epoch.
    ps.positionEpoch = first.leaderEpoch;
    if (ps.phase === "done" && (ps.end === undefined || ps.position < ps.end)) {
      ps.phase = "ready";
    }
  }

  /**
   * The next partition to serve, round-robin a fetched chunk at a time: a partition's records
   * from one fetch response are handed out before the next partition's, as Java's consumer
   * drains one completed fetch before the next. So fetch responses are read, and their memory
   * freed, in the order they came, and the fetcher can send the next fetch while the later
   * responses are read. (A batch at a time over many partitions, every response buffered was
   * read at once and all were freed together at the end, so a fetcher held back by the budget
   * sent its next fetches only then and the reader waited for them: bench/PROFILE.md,
   * session 11, C6.)
   */
  nextReady(): PartitionState | undefined {
    const serving = this.#serving;
    if (serving !== undefined) {
      // The chunk being served goes on while it lasts (and the partition may be served).
      if (
        serving.chunks[0] === this.#servingChunk && !serving.removed &&
        serving.phase === "ready" && !serving.paused && !serving.revoking
      ) return serving;
      this.#serving = this.#servingChunk = undefined;
    }
    const q = this.#ready;
    for (let i = 0; i < q.length;) {
      const ps = q[i]!;
      if (ps.removed || ps.chunks.length === 0 || ps.phase !== "ready") {
        q.splice(i, 1);
        ps.queued = false;
        continue;
      }
      if (ps.paused || ps.revoking) {
        i++;
        continue;
      }
      // Round-robin: the partition goes to the back once chosen, and is served again
      // (above) until its head chunk is done.
      q.splice(i, 1);
      q.push(ps);
      this.#serving = ps;
      this.#servingChunk = ps.chunks[0];
      return ps;
    }
    return undefined;
  }

  /**
   * Decodes the next batch of `ps` for the reader ({@linkcode handOut}). Returns true when it
   * holds records; false when the head chunk ran out or held nothing for the reader.
   */
  async fill(ps: PartitionState): Promise<boolean> {
    for (;;) {
      const held = this.fillNow(ps);
      if (held !== undefined) return held;
      // The next batch decompresses to more than the free budget: make room and retry once.
      const chunk = ps.chunks[0]!;
      const tooLarge = this.#tooLarge!;
      this.#tooLarge = undefined;
      const batch = await this.#decodeWithRoom(ps, chunk, tooLarge);
      // Decoding waited: the partition may be on its way out.
      const placed = this.#place(ps, chunk, batch);
      if (placed !== undefined) return placed;
    }
  }

  /**
   * {@linkcode fill} without waiting: undefined when the next batch needs more room than is
   * free (then {@linkcode fill} makes room).
   */
  fillNow(ps: PartitionState): boolean | undefined {
    const chunk = ps.chunks[0]!;
    if (chunk.gen !== ps.gen) {
      ps.chunks.shift();
      this.#release(this.#unrefFrame(chunk.frame));
      return false;
    }
    const b = this.#budget;
    for (;;) {
      let batch: BatchOf<ConsumerRecord> | undefined;
      try {
        batch = chunk.nextRecords(this.#options.checkCrcs, b.limit - b.held - b.reserved);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        // The chunk's position stays: fill retries this batch with more room.
        this.#tooLarge = e;
        return undefined;
      }
      const placed = this.#place(ps, chunk, batch);
      if (placed !== undefined) return placed;
    }
  }

  /**
   * Places a decoded batch of `ps`'s head `chunk` (undefined: the chunk ran out): true when it
   * is the cursor now, false when `ps` has nothing more in this chunk for the reader,
   * undefined when it held nothing for the reader (decode the next one).
   */
  #place(
    ps: PartitionState,
    chunk: Chunk,
    batch: BatchOf<ConsumerRecord> | undefined,
  ): boolean | undefined {
    if (ps.revoking || ps.removed || ps.paused || chunk.gen !== ps.gen) return false;
    if (batch === undefined) {
      ps.chunks.shift();
      this.#release(this.#unrefFrame(chunk.frame));
      return false;
    }
    const extra = decompressedBytes(batch, chunk.bytes.buffer);
    this.#charge(extra);
    // A slice of a batch with records left (Chunk.nextRecords): the position goes past its
    // last record only, so that what a drop or eviction fetches again starts there.
    const next = chunk.slicing
      ? batch.records[batch.records.length - 1]!.offset + 1n
      : batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
    let out: ConsumerRecord[] | undefined;
    if (!chunk.skip(batch, this.#options.isolationLevel === 1)) {
      out = inRange(batch.records, ps.position, ps.end);
      if (ps.end === undefined && ps.endTime !== undefined) this.#cutAtTime(ps, out);
    }
    const end = ps.end;
    if (next > ps.position) {
      ps.position = end !== undefined && next > end ? end : next;
      ps.positionEpoch = batch.partitionLeaderEpoch;
    }
    if (end !== undefined && ps.position >= end) {
      ps.phase = "done";
      this.dropChunks(ps, 1);
    }
    if (!out || out.length === 0) {
      this.#release(extra);
      // Nothing queued for this partition: the reader has everything before the position.
      if (ps.position > ps.taken) {
        ps.taken = ps.position;
        ps.takenEpoch = ps.positionEpoch;
      }
      if (ps.phase === "done") {
        ps.chunks.shift();
        this.#release(this.#unrefFrame(chunk.frame));
        return false;
      }
      return undefined;
    }
    let frame: FrameRef | undefined;
    if (ps.phase === "done") {
      ps.chunks.shift();
      frame = chunk.frame;
    }
    this.#cursor = { ps, gen: ps.gen, records: out, next: 0, bytes: extra, frame };
    return true;
  }

  /**
   * Decodes the next batch of `chunk`, which did not fit in the free budget: the other
   * partitions' fetched data is dropped (to be fetched again) and it is retried once with all
   * the room there is; a batch that still does not fit is an error.
   */
  async #decodeWithRoom(
    ps: PartitionState,
    chunk: Chunk,
    tooLarge: DecodeError,
  ): Promise<BatchOf<ConsumerRecord> | undefined> {
    const b = this.#budget;
    const cap = b.limit - b.held - b.reserved;
    await this.#fetcher!.hold();
    try {
      for (const other of this.#partitions()) {
        if (other === ps) this.dropChunks(ps, 1);
        else this.evict(other, false);
      }
      const room = b.limit - b.held - b.reserved;
      if (room <= cap) throw this.#decodeError(ps, tooLarge);
      try {
        return chunk.nextRecords(this.#options.checkCrcs, room);
      } catch (e) {
        throw this.#decodeError(ps, e);
      }
    } finally {
      this.#fetcher!.unhold();
    }
  }

  #decodeError(ps: PartitionState, e: unknown): DecodeError {
    return new DecodeError(
      `${ps.topic}-${ps.partition} near offset ${ps.position}: ${(e as Error).message} ` +
        `(a decompressed batch must fit in maxBufferedBytes ${this.#budget.limit})`,
      { cause: e },
    );
  }

  /**
   * An end time still in the future: the first record at or after it is the end (what
   * ListOffsets by time will say), so it and everything after it are not handed out.
   */
  #cutAtTime(ps: PartitionState, out: ConsumerRecord[]): void {
    const t = ps.endTime!;
    for (let i = 0; i < out.length; i++) {
      if (out[i]!.timestamp >= t) {
        ps.end = out[i]!.offset;
        out.length = i;
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Dropping fetched data

  /** Drops the chunks of `ps` from index `from` on, and fetches again from where they began. */
  dropChunks(ps: PartitionState, from: number): void {
    if (ps.chunks.length <= from) return;
    const dropped = ps.chunks.splice(from);
    let freed = 0;
    for (const c of dropped) freed += this.#unrefFrame(c.frame);
    this.#release(freed);
    if (from === 0) {
      ps.fetchOffset = ps.position;
      ps.fetchEpoch = ps.positionEpoch;
    } else {
      const keep = ps.chunks[from - 1]!;
      ps.fetchOffset = keep.endOffset;
      ps.fetchEpoch = keep.endEpoch;
    }
  }

  /** Drops everything fetched ahead for `ps`; with `bump`, results in flight are ignored too. */
  evict(ps: PartitionState, bump = true): void {
    if (this.#cursor?.ps === ps) this.#dropCursor();
    // Records queued for a counting reader will be skipped: fetch them again.
    for (const e of this.#handed) if (e.ps === ps) this.#rewind(e);
    // So will the record queued for no read (see readFromQueue): after a pause, it is fetched
    // again rather than lost. (Not without `bump`: it is still handed out then.)
    const q = this.#queued;
    if (bump && q !== undefined && q.ps === ps && q.gen === ps.gen) this.#rewindTo(ps, q.record);
    this.dropChunks(ps, 0);
    if (ps.position >= 0n) {
      ps.fetchOffset = ps.position;
      ps.fetchEpoch = ps.positionEpoch;
    }
    if (bump) ps.gen++;
  }
}

/**
 * Whether a record taken from `from` still stands where the partition's position is: with
 * `moves` (a pipe's record, whose write may finish after a pause), unless the position was set
 * since; without, unless anything (a pause's eviction too) started a new generation. Every
 * `moves` bump comes with a `gen` bump, so the first is the looser test.
 */
function stillAt(from: { ps: PartitionState; gen: number }, moves: number | undefined): boolean {
  const ps = from.ps;
  return !ps.removed && (moves === undefined ? from.gen === ps.gen : moves === ps.moves);
}
