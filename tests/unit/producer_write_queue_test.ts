/**
 * The writable's queue and the record clock, without a broker: how many records the stream
 * holds ahead of the producer before `desiredSize` drops (the bound on what waits beyond
 * `bufferMemory`), and how stale a clock reading can be.
 */

import assert from "node:assert/strict";
import { Producer } from "../../producer/mod.ts";
import { CLOCK_REUSES, RecordClock } from "../../producer/clock.ts";

Deno.test("writable: up to 16 KiB of records queue ahead of the producer, then backpressure", async () => {
  // Port 1 refuses: the topic's metadata never comes, so the producer takes the first record
  // into its intake and the stream holds every later one.
  const producer = new Producer({
    brokers: ["127.0.0.1:1"],
    defaultTopic: "t",
    maxBlockMs: 60_000,
  });
  const writer = producer.writable.getWriter();
  const value = new Uint8Array(100);
  const writes: Promise<void>[] = [];
  let accepted = 0;
  // 100 B + 64 B overhead a record: 99 records fit in 16 KiB; the next one fills the queue.
  while (writer.desiredSize! > 0 && accepted < 1_000) {
    writes.push(writer.write({ value }).catch(() => {}));
    accepted++;
  }
  assert.equal(writer.desiredSize, 0);
  assert.ok(accepted >= 99 && accepted <= 101, `records before backpressure: ${accepted}`);
  await producer.abort();
  await Promise.all(writes);
  writer.releaseLock();
});

Deno.test("writable: one large record is backpressure on its own", async () => {
  const producer = new Producer({ brokers: ["127.0.0.1:1"], defaultTopic: "t" });
  const writer = producer.writable.getWriter();
  const first = writer.write({ value: new Uint8Array(10) }).catch(() => {});
  assert.equal(writer.desiredSize, 1);
  const large = writer.write({ value: new Uint8Array(20_000) }).catch(() => {});
  assert.equal(writer.desiredSize, 0);
  await producer.abort();
  await Promise.all([first, large]);
  writer.releaseLock();
});

Deno.test("record clock: a reading serves at most CLOCK_REUSES records and one event-loop turn", async () => {
  const clock = new RecordClock();
  const before = Date.now();
  const first = clock.now();
  assert.ok(first >= before && first <= Date.now());
  for (let i = 1; i < CLOCK_REUSES; i++) assert.equal(clock.now(), first);
  await new Promise((r) => setTimeout(r, 5));
  const again = clock.now();
  assert.ok(again >= first + 4, `a new reading after the event loop turned: ${again - first} ms`);
  // After a turn of the event loop, the reading is fresh again.
  const t = clock.now();
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(clock.now() >= t + 4);
  clock.stop();
});
