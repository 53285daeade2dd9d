/**
 * Idle flush: with the default `lingerWhenIdle: false`, a batch whose leader has no request in
 * flight goes out at once, whatever `lingerMs` says; while requests are in flight, batches
 * linger and fill. With `lingerWhenIdle: true` a batch waits for its linger (Java's semantics).
 *
 * The linger is ten minutes, so which path sent a batch is plain from the counters
 * (`metrics().idleFlushes`, `requestsSent`); nothing here measures time.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import { Producer, type RecordMetadata } from "../../producer/mod.ts";
import { createTopic, readBack, topicName } from "../peers/readback.ts";

const b = await broker();
const brokers = b.bootstrap();
const TEN_MINUTES = 600_000;
const dec = new TextDecoder();

/** Rejects if `p` has not settled after `ms` (a linger of ten minutes would be far longer). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("linger: lone awaited sends go out by the idle path despite a ten-minute linger", async () => {
  const topic = topicName("linger-idle");
  await createTopic(brokers, topic, 1);
  await using p = new Producer({ brokers, defaultTopic: topic, lingerMs: TEN_MINUTES });
  const mds: RecordMetadata[] = [];
  for (let i = 0; i < 20; i++) {
    mds.push(await within(p.send({ value: `v${i}` }), 60_000, `awaited send ${i}`));
  }
  assert.deepEqual(mds.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => BigInt(i)));
  const m = p.metrics();
  // Every batch went early (none was full, none lingered out), one request each.
  assert.equal(m.batchesSent, 20);
  assert.equal(m.idleFlushes, 20);
  assert.equal(m.requestsSent, 20);
});

Deno.test("linger: under load, batches fill while requests are in flight", async () => {
  const topic = topicName("linger-load");
  await createTopic(brokers, topic, 1);
  const n = 20_000;
  {
    await using p = new Producer({ brokers, defaultTopic: topic, lingerMs: TEN_MINUTES });
    const sends: Promise<RecordMetadata>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(p.send({ value: `${i}` }));
      // Yield now and then, so the sender runs while records keep arriving.
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await within(Promise.all(sends), 120_000, "sends under load");
    const m = p.metrics();
    assert.equal(m.recordsSent, n);
    // Records that arrived while a request was in flight waited for it and went together.
    assert.ok(m.requestsSent < n / 20, `${m.requestsSent} requests for ${n} records`);
    assert.ok(m.idleFlushes >= 1);
  }
  const read = await readBack(brokers, topic);
  assert.deepEqual(
    read.map((r) => Number(dec.decode(r.value!))),
    Array.from({ length: n }, (_, i) => i),
  );
});

Deno.test("linger: lingerWhenIdle true keeps a lone batch waiting until its linger (or a flush)", async () => {
  const topic = topicName("linger-java");
  await createTopic(brokers, topic, 1);
  await using p = new Producer({
    brokers,
    defaultTopic: topic,
    lingerMs: TEN_MINUTES,
    lingerWhenIdle: true,
  });
  // Warm up (metadata, producer id) with a flush, which never lingers.
  const first = p.send({ value: "warm-up" });
  await p.flush();
  await first;
  const before = p.metrics().requestsSent;
  let settled = false;
  const waiting = p.send({ value: "lingers" }).finally(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(settled, false, "the batch lingered");
  assert.equal(p.metrics().requestsSent, before, "nothing was sent");
  await p.flush();
  assert.equal((await waiting).offset, 1n);
  assert.equal(p.metrics().idleFlushes, 0);
});
