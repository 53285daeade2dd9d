/**
 * The consumer with this project's transactional producer:
 * - read_committed hides what our producer aborted; read_uncommitted shows it; neither shows
 *   the transaction markers;
 * - consume-transform-produce: offsets committed in the producer's transaction with
 *   `consumer.groupMetadata()` (KIP-447 checks the member and its generation / epoch), for a
 *   classic and a KIP-848 group.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { Producer } from "../../producer/mod.ts";
import { BOOTSTRAP, createTopic, produce, take, text, uniq } from "../helpers/consumer_testkit.ts";
import { brokerOffer, skipUnless } from "../helpers/broker_offer.ts";

async function readAll(
  topic: string,
  isolationLevel: "read_committed" | "read_uncommitted",
): Promise<ConsumerRecord[]> {
  await using c = new Consumer({ brokers: BOOTSTRAP, isolationLevel });
  c.assign([{ topic, partition: 0, offset: "earliest", end: "latest" }]);
  const out: ConsumerRecord[] = [];
  for await (const r of c) out.push(r);
  return out;
}

Deno.test("txn: read_committed skips what our transactional producer aborted", async () => {
  const topic = uniq("our-txn");
  await createTopic(topic, 1);
  {
    await using p = new Producer({
      brokers: BOOTSTRAP,
      transactionalId: uniq("tx"),
      defaultTopic: topic,
    });
    await p.initTransactions();
    let n = 0;
    for (const commit of [true, false, true, false, true]) {
      p.beginTransaction();
      for (let i = 0; i < 4; i++) {
        await p.send({ partition: 0, value: `${commit ? "c" : "a"}-${n++}` });
      }
      if (commit) await p.commitTransaction();
      else await p.abortTransaction();
    }
  }
  const committed = (await readAll(topic, "read_committed")).map((r) => text(r.value));
  assert.deepEqual(committed, [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19].map((i) => `c-${i}`));
  const all = (await readAll(topic, "read_uncommitted")).map((r) => text(r.value));
  assert.equal(all.length, 20);
  assert.equal(all.filter((v) => v!.startsWith("a-")).length, 8);
});

const offer = await brokerOffer();

for (const groupProtocol of ["classic", "consumer"] as const) {
  const name =
    `txn: consume-transform-produce commits offsets in the transaction (${groupProtocol})`;
  // KIP-848 groups skip, saying why, on a broker without the protocol (3.x by default).
  const ignore = groupProtocol === "consumer" &&
    skipUnless(offer.consumerGroupProtocol, name, offer.why.consumerGroupProtocol);
  Deno.test(name, { ignore }, async () => {
    const input = uniq("eos-in");
    const output = uniq("eos-out");
    const groupId = uniq("eos");
    await createTopic(input, 1);
    await createTopic(output, 1);
    await produce(input, 0, Array.from({ length: 20 }, (_, i) => ({ value: `${i}` })), {
      batchSize: 5,
    });
    {
      await using consumer = new Consumer({
        brokers: BOOTSTRAP,
        groupId,
        topics: [input],
        groupProtocol,
        autoCommit: false,
        autoOffsetReset: "earliest",
        heartbeatIntervalMs: 500,
      });
      await using producer = new Producer({
        brokers: BOOTSTRAP,
        transactionalId: uniq("eos-tx"),
        defaultTopic: output,
      });
      await producer.initTransactions();
      for (let round = 0; round < 4; round++) {
        const batch = await take(consumer, 5);
        producer.beginTransaction();
        for (const r of batch) await producer.send({ partition: 0, value: `x${text(r.value)}` });
        const last = batch.at(-1)!;
        await producer.sendOffsetsToTransaction(
          [{ topic: input, partition: 0, offset: last.offset + 1n, leaderEpoch: last.leaderEpoch }],
          consumer.groupMetadata(),
        );
        await producer.commitTransaction();
      }
      const meta = consumer.groupMetadata();
      assert.equal(meta.groupId, groupId);
      assert.ok(meta.generationId > 0 && meta.memberId !== "");
    }
    await using check = new Consumer({ brokers: BOOTSTRAP, groupId });
    const [c] = await check.committed([{ topic: input, partition: 0 }]);
    assert.equal(c!.offset, 20n);
    const out = (await readAll(output, "read_committed")).map((r) => text(r.value));
    assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => `x${i}`));
  });
}
