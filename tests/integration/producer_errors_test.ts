/**
 * Bad input gives a typed error and never costs records already accepted: a value over the
 * topic's max.message.bytes (the batch is split, only that record fails), an unknown topic
 * with auto-creation off (UNKNOWN_TOPIC_OR_PARTITION naming it, after maxBlockMs), a write
 * after close, an aborted signal, malformed records. Read back with Java's consumer.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import {
  ClosedError,
  Producer,
  ProtocolError,
  type RecordMetadata,
  UnknownTopicError,
} from "../../producer/mod.ts";
import { createTopic, readBack, topicName } from "../peers/readback.ts";

const b = await broker();
const brokers = b.bootstrap();
const dec = new TextDecoder();

Deno.test("errors: a value over max.message.bytes fails alone; its batch-mates are delivered", async () => {
  const topic = topicName("err-big");
  await createTopic(brokers, topic, 1, { "max.message.bytes": "2000" });
  const p = new Producer({ brokers, defaultTopic: topic, lingerMs: 50 });
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < 20; i++) sends.push(p.send({ value: `small ${i}` }));
  sends.push(p.send({ value: "x".repeat(5000) }));
  for (let i = 20; i < 40; i++) sends.push(p.send({ value: `small ${i}` }));
  const results = await Promise.allSettled(sends);
  const failed = results.filter((r) => r.status === "rejected");
  assert.equal(failed.length, 1);
  const e = (results[20] as PromiseRejectedResult).reason;
  assert.ok(e instanceof ProtocolError, String(e));
  assert.equal(e.errorName, "MESSAGE_TOO_LARGE");
  assert.ok(p.metrics().splits >= 1, "the batch was split");
  // The producer goes on after the failure (idempotent: the epoch is bumped, no gap).
  await p.send({ value: "after" });
  await p.close();
  const read = await readBack(brokers, topic);
  assert.deepEqual(
    read.map((r) => dec.decode(r.value!)),
    [...Array.from({ length: 40 }, (_, i) => `small ${i}`), "after"],
  );
});

Deno.test("errors: an unknown topic with auto-creation off fails with UnknownTopicError, others go on", async () => {
  const good = topicName("err-good");
  await createTopic(brokers, good, 1);
  const missing = topicName("err-missing");
  await using p = new Producer({ brokers, allowAutoTopicCreation: false, maxBlockMs: 1500 });
  const ok = p.send({ topic: good, value: "fine" });
  const started = Date.now();
  await assert.rejects(p.send({ topic: missing, value: "lost" }), (e: unknown) => {
    assert.ok(e instanceof UnknownTopicError, String(e));
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, 3);
    assert.equal(e.topic, missing);
    assert.match(e.message, new RegExp(missing));
    return true;
  });
  assert.ok(Date.now() - started >= 1000, "it waited for the topic (bounded)");
  await ok;
  assert.equal((await p.send({ topic: good, value: "still fine" })).offset, 1n);
  const read = await readBack(brokers, good);
  assert.deepEqual(read.map((r) => dec.decode(r.value!)), ["fine", "still fine"]);
});

Deno.test("errors: auto-creation on creates a missing topic", async () => {
  const topic = topicName("err-auto");
  {
    await using p = new Producer({ brokers });
    const md = await p.send({ topic, value: "created" });
    assert.equal(md.offset, 0n);
  }
  assert.equal((await readBack(brokers, topic)).length, 1);
});

Deno.test("errors: send and write after close give ClosedError; accepted records were delivered", async () => {
  const topic = topicName("err-closed");
  await createTopic(brokers, topic, 1);
  const p = new Producer({ brokers, defaultTopic: topic, lingerMs: 100 });
  const w = p.writable.getWriter();
  for (let i = 0; i < 10; i++) await w.write({ value: `${i}` });
  w.releaseLock();
  await p.close();
  await assert.rejects(p.send({ value: "late" }), ClosedError);
  await assert.rejects(p.writable.getWriter().write({ value: "late" }), ClosedError);
  assert.equal((await readBack(brokers, topic)).length, 10);
});

Deno.test("errors: an aborted signal rejects with its reason and loses nothing accepted", async () => {
  const topic = topicName("err-abort");
  await createTopic(brokers, topic, 1);
  const p = new Producer({ brokers, defaultTopic: topic });
  const accepted = [p.send({ value: "a" }), p.send({ value: "b" })];
  const c = new AbortController();
  c.abort();
  await assert.rejects(p.send({ value: "never" }, { signal: c.signal }), { name: "AbortError" });
  // Aborted while waiting for a topic's metadata: dropped, never sent.
  const c2 = new AbortController();
  const waiting = p.send({ topic: topicName("err-abort-wait"), value: "dropped" }, {
    signal: c2.signal,
  });
  c2.abort(new DOMException("changed my mind", "AbortError"));
  await assert.rejects(waiting, { name: "AbortError" });
  await Promise.all(accepted);
  await p.close();
  const read = await readBack(brokers, topic);
  assert.deepEqual(read.map((r) => dec.decode(r.value!)), ["a", "b"]);
});

Deno.test("errors: malformed records are TypeError/RangeError; the stream errors, earlier records land", async () => {
  const topic = topicName("err-bad");
  await createTopic(brokers, topic, 2);
  const p = new Producer({ brokers, defaultTopic: topic, maxRequestSize: 10_000 });
  await assert.rejects(p.send({ value: 42 as unknown as string }), TypeError);
  await assert.rejects(p.send({ value: "x", partition: 7 }), RangeError);
  await assert.rejects(p.send({ value: "x", timestamp: -5 }), RangeError);
  await assert.rejects(p.send({ value: "x".repeat(20_000) }), (e: unknown) => {
    assert.ok(e instanceof ProtocolError && e.errorName === "MESSAGE_TOO_LARGE");
    return true;
  });
  const noTopic = new Producer({ brokers });
  await assert.rejects(noTopic.send({ value: "x" }), TypeError);
  await noTopic.close();
  const w = p.writable.getWriter();
  await w.write({ value: "first" });
  await w.write({ value: "second" });
  await assert.rejects(
    w.write({ value: null, headers: [{ key: 1 as unknown as string, value: null }] }),
    TypeError,
  );
  await assert.rejects(w.closed, TypeError);
  await p.close();
  const read = await readBack(brokers, topic);
  assert.deepEqual(read.map((r) => dec.decode(r.value!)).sort(), ["first", "second"]);
});
