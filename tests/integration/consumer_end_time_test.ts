/**
 * Reads bounded by time (issue 10 §5): `end: { timestamp: T }` with T in the future waits
 * until T has passed and every record stamped before it was handed out, then ends; a record
 * at or after T is never handed out.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { Producer } from "../../producer/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";

async function readAll(
  c: Consumer,
): Promise<{ records: ConsumerRecord[]; endedAt: number; firstAt: number }> {
  const records: ConsumerRecord[] = [];
  let firstAt = 0;
  for await (const r of c) {
    firstAt ||= Date.now();
    records.push(r);
  }
  return { records, endedAt: Date.now(), firstAt };
}

Deno.test("end time: 3 s ahead while a producer keeps writing", async () => {
  const topic = uniq("end-time");
  await createTopic(topic, 2);
  await produce(topic, 0, [{ value: "old 0" }, { value: "old 1" }]);
  await produce(topic, 1, [{ value: "old 2" }]);
  const end = Date.now() + 3_000;
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([0, 1].map((partition) => ({
    topic,
    partition,
    offset: "earliest" as const,
    end: { timestamp: end },
  })));
  const reading = readAll(c);
  // A producer writes every 50 ms, before and after the end, with its own clock's time.
  const producer = new Producer({ brokers: BOOTSTRAP, lingerMs: 5 });
  const sent: { partition: number; offset: bigint; timestamp: number }[] = [];
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const timestamp = Date.now();
      const md = await producer.send({ topic, partition: i % 2, value: `new ${i}`, timestamp });
      sent.push({ partition: md.partition, offset: md.offset, timestamp });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const { records, endedAt, firstAt } = await reading;
  writing = false;
  await writer;
  await producer.close();

  assert.ok(endedAt >= end, `ended ${end - endedAt} ms before the end time`);
  // Records flow at once (the end is not in the way of the start).
  assert.ok(firstAt < end - 1_500, `the first record came ${firstAt - end} ms from the end`);
  // Ended shortly after T: the first record at or after T ends each partition at once.
  assert.ok(endedAt - end < 2_000, `ended ${endedAt - end} ms after the end time`);
  for (const r of records) assert.ok(r.timestamp < end, `record at ${r.timestamp} >= ${end}`);
  const key = (p: number, o: bigint) => `${p}:${o}`;
  const got = new Set(records.map((r) => key(r.partition, r.offset)));
  const before = sent.filter((s) => s.timestamp < end);
  assert.ok(before.length > 10, `the producer wrote ${before.length} records before the end`);
  for (const s of before) {
    assert.ok(got.has(key(s.partition, s.offset)), `missed ${s.partition}:${s.offset}`);
  }
  assert.ok(sent.some((s) => s.timestamp >= end), "records were written after the end");
  assert.equal(records.length, before.length + 3, "every record before the end, once");
});

Deno.test("end time: 2 s ahead with nothing written after it ends once it has passed", async () => {
  const topic = uniq("end-time-quiet");
  await createTopic(topic, 1);
  await produce(topic, 0, [{ value: "a" }, { value: "b" }]);
  const end = Date.now() + 2_000;
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([{ topic, partition: 0, offset: "earliest", end: { timestamp: end } }]);
  const reading = readAll(c);
  await new Promise((r) => setTimeout(r, 500));
  await produce(topic, 0, [{ value: "c" }]);
  const { records, endedAt } = await reading;
  assert.deepEqual(records.map((r) => r.offset), [0n, 1n, 2n]);
  assert.ok(endedAt >= end, `ended ${end - endedAt} ms before the end time`);
  // The end is looked up once the time has passed, after a 1 s grace.
  assert.ok(endedAt - end < 3_000, `ended ${endedAt - end} ms after the end time`);
});

Deno.test("end time in the past still stops at the first record at or after it", async () => {
  const topic = uniq("end-time-past");
  await createTopic(topic, 1);
  const t0 = Date.now() - 60_000;
  await produce(topic, 0, [
    { value: "a", timestamp: t0 },
    { value: "b", timestamp: t0 + 1_000 },
    { value: "c", timestamp: t0 + 2_000 },
  ]);
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([{ topic, partition: 0, offset: "earliest", end: { timestamp: t0 + 1_500 } }]);
  const { records } = await readAll(c);
  assert.deepEqual(records.map((r) => r.offset), [0n, 1n]);
});
