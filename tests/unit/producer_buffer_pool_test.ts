/**
 * The accumulator's spare batch buffers count inside `bufferMemory` (as Java's BufferPool's
 * free list does): when a flush brings the whole budget back at once, the buffers are kept for
 * the next batches instead of dropped and allocated again (dead buffers waiting for a full GC
 * were the largest part of the producer's peak RSS, bench/PROFILE.md Session 13), and what the
 * pool holds never goes past the budget's free part plus two buffers.
 */

import assert from "node:assert/strict";
import { Compression, type CompressionCodec } from "../../protocol/compression/mod.ts";
import { Accumulator } from "../../producer/accumulator.ts";
import { compressRecordBatch } from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import { PartitionState, TopicState } from "../../producer/batch.ts";
import { resolveProducerOptions } from "../../producer/options.ts";

const MIB = 1 << 20;

function setup(codec: CompressionCodec, bufferMemory: number) {
  const o = resolveProducerOptions({
    brokers: ["127.0.0.1:9092"],
    batchSize: MIB,
    bufferMemory,
    compressionWorkers: 0,
  });
  const acc = new Accumulator(o, codec, { wake() {}, opened() {}, lost() {} });
  const t = new TopicState("t", o.batchSize);
  const ps = new PartitionState(t, 0);
  t.partitions.push(ps);
  return { o, acc, ps };
}

/** Appends 1 KiB records until the budget is full; returns every queued batch. */
function fill(acc: Accumulator, ps: PartitionState) {
  const value = new Uint8Array(1000).fill(97);
  while (acc.append(ps, 1, null, value, undefined, null, null) >= 0) { /* until full */ }
  return ps.queue.slice();
}

for (const codec of [Compression.None, Compression.Lz4] as const) {
  Deno.test(`buffer pool (codec ${codec}): a budget that came back whole is reused whole, and stays within it`, () => {
    const budget = 8 * MIB;
    const { acc, ps } = setup(codec, budget);
    const seen = new Set<ArrayBufferLike>();
    let afterTwo = 0;
    for (let round = 0; round < 4; round++) {
      // The full batches (the open one goes on filling next round).
      const batches = fill(acc, ps).filter((b) => b !== ps.open);
      assert.ok(batches.length >= 6, `round ${round}: ${batches.length} full batches`);
      // Drain them, then acknowledge them all: a flush, the whole budget comes back at once.
      for (const batch of batches) {
        acc.take(ps, batch);
        acc.finish(batch);
        batch.attempts = 1;
        seen.add(batch.bytes!.buffer);
      }
      for (const batch of batches) {
        acc.release(batch, true);
        assert.ok(
          acc.pooledBytes <= budget - acc.bufferedBytes + 2.02 * MIB,
          `${acc.pooledBytes} pooled with ${acc.bufferedBytes} buffered`,
        );
      }
      if (round === 1) afterTwo = seen.size;
    }
    // Later rounds send from the buffers of the first two (in which the buffers of batches
    // still open or in a builder show up): a fixed pool dropped most of them at each flush and
    // allocated new ones.
    assert.equal(seen.size, afterTwo, `${seen.size} buffers, ${afterTwo} after two rounds`);
  });
}

Deno.test("buffer pool: spares beyond the budget's free part are dropped", () => {
  const budget = 4 * MIB;
  const { acc } = setup(Compression.None, budget);
  for (let i = 0; i < 10; i++) acc.recycle(new Uint8Array(MIB));
  // Nothing buffered: the budget plus two buffers.
  assert.equal(acc.pooledBytes, budget + 2 * MIB);
});

Deno.test("buffer pool: a partition's first batch starts like the last batch that filled up", () => {
  const { acc, ps } = setup(Compression.None, 64 * MIB);
  const t = ps.topic;
  const fresh = (p: number) => {
    const part = new PartitionState(t, p);
    t.partitions.push(part);
    return part;
  };
  const value = new Uint8Array(1000).fill(97);
  const capacity = (part: PartitionState) => {
    // The buffer the open batch is built in (finishing it is fine: the test is done with it).
    return part.open!.builder!.finishUncompressed().buffer.byteLength;
  };
  // No batch filled up yet: a quiet partition's first batch starts small.
  const quiet = fresh(1);
  acc.append(quiet, 1, null, value, undefined, null, null);
  const small = capacity(quiet);
  assert.ok(small <= 16_384 + 1024, `${small}`);
  // One fills up (the sticky partitioner fills a batch on each partition it moves to) ...
  while (ps.queue.length < 2) acc.append(ps, 1, null, value, undefined, null, null);
  // ... the next partition's first batch starts at full size instead of doubling up to it.
  const next = fresh(2);
  acc.append(next, 1, null, value, undefined, null, null);
  assert.equal(capacity(next), MIB);
});

Deno.test("buffer pool: first batches of many quiet partitions stay within bufferMemory after one filled up", () => {
  // A keyed workload over many partitions with one hot key: one partition fills a batch, the
  // others get a record each. Their first batches must not each take a whole batchSize buffer
  // (200 x 1 MiB here) for one record: that memory is outside the budget's count.
  const budget = 32 * MIB;
  const { acc, ps } = setup(Compression.None, budget);
  const t = ps.topic;
  const value = new Uint8Array(1000).fill(97);
  while (ps.queue.length < 2) acc.append(ps, 1, null, value, undefined, null, null);
  let held = 0;
  const parts: PartitionState[] = [];
  for (let p = 1; p <= 200; p++) {
    const part = new PartitionState(t, p);
    t.partitions.push(part);
    parts.push(part);
    acc.append(part, 1, null, value, undefined, null, null);
  }
  for (const part of parts) held += part.open!.builder!.finishUncompressed().buffer.byteLength;
  assert.ok(held <= budget, `${(held / MIB).toFixed(1)} MiB of first-batch buffers`);
});

/**
 * A compression worker as the accumulator sees it (`BatchCompressor`), that holds its jobs
 * until `complete()`: compressing then as the worker does, into the output it was given.
 */
function heldCompressor() {
  const jobs: {
    batch: Uint8Array;
    output: Uint8Array | undefined;
    done: (bytes: Uint8Array | null, input: Uint8Array | null) => void;
  }[] = [];
  return {
    jobs,
    submit(
      batch: Uint8Array,
      _level: number | undefined,
      output: Uint8Array | undefined,
      done: (bytes: Uint8Array | null, input: Uint8Array | null) => void,
    ) {
      jobs.push({ batch, output, done });
      return true;
    },
    complete() {
      for (const j of jobs.splice(0)) {
        j.done(compressRecordBatch(j.batch, undefined, j.output), new Uint8Array(j.batch.buffer));
      }
    },
  };
}

function setupWithWorker(bufferMemory: number) {
  const o = resolveProducerOptions({
    brokers: ["127.0.0.1:9092"],
    batchSize: MIB,
    bufferMemory,
    compressionWorkers: 1,
  });
  const worker = heldCompressor();
  const acc = new Accumulator(o, Compression.Lz4, { wake() {}, opened() {}, lost() {} }, worker);
  const t = new TopicState("t", o.batchSize);
  const ps = new PartitionState(t, 0);
  t.partitions.push(ps);
  return { acc, ps, worker };
}

Deno.test("buffer pool: at most two batches a worker are away compressing, the rest compress at drain", () => {
  // A batch away holds two buffers (records and output) for one batch of budget: a worker
  // slower than the writes had the whole budget away, twice over (209 MiB peak RSS on
  // P3-lz4-1KiB with one worker, bench/PROFILE.md Session 16).
  const { acc, ps, worker } = setupWithWorker(8 * MIB);
  const full = fill(acc, ps).filter((b) => b !== ps.open);
  assert.ok(full.length >= 6, `${full.length} full batches`);
  assert.equal(worker.jobs.length, 2);
  worker.complete();
  for (const batch of full) {
    acc.take(ps, batch);
    acc.finish(batch);
    const got = decodeRecordBatches(batch.bytes!, { checkCrc: true }).batches[0]!;
    assert.equal(got.count, batch.count);
  }
});

Deno.test("buffer pool: with a compression worker, a full budget cycles through a fixed set of buffers", () => {
  // A steady producer whose budget stays full: records come in, the worker answers two jobs
  // at a time, the head batch is sent and acknowledged. The bound on spares once came out one
  // buffer short of what this cycles through, and a job that found no spare got an output of
  // the compressed size from the worker, garbage at its ack: a new buffer nearly every batch.
  const budget = 8 * MIB;
  const { acc, ps, worker } = setupWithWorker(budget);
  const value = new Uint8Array(1000).fill(97);
  const buffers = new Set<ArrayBufferLike>();
  let sent = 0;
  while (sent < 60) {
    if (acc.append(ps, 1, null, value, undefined, null, null) >= 0) continue;
    // The budget is full: the worker answers, the head batch goes and is acknowledged.
    if (worker.jobs.length >= 2) worker.complete();
    const batch = ps.queue[0]!;
    if (batch.compressing) {
      worker.complete();
      continue;
    }
    acc.take(ps, batch);
    acc.finish(batch);
    assert.equal(
      decodeRecordBatches(batch.bytes!, { checkCrc: true }).batches[0]!.count,
      batch.count,
    );
    buffers.add(batch.bytes!.buffer);
    batch.attempts = 1;
    acc.release(batch, true);
    sent++;
    assert.ok(
      acc.pooledBytes <= budget - acc.bufferedBytes + 5.1 * MIB,
      `${acc.pooledBytes} pooled with ${acc.bufferedBytes} buffered`,
    );
  }
  // The budget's 8 batches, the open one, two away with the worker and their outputs, spares.
  assert.ok(buffers.size <= 14, `${buffers.size} buffers for 60 batches`);
});

Deno.test("buffer pool: a job lost with its worker, or whose batch failed meanwhile, frees the worker's slot", () => {
  // Each answer, whatever it is, ends one batch away: were a lost or dropped job still
  // counted, the worker would be thought busy for good and every later batch compressed
  // inline (and the fail hook must see the lost batch, its budget released by the sender).
  const o = resolveProducerOptions({
    brokers: ["127.0.0.1:9092"],
    batchSize: MIB,
    bufferMemory: 16 * MIB,
    compressionWorkers: 1,
  });
  const worker = heldCompressor();
  const lost: unknown[] = [];
  const acc = new Accumulator(o, Compression.Lz4, {
    wake() {},
    opened() {},
    lost(batch) {
      // As the sender fails it: off its queue, out of the budget.
      lost.push(batch);
      acc.remove(batch);
      batch.done = true;
      acc.release(batch);
    },
  }, worker);
  const t = new TopicState("t", o.batchSize);
  const ps = new PartitionState(t, 0);
  t.partitions.push(ps);
  const value = new Uint8Array(1000).fill(97);
  const fillTill = (n: number) => {
    while (worker.jobs.length < n) {
      assert.ok(acc.append(ps, 1, null, value, undefined, null, null) >= 0, "budget left");
    }
  };
  fillTill(2);
  // Lost with the worker: the sender fails the batch (here: the hook).
  for (const j of worker.jobs.splice(0)) j.done(null, null);
  assert.equal(lost.length, 2);
  fillTill(2);
  // Failed (expired) while away: what comes back is dropped.
  for (const batch of ps.queue.filter((b) => b.compressing)) {
    acc.remove(batch);
    batch.done = true;
    acc.release(batch);
  }
  worker.complete();
  // The worker takes batches again.
  fillTill(2);
  assert.equal(worker.jobs.length, 2);
  worker.complete();
  for (const b of [...ps.queue]) {
    acc.take(ps, b);
    acc.finish(b);
    b.attempts = 1;
    acc.release(b, true);
  }
  assert.equal(acc.bufferedBytes, 0, "the budget came back whole");
});
