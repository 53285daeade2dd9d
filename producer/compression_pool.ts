/**
 * Compression off the producer's thread: a few Workers (`compressionWorkers`) compress large
 * finished batches while the producer's thread keeps batching records and doing I/O, as the
 * Java client compresses on the caller's thread while its sender thread sends.
 *
 * Buffers are transferred both ways, never copied: the batch goes to a worker, and comes back
 * compressed together with its input buffer, which the producer builds a later batch in.
 * Workers start on first use and only jobs for workers that reported their module loaded are
 * accepted; when none can (Workers unavailable, still starting), the caller compresses on its
 * own thread as before.
 *
 * @module
 */

import type { Logger } from "../protocol/logger.ts";
import { moduleWorkersAvailable } from "../net/runtime.ts";
import type { CompressionJob, CompressionResult } from "./compression_worker.ts";

/**
 * What becomes of a job: `bytes` is the compressed batch (null when the worker could not
 * compress it); `input` is the buffer the job was made from, intact, or null when it was lost
 * with its worker (the worker died, or the pool closed).
 */
export type CompressionDone = (bytes: Uint8Array | null, input: Uint8Array | null) => void;

interface Slot {
  readonly worker: Worker;
  /** The worker's module loaded (its first message). */
  ready: boolean;
  /** Jobs sent to it and not answered. */
  pending: number;
}

interface Job {
  readonly slot: Slot;
  readonly done: CompressionDone;
}

/** A lazily started pool of compression Workers. */
export class CompressionPool {
  readonly #size: number;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #closed = false;
  /** Workers cannot be started here: every batch is compressed inline from now on. */
  #unavailable = false;

  /** A pool of at most `size` workers (none start before the first `submit`). */
  constructor(size: number, logger: Logger) {
    this.#size = size;
    this.#logger = logger;
  }

  /** Jobs sent and not answered yet. */
  get pending(): number {
    return this.#jobs.size;
  }

  /** Workers started and not terminated. */
  get running(): number {
    return this.#slots.length;
  }

  /** Workers whose module has loaded: they take batches. */
  get ready(): number {
    let n = 0;
    for (const s of this.#slots) if (s.ready) n++;
    return n;
  }

  /**
   * Hands `batch` (what `finishUncompressed()` returned, alone in its buffer from offset 0) to
   * the least busy ready worker, which takes its buffer over (transferred: `batch` is empty
   * afterwards), with `output` to compress into if it has room (transferred too). `done` is
   * called once, later. Returns false, keeping both as they were, when no worker is ready: the
   * caller compresses the batch itself.
   */
  submit(
    batch: Uint8Array,
    level: number | undefined,
    output: Uint8Array | undefined,
    done: CompressionDone,
  ): boolean {
    if (this.#closed || this.#unavailable || batch.byteOffset !== 0) return false;
    if (output !== undefined && (output.byteOffset !== 0 || output.buffer === batch.buffer)) {
      output = undefined;
    }
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (s.ready && (best === undefined || s.pending < best.pending)) best = s;
    }
    // Another worker starts when every one there is already has work.
    if ((best === undefined || best.pending > 0) && this.#slots.length < this.#size) this.#spawn();
    if (best === undefined) return false;
    const id = this.#nextId++;
    const job: CompressionJob = {
      id,
      buffer: batch.buffer as ArrayBuffer,
      length: batch.length,
      level,
      output: output?.buffer as ArrayBuffer | undefined,
    };
    try {
      best.worker.postMessage(job, job.output ? [job.buffer, job.output] : [job.buffer]);
    } catch {
      // Not transferable (a SharedArrayBuffer, say): compress inline.
      return false;
    }
    best.pending++;
    this.#jobs.set(id, { slot: best, done });
    return true;
  }

  /** Terminates the workers; jobs still out are reported lost. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s.worker.terminate();
    this.#slots.length = 0;
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const j of jobs) j.done(null, null);
  }

  #spawn(): void {
    if (!moduleWorkersAvailable()) {
      // Node has only worker_threads, workerd no threads at all: compress inline, quietly.
      this.#unavailable = true;
      return;
    }
    let worker: Worker;
    try {
      worker = new Worker(new URL("./compression_worker.ts", import.meta.url).href, {
        type: "module",
      });
    } catch (e) {
      this.#giveUp(e);
      return;
    }
    const slot: Slot = { worker, ready: false, pending: 0 };
    this.#slots.push(slot);
    worker.onmessage = (e: MessageEvent<CompressionResult>) => this.#onResult(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      // Handled here: unhandled, a worker's error would be rethrown in this thread.
      e.preventDefault();
      this.#onWorkerError(slot, e.message);
    };
    worker.onmessageerror = () => this.#onWorkerError(slot, "a message could not be read");
  }

  #onResult(slot: Slot, r: CompressionResult): void {
    if (r.id === -1) {
      slot.ready = true;
      return;
    }
    const job = this.#jobs.get(r.id);
    if (job === undefined) return;
    this.#jobs.delete(r.id);
    slot.pending--;
    const input = new Uint8Array(r.input);
    if (r.output === undefined) {
      this.#logger.warn("a compression worker failed a batch; compressing it inline", {
        error: r.error ?? "",
      });
      job.done(null, input);
      return;
    }
    job.done(new Uint8Array(r.output, r.offset, r.length), input);
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
    this.#logger.error("a compression worker died", { error: message });
    for (const [id, job] of [...this.#jobs]) {
      if (job.slot !== slot) continue;
      this.#jobs.delete(id);
      job.done(null, null);
    }
  }

  #giveUp(reason: unknown): void {
    if (this.#unavailable) return;
    this.#unavailable = true;
    this.#logger.warn("compression workers are unavailable; compressing on this thread", {
      error: reason instanceof Error ? reason.message : String(reason),
    });
  }
}
