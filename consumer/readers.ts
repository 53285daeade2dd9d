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

import type { FetchBuffer } from "./fetch_buffer.ts";
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
 * const reader = new DirectReader(consumer, () => buffer.takeNext());
 * const { value } = await reader.read();
 * ```
 */
export class DirectReader extends ReadableStreamDefaultReader<ConsumerRecord> {
  readonly #next: () => ConsumerRecord | undefined;
  /** Reads of the stream not settled yet: records come from the stream until they are. */
  #pending = 0;
  #released = false;
  readonly #settled = (r: ReadableStreamReadResult<ConsumerRecord>) => {
    this.#pending--;
    return r;
  };
  readonly #failed = (e: unknown): never => {
    this.#pending--;
    throw e;
  };

  /** A reader of `stream` (locking it) taking ready records from `next`. */
  constructor(stream: ReadableStream<ConsumerRecord>, next: () => ConsumerRecord | undefined) {
    super(stream);
    this.#next = next;
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
 * the source errors: `dest` is aborted (unless `preventAbort`); `dest` errors: the source is
 * cancelled (unless `preventCancel`); the signal aborts: both (unless prevented), once the
 * write in flight settled. Both locks are released at the end.
 *
 * @example
 * ```ts ignore
 * await pipeCounting(consumer, () => super.getReader(), dest, {}, buffer);
 * ```
 */
export async function pipeCounting(
  source: { readonly locked: boolean },
  getReader: () => ReadableStreamDefaultReader<ConsumerRecord>,
  dest: WritableStream<ConsumerRecord>,
  options: StreamPipeOptions,
  buffer: FetchBuffer,
): Promise<void> {
  if (source.locked) throw new TypeError("the consumer is locked to a reader");
  if (dest.locked) throw new TypeError("the destination is locked to a writer");
  const reader = getReader();
  const writer = dest.getWriter();
  const { signal, preventClose = false, preventAbort = false, preventCancel = false } = options;
  /** Why the pipe stops early: the signal or `dest` failing (first one wins). */
  let stop: { reason: unknown; fromDest: boolean } | undefined;
  /** A read is pending: a stop settles it (cancelling or releasing the source). */
  let reading = false;
  let sourceReleased = false;
  let sourceCancelled = false;
  const settleRead = () => {
    if (!reading) return;
    if (!preventCancel) {
      sourceCancelled = true;
      reader.cancel(stop!.reason).catch(() => {});
    } else {
      sourceReleased = true;
      reader.releaseLock();
    }
  };
  const onAbort = () => {
    stop ??= { reason: signal!.reason, fromDest: false };
    settleRead();
  };
  writer.closed.catch((e) => {
    stop ??= { reason: e, fromDest: true };
    settleRead();
  });
  buffer.countingStarted();
  signal?.addEventListener("abort", onAbort);
  let sourceError: { error: unknown } | undefined;
  let ended = false;
  try {
    if (signal?.aborted) onAbort();
    while (stop === undefined) {
      let r: ReadableStreamReadResult<ConsumerRecord>;
      reading = true;
      try {
        r = await reader.read();
      } catch (e) {
        if (stop === undefined) sourceError = { error: e };
        break;
      } finally {
        reading = false;
      }
      // Read but stopped meanwhile: the record never reaches `dest` and is not counted.
      if (stop !== undefined) break;
      if (r.done) {
        ended = true;
        break;
      }
      const record = r.value;
      const from = buffer.take(record);
      if (from === undefined) continue;
      try {
        if ((writer.desiredSize ?? 0) <= 0) await writer.ready;
        await writer.write(record);
      } catch (e) {
        stop ??= { reason: e, fromDest: true };
        break;
      }
      buffer.took(from, record);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    buffer.countingEnded();
  }
  const releaseSource = () => {
    if (!sourceReleased) reader.releaseLock();
  };
  if (ended) {
    releaseSource();
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
  if (sourceError !== undefined) {
    releaseSource();
    if (!preventAbort) await writer.abort(sourceError.error).catch(() => {});
    writer.releaseLock();
    throw sourceError.error;
  }
  const { reason, fromDest } = stop!;
  const actions: Promise<unknown>[] = [];
  if (!fromDest && !preventAbort) actions.push(writer.abort(reason).catch(() => {}));
  if (!preventCancel && !sourceCancelled && !sourceReleased) {
    actions.push(reader.cancel(reason).catch(() => {}));
  }
  await Promise.all(actions);
  releaseSource();
  writer.releaseLock();
  throw reason;
}
