/**
 * Pipeline benchmarks (`deno bench bench/pipeline_bench.ts`, and `deno task bench`): the hot
 * path of the exactly-once pipeline (X1) without a broker.
 *
 * - `mapConsumer` over 100 batches of 1000 ready records, into envelope batches: from a plain
 *   stream (a read and a `Promise.race` per record, as before session 11) against the
 *   consumer's {@linkcode DirectReader} (`takeNow()`: no promise per ready record).
 * - The sinks' yield to the event loop every 2 ms: `setTimeout(0)` against `setImmediate`.
 *
 * @module
 */

import type { ConsumerRecord } from "../consumer/mod.ts";
import { batchRecords } from "../consumer/chunk.ts";
import { DirectReader } from "../consumer/readers.ts";
import { mapConsumer } from "../producer/mod.ts";
import { KafkaError } from "../protocol/errors.ts";
import { RecordBatchBuilder } from "../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../protocol/record_batch_decoder.ts";

function makeBatch(n: number, size: number): Uint8Array {
  const b = new RecordBatchBuilder({ initialCapacity: n * (size + 16) });
  const value = new Uint8Array(size).fill(65);
  for (let i = 0; i < n; i++) b.append(1_700_000_000_000 + i, null, value);
  return b.finish();
}

const BATCH: ConsumerRecord[] = [];
batchRecords(decodeRecordBatches(makeBatch(1000, 100)).batches[0]!, "topic", 0, 0n, -1n, BATCH);

/** 100 x 1000 records, handed out one per pull; `direct`: read with a DirectReader. */
function source(direct: boolean): ReadableStream<ConsumerRecord> {
  let batches = 0;
  let cur: ConsumerRecord[] = [];
  let next = 0;
  const take = () => next < cur.length ? cur[next++] : undefined;
  class Source extends ReadableStream<ConsumerRecord> {
    override getReader(): ReadableStreamDefaultReader<ConsumerRecord>;
    override getReader(options: { mode: "byob" }): ReadableStreamBYOBReader;
    override getReader(
      options?: { mode?: "byob" },
    ): ReadableStreamDefaultReader<ConsumerRecord> | ReadableStreamBYOBReader {
      if (options?.mode !== undefined || !direct) return super.getReader(options as never);
      return new DirectReader(this, take, () => true);
    }
  }
  return new Source({
    pull(c) {
      if (next === cur.length) {
        if (batches === 100) return c.close();
        batches++;
        cur = BATCH;
        next = 0;
      }
      c.enqueue(cur[next++]!);
    },
  }, { highWaterMark: 0 });
}

function mapped(direct: boolean) {
  return async () => {
    let n = 0;
    for await (const batch of mapConsumer(source(direct), (r) => ({ value: r.value }))) {
      n += batch.length;
    }
    if (n !== 100_000) throw new KafkaError(`short read ${n}`);
  };
}

Deno.bench("pipeline mapConsumer 100 x 1000 records: read + race per record", {
  group: "mapConsumer",
}, mapped(false));
Deno.bench("pipeline mapConsumer 100 x 1000 records: DirectReader takeNow", {
  group: "mapConsumer",
  baseline: true,
}, mapped(true));

Deno.bench("pipeline 20 yields: setTimeout(0)", { group: "yield" }, async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
});
Deno.bench("pipeline 20 yields: setImmediate", { group: "yield", baseline: true }, async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
});
