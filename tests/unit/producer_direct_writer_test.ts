/**
 * The writer `producer.writable.getWriter()` returns (producer/writable.ts), without a
 * broker (tests/helpers/fake_cluster.ts answers): records go straight to the producer while
 * the stream is idle, and every contract of the standard writer holds across such writes and
 * those that go through the stream: ordering, backpressure (`desiredSize`, `bufferMemory`),
 * errors, close, abort, `releaseLock`, a new stream after abort, delivery reports, pipes.
 */

import assert from "node:assert/strict";
import { Producer } from "../../producer/producer.ts";
import type { DeliveryReport, ProducerRecord } from "../../producer/record.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { ClosedError } from "../../protocol/errors.ts";
import { FakeCluster, NO_ANSWER } from "../helpers/fake_cluster.ts";

function producerOn(cluster: FakeCluster, extra: Record<string, unknown> = {}): Producer {
  return new Producer({
    brokers: ["unused:1"],
    cluster,
    defaultTopic: "t",
    lingerMs: 0,
    ...extra,
  });
}

const text = new TextDecoder();
const valueOf = (r: DeliveryReport) => {
  const v = r.record.value;
  return typeof v === "string" ? v : text.decode(v as Uint8Array);
};

/** Reads `n` delivery reports. */
async function reports(stream: ReadableStream<DeliveryReport>, n: number) {
  const out: DeliveryReport[] = [];
  const reader = stream.getReader();
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value);
  }
  await reader.cancel();
  return out;
}

/** A writer that has completed one write through the stream (so it knows the stream idle). */
async function warmWriter(producer: Producer, value = "warm") {
  const writer = producer.writable.getWriter();
  await writer.write({ value: new TextEncoder().encode(value) });
  return writer;
}

Deno.test("direct writer: once idle, writes go straight into batches, in order", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster, { lingerMs: 60_000 });
  const reportStream = producer.deliveryReports();
  const writer = await warmWriter(producer, "0");
  // A burst of writes in one turn: the standard writer queues all but the first in the
  // stream; here each one is in a batch when write() returns, and desiredSize stays 1.
  const writes: Promise<void>[] = [];
  for (let i = 1; i < 50; i++) {
    const before = producer.bufferedBytes;
    writes.push(writer.write({ value: new TextEncoder().encode(String(i)) }));
    assert.ok(producer.bufferedBytes > before, `record ${i} batched at once`);
    assert.equal(writer.desiredSize, 1);
  }
  await Promise.all(writes);
  await writer.close();
  const got = await reports(reportStream, 50);
  assert.deepEqual(got.map(valueOf), Array.from({ length: 50 }, (_, i) => String(i)));
  assert.deepEqual(got.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => BigInt(i)));
});

Deno.test("direct writer: order holds across direct writes and writes that wait in the stream", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  // A budget of a few records: writes keep running into it, wait in the stream, and the
  // writer goes back to direct writes once the stream has passed them on.
  await using producer = producerOn(cluster, { bufferMemory: 2048, batchSize: 512 });
  const reportStream = producer.deliveryReports();
  const writer = producer.writable.getWriter();
  const n = 2000;
  const value = "x".repeat(100);
  let direct = 0;
  let queued = 0;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    if (writer.desiredSize! <= 0) await writer.ready;
    const before = producer.bufferedBytes;
    writes.push(writer.write({ value: `${i}:${value}` }));
    if (producer.bufferedBytes !== before) direct++;
    else queued++;
    assert.ok(producer.bufferedBytes <= 2048, `bufferedBytes ${producer.bufferedBytes}`);
  }
  await Promise.all(writes);
  await writer.close();
  assert.ok(direct > 0 && queued > 0, `direct ${direct}, through the stream ${queued}`);
  const got = await reports(reportStream, n);
  assert.equal(got.length, n);
  assert.deepEqual(
    got.map((r) => Number(valueOf(r).split(":")[0])),
    Array.from({ length: n }, (_, i) => i),
  );
  for (let i = 0; i < n; i++) assert.equal(got[i]!.offset, BigInt(i));
});

Deno.test("direct writer: a full budget is backpressure as before (desiredSize, bufferMemory)", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  // Produce is never answered: the budget never frees.
  cluster.on("Produce", () => NO_ANSWER);
  const producer = producerOn(cluster, { bufferMemory: 4096, batchSize: 1024 });
  const writer = await warmWriter(producer);
  const writes: Promise<void>[] = [];
  let accepted = 1;
  while (writer.desiredSize! > 0 && accepted < 10_000) {
    writes.push(writer.write({ value: new Uint8Array(100) }).catch(() => {}));
    accepted++;
  }
  assert.equal(writer.desiredSize, 0);
  assert.ok(producer.bufferedBytes <= 4096, `bufferedBytes ${producer.bufferedBytes}`);
  // What the budget took (~4096 / ~110 B), one record waiting for it, and 16 KiB of
  // records (100 B + 64 B each) in the stream's queue.
  assert.ok(accepted >= 30 + 1 + 99 && accepted <= 40 + 1 + 101, `accepted ${accepted}`);
  assert.equal(producer.metrics().waitingRecords, 1);
  await producer.abort();
  await Promise.all(writes);
});

Deno.test("direct writer: a bad record fails its write and errors the stream as before", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster);
  const stream = producer.writable;
  const writer = await warmWriter(producer);
  const bad = writer.write({ value: 42 } as unknown as ProducerRecord);
  const error = await bad.then(() => undefined, (e) => e);
  assert.ok(error instanceof TypeError, String(error));
  await assert.rejects(writer.closed, (e) => e === error);
  assert.equal(writer.desiredSize, null);
  await assert.rejects(writer.write({ value: "after" }), (e) => e === error);
  // The errored stream is done: the producer makes a new one, which takes records.
  assert.notEqual(producer.writable, stream);
  const again = producer.writable.getWriter();
  await again.write({ value: "again" });
  await again.close();
});

Deno.test("direct writer: a record the broker fails errors the stream; later writes reject", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster, { retries: 0 });
  const writer = await warmWriter(producer);
  await producer.flush();
  cluster.on(
    "Produce",
    (req) => cluster.produceAnswer(req, () => ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  );
  await writer.write({ value: "fails" });
  const error = await writer.closed.then(() => undefined, (e) => e);
  assert.ok(error instanceof Error, String(error));
  await assert.rejects(writer.write({ value: "after" }), (e) => e === error);
});

Deno.test("direct writer: releaseLock, close and abort keep the standard writer's semantics", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster);
  const reportStream = producer.deliveryReports();
  const stream = producer.writable;

  // releaseLock: the released writer's writes reject; the next writer writes.
  const first = await warmWriter(producer, "a");
  first.releaseLock();
  await assert.rejects(first.write({ value: "lost" }), TypeError);
  await assert.rejects(first.closed, TypeError);
  const second = producer.writable.getWriter();
  assert.equal(producer.writable, stream);
  await second.write({ value: "b" });
  await second.write({ value: "c" });

  // abort: later writes reject with the reason; the records before it are delivered; the
  // producer makes a new stream, whose writer writes.
  const reason = new Error("stop");
  await second.abort(reason);
  await assert.rejects(second.write({ value: "lost" }), (e) => e === reason);
  await assert.rejects(second.closed, (e) => e === reason);
  assert.equal(second.desiredSize, null);
  const next = producer.writable;
  assert.notEqual(next, stream);
  const third = await warmWriter(producer, "d");
  await third.write({ value: "e" });

  // close: writes after it reject; it resolves once everything is acknowledged.
  const closing = third.close();
  await assert.rejects(third.write({ value: "lost" }), TypeError);
  await closing;
  await third.closed;
  const got = await reports(reportStream, 5);
  assert.deepEqual(got.map(valueOf), ["a", "b", "c", "d", "e"]);
  assert.ok(got.every((r) => r.error === undefined));
});

Deno.test("direct writer: a close queued by an earlier writer still refuses later writes", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster);
  await (await warmWriter(producer)).releaseLock();
  const plain = new WritableStreamDefaultWriter(producer.writable);
  const a = plain.write({ value: "a" });
  const closed = plain.close();
  plain.releaseLock();
  const writer = producer.writable.getWriter();
  await assert.rejects(writer.write({ value: "b" }), TypeError);
  await a;
  await closed;
});

Deno.test("direct writer: producer.abort() fails later writes with the stream's error", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  const producer = producerOn(cluster);
  const writer = await warmWriter(producer);
  await producer.abort();
  const error = await writer.closed.then(() => undefined, (e) => e);
  assert.ok(error instanceof ClosedError);
  await assert.rejects(writer.write({ value: "after" }), (e) => e === error);
});

Deno.test("direct writer: pipes and direct writers share the stream in order", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster, { lingerMs: 60_000 });
  const reportStream = producer.deliveryReports();
  const writer = await warmWriter(producer, "0");
  for (let i = 1; i < 5; i++) writer.write({ value: String(i) });
  writer.releaseLock();
  const piped = Array.from({ length: 20 }, (_, i) => ({ value: String(5 + i) }));
  await ReadableStream.from(piped).pipeTo(producer.writable, { preventClose: true });
  const after = producer.writable.getWriter();
  for (let i = 25; i < 30; i++) after.write({ value: String(i) });
  await after.close();
  const got = await reports(reportStream, 30);
  assert.deepEqual(got.map(valueOf), Array.from({ length: 30 }, (_, i) => String(i)));
});
