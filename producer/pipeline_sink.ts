/**
 * The sink behind `producer.sink()`: checks its options and picks the sink of the guarantee.
 *
 * @module
 */

import type { PipelineChunk, PipelineSinkOptions } from "./pipeline.ts";
import type { SinkHost } from "./sink_common.ts";
import { AtLeastOnceSink } from "./at_least_once_sink.ts";
import { ExactlyOnceSink } from "./exactly_once_sink.ts";

/** Builds the sink behind `producer.sink()` (internal). */
export function createSink(
  host: SinkHost,
  options: PipelineSinkOptions,
): WritableStream<PipelineChunk> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("sink() takes an options object");
  }
  const c = options.consumer;
  if (c === null || typeof c !== "object" || typeof c.commit !== "function") {
    throw new TypeError("sink() needs options.consumer (the consumer the records come from)");
  }
  if (options.guarantee === "exactly-once") {
    if (host.transactionState() === undefined) {
      throw new TypeError("an exactly-once sink needs a producer with a transactionalId");
    }
    return new ExactlyOnceSink(host, options).stream;
  }
  if (options.guarantee === "at-least-once") return new AtLeastOnceSink(host, options).stream;
  throw new TypeError(
    `options.guarantee must be "at-least-once" or "exactly-once", got ${String(options.guarantee)}`,
  );
}
