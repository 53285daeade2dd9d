/**
 * The fetch buffer's order of service (no broker): a partition's chunk of one fetch response
 * is handed out whole before the next partition's, so fetch responses are read, and their
 * memory given back to the budget, in the order they came (bench/PROFILE.md, session 11, C6).
 */

import assert from "node:assert/strict";
import { ByteBudget } from "../../consumer/budget.ts";
import { Chunk, type FrameRef, scanBatches, SLICE_RECORDS } from "../../consumer/chunk.ts";
import { FetchBuffer } from "../../consumer/fetch_buffer.ts";
import { resolveConsumerOptions } from "../../consumer/options.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import type { ConsumerRecord } from "../../consumer/types.ts";
import { joinParts } from "../../protocol/compression/output.ts";
import { encodeControlBatch, RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";

const enc = new TextEncoder();

/** Record batches of `perBatch` records each, from `from`, for `count` records. */
function batches(from: number, count: number, perBatch: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let o = from; o < from + count; o += perBatch) {
    const b = new RecordBatchBuilder({ baseOffset: o, partitionLeaderEpoch: 0 });
    for (let i = o; i < Math.min(o + perBatch, from + count); i++) {
      b.append(1000 + i, null, enc.encode(`v${i}`));
    }
    parts.push(b.finish());
  }
  return joinParts(parts, parts.reduce((n, p) => n + p.length, 0));
}

/** One fetch response's frame of `bytes`, charged to `budget` as the fetcher does. */
function frame(budget: ByteBudget, bytes: number, refs: number): FrameRef {
  budget.reserve(bytes);
  budget.settle(bytes, bytes);
  return { bytes, refs };
}

function chunkOf(ps: PartitionState, bytes: Uint8Array, f: FrameRef): Chunk {
  const s = scanBatches(bytes);
  const c = new Chunk(ps, bytes, null, f, ps.fetchOffset, -1, s.nextOffset, s.lastEpoch);
  ps.fetchOffset = s.nextOffset;
  return c;
}

Deno.test("fetch buffer: a chunk at a time, responses freed in the order they came", () => {
  const options = resolveConsumerOptions({ brokers: ["localhost:9092"] });
  const budget = new ByteBudget(options.maxBufferedBytes);
  const parts = [0, 1, 2].map((p) => {
    const ps = new PartitionState("t", p);
    ps.startAt(0n, -1);
    ps.phase = "ready";
    return ps;
  });
  const [p0, p1, p2] = parts as [PartitionState, PartitionState, PartitionState];
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
  const buffer = new FetchBuffer(options, budget, controller, () => parts.values());
  // Response A: p0 and p1, 4 records each in batches of 2. Response B: p0 again, and p2.
  const a = frame(budget, 1000, 2);
  buffer.addChunk(chunkOf(p0, batches(0, 4, 2), a));
  buffer.addChunk(chunkOf(p1, batches(0, 4, 2), a));
  const b = frame(budget, 500, 2);
  buffer.addChunk(chunkOf(p0, batches(4, 2, 2), b));
  buffer.addChunk(chunkOf(p2, batches(0, 4, 2), b));
  assert.equal(budget.held, 1500);
  const seen: string[] = [];
  let heldAtFirstOfB = -1;
  for (let r = buffer.takeNext(); r; r = buffer.takeNext()) {
    seen.push(`${r.partition}:${r.offset}`);
    if (heldAtFirstOfB < 0 && (r.partition === 2 || r.offset >= 4n)) {
      heldAtFirstOfB = budget.held;
    }
  }
  assert.deepEqual(seen, [
    ...["0:0", "0:1", "0:2", "0:3"],
    ...["1:0", "1:1", "1:2", "1:3"],
    ...["2:0", "2:1", "2:2", "2:3"],
    ...["0:4", "0:5"],
  ]);
  // Response A was given back before anything of B was read; B once it was all read.
  assert.equal(heldAtFirstOfB, 500);
  assert.equal(budget.held, 0);
  assert.equal(p0.position, 6n);
  assert.equal(p2.position, 4n);
});

Deno.test("fetch buffer: a paused partition's chunk waits, the others are served", () => {
  const options = resolveConsumerOptions({ brokers: ["localhost:9092"] });
  const budget = new ByteBudget(options.maxBufferedBytes);
  const parts = [0, 1].map((p) => {
    const ps = new PartitionState("t", p);
    ps.startAt(0n, -1);
    ps.phase = "ready";
    return ps;
  });
  const [p0, p1] = parts as [PartitionState, PartitionState];
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
  const buffer = new FetchBuffer(options, budget, controller, () => parts.values());
  const a = frame(budget, 1000, 2);
  buffer.addChunk(chunkOf(p0, batches(0, 4, 1), a));
  buffer.addChunk(chunkOf(p1, batches(0, 2, 1), a));
  const first = buffer.takeNext()!;
  assert.equal(`${first.partition}:${first.offset}`, "0:0");
  // Paused between batches of its chunk: p1 is served instead, and p0 resumes where it was.
  p0.paused = true;
  const seen: string[] = [];
  for (let r = buffer.takeNext(); r; r = buffer.takeNext()) seen.push(`${r.partition}:${r.offset}`);
  assert.deepEqual(seen, ["1:0", "1:1"]);
  assert.equal(p0.position, 1n);
  p0.paused = false;
  for (let r = buffer.takeNext(); r; r = buffer.takeNext()) seen.push(`${r.partition}:${r.offset}`);
  assert.deepEqual(seen, ["1:0", "1:1", "0:1", "0:2", "0:3"]);
  assert.equal(budget.held, 0);
});

Deno.test("fetch buffer: a large batch is read a slice at a time, the position after each", () => {
  const options = resolveConsumerOptions({ brokers: ["localhost:9092"] });
  const budget = new ByteBudget(options.maxBufferedBytes);
  const ps = new PartitionState("t", 0);
  ps.startAt(0n, -1);
  ps.phase = "ready";
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
  const buffer = new FetchBuffer(options, budget, controller, () => [ps].values());
  const n = 2 * SLICE_RECORDS + 100;
  // One batch of n records, then a small one.
  const parts = [batches(0, n, n), batches(n, 3, 3)];
  const bytes = joinParts(parts, parts[0]!.length + parts[1]!.length);
  buffer.addChunk(chunkOf(ps, bytes, frame(budget, bytes.length, 1)));
  const positions: bigint[] = [];
  let next = 0n;
  for (let r = buffer.takeNext(); r; r = buffer.takeNext()) {
    assert.equal(r.offset, next++);
    assert.equal(new TextDecoder().decode(r.value!), `v${r.offset}`);
    positions.push(ps.position);
  }
  assert.equal(next, BigInt(n + 3));
  // While the first slice is read, the position is past it only.
  assert.equal(positions[0], BigInt(SLICE_RECORDS));
  assert.equal(positions[SLICE_RECORDS], BigInt(2 * SLICE_RECORDS));
  assert.equal(positions[2 * SLICE_RECORDS], BigInt(n));
  assert.equal(positions[n], BigInt(n + 3));
  assert.equal(budget.held, 0);
});

Deno.test("fetch buffer: evicted in the middle of a sliced batch, it fetches again from the first record not taken", () => {
  const options = resolveConsumerOptions({ brokers: ["localhost:9092"] });
  const budget = new ByteBudget(options.maxBufferedBytes);
  const ps = new PartitionState("t", 0);
  ps.startAt(0n, -1);
  ps.phase = "ready";
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
  const buffer = new FetchBuffer(options, budget, controller, () => [ps].values());
  const n = 3 * SLICE_RECORDS;
  const bytes = batches(0, n, n);
  buffer.addChunk(chunkOf(ps, bytes, frame(budget, bytes.length, 1)));
  // Take the first slice and 10 records of the second, then evict (as a pause does).
  for (let i = 0; i < SLICE_RECORDS + 10; i++) assert.equal(buffer.takeNext()?.offset, BigInt(i));
  buffer.evict(ps);
  assert.equal(ps.position, BigInt(SLICE_RECORDS + 10));
  assert.equal(ps.fetchOffset, BigInt(SLICE_RECORDS + 10));
  assert.equal(ps.taken, BigInt(SLICE_RECORDS + 10));
  assert.equal(budget.held, 0);
  // The next fetch brings the whole batch again: the records before the position are cut.
  buffer.addChunk(chunkOf(ps, bytes, frame(budget, bytes.length, 1)));
  let next = BigInt(SLICE_RECORDS + 10);
  for (let r = buffer.takeNext(); r; r = buffer.takeNext()) assert.equal(r.offset, next++);
  assert.equal(next, BigInt(n));
});

Deno.test("fetch buffer: read_committed skips every slice of a large aborted batch", () => {
  const options = resolveConsumerOptions({
    brokers: ["localhost:9092"],
    isolationLevel: "read_committed",
  });
  const budget = new ByteBudget(options.maxBufferedBytes);
  const ps = new PartitionState("t", 0);
  ps.startAt(0n, -1);
  ps.phase = "ready";
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
  const buffer = new FetchBuffer(options, budget, controller, () => [ps].values());
  const n = 2 * SLICE_RECORDS + 7;
  // Producer 7's transaction (n records, one batch) is aborted; its first offset is 0 (the
  // first record), so every slice of the batch must be skipped, not only the first.
  const txn = new RecordBatchBuilder({
    producerId: 7,
    producerEpoch: 0,
    baseSequence: 0,
    transactional: true,
    partitionLeaderEpoch: 0,
  });
  for (let i = 0; i < n; i++) txn.append(1000 + i, null, enc.encode(`x${i}`));
  const parts = [
    txn.finish(),
    encodeControlBatch({
      type: "abort",
      coordinatorEpoch: 0,
      producerId: 7,
      producerEpoch: 0,
      baseOffset: n,
    }),
    batches(n + 1, 2, 2),
  ];
  const bytes = joinParts(parts, parts.reduce((s, p) => s + p.length, 0));
  const s = scanBatches(bytes);
  buffer.addChunk(
    new Chunk(
      ps,
      bytes,
      [{ producerId: 7n, firstOffset: 0n }],
      frame(budget, bytes.length, 1),
      0n,
      -1,
      s.nextOffset,
      s.lastEpoch,
    ),
  );
  const seen: bigint[] = [];
  for (let r = buffer.takeNext(); r; r = buffer.takeNext()) seen.push(r.offset);
  assert.deepEqual(seen, [BigInt(n + 1), BigInt(n + 2)]);
  assert.equal(ps.position, BigInt(n + 3));
});

Deno.test("fetch buffer: a pipe's record in flight at a pause counts if accepted, is fetched again if not; after a seek neither", async (t) => {
  for (
    const move of [
      "pause",
      "seek to 7",
      "pause, then seek to 7",
      "seek to 7, then pause",
      "pause, then resume",
    ]
  ) {
    for (const write of ["accepted", "failed"] as const) {
      await t.step(`${move}, the write ${write}`, () => {
        const options = resolveConsumerOptions({ brokers: ["localhost:9092"] });
        const budget = new ByteBudget(options.maxBufferedBytes);
        const ps = new PartitionState("t", 0);
        ps.startAt(0n, -1);
        let controller!: ReadableStreamDefaultController<ConsumerRecord>;
        new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
        const buffer = new FetchBuffer(options, budget, controller, () => [ps].values());
        buffer.countingStarted();
        const bytes = batches(0, 10, 5);
        buffer.addChunk(chunkOf(ps, bytes, frame(budget, bytes.length, 1)));
        // As the pipe: records 0-2 accepted, 3 in flight when the partition moves.
        for (let i = 0; i < 3; i++) {
          const r = buffer.nextRecord()!;
          buffer.took(buffer.from, r, ps.moves);
        }
        const record = buffer.nextRecord()!;
        const from = buffer.from;
        const moves = ps.moves;
        assert.equal(record.offset, 3n);
        for (const step of move.split(", then ")) {
          // As Partitions.setPaused and Partitions.seek do.
          if (step !== "seek to 7") ps.paused = step === "pause";
          if (step !== "resume") buffer.evict(ps);
          if (step === "seek to 7") ps.startAt(7n, -1);
        }
        if (write === "accepted") buffer.took(from, record, moves);
        else buffer.abandon({ from, record, moves });
        buffer.countingEnded();
        const expected = move.includes("seek") ? 7n : write === "accepted" ? 4n : 3n;
        assert.equal(ps.taken, expected, "taken: what a commit commits");
        assert.equal(ps.position, expected, "the position: where reading goes on");
        assert.equal(ps.fetchOffset, expected, "the next fetch");
      });
    }
  }
});
