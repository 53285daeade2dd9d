/**
 * The uniform sticky choice for keyless records, driven through the intake and the accumulator
 * without a broker or a sender (nothing is drained unless a test takes a batch itself): a stay
 * on a partition ends with its full batch, leaving no small batch of the overflow behind, and
 * the partitions come from a shuffled deck, so each is visited once before any twice.
 */

import assert from "node:assert/strict";
import { StickyPartition } from "../../producer/mod.ts";
import { Accumulator } from "../../producer/accumulator.ts";
import { PartitionState, type ProducerBatch, TopicState } from "../../producer/batch.ts";
import { Deliveries } from "../../producer/delivery.ts";
import { Intake } from "../../producer/intake.ts";
import type { ProducerMetadata } from "../../producer/metadata.ts";
import { resolveProducerOptions } from "../../producer/options.ts";

const BATCH = 2048;
const value = new Uint8Array(100);

/** An intake over one ready topic of `partitions` partitions, with its accumulator and topic. */
function setup(partitions: number) {
  const options = resolveProducerOptions({
    brokers: ["127.0.0.1:1"],
    lingerMs: 60_000,
    batchSize: BATCH,
    bufferMemory: 1 << 26,
  });
  const accumulator = new Accumulator(options, 0, { wake() {}, opened() {}, lost() {} }, null);
  const topic = new TopicState("t", options.batchSize);
  topic.partitions = Array.from({ length: partitions }, (_, i) => new PartitionState(topic, i));
  topic.available = topic.partitions.map((_, i) => i);
  topic.ready = true;
  const metadata = { topic: () => topic } as unknown as ProducerMetadata;
  const intake = new Intake({
    options,
    metadata,
    accumulator,
    deliveries: new Deliveries(),
    partitioner: null,
    transactions: undefined,
    host: { refusal: () => undefined },
  });
  return { intake, accumulator, topic };
}

/** The batches in the order they were opened. */
function batchesInOrder(accumulator: Accumulator): ProducerBatch[] {
  return [...accumulator.incomplete];
}

Deno.test("sticky: a stay ends with its full batch, no small batch of the overflow", () => {
  const { intake, accumulator, topic } = setup(16);
  // 10 stays' worth of 100-byte records (about 17 fit a 2 KiB batch).
  for (let i = 0; i < 170; i++) assert.equal(intake.write({ topic: "t", value }), undefined);
  const batches = batchesInOrder(accumulator);
  const counts = batches.map((b) => b.count);
  // Every batch but the open one was closed full: the next record did not fit it.
  for (const b of batches.slice(0, -1)) {
    assert.ok(b.size + 120 > BATCH, `a batch closed at ${b.size} of ${BATCH} bytes: ${counts}`);
  }
  // One batch per partition: no partition got a second, small batch for the overflow.
  const used = new Set(batches.map((b) => b.partition.partition));
  assert.equal(used.size, batches.length, `batches per partition: ${counts}`);
  assert.equal(counts.reduce((a, c) => a + c, 0), 170);
  for (const p of topic.partitions) assert.ok(p.queue.length <= 1);
  intake.stop();
});

Deno.test("sticky: every partition gets a batch before any gets a second", () => {
  const partitions = 16;
  const { intake, accumulator } = setup(partitions);
  const perBatch = 17;
  for (let i = 0; i < perBatch * partitions * 3; i++) intake.write({ topic: "t", value });
  const order = batchesInOrder(accumulator).map((b) => b.partition.partition);
  assert.ok(order.length > partitions * 2, `${order.length} batches`);
  // Each pass over the deck visits all 16 partitions once; a new pass never starts with the
  // partition the last one ended on.
  for (let pass = 0; pass + partitions <= order.length; pass += partitions) {
    const dealt = order.slice(pass, pass + partitions);
    assert.equal(new Set(dealt).size, partitions, `pass at ${pass}: ${dealt}`);
  }
  for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1]);
  intake.stop();
});

Deno.test("sticky: a batch taken early (linger, idle leader) does not end the stay", () => {
  const { intake, accumulator, topic } = setup(16);
  for (let i = 0; i < 5; i++) intake.write({ topic: "t", value });
  const first = batchesInOrder(accumulator)[0]!;
  const partition = first.partition;
  // The sender drains the open batch after 5 records (its linger ended).
  accumulator.take(partition, first);
  for (let i = 0; i < 5; i++) intake.write({ topic: "t", value });
  // The next records went on to the same partition, in a new batch (KIP-794: a stay lasts
  // about batchSize bytes, whatever the sender took meanwhile).
  assert.equal(partition.queue.length, 1);
  assert.equal(partition.open!.count, 5);
  // It moves on once that batch is full.
  for (let i = 0; i < 17; i++) intake.write({ topic: "t", value });
  assert.equal(partition.open, null);
  assert.equal(partition.queue.length, 1);
  const others = topic.partitions.filter((p) => p !== partition && p.queue.length > 0);
  assert.equal(others.length, 1);
  intake.stop();
});

Deno.test("sticky: keyed and explicit records still open the next batch on their partition", () => {
  const explicit = setup(4);
  for (let i = 0; i < 40; i++) explicit.intake.write({ topic: "t", partition: 2, value });
  assert.equal(explicit.topic.partitions[2]!.queue.length, 3);
  assert.equal(explicit.topic.partitions.filter((p) => p.queue.length > 0).length, 1);
  explicit.intake.stop();
  const keyed = setup(4);
  const key = new Uint8Array([1, 2, 3]);
  for (let i = 0; i < 40; i++) keyed.intake.write({ topic: "t", key, value });
  const used = keyed.topic.partitions.filter((p) => p.queue.length > 0);
  assert.equal(used.length, 1);
  assert.equal(used[0]!.queue.length, 3);
  keyed.intake.stop();
});

Deno.test("StickyPartition: a deck of the available partitions, redealt when they change", () => {
  const s = new StickyPartition(1000);
  const avail = [1, 3, 5, 7];
  const first = s.current(8, avail);
  const seen = [first];
  for (let i = 0; i < 3; i++) seen.push(s.next(8, avail));
  assert.deepEqual([...seen].sort(), [1, 3, 5, 7]);
  // A refresh with the same partitions (a new array each time) keeps the deck: the pass goes
  // on and still visits each partition once.
  const sixteen = Array.from({ length: 16 }, (_, i) => i);
  const r = new StickyPartition(1000);
  const pass = [r.current(16, sixteen)];
  for (let i = 1; i < 16; i++) pass.push(r.next(16, sixteen.slice()));
  assert.equal(new Set(pass).size, 16, `${pass}`);
  // A new metadata snapshot (a new array): only its partitions are dealt.
  const now = [0, 2];
  const after = [s.next(8, now), s.next(8, now), s.next(8, now)];
  for (const p of after) assert.ok(now.includes(p), `${after}`);
  assert.notEqual(after[0], after[1]);
  // Bytes: it stays below batchSize, and past it only at a batch boundary (or twice over).
  const p = s.current(8, now);
  s.produced(1200, 8, now, false);
  assert.equal(s.current(8, now), p);
  assert.equal(s.producedBytes, 1200);
  s.produced(900, 8, now, false);
  assert.notEqual(s.current(8, now), p);
  assert.equal(s.producedBytes, 0);
});
