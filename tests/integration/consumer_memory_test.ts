/**
 * The memory budget, checked on the consumer's own accounting (`bufferedBytes`,
 * `peakBufferedBytes`), never on timing:
 * - a deliberately slow reader on a topic of 1M records: buffered bytes stay under the budget
 *   while the fetcher does fill it (it fetches ahead);
 * - compressed batches: the decompressed bytes count too, and stay under the budget;
 * - a batch that could only be decompressed beyond the budget is a typed error, not an
 *   overrun.
 */

import assert from "node:assert/strict";
import { Consumer } from "../../consumer/mod.ts";
import { Compression } from "../../protocol/compression/mod.ts";
import { DecodeError } from "../../protocol/errors.ts";
import { runJavaTool } from "../helpers/broker.ts";
import { b, BOOTSTRAP, createTopic, produce, take, uniq } from "../helpers/consumer_testkit.ts";

const MiB = 1024 * 1024;

Deno.test("memory: a slow reader on 1M records stays within the budget", async () => {
  const topic = uniq("memory");
  await createTopic(topic, 4);
  const fill = await runJavaTool("ProducerPerformance", [
    "--topic",
    topic,
    "--num-records",
    "1000000",
    "--record-size",
    "100",
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${BOOTSTRAP.join(",")}`,
    "linger.ms=5",
    "batch.size=262144",
    "acks=1",
  ], { broker: b, quickJvm: false, timeoutMs: 180_000 });
  assert.equal(fill.code, 0, fill.stderr);

  const budget = 2 * MiB;
  await using consumer = new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: budget });
  consumer.assign(Array.from({ length: 4 }, (_, partition) => ({
    topic,
    partition,
    offset: "earliest" as const,
  })));
  const reader = consumer.getReader();
  const next = new Map<number, bigint>();
  let maxSeen = 0;
  let count = 0;
  // Slow: a pause every 500 records, long enough for the fetcher to fill the budget.
  while (count < 150_000) {
    const { done, value } = await reader.read();
    assert.equal(done, false);
    const expected = next.get(value!.partition) ?? 0n;
    assert.equal(value!.offset, expected, "records arrive in offset order, none skipped");
    next.set(value!.partition, expected + 1n);
    maxSeen = Math.max(maxSeen, consumer.bufferedBytes);
    if (++count % 500 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  reader.releaseLock();
  assert.ok(maxSeen <= budget, `sampled ${maxSeen} > budget ${budget}`);
  assert.ok(
    consumer.peakBufferedBytes <= budget,
    `peak ${consumer.peakBufferedBytes} > budget ${budget}`,
  );
  // It did fetch ahead: the budget was used, not left idle.
  assert.ok(consumer.peakBufferedBytes > budget / 2, `peak ${consumer.peakBufferedBytes}`);
  // Far less than the topic: the 1M records were never all in memory.
  const lag = consumer.lag().reduce((s, l) => s + (l.lag ?? 0n), 0n);
  assert.ok(lag > 500_000n, `lag ${lag}`);
});

Deno.test("memory: decompressed batches count against the budget", async () => {
  const topic = uniq("memory-zstd");
  await createTopic(topic, 1);
  // 40 batches of 300 x 1 KiB compressible values: ~300 KiB decompressed, a few KiB on the wire.
  const value = "abcdefgh".repeat(128);
  const records = Array.from({ length: 12_000 }, (_, i) => ({ key: `${i}`, value }));
  await produce(topic, 0, records, { compression: Compression.Zstd, batchSize: 300 });
  const budget = MiB;
  await using consumer = new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: budget });
  consumer.assign([{ topic, partition: 0, offset: "earliest", end: "latest" }]);
  let n = 0;
  let maxSeen = 0;
  for await (const r of consumer) {
    assert.equal(r.offset, BigInt(n));
    n++;
    maxSeen = Math.max(maxSeen, consumer.bufferedBytes);
    if (n % 100 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(n, 12_000);
  assert.ok(consumer.peakBufferedBytes <= budget, `peak ${consumer.peakBufferedBytes}`);
  // The decompressed batches were counted (the compressed data alone is far smaller).
  assert.ok(maxSeen >= 300 * 1024, `max buffered ${maxSeen}`);
});

Deno.test("memory: a batch that decompresses beyond the budget is a DecodeError", async () => {
  const topic = uniq("memory-bomb");
  await createTopic(topic, 1);
  // One batch of 3 MiB decompressed (highly compressible), budget 1 MiB.
  const records = Array.from({ length: 3 * 1024 }, () => ({ value: "z".repeat(1024) }));
  await produce(topic, 0, records, { compression: Compression.Zstd, batchSize: 3 * 1024 });
  await using consumer = new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: MiB });
  consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
  await assert.rejects(take(consumer, 1, 30_000), (e: unknown) => {
    assert.ok(e instanceof DecodeError, String(e));
    assert.match((e as Error).message, /maxBufferedBytes/);
    return true;
  });
  assert.ok(consumer.peakBufferedBytes <= MiB, `peak ${consumer.peakBufferedBytes}`);
});
