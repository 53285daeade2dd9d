/**
 * Building pipeline envelopes from a plain function: {@linkcode mapRecords} (a
 * `TransformStream`) and {@linkcode mapConsumer} (a consumer's ready records in one chunk).
 *
 * @module
 */

import type { ProducerRecord } from "./record.ts";
import type { PipelineEnvelope, SourceRecord } from "./pipeline.ts";

/**
 * A `TransformStream` from consumed records to {@linkcode PipelineEnvelope}s: `fn` returns the
 * records one consumed record becomes (a record, an array, or `null`/`undefined` for none;
 * or a promise of it). Each envelope keeps its source, so the sink commits it at the right
 * time.
 *
 * @example
 * ```ts
 * import { mapRecords } from "@denokafka/kafka/producer";
 * import type { ConsumerRecord } from "@denokafka/kafka/consumer";
 * // 1 -> 0 (drop tombstones) or 1 -> 1 (same key and value, to "out").
 * const t = mapRecords((r: ConsumerRecord) =>
 *   r.value === null ? null : { topic: "out", key: r.key, value: r.value }
 * );
 * console.log(t.writable instanceof WritableStream);
 * ```
 */
export function mapRecords<S extends SourceRecord>(
  fn: (record: S) => MappedRecords | Promise<MappedRecords>,
): TransformStream<S, PipelineEnvelope<S>> {
  const wrap = (source: S, out: MappedRecords): PipelineEnvelope<S> => ({
    source,
    records: out === null || out === undefined ? NONE : isList(out) ? out : [out],
  });
  return new TransformStream<S, PipelineEnvelope<S>>({
    transform(source, c) {
      const out = fn(source);
      // Synchronous functions stay on the fast path (no promise per record).
      if (out instanceof Promise) return out.then((o) => c.enqueue(wrap(source, o)));
      c.enqueue(wrap(source, out));
      return undefined;
    },
  });
}

/**
 * What a {@linkcode mapRecords} function returns for one record: a record, several, or
 * none (`null`, `undefined` or `[]`).
 *
 * @example
 * ```ts
 * import type { MappedRecords } from "@denokafka/kafka/producer";
 * const fanOut: MappedRecords = [{ value: "a" }, { value: "b" }];
 * console.log(Array.isArray(fanOut));
 * ```
 */
export type MappedRecords = ProducerRecord | readonly ProducerRecord[] | null | undefined;

const NONE: readonly ProducerRecord[] = Object.freeze([]);

function isList(x: ProducerRecord | readonly ProducerRecord[]): x is readonly ProducerRecord[] {
  return Array.isArray(x);
}

/**
 * Options of {@linkcode mapConsumer}.
 *
 * @example
 * ```ts
 * import type { MapConsumerOptions } from "@denokafka/kafka/producer";
 * const o: MapConsumerOptions = { maxBatch: 512 };
 * console.log(o.maxBatch);
 * ```
 */
export interface MapConsumerOptions {
  /** Envelopes per chunk at most. Default 1024. */
  readonly maxBatch?: number;
}

/**
 * The consumer's reader (consumer/readers.ts `DirectReader`): `takeNow()` takes the next
 * ready record at once (undefined when none is), exactly as a `read()` that finds it ready
 * would; `readQueued()` then reads through the stream. Found by shape: the producer does not
 * import the consumer.
 */
interface DirectRead<S> {
  takeNow(): S | undefined;
  readQueued(): Promise<ReadableStreamReadResult<S>>;
}

function isDirect<S>(
  r: ReadableStreamDefaultReader<S>,
): r is ReadableStreamDefaultReader<S> & DirectRead<S> {
  const d = r as Partial<DirectRead<S>>;
  return typeof d.takeNow === "function" && typeof d.readQueued === "function";
}

const NOT_READY = Symbol("not ready");
const notReady = Promise.resolve(NOT_READY);

/**
 * The fast source of a pipeline: a `ReadableStream` of envelope batches, made from a
 * consumer (any `ReadableStream` of records) and a {@linkcode mapRecords}-style function.
 * It reads the consumer with its own reader and puts every record that is ready into one
 * chunk (up to `maxBatch`), so the pipe to the sink costs one chunk per batch instead of one
 * per record: `consumer.pipeThrough(mapRecords(fn))` gives the same envelopes one by one.
 * Cancelling the stream cancels the consumer.
 *
 * @example
 * ```ts
 * import { mapConsumer } from "@denokafka/kafka/producer";
 * const records = ReadableStream.from([{ topic: "in", partition: 0, offset: 0n, value: "a" }]);
 * const batches = mapConsumer(records, (r) => ({ topic: "out", value: r.value }));
 * for await (const batch of batches) console.log(batch.length, batch[0]!.records.length); // 1 1
 * ```
 */
export function mapConsumer<S extends SourceRecord>(
  consumer: ReadableStream<S>,
  fn: (record: S) => MappedRecords | Promise<MappedRecords>,
  options: MapConsumerOptions = {},
): ReadableStream<PipelineEnvelope<S>[]> {
  const max = options.maxBatch ?? 1024;
  // A count of envelopes: a whole number from 1 (a fraction would never fill a batch).
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`maxBatch must be a whole number >= 1, got ${String(max)}`);
  }
  let reader: ReadableStreamDefaultReader<S> | undefined;
  /** The consumer's reader's synchronous take, when it has one (see {@linkcode DirectRead}). */
  let direct: DirectRead<S> | undefined;
  /** A read that was not ready when a chunk was closed: the next chunk starts with it. */
  let pending: Promise<ReadableStreamReadResult<S>> | undefined;
  const wrap = (source: S, out: MappedRecords): PipelineEnvelope<S> => ({
    source,
    records: out === null || out === undefined ? NONE : isList(out) ? out : [out],
  });
  return new ReadableStream<PipelineEnvelope<S>[]>({
    start() {
      reader = consumer.getReader();
      if (isDirect<S>(reader)) direct = reader;
    },
    async pull(c) {
      const r = reader!;
      const first = await (pending ?? r.read());
      pending = undefined;
      if (first.done) {
        c.close();
        return;
      }
      const batch: PipelineEnvelope<S>[] = [];
      let out = fn(first.value);
      batch.push(wrap(first.value, out instanceof Promise ? await out : out));
      while (batch.length < max) {
        // The consumer's own reader hands out a ready record without a promise: a read and a
        // race per record cost more than the rest of the envelope's way to the sink.
        const ready = direct?.takeNow();
        if (ready !== undefined) {
          out = fn(ready);
          batch.push(wrap(ready, out instanceof Promise ? await out : out));
          continue;
        }
        // takeNow() found nothing: its reader's readQueued() does not ask the buffer again.
        const next = direct !== undefined ? direct.readQueued() : r.read();
        // A read the stream's queue can answer is settled already and wins the race; one that
        // has to wait for a fetch is kept for the next chunk.
        const got = await Promise.race([next, notReady]);
        if (got === NOT_READY) {
          pending = next;
          break;
        }
        if (got.done) {
          pending = next;
          break;
        }
        out = fn(got.value);
        batch.push(wrap(got.value, out instanceof Promise ? await out : out));
      }
      c.enqueue(batch);
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
