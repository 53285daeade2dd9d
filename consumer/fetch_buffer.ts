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
  /** The batch handed out by the last pull: its records may still sit in the stream's queue. */
  #lastBatch: { ps: PartitionState; gen: number; records: ConsumerRecord[] } | undefined;
  /** Decompressed bytes to release at the next pull (when their records were all taken). */
  #pendingRelease = 0;
  /** Fetch responses to release at the next pull. */
  #pendingFrames: FrameRef[] = [];
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

  /** The partition of the batch handed out last, while its records may be queued. */
  get lastPartition(): PartitionState | undefined {
    return this.#lastBatch?.ps;
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

  /** Everything queued before this pull was taken: account for it and free its memory. */
  releasePulled(): void {
    const lb = this.#lastBatch;
    if (lb) {
      this.#lastBatch = undefined;
      const last = lb.records[lb.records.length - 1]!;
      if (lb.gen === lb.ps.gen && !lb.ps.removed && last.offset + 1n > lb.ps.taken) {
        lb.ps.taken = last.offset + 1n;
        lb.ps.takenEpoch = last.leaderEpoch;
      }
    }
    let freed = this.#pendingRelease;
    this.#pendingRelease = 0;
    for (const f of this.#pendingFrames) freed += this.#unrefFrame(f);
    this.#pendingFrames = [];
    this.#release(freed);
  }

  /** Whether records of the last batch still sit in the stream's queue. */
  get queued(): boolean {
    return this.#lastBatch !== undefined && (this.#controller.desiredSize ?? 0) < 0;
  }

  /** What the reader took so far from the last batch (the rest is in the stream's queue). */
  syncTaken(): void {
    const lb = this.#lastBatch;
    if (!lb || lb.gen !== lb.ps.gen || lb.ps.removed) return;
    const queued = Math.max(0, -(this.#controller.desiredSize ?? 0));
    const taken = lb.records.length - queued;
    if (taken <= 0) return;
    const r = lb.records[taken - 1]!;
    if (r.offset + 1n > lb.ps.taken) {
      lb.ps.taken = r.offset + 1n;
      lb.ps.takenEpoch = r.leaderEpoch;
    }
  }

  /** The next partition to serve, round-robin. */
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
   * Hands the next batch of `ps` to the reader. Returns true when records were enqueued;
   * false when the head chunk ran out or held nothing for the reader.
   */
  async deliver(ps: PartitionState): Promise<boolean> {
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
      this.#pendingRelease += extra;
      this.#lastBatch = { ps, gen: ps.gen, records: out };
      const c = this.#controller;
      for (let i = 0; i < out.length; i++) c.enqueue(out[i]!);
      if (ps.phase === "done") {
        ps.chunks.shift();
        this.#pendingFrames.push(chunk.frame);
      }
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
    const first = dropped[0]!;
    let freed = 0;
    for (const c of dropped) {
      // The head chunk may back records still queued for the reader: release it at the
      // next pull.
      if (from === 0 && c === first && this.#lastBatch?.ps === ps) {
        this.#pendingFrames.push(c.frame);
      } else freed += this.#unrefFrame(c.frame);
    }
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
    this.dropChunks(ps, 0);
    if (ps.position >= 0n) {
      ps.fetchOffset = ps.position;
      ps.fetchEpoch = ps.positionEpoch;
    }
    if (bump) ps.gen++;
  }
}
