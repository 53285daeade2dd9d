/**
 * Backpressure: 1M records piped into `producer.writable` never push the producer's own byte
 * accounting (`bufferedBytes`, tracked by `metrics().maxBufferedBytes`) over its budget, the
 * budget is actually reached (so the stream did wait), at most one record waits outside the
 * batches at any time, and all 1M records arrive (end offsets). No timing is asserted.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import { Producer, type ProducerRecord } from "../../producer/mod.ts";
import { createTopic, endOffsets, topicName } from "../peers/readback.ts";

Deno.test("backpressure: 1M records through pipeTo stay under the byte budget", async () => {
  const b = await broker();
  const brokers = b.bootstrap();
  const topic = topicName("bp");
  await createTopic(brokers, topic, 3);
  const budget = 1 << 20;
  const p = new Producer({
    brokers,
    defaultTopic: topic,
    bufferMemory: budget,
    batchSize: 64 * 1024,
  });
  const total = 1_000_000;
  const value = new Uint8Array(100).fill(0x61);
  let i = 0;
  let maxWaiting = 0;
  let maxSeen = 0;
  const source = new ReadableStream<ProducerRecord>({
    pull(c) {
      const m = p.metrics();
      if (m.waitingRecords > maxWaiting) maxWaiting = m.waitingRecords;
      if (p.bufferedBytes > maxSeen) maxSeen = p.bufferedBytes;
      for (let k = 0; k < 256 && i < total; k++, i++) c.enqueue({ key: `${i % 1000}`, value });
      if (i >= total) c.close();
    },
  }, { highWaterMark: 0 });
  await source.pipeTo(p.writable);
  const m = p.metrics();
  await p.close();
  assert.ok(m.maxBufferedBytes <= budget, `max buffered ${m.maxBufferedBytes} > budget ${budget}`);
  assert.ok(maxSeen <= budget);
  assert.ok(m.maxBufferedBytes > budget / 2, `the budget was reached (${m.maxBufferedBytes})`);
  assert.ok(maxWaiting <= 1, `records waiting outside batches: ${maxWaiting}`);
  assert.equal(m.recordsSent, total);
  assert.equal(m.bufferedBytes, 0);
  const ends = await endOffsets(brokers, topic);
  assert.equal(ends.reduce((a, c) => a + c, 0n), BigInt(total));
});
