/**
 * Compression workers (`compressionWorkers`) against the real broker: large batches are
 * compressed off the producer's thread and still arrive exactly once, in order, with
 * consecutive sequence numbers, for every codec; batches the broker finds too large are split
 * after a worker compressed them; transactions commit and abort them; closing and aborting
 * while workers hold batches settle everything and leave no worker running (the sanitizers
 * would see one).
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import { type CompressionName, Producer, type ProducerRecord } from "../../producer/mod.ts";
import { ClosedError } from "../../protocol/errors.ts";
import { createTopic, fetchBatches, hex, readBack, topicName } from "../peers/readback.ts";

const b = await broker();
const brokers = b.bootstrap();
const enc = new TextEncoder();

/**
 * Waits until one of the producer's compression workers has loaded: a worker starts with the
 * first batch large enough, and loading its module (transpiled on first use, slow on a fresh
 * checkout) may outlast a whole test's sends, which would then all be compressed inline.
 */
async function workersReady(p: Producer): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (p.metrics().compressionWorkersReady === 0) {
    assert.ok(p.metrics().compressionWorkersRunning > 0, "a large batch started a worker");
    assert.ok(Date.now() < deadline, "a compression worker loaded within 60 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** 1 KiB-ish values: every other one compressible, the rest random upper-case letters. */
function values(n: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) out.push(enc.encode(`{"seq":${seed + i},"pad":"${"x".repeat(i % 900)}"}`));
    else {
      out.push(crypto.getRandomValues(new Uint8Array(1000 + (i % 48))).map((v) => 65 + v % 26));
    }
  }
  return out;
}

Deno.test("compression workers: every codec reads back exactly once, in order, sequences consecutive", async () => {
  const codecs: [CompressionName, number][] = [["gzip", 1], ["snappy", 2], ["lz4", 3], [
    "zstd",
    4,
  ]];
  for (const [compression, id] of codecs) {
    const topic = topicName(`prod-cw-${compression}`);
    await createTopic(brokers, topic, 1);
    const vals = values(1500, id * 10_000);
    let workerBatches = 0;
    {
      await using p = new Producer({
        brokers,
        defaultTopic: topic,
        compression,
        compressionWorkers: 2,
        batchSize: 200_000,
        lingerMs: 20,
      });
      // The first batches may be compressed inline while the workers start.
      const half = vals.length / 2;
      await ReadableStream.from(vals.slice(0, half).map((value, i) => ({ key: `${i}`, value })))
        .pipeTo(p.writable, { preventClose: true });
      await p.flush();
      await workersReady(p);
      const sends = vals.slice(half).map((value, i) => p.send({ key: `${half + i}`, value }));
      await Promise.all(sends);
      workerBatches = p.metrics().workerCompressedBatches;
    }
    assert.ok(workerBatches > 0, `${compression}: some batches were compressed by workers`);
    const read = await readBack(brokers, topic);
    assert.equal(read.length, vals.length, compression);
    read.forEach((r, i) => {
      assert.equal(r.offset, BigInt(i));
      assert.equal(new TextDecoder().decode(r.key!), `${i}`, `${compression} key ${i}`);
      assert.equal(hex(r.value), hex(vals[i]!), `${compression} value ${i}`);
    });
    const batches = await fetchBatches(brokers, topic, 0);
    let seq = 0;
    for (const batch of batches) {
      assert.equal(batch.compression, id, `${compression} codec id`);
      assert.equal(batch.baseSequence, seq, `${compression} sequence`);
      seq += batch.count;
    }
    assert.ok(batches.some((x) => x.count > 100), `${compression}: large batches`);
  }
});

Deno.test("compression workers: a batch the broker finds too large is split after a worker compressed it", async () => {
  const topic = topicName("prod-cw-split");
  // Random letters barely shrink under lz4: a 600 KB batch stays far above 150 KB.
  await createTopic(brokers, topic, 1, { "max.message.bytes": "150000" });
  const vals = values(2400, 7).map((v, i) => i % 2 ? v : v.map((x) => 65 + (x * 7 + i) % 26));
  let m;
  {
    await using p = new Producer({
      brokers,
      defaultTopic: topic,
      compression: "lz4",
      compressionWorkers: 1,
      batchSize: 600_000,
      lingerMs: 50,
    });
    // A first batch of ~200 KB starts the worker; the rest waits until it has loaded.
    const first = 300;
    await p.send(vals.slice(0, first).map((value, i) => ({ key: `${i}`, value })));
    await workersReady(p);
    await ReadableStream.from(vals.slice(first).map((value, i) => ({ key: `${first + i}`, value })))
      .pipeTo(p.writable);
    m = p.metrics();
  }
  assert.ok(m.splits > 0, "batches were split");
  assert.ok(m.workerCompressedBatches > 0, "after a worker compressed them");
  assert.equal(m.recordsFailed, 0);
  const read = await readBack(brokers, topic);
  assert.equal(read.length, vals.length);
  read.forEach((r, i) => assert.equal(hex(r.value), hex(vals[i]!), `value ${i}`));
  let seq = 0;
  for (const batch of await fetchBatches(brokers, topic, 0)) {
    assert.equal(batch.baseSequence, seq);
    seq += batch.count;
  }
});

Deno.test("compression workers: transactions commit and abort worker-compressed batches", async () => {
  const topic = topicName("prod-cw-txn");
  await createTopic(brokers, topic, 2);
  const committed = values(800, 1);
  const aborted = values(800, 2);
  {
    await using p = new Producer({
      brokers,
      defaultTopic: topic,
      transactionalId: topicName("cw-txn"),
      compression: "zstd",
      compressionWorkers: 2,
      batchSize: 131_072,
    });
    await p.initTransactions();
    const first = committed.length / 4;
    await p.transaction(async (tx) => {
      await tx.send(
        committed.slice(0, first).map((value, i) => ({ key: `c${i}`, value, partition: i % 2 })),
      );
    });
    // The workers started with the first large batch: let them load.
    await workersReady(p);
    await p.transaction(async (tx) => {
      await tx.send(
        committed.slice(first).map((value, i) => ({
          key: `c${first + i}`,
          value,
          partition: (first + i) % 2,
        })),
      );
    });
    p.beginTransaction();
    await p.send(aborted.map((value, i) => ({ key: `a${i}`, value, partition: i % 2 })));
    await p.abortTransaction();
    await p.transaction(async (tx) => {
      await tx.send({ key: "last", value: "after the abort", partition: 0 });
    });
    assert.ok(p.metrics().workerCompressedBatches > 0);
  }
  const read = await readBack(brokers, topic, { isolation: "read_committed" });
  const keys = read.map((r) => new TextDecoder().decode(r.key!));
  assert.equal(keys.length, committed.length + 1);
  assert.ok(keys.every((k) => !k.startsWith("a")), "nothing of the aborted transaction");
  for (const part of [0, 1]) {
    const mine = read.filter((r) => r.partition === part && r.key![0] === 0x63);
    const expected = committed.map((_, i) => i).filter((i) => i % 2 === part);
    assert.deepEqual(
      mine.map((r) => new TextDecoder().decode(r.key!)),
      expected.map((i) => `c${i}`),
    );
  }
});

Deno.test("compression workers: abort while workers hold batches settles every send; close delivers all", async () => {
  const topic = topicName("prod-cw-abort");
  await createTopic(brokers, topic, 4);
  const value = values(2, 3)[1]!;
  const records: ProducerRecord[] = Array.from({ length: 20_000 }, () => ({ value }));
  // Abort: whatever was not acknowledged fails with ClosedError; nothing hangs.
  const p = new Producer({
    brokers,
    defaultTopic: topic,
    compression: "zstd",
    compressionLevel: 9,
    compressionWorkers: 2,
    batchSize: 1 << 20,
  });
  // A first large batch starts the workers; give them time to load.
  await p.send(records.slice(0, 300));
  await workersReady(p);
  const settled = Promise.allSettled(records.map((r) => p.send(r)));
  // The loop above closed batches and handed them to the workers; pull the plug now.
  await p.abort();
  const outcomes = await settled;
  const failed = outcomes.filter((o) => o.status === "rejected");
  for (const f of failed) assert.ok((f as PromiseRejectedResult).reason instanceof ClosedError);
  assert.ok(failed.length > 0, "the abort caught batches on their way");
  assert.equal(p.metrics().workerCompressedBatches, 0, "no batch came back before the abort");
  assert.equal(p.metrics().compressionWorkersRunning, 0, "the workers were terminated");
  assert.equal(p.metrics().bufferedBytes, 0, "the abort gave the whole budget back");
  // Close: everything accepted is delivered.
  const q = new Producer({
    brokers,
    defaultTopic: topic,
    compression: "lz4",
    compressionWorkers: 2,
    batchSize: 1 << 20,
  });
  const delivered = records.map((r) => q.send(r));
  await q.close();
  const mds = await Promise.all(delivered);
  assert.equal(mds.length, records.length);
  assert.equal(q.metrics().recordsSent, records.length);
  assert.equal(q.metrics().compressionWorkersRunning, 0, "the workers were terminated");
  assert.equal(q.metrics().bufferedBytes, 0, "the close gave the whole budget back");
});

Deno.test("compression workers: one busy worker, batches past its two compressed inline, order and sequences hold per partition", async () => {
  // A worker has at most two batches at a time; one that fills meanwhile is compressed on the
  // producer's thread when it is sent. It must never overtake its partition's earlier batch
  // still at the worker (KIP-98: sequences go out in order), and the budget comes back whole.
  for (const [compression, level] of [["zstd", 12], ["lz4", undefined]] as const) {
    const topic = topicName(`prod-cw-busy-${compression}`);
    await createTopic(brokers, topic, 3);
    const vals = values(9000, 11);
    let m;
    {
      await using p = new Producer({
        brokers,
        defaultTopic: topic,
        compression,
        ...level !== undefined && { compressionLevel: level },
        compressionWorkers: 1,
        batchSize: 131_072,
        bufferMemory: 2 << 20,
        lingerMs: 5,
      });
      await p.send(
        vals.slice(0, 600).map((value, i) => ({ key: `${i}`, value, partition: i % 3 })),
      );
      await workersReady(p);
      await ReadableStream.from(
        vals.slice(600).map((value, j) => ({ key: `${600 + j}`, value, partition: (600 + j) % 3 })),
      ).pipeTo(p.writable);
      m = p.metrics();
    }
    assert.equal(m.recordsFailed, 0, compression);
    assert.equal(m.bufferedBytes, 0, `${compression}: the budget came back whole`);
    assert.ok(m.workerCompressedBatches > 0, `${compression}: the worker compressed batches`);
    assert.ok(
      m.workerCompressedBatches < m.batchesSent - 3,
      `${compression}: ${m.workerCompressedBatches} of ${m.batchesSent} by the worker, the rest inline`,
    );
    const read = await readBack(brokers, topic);
    assert.equal(read.length, vals.length, compression);
    for (const part of [0, 1, 2]) {
      const mine = read.filter((r) => r.partition === part);
      const expected = vals.map((_, i) => i).filter((i) => i % 3 === part);
      assert.equal(mine.length, expected.length);
      mine.forEach((r, k) => {
        const i = expected[k]!;
        assert.equal(new TextDecoder().decode(r.key!), `${i}`, `${compression} p${part} #${k}`);
        assert.equal(hex(r.value), hex(vals[i]!), `${compression} value ${i}`);
      });
      let seq = 0;
      for (const batch of await fetchBatches(brokers, topic, part)) {
        assert.equal(batch.baseSequence, seq, `${compression} p${part} sequence`);
        seq += batch.count;
      }
      assert.equal(seq, expected.length);
    }
  }
});
