/**
 * Pipes from the consumer (internal) that count a record as taken once the destination
 * accepted it, not once the pipe read it.
 *
 * A native `pipeTo` reads a record as soon as the destination has room in its queue: a
 * TransformStream's writable queue holds one record its `transform()` has not seen, and a
 * pipe aborted then drops it. Counted at the read, that record would be committed although
 * nothing downstream ever received it. So the consumer pipes through a relay that writes one
 * record at a time and reports each once the destination's `write()` resolved.
 *
 * @module
 */

import type { ConsumerRecord } from "./types.ts";

/** What the relay asks and tells the consumer. */
export interface PipeHooks<T> {
  /** The pipe read `record`: where it comes from, or undefined to drop it (revoked...). */
  take(record: ConsumerRecord): T | undefined;
  /** The destination accepted `record` (its write resolved). */
  took(from: T, record: ConsumerRecord): void;
}

/**
 * A writable that forwards to `dest` (honouring `preventClose` and `preventAbort`) and calls
 * `hooks.took` for each record `dest` accepted. An error of `dest` errors the relay, so
 * the pipe into it cancels the source (unless `preventCancel`), as a native pipe would.
 *
 * @example
 * ```ts ignore
 * const relay = relayTo(dest, {}, { take: (r) => r, took: (_, r) => console.log(r.offset) });
 * await source.pipeTo(relay);
 * ```
 */
export function relayTo<T>(
  dest: WritableStream<ConsumerRecord>,
  options: StreamPipeOptions,
  hooks: PipeHooks<T>,
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
      const from = hooks.take(record);
      if (from === undefined) return;
      await writer.ready;
      await writer.write(record);
      hooks.took(from, record);
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
