/**
 * The `least_bytes` partitioner (kafka-go's LeastBytes, load-aware): the available partition
 * with the fewest bytes buffered or in flight, ties round-robin; and the accumulator's
 * per-partition byte accounting it reads, driven without a broker.
 */

import assert from "node:assert/strict";
import { builtInPartitioner, type PartitionerInput } from "../../producer/mod.ts";
import { Accumulator } from "../../producer/accumulator.ts";
import { PartitionState, type ProducerBatch, TopicState } from "../../producer/batch.ts";
import { resolveProducerOptions } from "../../producer/options.ts";

function input(
  bytes: number[],
  available: number[] = bytes.map((_, i) => i),
): PartitionerInput {
  return {
    topic: "t",
    key: null,
    partitionCount: bytes.length,
    available,
    bufferedBytes: (p) => bytes[p]!,
  };
}

Deno.test("least_bytes: picks the partition with the fewest buffered bytes, keyed or not", () => {
  const p = builtInPartitioner("least_bytes");
  assert.equal(p(input([500, 20, 300, 40])), 1);
  assert.equal(p({ ...input([500, 20, 300, 0]), key: new Uint8Array([1, 2, 3]) }), 3);
  assert.equal(p(input([0, 10, 10, 10])), 0);
});

Deno.test("least_bytes: ties go round-robin (nothing outstanding spreads evenly)", () => {
  const p = builtInPartitioner("least_bytes");
  const idle = input([0, 0, 0, 0]);
  assert.deepEqual(Array.from({ length: 9 }, () => p(idle)), [0, 1, 2, 3, 0, 1, 2, 3, 0]);
  // Without the byte callback (outside a producer) it is plain round-robin too.
  const bare = { topic: "t", key: null, partitionCount: 3, available: [0, 1, 2] };
  const q = builtInPartitioner("least_bytes");
  assert.deepEqual(Array.from({ length: 4 }, () => q(bare)), [0, 1, 2, 0]);
});

Deno.test("least_bytes: only partitions with a leader, all of them when none has one", () => {
  const p = builtInPartitioner("least_bytes");
  // Partition 0 is emptiest but has no leader.
  for (let i = 0; i < 10; i++) assert.ok([1, 3].includes(p(input([0, 50, 9, 50], [1, 3]))));
  assert.equal(p(input([70, 50, 9, 60], [1, 3])), 1);
  const none = builtInPartitioner("least_bytes");
  assert.equal(none(input([7, 5, 0], [])), 2);
});

Deno.test("least_bytes: with the accumulator's accounting, buffered bytes stay balanced", () => {
  const o = resolveProducerOptions({ brokers: ["127.0.0.1:9092"], batchSize: 4096 });
  const acc = new Accumulator(o, 0, { wake() {}, opened() {}, lost() {} });
  const t = new TopicState("t", o.batchSize);
  for (let i = 0; i < 5; i++) t.partitions.push(new PartitionState(t, i));
  t.available = [0, 1, 2, 3, 4];
  const choose = builtInPartitioner("least_bytes");
  const now = Date.now();
  let largest = 0;
  for (let i = 0; i < 2000; i++) {
    const value = new Uint8Array(1 + ((i * 7919) % 600));
    const p = choose({
      topic: "t",
      key: null,
      partitionCount: 5,
      available: t.available,
      bufferedBytes: t.bufferedBytes,
    });
    const grew = acc.append(t.partitions[p]!, now, null, value, undefined, null, null);
    assert.ok(grew > 0);
    largest = Math.max(largest, grew + 61);
  }
  const per = t.partitions.map((ps) => ps.buffered);
  assert.equal(per.reduce((a, c) => a + c, 0), acc.bufferedBytes);
  assert.ok(Math.max(...per) - Math.min(...per) <= largest, `unbalanced: ${per}`);
  // Completing a partition's batches frees its bytes: it is chosen next.
  for (const b of [...acc.incomplete] as ProducerBatch[]) {
    if (b.partition.partition === 3) acc.release(b);
  }
  assert.equal(t.partitions[3]!.buffered, 0);
  assert.equal(
    choose({
      topic: "t",
      key: null,
      partitionCount: 5,
      available: t.available,
      bufferedBytes: t.bufferedBytes,
    }),
    3,
  );
});
