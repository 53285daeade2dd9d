/**
 * Produce requests write large record batches from the batches' own buffers (`zeroCopy`), and
 * the accumulator reuses those buffers. A runtime's socket write is asynchronous and may read
 * its buffer later (Deno's `conn.write` hands the buffer to an op that reads it when the socket
 * is writable, even after the resource was closed): a buffer must never be reused while such a
 * write may still read it. These tests hold a batch's write in a socket, as a stalled peer
 * does, make the request fail or time out, let the batch go through elsewhere and the producer
 * reuse buffers, and only then let the held write read its bytes: they must be those it was
 * given.
 */

import assert from "node:assert/strict";
import { Connection } from "../../net/connection.ts";
import { chooseVersions } from "../../net/negotiate.ts";
import { Producer } from "../../producer/producer.ts";
import { Api } from "../../protocol/apis.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encoderFor, type MessageSchema } from "../../protocol/schema.ts";
import { Writer } from "../../protocol/writer.ts";
import { ClosedError, ConnectionError, KafkaError } from "../../protocol/errors.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import { FakeCluster } from "../helpers/fake_cluster.ts";
import { FakeSocket } from "../helpers/fake_socket.ts";
import { until } from "../helpers/wait.ts";

const BIG = 128 * 1024;

/** A socket that can hold writes: the bytes are read only when released. */
class HoldingSocket extends FakeSocket {
  readonly held: {
    p: Uint8Array;
    copy: Uint8Array;
    resolve: (n: number) => void;
    reject: (e: unknown) => void;
  }[] = [];
  /** Writes whose bytes changed between the write call and the moment they were read. */
  readonly changed: number[] = [];
  constructor(readonly shouldHold: (p: Uint8Array) => boolean) {
    super();
  }

  override write(p: Uint8Array): Promise<number> {
    if (!this.shouldHold(p)) return super.write(p);
    const copy = p.slice();
    return new Promise((resolve, reject) => this.held.push({ p, copy, resolve, reject }));
  }

  /** Lets the held writes read their bytes now. */
  release(): void {
    for (const h of this.held.splice(0)) {
      let diff = 0;
      for (let i = 0; i < h.p.length; i++) if (h.p[i] !== h.copy[i]) diff++;
      if (diff > 0) this.changed.push(diff);
      if (this.closed) h.reject(new Deno.errors.BadResource("closed"));
      else super.write(h.p).then(h.resolve, h.reject);
    }
  }
}

function randomValue(bytes: number): Uint8Array {
  const v = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(v.subarray(i, i + 65536));
  return v;
}

/** Polls `cond` every 5 ms until it holds (the shared `until`, for a synchronous condition). */
function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<true> {
  return until(what, () => Promise.resolve(cond() || undefined), ms, 5);
}

/**
 * Gives the cluster's connections holding sockets (of node `node`, or every node): each of the
 * next `hold(n)` writes of a batch piece (at least `BIG` bytes) is held until released.
 */
function holdBatchWrites(cluster: FakeCluster, node?: number) {
  const sockets: HoldingSocket[] = [];
  let holdNext = 0;
  cluster.socketFor = (n) => {
    const s = new HoldingSocket((p) => {
      if ((node !== undefined && n !== node) || p.length < BIG || holdNext === 0) return false;
      holdNext--;
      return true;
    });
    sockets.push(s);
    return s;
  };
  return { sockets, hold: (n: number) => void (holdNext = n) };
}

for (const compression of ["none", "lz4"] as const) {
  Deno.test(`zeroCopy (${compression}): a batch written on a dead connection is not reused while that write may read it`, async () => {
    await using cluster = new FakeCluster(1);
    cluster.addTopic("t", 1);
    const { sockets, hold } = holdBatchWrites(cluster);
    await using producer = new Producer({
      brokers: ["unused:1"],
      cluster,
      lingerMs: 0,
      batchSize: 256 * 1024,
      compression,
      compressionWorkers: 0,
      requestTimeoutMs: 5_000,
    });
    // Ten 20 KiB records: one batch of about 200 KiB, written from its own buffer.
    const round = (n: number) =>
      producer.send(
        Array.from(
          { length: 10 },
          () => ({ topic: "t", partition: 0, value: randomValue(20_000) }),
        ),
      ).then((sent) => assert.equal(sent.length, 10, `round ${n}`));
    // Warm the buffer pool: acknowledged batches give their buffers back.
    for (let i = 0; i < 3; i++) await round(i);
    hold(1);
    const first = round(3);
    await waitFor("a held write", () => sockets.some((s) => s.held.length > 0));
    const stalled = sockets.find((s) => s.held.length > 0)!;
    // The broker goes away mid-write: the batch is retried on a new connection and answered.
    stalled.end();
    await first;
    // More batches, through the pool: a reused buffer of the held write would be overwritten.
    for (let i = 4; i < 10; i++) await round(i);
    // Only now does the dead connection's write read its bytes (as a pending op may).
    stalled.release();
    assert.deepEqual(stalled.changed, [], "a buffer was reused while a write of it was held");
    // Every batch the broker read is intact (its CRC checks out).
    for (const req of cluster.seen("Produce")) {
      const body = req.body as { topicData: { partitionData: { records: Uint8Array }[] }[] };
      for (const t of body.topicData) {
        for (const p of t.partitionData) decodeRecordBatches(p.records);
      }
    }
  });
}

Deno.test("zeroCopy: a batch whose request timed out while its write was held is sent intact, its buffer not reused", async () => {
  await using cluster = new FakeCluster(2);
  // Partition 0 on node 1 (whose write is held), partition 1 on node 2 (busy reusing buffers).
  cluster.addTopic("t", 2);
  const { sockets, hold } = holdBatchWrites(cluster, 1);
  await using producer = new Producer({
    brokers: ["unused:1"],
    cluster,
    lingerMs: 0,
    batchSize: 256 * 1024,
    requestTimeoutMs: 300,
    deliveryTimeoutMs: 60_000,
  });
  const round = (partition: number) =>
    producer.send(
      Array.from({ length: 10 }, () => ({ topic: "t", partition, value: randomValue(20_000) })),
    );
  for (let i = 0; i < 3; i++) await round(i % 2);
  hold(1);
  const first = round(0);
  await waitFor("a held write", () => sockets.some((s) => s.held.length > 0));
  const stalled = sockets.find((s) => s.held.length > 0)!;
  // The batch in flight counts against bufferMemory while its write is held.
  assert.ok(producer.metrics().bufferedBytes >= 200_000, `${producer.metrics().bufferedBytes}`);
  // The request times out (the connection stays open); the batch is retried.
  await waitFor("a retry", () => producer.metrics().retries > 0);
  for (let i = 0; i < 6; i++) await round(1);
  // Still counted: its retry is queued behind the held write.
  assert.ok(producer.metrics().bufferedBytes >= 200_000, `${producer.metrics().bufferedBytes}`);
  stalled.release();
  assert.deepEqual(stalled.changed, [], "a buffer was reused while a write of it was held");
  const sent = await first;
  assert.equal(sent.length, 10);
  // The retried batch (its buffer not reused) left the budget all the same.
  assert.equal(producer.metrics().bufferedBytes, 0);
  for (const req of cluster.seen("Produce")) {
    const body = req.body as { topicData: { partitionData: { records: Uint8Array }[] }[] };
    for (const t of body.topicData) for (const p of t.partitionData) decodeRecordBatches(p.records);
  }
});

const PRODUCE_VERSIONS = chooseVersions([
  { apiKey: 0, minVersion: 3, maxVersion: 11 },
  { apiKey: 3, minVersion: 0, maxVersion: 12 },
]);

function produceBody(batches: Uint8Array[]) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{
      name: "t",
      partitionData: batches.map((records, index) => ({ index, records })),
    }],
  };
}

/** A socket that takes at most `step` bytes per write, a task later: a slow, dribbling peer. */
class DribblingSocket extends FakeSocket {
  written = 0;
  constructor(readonly step: number, readonly failAfter = Infinity) {
    super();
  }
  override async write(p: Uint8Array): Promise<number> {
    await new Promise((r) => setTimeout(r, 0));
    const n = Math.min(p.length, this.step, Math.max(1, this.failAfter - this.written));
    if (this.written >= this.failAfter) throw new Deno.errors.BrokenPipe("broken pipe");
    this.written += n;
    return await super.write(p.subarray(0, n));
  }
}

Deno.test("zeroCopy: pipelined frames in pieces go out whole and in order, never interleaved", async () => {
  const s = new DribblingSocket(48 * 1024);
  s.onRequest = (req) => {
    s.reply(
      req,
      req.api.name === "Produce" ? { responses: [], throttleTimeMs: 0, nodeEndpoints: [] } : {
        throttleTimeMs: 0,
        brokers: [],
        clusterId: null,
        controllerId: -1,
        topics: [],
      },
    );
  };
  await using conn = await Connection.connect({
    host: "fake",
    port: 9092,
    socketFactory: () => Promise.resolve(s),
    versions: PRODUCE_VERSIONS,
    maxInFlight: 5,
  });
  const sent: Uint8Array[][] = [];
  const replies: Promise<unknown>[] = [];
  for (let i = 0; i < 8; i++) {
    // Big and small batches, and small requests between the Produce requests.
    const batches = [randomValue(200 * 1024), randomValue(1000), randomValue(BIG)];
    sent.push(batches);
    replies.push(conn.request(Api.Produce, produceBody(batches), { zeroCopy: true }));
    replies.push(conn.request(Api.Metadata, { topics: [], allowAutoTopicCreation: false }));
  }
  await Promise.all(replies);
  const produce = s.requests.filter((r) => r.api.name === "Produce");
  assert.equal(produce.length, 8);
  assert.equal(s.requests.length, 16);
  // Correlation ids in the order the requests were made: no frame overtook another.
  const ids = s.requests.map((r) => r.correlationId);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  for (let i = 0; i < 8; i++) {
    const body = produce[i]!.body as { topicData: { partitionData: { records: Uint8Array }[] }[] };
    assert.deepEqual(body.topicData[0]!.partitionData.map((p) => p.records), sent[i]);
  }
});

Deno.test("zeroCopy: a write failing inside a frame's batch closes the connection for good", async () => {
  // The header piece goes out, then the batch piece breaks off part way.
  const s = new DribblingSocket(16 * 1024, 100 * 1024);
  await using conn = await Connection.connect({
    host: "fake",
    port: 9092,
    socketFactory: () => Promise.resolve(s),
    versions: PRODUCE_VERSIONS,
  });
  await assert.rejects(
    conn.request(Api.Produce, produceBody([randomValue(200 * 1024)]), { zeroCopy: true }),
    ConnectionError,
  );
  assert.ok(conn.closed);
  assert.ok(s.closed);
  const before = s.written;
  await assert.rejects(
    conn.request(Api.Metadata, { topics: [], allowAutoTopicCreation: false }),
    (e: unknown) => e instanceof ConnectionError || e instanceof ClosedError,
  );
  assert.equal(s.written, before, "nothing more was written after the broken frame");
  assert.equal(s.requests.length, 0);
});

Deno.test("zeroCopy: an acks=0 Produce whose write breaks after close() fails with a typed error", async () => {
  const s = new HoldingSocket((p) => p.length >= BIG);
  const conn = await Connection.connect({
    host: "fake",
    port: 9092,
    socketFactory: () => Promise.resolve(s),
    versions: PRODUCE_VERSIONS,
  });
  const body = { ...produceBody([randomValue(200 * 1024)]), acks: 0 };
  const sent = conn.request(Api.Produce, body, { zeroCopy: true, expectResponse: false });
  await waitFor("a held write", () => s.held.length > 0);
  // Closed by its owner while the batch piece is still being written.
  const closing = conn.close();
  s.release();
  const e = await sent.then(() => undefined, (e: unknown) => e ?? "undefined");
  assert.ok(e instanceof KafkaError, `rejected with ${String(e)}`);
  await closing;
});

Deno.test("zeroCopy: an epoch bump renumbers a batch whose earlier write is held into a copy (KIP-360)", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  const { sockets, hold } = holdBatchWrites(cluster);
  await using producer = new Producer({
    brokers: ["unused:1"],
    cluster,
    lingerMs: 0,
    batchSize: 256 * 1024,
  });
  const round = () =>
    producer.send(
      Array.from({ length: 10 }, () => ({ topic: "t", partition: 0, value: randomValue(20_000) })),
    );
  await round();
  hold(1);
  const first = round();
  await waitFor("a held write", () => sockets.some((s) => s.held.length > 0));
  const stalled = sockets.find((s) => s.held.length > 0)!;
  // The resend on a new connection is refused as out of order: the producer bumps its epoch
  // and renumbers the batch from 0, then sends it again.
  cluster.once(
    "Produce",
    (req) => cluster.produceAnswer(req, () => ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
  );
  stalled.end();
  await first;
  const epochs = cluster.seen("Produce").map((r) => cluster.produced(r)[0]!.batch.producerEpoch);
  assert.equal(epochs.at(-1), 1, `epochs ${epochs}`);
  // The dead connection's write reads the bytes it was given: epoch 0, the old sequence.
  stalled.release();
  assert.deepEqual(stalled.changed, [], "the renumbering changed bytes a write still held");
  // The renumbered copy's CRC was recomputed: every batch the broker read decodes.
  for (const req of cluster.seen("Produce")) {
    const body = req.body as { topicData: { partitionData: { records: Uint8Array }[] }[] };
    for (const t of body.topicData) for (const p of t.partitionData) decodeRecordBatches(p.records);
  }
});

Deno.test("zeroCopy: a producer aborted while a batch's write is held fails the batch and leaves its bytes alone", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  const { sockets, hold } = holdBatchWrites(cluster);
  const producer = new Producer({
    brokers: ["unused:1"],
    cluster,
    lingerMs: 0,
    batchSize: 256 * 1024,
  });
  const round = () =>
    producer.send(
      Array.from({ length: 10 }, () => ({ topic: "t", partition: 0, value: randomValue(20_000) })),
    );
  await round();
  hold(1);
  const held = round();
  await waitFor("a held write", () => sockets.some((s) => s.held.length > 0));
  const stalled = sockets.find((s) => s.held.length > 0)!;
  // The cluster is the test's, so the producer does not close it: closed here, as abort()
  // closes a cluster of its own.
  await Promise.all([producer.abort(new Error("stop")), cluster.close()]);
  await assert.rejects(held);
  assert.equal(producer.metrics().bufferedBytes, 0);
  stalled.release();
  assert.deepEqual(stalled.changed, []);
});

Deno.test("a spliced writer refuses a large input inside a tagged field (its size prefix is shifted in)", () => {
  const schema: MessageSchema = {
    name: "SplicedTaggedRequest",
    apiKey: -1,
    type: "data",
    validVersions: "0",
    flexibleVersions: "0+",
    fields: [
      { name: "plain", type: "bytes", versions: "0+" },
      { name: "extra", type: "bytes", versions: "0+", taggedVersions: "0+", tag: 0 },
    ],
  };
  const enc = encoderFor(schema, 0);
  const big = randomValue(300);
  // A plain bytes field is referenced; the frame's length counts it.
  const w = new Writer().splice(256);
  enc(w, { plain: big, extra: new Uint8Array(1) });
  assert.equal(w.splicedLength, 300);
  // Inside a tagged field it would land past bytes moved to make room for the size: refused.
  assert.throws(
    () => enc(new Writer().splice(256), { plain: new Uint8Array(1), extra: big }),
    RangeError,
  );
  // Without splicing the same body encodes.
  enc(new Writer(), { plain: new Uint8Array(1), extra: big });
});
