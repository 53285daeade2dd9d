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

/** What the relay reports to the consumer. */
export interface PipeHooks {
  /** The destination accepted `record` (its write resolved). */
  accepted(record: ConsumerRecord): void;
}

/**
 * A writable that forwards to `dest` (honouring `preventClose` and `preventAbort`) and calls
 * `hooks.accepted` for each record `dest` accepted. An error of `dest` errors the relay, so
 * the pipe into it cancels the source (unless `preventCancel`), as a native pipe would.
 *
 * @example
 * ```ts ignore
 * const relay = relayTo(dest, {}, { accepted: (r) => console.log(r.offset) });
 * await source.pipeTo(relay);
 * ```
 */
export function relayTo(
  dest: WritableStream<ConsumerRecord>,
  options: StreamPipeOptions,
  hooks: PipeHooks,
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
      await writer.ready;
      await writer.write(record);
      hooks.accepted(record);
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
