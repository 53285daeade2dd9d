/**
 * The consumer's CRC check off its thread (internal): a few Workers (`crcWorkers`) verify the
 * CRC-32C of a fetch response's record batches while the consumer's thread decodes and hands
 * out the records of earlier responses. On 1 KiB records the check is about a quarter of the
 * consumer's CPU time in TypeScript (bench/PROFILE.md, sessions 11 and 15).
 *
 * The response's buffer is transferred to a worker and back, never copied. That is safe only
 * for a buffer the frame reader made for the response alone and let go of
 * (`net/sole_buffer.ts`), and only while nothing but the response's own `records` views uses
 * it: the pool re-points those views into the returned buffer before the fetcher cuts chunks
 * from them. A partition whose batches did not all check out (a corrupt batch, a legacy
 * message set) is simply not marked verified: the consumer's thread checks it as it decodes,
 * so a corrupt batch fails at the same point of delivery, with the same error, as without
 * workers. The worker/pool pattern (lazy start, a ready message, inline fallback, terminate
 * on close) is the producer's compression pool's (producer/compression_pool.ts).
 *
 * @module
 */

import type { Logger } from "../protocol/logger.ts";
import type { FetchResponse, FetchResponsePartitionData } from "../protocol/messages/fetch.ts";
import { crc32c } from "../protocol/crc32c.ts";
import { RecordBatchLayout as L } from "../protocol/record_batch.ts";
import { moduleWorkersAvailable } from "../net/runtime.ts";
import { isSoleFrameBuffer } from "../net/sole_buffer.ts";
import { ConnectionError } from "../protocol/errors.ts";

/** A response to check: `ranges` holds (byte offset, length) pairs of partitions' records. */
export interface CrcJob {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly ranges: Int32Array;
}

/** The worker's answer: the buffer back, and per range 1 when every batch in it checked out. */
export interface CrcResult {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly ok: Uint8Array;
}

/**
 * Checks the complete record batches of each range of `bytes` (`ranges`: byte offset and
 * length pairs): the verdict of a range is 1 when it holds only v2 batches whose stored
 * CRC-32C matches, else 0 (a mismatch, a legacy message set, a malformed header). An
 * incomplete batch at a range's end is not looked at: the consumer never decodes it.
 *
 * @example
 * ```ts ignore
 * const ok = verifyRanges(new Uint8Array(buffer), new Int32Array([0, 1024]));
 * ```
 */
export function verifyRanges(bytes: Uint8Array, ranges: Int32Array): Uint8Array {
  const ok = new Uint8Array(ranges.length >> 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let r = 0; r < ok.length; r++) {
    const start = ranges[2 * r]!;
    const stop = start + ranges[2 * r + 1]!;
    if (start < 0 || stop > bytes.length) continue;
    let pos = start;
    let good = 1;
    while (stop - pos >= L.Magic + 1) {
      const length = view.getInt32(pos + L.BatchLength);
      const end = pos + L.LogOverhead + length;
      if (length < 0 || end > stop) break;
      if (
        bytes[pos + L.Magic] !== 2 || length < L.HeaderSize - L.LogOverhead ||
        crc32c(bytes, pos + L.Attributes, end) !== view.getUint32(pos + L.Crc)
      ) {
        good = 0;
        break;
      }
      pos = end;
    }
    ok[r] = good;
  }
  return ok;
}

interface Slot {
  readonly worker: Worker;
  /** The worker's module loaded (its first message). */
  ready: boolean;
  /** Jobs sent to it and not answered. */
  pending: number;
}

interface Job {
  readonly slot: Slot;
  readonly parts: FetchResponsePartitionData[];
  readonly ranges: Int32Array;
  readonly resolve: (verified: Set<FetchResponsePartitionData>) => void;
  readonly reject: (e: Error) => void;
}

/**
 * A lazily started pool of CRC Workers for the fetcher.
 *
 * @example
 * ```ts ignore
 * const pool = new CrcPool(1, logger);
 * const verified = await pool.check(response); // undefined: not sent, check inline
 * pool.close();
 * ```
 */
export class CrcPool {
  readonly #size: number;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #closed = false;
  /** Workers cannot be started here: every batch is checked inline from now on. */
  #unavailable = false;

  /** A pool of at most `size` workers (none start before the first `check`). */
  constructor(size: number, logger: Logger) {
    this.#size = size;
    this.#logger = logger;
  }

  /** Workers whose module has loaded: they take responses. */
  get ready(): number {
    let n = 0;
    for (const s of this.#slots) if (s.ready) n++;
    return n;
  }

  /**
   * Sends `res`'s buffer to the least busy ready worker, which checks every partition's
   * record batches. Resolves, once the buffer is back and each partition's `records` points
   * into it again, with the partitions whose batches all checked out; rejects (a
   * `ConnectionError`: fetch again) when the buffer was lost with its worker or the pool
   * closed. Returns undefined, having touched nothing, when the buffer cannot be transferred
   * safely or no worker is ready: the caller's thread checks as before.
   */
  check(res: FetchResponse): Promise<Set<FetchResponsePartitionData>> | undefined {
    if (this.#closed || this.#unavailable) return undefined;
    let buffer: ArrayBufferLike | undefined;
    const parts: FetchResponsePartitionData[] = [];
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const r = p.records;
        if (r === null || r.length === 0) continue;
        if (buffer === undefined) buffer = r.buffer;
        else if (r.buffer !== buffer) return undefined;
      }
    }
    if (buffer === undefined || !isSoleFrameBuffer(buffer)) return undefined;
    // Every view of the buffer, empty ones too: each is re-pointed when it comes back.
    for (const t of res.responses) {
      for (const p of t.partitions) if (p.records?.buffer === buffer) parts.push(p);
    }
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (s.ready && (best === undefined || s.pending < best.pending)) best = s;
    }
    // Another worker starts when every one there is already has work.
    if ((best === undefined || best.pending > 0) && this.#slots.length < this.#size) this.#spawn();
    if (best === undefined) return undefined;
    const ranges = new Int32Array(parts.length * 2);
    for (let i = 0; i < parts.length; i++) {
      ranges[2 * i] = parts[i]!.records!.byteOffset;
      ranges[2 * i + 1] = parts[i]!.records!.length;
    }
    const id = this.#nextId++;
    const job: CrcJob = { id, buffer: buffer as ArrayBuffer, ranges };
    try {
      // Detaches `buffer`: every view of it (the partitions' records) reads as empty until
      // the worker sends it back.
      best.worker.postMessage(job, [job.buffer]);
    } catch {
      return undefined;
    }
    best.pending++;
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { slot: best, parts, ranges, resolve, reject });
    });
  }

  /** Terminates the workers; responses still out are reported lost. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s.worker.terminate();
    this.#slots.length = 0;
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const j of jobs) j.reject(new ConnectionError("consumer closed during a CRC check"));
  }

  #spawn(): void {
    if (!moduleWorkersAvailable()) {
      this.#unavailable = true;
      return;
    }
    let worker: Worker;
    try {
      worker = new Worker(new URL("./crc_worker.ts", import.meta.url).href, { type: "module" });
    } catch (e) {
      this.#giveUp(e);
      return;
    }
    const slot: Slot = { worker, ready: false, pending: 0 };
    this.#slots.push(slot);
    worker.onmessage = (e: MessageEvent<CrcResult>) => this.#onResult(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      // Handled here: unhandled, a worker's error would be rethrown in this thread.
      e.preventDefault();
      this.#onWorkerError(slot, e.message);
    };
    worker.onmessageerror = () => this.#onWorkerError(slot, "a message could not be read");
  }

  #onResult(slot: Slot, r: CrcResult): void {
    if (r.id === -1) {
      slot.ready = true;
      return;
    }
    const job = this.#jobs.get(r.id);
    if (job === undefined) return;
    this.#jobs.delete(r.id);
    slot.pending--;
    const verified = new Set<FetchResponsePartitionData>();
    for (let i = 0; i < job.parts.length; i++) {
      const p = job.parts[i]!;
      p.records = new Uint8Array(r.buffer, job.ranges[2 * i]!, job.ranges[2 * i + 1]!);
      if (r.ok[i] === 1) verified.add(p);
    }
    job.resolve(verified);
  }

  #onWorkerError(slot: Slot, message: string): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return;
    this.#slots.splice(i, 1);
    slot.worker.terminate();
    if (!slot.ready) {
      // The module never loaded (say a compiled binary without it): no worker will.
      this.#giveUp(message);
      return;
    }
    this.#logger.error("a CRC worker died", { error: message });
    for (const [id, job] of [...this.#jobs]) {
      if (job.slot !== slot) continue;
      this.#jobs.delete(id);
      job.reject(new ConnectionError(`a CRC worker died: ${message}`));
    }
  }

  #giveUp(reason: unknown): void {
    if (this.#unavailable) return;
    this.#unavailable = true;
    this.#logger.warn("CRC workers are unavailable; checking CRCs on this thread", {
      error: reason instanceof Error ? reason.message : String(reason),
    });
  }
}
