/**
 * The consumer's readers (internal): its own reader and async iterator, which take ready
 * records straight from the fetch buffer, and its pipe, which reports each record to the
 * fetch buffer when the destination has it (see `FetchBuffer.handOut`), so that the stream
 * can queue whole batches and still commit exactly what was received.
 *
 * Pipes count a record as taken once the destination accepted it, not once the pipe read it.
 * A native `pipeTo` reads a record as soon as the destination has room in its queue: a
 * TransformStream's writable queue holds one record its `transform()` has not seen, and a
 * pipe aborted then drops it. Counted at the read, that record would be committed although
 * nothing downstream ever received it. So the consumer pipes with a loop of its own that
 * writes one record at a time and reports each once the destination's `write()` resolved.
 *
 * @module
 */

import type { FetchBuffer, Unsent } from "./fetch_buffer.ts";
import type { PartitionState } from "./partition_state.ts";
import type { ConsumerRecord } from "./types.ts";

/**
 * The reader `getReader()` returns, and the one `for await` uses. While the stream's queue is
 * empty and no read is pending, a read takes the next record of the batch being handed out
 * straight from the fetch buffer (`next`), taken at once (see `FetchBuffer.takeNext`): no pull,
 * no trip through the stream's queue and read requests, which cost more per record than the
 * decoding. The next batch is decoded there too when that needs no waiting. Otherwise it reads
 * the stream, whose pull hands out one record (when a batch needs room made, an error, the
 * end, or before any data arrived).
 *
 * @example
 * ```ts ignore
 * const reader = new DirectReader(consumer, () => buffer.takeNext(), (r) => buffer.readFromQueue(r));
 * const { value } = await reader.read();
 * ```
 */
export class DirectReader extends ReadableStreamDefaultReader<ConsumerRecord> {
  readonly #next: () => ConsumerRecord | undefined;
  readonly #keep: (record: ConsumerRecord) => boolean;
  /** Reads of the stream not settled yet: records come from the stream until they are. */
  #pending = 0;
  #released = false;
  readonly #settled = (
    r: ReadableStreamReadResult<ConsumerRecord>,
  ):
    | ReadableStreamReadResult<ConsumerRecord>
    | Promise<ReadableStreamReadResult<ConsumerRecord>> => {
    this.#pending--;
    // A record left in the stream's queue whose partition moved since: read on.
    if (!r.done && !this.#keep(r.value)) return this.readQueued();
    return r;
  };
  readonly #failed = (e: unknown): never => {
    this.#pending--;
    throw e;
  };

  /**
   * A reader of `stream` (locking it) taking ready records from `next`; a record read from
   * the stream's queue reaches the reader only if `keep` says so (see
   * `FetchBuffer.readFromQueue`).
   */
  constructor(
    stream: ReadableStream<ConsumerRecord>,
    next: () => ConsumerRecord | undefined,
    keep: (record: ConsumerRecord) => boolean,
  ) {
    super(stream);
    this.#next = next;
    this.#keep = keep;
  }

  /**
   * The next record if one is ready now (taken), else undefined: then
   * {@linkcode readQueued}.
   */
  takeNow(): ConsumerRecord | undefined {
    return this.#pending === 0 && !this.#released ? this.#next() : undefined;
  }

  /** Reads the next record (see the class). */
  override read(): Promise<ReadableStreamReadResult<ConsumerRecord>> {
    const value = this.takeNow();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    return this.readQueued();
  }

  /**
   * Reads through the stream's pull, after {@linkcode takeNow} found nothing: asking the
   * buffer again would decode (or decompress) a batch that needs room made a second time.
   */
  readQueued(): Promise<ReadableStreamReadResult<ConsumerRecord>> {
    this.#pending++;
    return super.read().then(this.#settled, this.#failed);
  }

  /** Releases the stream (pending reads reject, as the stream's own reader's do). */
  override releaseLock(): void {
    super.releaseLock();
    this.#released = true;
  }
}

/**
 * The async iterator of the consumer over `reader` (see {@linkcode DirectReader}): a record
 * counts as taken when the iterator returns it. `break`/`return`/`throw` cancel the stream
 * unless `preventCancel`.
 *
 * @example
 * ```ts ignore
 * const it = directIterator(new DirectReader(consumer, next), {});
 * for await (const r of it) console.log(r.offset);
 * ```
 */
export function directIterator(
  reader: DirectReader,
  options: { preventCancel?: boolean },
): AsyncIterableIterator<ConsumerRecord> {
  let attached = true;
  const done = (): IteratorResult<ConsumerRecord> => ({ done: true, value: undefined });
  const onRead = (r: ReadableStreamReadResult<ConsumerRecord>): IteratorResult<ConsumerRecord> => {
    if (!r.done) return r;
    attached = false;
    reader.releaseLock();
    return done();
  };
  const iterator: AsyncIterableIterator<ConsumerRecord> = {
    next: () => {
      if (!attached) return Promise.resolve(done());
      const value = reader.takeNow();
      if (value !== undefined) return Promise.resolve({ done: false, value });
      return reader.readQueued().then(onRead);
    },
    return: async (value?: unknown) => {
      const wasAttached = attached;
      attached = false;
      if (wasAttached) {
        if (options.preventCancel) reader.releaseLock();
        else await reader.cancel(value);
      }
      return { done: true, value: value as undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * `source.pipeTo(dest)` for the consumer: `reader` (a standard reader of the consumer's
 * stream, which queues whole batches while counting) is read one record at a time and each
 * record written to `dest`; a record counts as taken once its `write()` resolved. This is the
 * native pipe's algorithm (WHATWG Streams, ReadableStreamPipeTo) in a loop of its own: the
 * native pipe into a relay that wrote to `dest` cost a read, a relay write and its
 * backpressure promise per record on top of `dest`'s write, 3.5 times the consumer's own cost
 * per record (bench/PROFILE.md, Session 11).
 *
 * Shutdown as the native pipe's: the source ends: `dest` is closed (unless `preventClose`);
 * the source errors: `dest` is aborted (unless `preventAbort`); `dest` errors or is closed:
 * the source is cancelled (unless `preventCancel`); the signal aborts: both (unless
 * prevented), once the write in flight settled. The promise rejects with the first reason, or
 * with the error of a shutdown action that failed. Both locks are released at the end.
 *
 * A pipe that stops early without cancelling the source (`preventCancel`) leaves the consumer
 * to the next reader: the records it read but did not deliver, and those still in the stream's
 * queue, are fetched again (see `FetchBuffer.abandon`). A read still pending when it stopped
 * (a fetch in flight) leaves its pull running: a record it brings then waits in the stream's
 * queue for the next reader, which gets it only if its partition was not moved, paused or
 * revoked meanwhile (see `FetchBuffer.readFromQueue`).
 *
 * @example
 * ```ts ignore
 * await pipeCounting(consumer, () => super.getReader(), dest, {}, buffer, () => buffer.nextRecord());
 * ```
 */
export async function pipeCounting(
  source: { readonly locked: boolean },
  getReader: () => ReadableStreamDefaultReader<ConsumerRecord>,
  dest: WritableStream<ConsumerRecord>,
  options: StreamPipeOptions,
  buffer: FetchBuffer,
  next: () => ConsumerRecord | undefined = () => undefined,
): Promise<void> {
  if (source.locked) throw new TypeError("the consumer is locked to a reader");
  if (dest.locked) throw new TypeError("the destination is locked to a writer");
  const reader = getReader();
  const writer = dest.getWriter();
  const { signal, preventClose = false, preventAbort = false, preventCancel = false } = options;
  /** Why the pipe stops early: the signal or `dest` failing or closing (first one wins). */
  let stop: { reason: unknown; fromDest: boolean } | undefined;
  let wake!: () => void;
  /** Settles when the pipe stops early: a wait for a record or for room in `dest` ends. */
  const stopped = new Promise<undefined>((resolve) => wake = () => resolve(undefined));
  const stopWith = (reason: unknown, fromDest: boolean) => {
    if (stop !== undefined) return;
    stop = { reason, fromDest };
    wake();
  };
  const onAbort = () => stopWith(signal!.reason, false);
  // Closed or errored `dest`: no record is written (it fails when the pipe ends too; `stop`
  // is not looked at then).
  writer.closed.then(
    () =>
      stopWith(
        new TypeError(
          "The destination writable stream closed before all the data could be piped to it.",
        ),
        true,
      ),
    (e) => stopWith(e, true),
  );
  buffer.countingStarted();
  signal?.addEventListener("abort", onAbort);
  let sourceError: { error: unknown } | undefined;
  let ended = false;
  /** A read that may still be pending when the pipe stopped. */
  let pending: Promise<unknown> | undefined;
  /**
   * A record taken from the buffer but not delivered to `dest`, with its partition's `moves`
   * when it was taken (a pause during its write put the position after it: see `abandon`).
   */
  let unsent: Unsent | undefined;
  /**
   * Reads the next record through the stream (when the buffer had none ready): undefined
   * when the pipe must stop (stopped, ended, or the source failed). It is not taken here: the
   * caller takes it (`take`) and writes it with no await in between, or a `seek()`, `pause()`
   * or revocation during the hops of this async function's return would be missed (a stale
   * record delivered).
   */
  const readOne = async (): Promise<ConsumerRecord | undefined> => {
    let r: ReadableStreamReadResult<ConsumerRecord> | undefined;
    // A record in the stream's queue is read at once; otherwise the read waits for a pull,
    // and a stop must not wait for it (the log end, a slow fetch).
    const ready = buffer.queuedInStream > 0;
    const read = reader.read();
    try {
      r = ready ? await read : await Promise.race([read, stopped]);
    } catch (e) {
      if (stop === undefined) sourceError = { error: e };
      return undefined;
    }
    if (r === undefined) {
      // Stopped while waiting: the read settles when the lock is released.
      pending = read.catch(() => {});
      return undefined;
    }
    // Read but stopped meanwhile: the record never reaches `dest` and is not counted (its
    // batch's next record is still this one: `abandon` fetches it again).
    if (stop !== undefined) return undefined;
    if (r.done) {
      ended = true;
      return undefined;
    }
    return r.value;
  };
  try {
    if (signal?.aborted) onAbort();
    while (stop === undefined) {
      // Room in `dest` first, then the record: one taken before a wait for room would be
      // written after a `seek()`, `pause()` or revocation during that wait (a stale record).
      // Only this pipe writes to `dest`, so the room stays until the write below.
      if ((writer.desiredSize ?? 0) <= 0) {
        // No room (a queue left by an earlier writer, a highWaterMark of 0) or `dest` failed:
        // wait for room, or for the pipe to stop.
        try {
          await Promise.race([writer.ready, stopped]);
        } catch (e) {
          stopWith(e, true);
        }
        if (stop !== undefined) break;
      }
      // A ready record straight from the fetch buffer, as the consumer's own reader takes
      // them (no trip through the stream's queue), counted once `dest` has it (`took`).
      let record = next();
      let from: { ps: PartitionState; gen: number } | undefined;
      if (record !== undefined) from = buffer.from;
      else {
        record = await readOne();
        // Stopped during the return's hops: not taken, so `abandon` fetches it again.
        if (record === undefined || stop !== undefined) break;
        // Taken now, as the record is written next (see readOne).
        from = buffer.take(record);
        if (from === undefined) continue;
      }
      // Where the partition's position stands as the write starts: a record `dest` accepts
      // after a pause still counts (the position is after it), after a seek it does not.
      const moves = from.ps.moves;
      try {
        await writer.write(record);
      } catch (e) {
        stopWith(e, true);
        unsent = { from, record, moves };
        break;
      }
      buffer.took(from, record, moves);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (ended || sourceError !== undefined) {
    buffer.countingEnded();
    reader.releaseLock();
    if (ended) {
      if (preventClose) writer.releaseLock();
      else {
        try {
          await writer.close();
        } finally {
          writer.releaseLock();
        }
      }
      return;
    }
    let error = sourceError!.error;
    if (!preventAbort) await writer.abort(error).catch((e) => error = e);
    writer.releaseLock();
    throw error;
  }
  let { reason } = stop!;
  const { fromDest } = stop!;
  const actions: Promise<unknown>[] = [];
  if (!fromDest && !preventAbort) actions.push(writer.abort(reason));
  buffer.countingEnded();
  if (preventCancel) {
    // The consumer stays for the next reader: what this pipe read, or left in the stream's
    // queue, and did not deliver is fetched again. All at once, before the lock goes: no pull
    // may hand a record to this reader in between.
    for (let n = buffer.queuedInStream; n > 0; n--) reader.read().catch(() => {});
    buffer.abandon(unsent);
    reader.releaseLock();
  } else actions.push(reader.cancel(reason));
  await pending;
  // A failed action's error is the pipe's (the native pipe's Promise.all; the abort's first).
  for (const result of await Promise.allSettled(actions)) {
    if (result.status === "rejected") {
      reason = result.reason;
      break;
    }
  }
  if (!preventCancel) reader.releaseLock();
  writer.releaseLock();
  throw reason;
}
