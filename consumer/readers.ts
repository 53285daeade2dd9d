/**
 * The consumer's counting readers (internal): its async iterator, and the relay its pipes
 * write through. Both report each record to the fetch buffer when the reader's code has it
 * (see `FetchBuffer.handOut`), which lets the stream queue whole batches and still commit
 * exactly what was received.
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
 * The async iterator of the consumer: `reader` is the stream's, `buffer` learns of every
 * record the loop gets; `stopped()` says the consumer was closed (records still queued are
 * then not handed out). `break`/`return`/`throw` cancel the stream unless `preventCancel`.
 *
 * @example
 * ```ts ignore
 * const it = countingIterator(stream.getReader(), buffer, () => false, {});
 * for await (const r of it) console.log(r.offset);
 * ```
 */
export function countingIterator(
  reader: ReadableStreamDefaultReader<ConsumerRecord>,
  buffer: FetchBuffer,
  stopped: () => boolean,
  options: { preventCancel?: boolean },
): AsyncIterableIterator<ConsumerRecord> {
  buffer.countingStarted();
  let attached = true;
  const detach = () => {
    if (attached) buffer.countingEnded();
    attached = false;
  };
  const done = (): IteratorResult<ConsumerRecord> => ({ done: true, value: undefined });
  const onRead = (
    r: ReadableStreamReadResult<ConsumerRecord>,
  ): Promise<IteratorResult<ConsumerRecord>> | IteratorResult<ConsumerRecord> => {
    if (r.done) {
      detach();
      reader.releaseLock();
      return done();
    }
    // Closed while records were queued: they are not handed out (nor committed).
    if (stopped()) {
      detach();
      return reader.cancel().then(done, done);
    }
    const from = buffer.take(r.value);
    if (from === undefined) return reader.read().then(onRead);
    buffer.took(from, r.value);
    return r;
  };
  const iterator: AsyncIterableIterator<ConsumerRecord> = {
    next: () => attached ? reader.read().then(onRead) : Promise.resolve(done()),
    return: async (value?: unknown) => {
      const wasAttached = attached;
      detach();
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
