/**
 * The fetch buffer (internal): fetched data per partition, decoded batch by batch and handed
 * to the reader round-robin, within the consumer's one memory budget. Every byte the buffer
 * holds beyond a fetch response (decompressed batches) is charged here, and every byte is
 * released here, once the reader took the records it backs.
 *
 * @module
 */

import { DecodeError } from "../protocol/errors.ts";
import type { RecordBatch } from "../protocol/record_batch.ts";
import type { ByteBudget } from "./budget.ts";
import { batchRecords, type Chunk, type FrameRef } from "./chunk.ts";
import type { Fetcher } from "./fetcher.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { PartitionState } from "./partition_state.ts";
import type { ConsumerRecord } from "./types.ts";

/** The memory a decoded batch holds beyond its fetch response: its decompressed buffer. */
function decompressedBytes(batch: RecordBatch, frame: ArrayBufferLike): number {
  if (batch.compression === 0) return 0;
  const records = batch.records;
  for (let i = 0; i < records.length && i < 4; i++) {
    const v = records[i]!.value ?? records[i]!.key;
    if (v && v.buffer !== frame) return v.buffer.byteLength;
  }
  return 0;
}

/** A record handed out, with the generation of its partition then. */
interface Handed {
  ps: PartitionState;
  gen: number;
  record: ConsumerRecord;
}

/** A decoded batch being handed out. */
interface Cursor {
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
 * const ps = buffer.nextReady();
 * if (ps) await buffer.deliver(ps);
 * ```
 */
export class FetchBuffer {
  readonly #o: ResolvedConsumerOptions;
  readonly #budget: ByteBudget;
  readonly #controller: ReadableStreamDefaultController<ConsumerRecord>;
  readonly #partitions: () => Iterable<PartitionState>;
  #fetcher: Fetcher | undefined;
  /** Partitions with fetched data, served round-robin. */
  #ready: PartitionState[] = [];
  /**
   * The batch being handed out, one record per read. `ps.position` is already past it: the
   * records from `next` on were not handed out yet (see {@linkcode FetchBuffer.evict}).
   */
  #cursor: Cursor | undefined;
  /**
   * A record enqueued while no read was waiting for it (the reader let go during a pull): it
   * sits in the stream's queue, and counts as taken only when a later read takes it.
   */
  #queued: Handed | undefined;
  /** Pipes reading the stream now (see {@linkcode FetchBuffer.pipeStarted}). */
  #pipes = 0;
  /** Records a pipe read, in order, until its destination accepts them. */
  #inPipe: Handed[] = [];
  /** Room kept free for the next decompressed batch: the largest seen (capped). */
  #decodeReserve = 0;

  /** A buffer charging `budget`, handing records to `controller`. */
  constructor(
    options: ResolvedConsumerOptions,
    budget: ByteBudget,
    controller: ReadableStreamDefaultController<ConsumerRecord>,
    partitions: () => Iterable<PartitionState>,
  ) {
    this.#o = options;
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
  // The budget: charged and released here only

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
   * Hands one record to the reader, and counts it as taken: the stream's queue is empty when
   * the stream pulls (highWaterMark 0), so `enqueue` fulfils the read that waits for it.
   * Returns false when no record is ready (call {@linkcode nextReady} and {@linkcode fill}).
   *
   * This is the commit contract's one counting point: a record is taken when the read that
   * returns it resolves, never when it is fetched, decoded or sits in a queue. (Enqueuing a
   * whole batch per pull would be cheaper, but a cancel empties the stream's queue before the
   * source hears of it, so what the reader had taken from it could not be known.)
   */
  handOut(): boolean {
    const cur = this.#cursor;
    if (cur === undefined) return false;
    const ps = cur.ps;
    if (cur.gen !== ps.gen || ps.removed || ps.revoking || ps.paused) {
      this.#dropCursor();
      return false;
    }
    const record = cur.records[cur.next++]!;
    if (cur.next === cur.records.length) this.#finishCursor();
    const c = this.#controller;
    c.enqueue(record);
    if ((c.desiredSize ?? 0) < 0) {
      // No read was waiting (released during the pull): the record is queued, not taken.
      this.#queued = { ps, gen: cur.gen, record };
    } else if (this.#pipes > 0) this.#inPipe.push({ ps, gen: cur.gen, record });
    else this.#took(ps, cur.gen, record);
    return true;
  }

  /** The stream pulls again: its queue is empty, so a record queued earlier was taken. */
  pulled(): void {
    const q = this.#queued;
    if (q === undefined) return;
    this.#queued = undefined;
    if (this.#pipes > 0) this.#inPipe.push(q);
    else this.#took(q.ps, q.gen, q.record);
  }

  /**
   * A pipe reads the stream: from now on a record counts as taken when the pipe's destination
   * accepted it ({@linkcode accepted}), not when the pipe read it, so that what a destination
   * queued but never processed (a TransformStream's writable queue, for one) is not committed.
   */
  pipeStarted(): void {
    this.#pipes++;
  }

  /** The pipe ended: records it read but did not deliver stay untaken. */
  pipeEnded(): void {
    if (--this.#pipes === 0) this.#inPipe = [];
  }

  /** A pipe's destination accepted `record` (its write resolved): it is taken. */
  accepted(record: ConsumerRecord): void {
    const q = this.#inPipe;
    let i = 0;
    while (i < q.length && q[i]!.record !== record) i++;
    if (i === q.length) return;
    const h = q[i]!;
    q.splice(0, i + 1);
    this.#took(h.ps, h.gen, record);
  }

  #took(ps: PartitionState, gen: number, record: ConsumerRecord): void {
    if (gen !== ps.gen || ps.removed) return;
    if (record.offset + 1n > ps.taken) {
      ps.taken = record.offset + 1n;
      ps.takenEpoch = record.leaderEpoch;
    }
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
    const ps = cur.ps;
    if (cur.gen === ps.gen && cur.next < cur.records.length) {
      const first = cur.records[cur.next]!;
      if (first.offset < ps.position) {
        ps.position = first.offset;
        // Same batch: the epoch of the record before is this record's epoch.
        ps.positionEpoch = first.leaderEpoch;
        if (ps.phase === "done" && (ps.end === undefined || ps.position < ps.end)) {
          ps.phase = "ready";
        }
      }
    }
    cur.next = cur.records.length;
    this.#finishCursor();
  }

  /** The next partition to serve, round-robin (a batch at a time). */
  nextReady(): PartitionState | undefined {
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
      // Round-robin: the partition goes to the back after each batch.
      q.splice(i, 1);
      q.push(ps);
      return ps;
    }
    return undefined;
  }

  /**
   * Decodes the next batch of `ps` for the reader ({@linkcode handOut}). Returns true when it
   * holds records; false when the head chunk ran out or held nothing for the reader.
   */
  async fill(ps: PartitionState): Promise<boolean> {
    const chunk = ps.chunks[0]!;
    if (chunk.gen !== ps.gen) {
      ps.chunks.shift();
      this.#release(this.#unrefFrame(chunk.frame));
      return false;
    }
    const readCommitted = this.#o.isolationLevel === 1;
    const frameBuffer = chunk.bytes.buffer;
    for (;;) {
      const batch = await this.#decode(ps, chunk);
      // Decoding may have waited: the partition may be on its way out.
      if (ps.revoking || ps.removed || ps.paused || chunk.gen !== ps.gen) return false;
      if (batch === undefined) {
        ps.chunks.shift();
        this.#release(this.#unrefFrame(chunk.frame));
        return false;
      }
      const extra = decompressedBytes(batch, frameBuffer);
      this.#charge(extra);
      const next = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
      let out: ConsumerRecord[] | undefined;
      if (!chunk.skip(batch, readCommitted)) {
        out = [];
        batchRecords(batch, ps.topic, ps.partition, ps.position, ps.end ?? -1n, out);
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
        continue;
      }
      let frame: FrameRef | undefined;
      if (ps.phase === "done") {
        ps.chunks.shift();
        frame = chunk.frame;
      }
      this.#cursor = { ps, gen: ps.gen, records: out, next: 0, bytes: extra, frame };
      return true;
    }
  }

  /**
   * Decodes the next batch of `chunk` within the free budget. If decompression needs more, the
   * other partitions' fetched data is dropped (to be fetched again) and it is retried once
   * with all the room there is; a batch that still does not fit is an error.
   */
  async #decode(ps: PartitionState, chunk: Chunk): Promise<RecordBatch | undefined> {
    const b = this.#budget;
    const cap = b.limit - b.held - b.reserved;
    try {
      return chunk.nextBatch(this.#o.checkCrcs, cap);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      await this.#fetcher!.hold();
      try {
        for (const other of this.#partitions()) {
          if (other === ps) this.dropChunks(ps, 1);
          else this.evict(other, false);
        }
        const room = b.limit - b.held - b.reserved;
        if (room <= cap) throw this.#decodeError(ps, e);
        try {
          return chunk.nextBatch(this.#o.checkCrcs, room);
        } catch (e2) {
          throw this.#decodeError(ps, e2);
        }
      } finally {
        this.#fetcher!.unhold();
      }
    }
  }

  #decodeError(ps: PartitionState, e: unknown): DecodeError {
    return new DecodeError(
      `${ps.topic}-${ps.partition} near offset ${ps.position}: ${(e as Error).message} ` +
        `(a decompressed batch must fit in maxBufferedBytes ${this.#budget.limit})`,
      { cause: e },
    );
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
    this.dropChunks(ps, 0);
    if (ps.position >= 0n) {
      ps.fetchOffset = ps.position;
      ps.fetchEpoch = ps.positionEpoch;
    }
    if (bump) ps.gen++;
  }
}
