/**
 * The producer's sender, accumulator and idempotence against a scripted cluster
 * (tests/helpers/fake_cluster.ts): the code paths a real broker reaches only by accident (a
 * partition error on one request, a lost producer id, a sequence gap). Protocol behaviour itself
 * is proven against the real broker in tests/integration/producer_*.
 */

import assert from "node:assert/strict";
import { Producer } from "../../producer/producer.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import type {
  InitProducerIdRequest,
  ProduceRequest,
  ProduceResponse,
} from "../../protocol/messages/mod.ts";
import { FakeCluster } from "../helpers/fake_cluster.ts";

function producerOn(cluster: FakeCluster, extra: Record<string, unknown> = {}): Producer {
  return new Producer({ brokers: ["unused:1"], cluster, lingerMs: 0, ...extra });
}

Deno.test("sender: each partition goes to its leader; offsets come back in order", async () => {
  await using cluster = new FakeCluster(2);
  cluster.addTopic("t", 4);
  await using producer = producerOn(cluster);
  const sent = await producer.send(
    [0, 1, 2, 3, 0].map((p) => ({ topic: "t", partition: p, value: `v${p}` })),
  );
  assert.deepEqual(sent.map((m) => [m.partition, m.offset]), [
    [0, 0n],
    [1, 0n],
    [2, 0n],
    [3, 0n],
    [0, 1n],
  ]);
  const produce = cluster.seen("Produce");
  assert.deepEqual(new Set(produce.map((r) => r.node)), new Set([1, 2]));
  for (const req of produce) {
    const parts = cluster.produced(req);
    // Led round-robin: partitions 0 and 2 on node 1, 1 and 3 on node 2.
    for (const p of parts) assert.equal((p.partition % 2) + 1, req.node);
    // At most one batch per partition in one request.
    assert.equal(new Set(parts.map((p) => p.partition)).size, parts.length);
  }
});

Deno.test("accumulator: a partition's batches drain in sequence order, one per request", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  // Room for about two 60-byte records per batch: ten records make several batches.
  await using producer = producerOn(cluster, { batchSize: 200 });
  const value = "x".repeat(60);
  const sent = await producer.send(
    Array.from({ length: 10 }, () => ({ topic: "t", partition: 0, value })),
  );
  assert.deepEqual(sent.map((m) => m.offset), Array.from({ length: 10 }, (_, i) => BigInt(i)));
  const batches = cluster.seen("Produce").flatMap((r) => cluster.produced(r));
  assert.ok(batches.length >= 3, `${batches.length} batches`);
  let next = 0;
  for (const b of batches) {
    assert.equal(b.batch.producerId, cluster.producerId);
    assert.equal(b.batch.producerEpoch, 0);
    assert.equal(b.batch.baseSequence, next);
    next += b.batch.count;
  }
  assert.equal(next, 10);
  for (const r of cluster.seen("Produce")) assert.equal(cluster.produced(r).length, 1);
});

Deno.test("sender: NOT_LEADER_OR_FOLLOWER refreshes metadata and resends to the new leader", async () => {
  await using cluster = new FakeCluster(2);
  const topic = cluster.addTopic("t", 1, [1]);
  // A broker that is not the leader says so, as long as it is not.
  cluster.on(
    "Produce",
    (req) =>
      cluster.produceAnswer(
        req,
        (_t, p) =>
          topic.leaders[p] === req.node ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ),
  );
  await using producer = producerOn(cluster);
  await producer.send({ topic: "t", partition: 0, value: "warm" });
  // Leadership moves to node 2.
  topic.leaders[0] = 2;
  topic.epochs[0] = 1;
  const metadataBefore = cluster.seen("Metadata").length;
  const producedBefore = cluster.seen("Produce").length;
  const m = await producer.send({ topic: "t", partition: 0, value: "a" });
  assert.equal(m.offset, 1n);
  const produce = cluster.seen("Produce").slice(producedBefore);
  assert.equal(produce[0]!.node, 1);
  assert.equal(produce.at(-1)!.node, 2);
  assert.ok(cluster.seen("Metadata").length > metadataBefore);
  // Every try is the same batch, same sequence and epoch: the broker may deduplicate it.
  const tries = produce.map((r) => cluster.produced(r)[0]!.batch);
  for (const b of tries) assert.deepEqual(b, tries[0]);
});

/**
 * Sends one record that is acknowledged, then one whose first answer is `code` (with the log
 * starting at `logStartOffset`); returns each Produce batch's [epoch, base sequence].
 */
async function secondAnswered(code: number, logStartOffset = 0n): Promise<number[][]> {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster);
  await producer.send({ topic: "t", partition: 0, value: "a" });
  cluster.once("Produce", (req) => cluster.produceAnswer(req, () => code, { logStartOffset }));
  const m = await producer.send({ topic: "t", partition: 0, value: "b" });
  assert.equal(m.offset, 1n);
  // An idempotent producer bumps its own epoch: no InitProducerId round trip (Java's
  // bumpIdempotentProducerEpoch).
  assert.equal(cluster.seen("InitProducerId").length, 1);
  return cluster.seen("Produce").map((r) => {
    const b = cluster.produced(r)[0]!.batch;
    return [b.producerEpoch, b.baseSequence];
  });
}

Deno.test("idempotence: OUT_OF_ORDER_SEQUENCE_NUMBER on the next batch bumps the epoch (KIP-360)", async () => {
  // The resent batch starts the sequences again at 0 under the new epoch.
  assert.deepEqual(await secondAnswered(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), [
    [0, 0],
    [0, 1],
    [1, 0],
  ]);
});

Deno.test("idempotence: UNKNOWN_PRODUCER_ID after retention removed the state bumps the epoch", async () => {
  // The log now starts past the last offset this producer wrote: its state went with it.
  assert.deepEqual(await secondAnswered(ErrorCode.UNKNOWN_PRODUCER_ID, 5n), [[0, 0], [0, 1], [
    1,
    0,
  ]]);
});

Deno.test("idempotence: a bump at the last epoch asks for a new producer id", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  cluster.producerEpoch = 32766; // the first InitProducerId hands out epoch 32767
  await using producer = producerOn(cluster);
  await producer.send({ topic: "t", partition: 0, value: "a" });
  cluster.once(
    "Produce",
    (req) => cluster.produceAnswer(req, () => ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
  );
  cluster.once(
    "InitProducerId",
    () => ({ errorCode: ErrorCode.NONE, producerId: 4001n, producerEpoch: 0 }),
  );
  await producer.send({ topic: "t", partition: 0, value: "b" });
  const init = cluster.seen("InitProducerId");
  assert.equal(init.length, 2);
  const again = init[1]!.body as InitProducerIdRequest;
  assert.equal(again.producerId, -1n);
  const batches = cluster.seen("Produce").map((r) => cluster.produced(r)[0]!.batch);
  assert.deepEqual(batches.map((b) => [b.producerId, b.producerEpoch, b.baseSequence]), [
    [4000n, 32767, 0],
    [4000n, 32767, 1],
    [4001n, 0, 0],
  ]);
});

Deno.test("sender: UNKNOWN_SERVER_ERROR fails the record at once; other partitions still land", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 2);
  await using producer = producerOn(cluster, { idempotent: false });
  // Warm up so both partitions travel in one request.
  await producer.send({ topic: "t", partition: 0, value: "warm" });
  cluster.once(
    "Produce",
    (req) =>
      cluster.produceAnswer(
        req,
        (_t, p) => p === 1 ? ErrorCode.UNKNOWN_SERVER_ERROR : ErrorCode.NONE,
      ),
  );
  const [ok, failed] = await Promise.allSettled([
    producer.send({ topic: "t", partition: 0, value: "a" }),
    producer.send({ topic: "t", partition: 1, value: "b" }),
  ]);
  assert.equal(ok.status, "fulfilled");
  assert.equal(failed.status, "rejected");
  const e = (failed as PromiseRejectedResult).reason;
  assert.ok(e instanceof ProtocolError);
  assert.equal(e.code, ErrorCode.UNKNOWN_SERVER_ERROR);
  // Not retried: -1 is a broker's answer, not "no answer".
  const tries = cluster.seen("Produce").flatMap((r) => cluster.produced(r)).filter((p) =>
    p.partition === 1
  );
  assert.equal(tries.length, 1);
});

Deno.test("sender: a batch takes its own topic's and partition's answer; left out, it is retried", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 2);
  await using producer = producerOn(cluster, { idempotent: false });
  await producer.send({ topic: "t", partition: 0, value: "warm" });
  // Answers for another topic's partition 1 and for this topic's partition 0, by name (before
  // v13) and by id (v13+): none of them is the batch's.
  const answer = (req: { body: unknown }, own?: { index: number; baseOffset: bigint }) => {
    const t = (req.body as ProduceRequest).topicData[0]!;
    const entry = (index: number, baseOffset: bigint) => ({
      index,
      errorCode: ErrorCode.NONE,
      baseOffset,
      logAppendTimeMs: -1n,
      logStartOffset: 0n,
      recordErrors: [],
      errorMessage: null,
      currentLeader: { leaderId: -1, leaderEpoch: -1 },
    });
    return {
      responses: [
        { name: "u", topicId: "AAAAAAAAAAAAAAAAAAAABA", partitionResponses: [entry(1, 77n)] },
        {
          name: t.name ?? "",
          topicId: t.topicId ?? "",
          partitionResponses: [entry(0, 88n), ...own ? [entry(own.index, own.baseOffset)] : []],
        },
      ],
      throttleTimeMs: 0,
    } as unknown as Partial<ProduceResponse>;
  };
  cluster.once("Produce", (req) => answer(req));
  cluster.once("Produce", (req) => answer(req, { index: 1, baseOffset: 5n }));
  const sent = await producer.send({ topic: "t", partition: 1, value: "a" });
  assert.equal(sent.offset, 5n);
  const tries = cluster.seen("Produce").flatMap((r) => cluster.produced(r)).filter((p) =>
    p.partition === 1
  );
  assert.equal(tries.length, 2);
  assert.equal(producer.metrics().retries, 1);
});

Deno.test("sender: MESSAGE_TOO_LARGE splits the batch and resends the parts", async () => {
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster);
  cluster.once("Produce", (req) => cluster.produceAnswer(req, () => ErrorCode.MESSAGE_TOO_LARGE));
  const sent = await producer.send(
    Array.from({ length: 4 }, (_, i) => ({ topic: "t", partition: 0, value: `v${i}` })),
  );
  assert.deepEqual(sent.map((m) => m.offset), [0n, 1n, 2n, 3n]);
  const batches = cluster.seen("Produce").flatMap((r) => cluster.produced(r));
  assert.equal(batches[0]!.batch.count, 4);
  const rest = batches.slice(1);
  assert.ok(rest.length >= 2 && rest.every((b) => b.batch.count < 4));
  assert.equal(rest.reduce((n, b) => n + b.batch.count, 0), 4);
  assert.equal(producer.metrics().splits, 1);
});

Deno.test("flush: a long-lived signal keeps no abort listener per flush", async () => {
  // An application's shutdown signal passed to every flush: each flush that waited must take
  // its listener off again, or they pile up (with what they hold) for the signal's lifetime.
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await using producer = producerOn(cluster);
  const ac = new AbortController();
  const signal = ac.signal;
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, l: unknown, o?: unknown) => {
    if (type === "abort") live.add(l);
    add(type, l as EventListener, o as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, l: unknown, o?: unknown) => {
    if (type === "abort") live.delete(l);
    remove(type, l as EventListener, o as EventListenerOptions);
  }) as typeof signal.removeEventListener;
  for (let i = 0; i < 20; i++) {
    const sent = producer.send({ topic: "t", partition: 0, value: `v${i}` });
    await producer.flush({ signal });
    await sent;
  }
  assert.equal(live.size, 0, `${live.size} abort listeners left on the signal after 20 flushes`);
});
