/**
 * The consumer's readers (internal): its own reader and async iterator, which take ready
 * records straight from the fetch buffer, and the relay its pipes write through, which reports
 * each record to the fetch buffer when the destination has it (see `FetchBuffer.handOut`), so
 * that the stream can queue whole batches and still commit exactly what was received.
 *
 * Pipes count a record as taken once the destination accepted it, not once the pipe read it.
 * A native `pipeTo` reads a record as soon as the destination has room in its queue: a
 * TransformStream's writable queue holds one record its `transform()` has not seen, and a
 * pipe aborted then drops it. Counted at the read, that record would be committed although
 * nothing downstream ever received it. So the consumer pipes through a relay that writes one
 * record at a time and reports each once the destination's `write()` resolved.
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
 * A writable that forwards to `dest` (honouring `preventClose` and `preventAbort`) and tells
 * `buffer` of each record `dest` accepted. An error of `dest` errors the relay, so
 * the pipe into it cancels the source (unless `preventCancel`), as a native pipe would.
 *
 * @example
 * ```ts ignore
 * const relay = relayTo(dest, {}, buffer);
 * await source.pipeTo(relay);
 * ```
 */
export function relayTo(
  dest: WritableStream<ConsumerRecord>,
  options: StreamPipeOptions,
  buffer: FetchBuffer,
): WritableStream<ConsumerRecord> {
  const writer = dest.getWriter();
  let released = false;
  const release = () => {
    released = true;
    writer.releaseLock();
  };
  return new WritableStream<ConsumerRecord>({
    start(controller) {
      writer.closed.catch((e) => {
        if (!released) controller.error(e);
      });
    },
    async write(record) {
      const from = buffer.take(record);
      if (from === undefined) return;
      await writer.ready;
      await writer.write(record);
      buffer.took(from, record);
    },
    async close() {
      if (options.preventClose) release();
      else await writer.close();
    },
    async abort(reason) {
      if (options.preventAbort) release();
      else await writer.abort(reason);
    },
  });
}

/**
 * `source.pipeTo(dest)` through a relay (see {@linkcode relayTo}): `pipe` is the stream's own
 * pipeTo. A record counts as taken once `dest` accepted it.
 *
 * @example
 * ```ts ignore
 * await pipeCounting(consumer, (relay, o) => super.pipeTo(relay, o), dest, {}, buffer);
 * ```
 */
export async function pipeCounting(
  source: { readonly locked: boolean },
  pipe: (relay: WritableStream<ConsumerRecord>, options: StreamPipeOptions) => Promise<void>,
  dest: WritableStream<ConsumerRecord>,
  options: StreamPipeOptions,
  buffer: FetchBuffer,
): Promise<void> {
  if (source.locked) throw new TypeError("the consumer is locked to a reader");
  if (dest.locked) throw new TypeError("the destination is locked to a writer");
  const relay = relayTo(dest, options, buffer);
  buffer.countingStarted();
  try {
    await pipe(relay, {
      ...options.preventCancel !== undefined && { preventCancel: options.preventCancel },
      ...options.signal !== undefined && { signal: options.signal },
    });
  } finally {
    buffer.countingEnded();
  }
}
