/**
 * A broker restart in the middle of producing 200k records (idempotent, acks=all) leaves every
 * record present exactly once and in order within each partition.
 *
 * It runs on the three-node cluster (`trio()`), restarting (SIGTERM, then start) the leader of
 * partition 0: restarting the shared single broker would break every other test running at the
 * same time, while on the trio only this test's topic is disturbed, and the restart also moves
 * leadership, so the producer must follow NOT_LEADER_OR_FOLLOWER to the new leaders (metadata
 * refresh) as well as reconnect. The topic has replication factor 3 and min.insync.replicas 2.
 */

import assert from "node:assert/strict";
import { trio, trioWanted } from "../helpers/broker.ts";
import { Cluster } from "../../cluster/cluster.ts";
import { Producer, type ProducerRecord } from "../../producer/mod.ts";
import { createTopic, readBack, topicName } from "../peers/readback.ts";

Deno.test({
  name: "restart: a broker restart while producing 200k records loses and duplicates nothing",
  ignore: !trioWanted(),
  async fn() {
    const t = (await trio())!;
    if (!t.managed) return; // an external cluster: no node control
    const brokers = t.bootstrap();
    const topic = topicName("restart");
    const partitions = 3;
    await createTopic(brokers, topic, partitions, { "min.insync.replicas": "2" });
    let leader: number;
    {
      await using c = new Cluster({ brokers });
      await c.refreshMetadata([topic]);
      leader = c.leaderFor(topic, 0);
    }
    const total = 200_000;
    const p = new Producer({
      brokers,
      defaultTopic: topic,
      acks: "all",
      requestTimeoutMs: 15_000,
      deliveryTimeoutMs: 180_000,
    });
    let i = 0;
    let restart: Promise<void> | undefined;
    const source = new ReadableStream<ProducerRecord>({
      async pull(c) {
        // Paced (~10k records/s) so that the restart lands in the middle of the stream.
        await new Promise((r) => setTimeout(r, 10));
        for (let k = 0; k < 100 && i < total; k++, i++) {
          c.enqueue({ partition: i % partitions, value: `${i}` });
        }
        if (i === 30_000) restart = t.restartNode(leader);
        if (i >= total) c.close();
      },
    }, { highWaterMark: 0 });
    await source.pipeTo(p.writable);
    const m = p.metrics();
    await p.close();
    await restart;
    assert.equal(m.recordsFailed, 0);
    assert.equal(m.recordsSent, total);
    assert.ok(m.retries > 0, "the restart made the producer retry");
    const read = await readBack(brokers, topic, { timeoutMs: 300_000 });
    const seen = new Uint8Array(total);
    const last = new Array(partitions).fill(-1);
    const dec = new TextDecoder();
    let outOfOrder = 0;
    for (const r of read) {
      const v = Number(dec.decode(r.value!));
      seen[v]!++;
      assert.equal(r.partition, v % partitions);
      if (v <= last[r.partition]) outOfOrder++;
      last[r.partition] = v;
    }
    assert.equal(outOfOrder, 0, "order within each partition");
    assert.equal(seen.filter((x) => x === 0).length, 0, "every record is present");
    assert.equal(seen.filter((x) => x > 1).length, 0, "no record is duplicated");
    assert.equal(read.length, total);
  },
});

Deno.test({
  name:
    "restart: batches of 256 KiB (written from their own buffers, zeroCopy) through a broker restart lose and duplicate nothing",
  ignore: !trioWanted(),
  async fn() {
    const t = (await trio())!;
    if (!t.managed) return;
    const brokers = t.bootstrap();
    const topic = topicName("restart-big");
    const partitions = 3;
    await createTopic(brokers, topic, partitions, { "min.insync.replicas": "2" });
    let leader: number;
    {
      await using c = new Cluster({ brokers });
      await c.refreshMetadata([topic]);
      leader = c.leaderFor(topic, 0);
    }
    // 1 KiB records, 256 KiB batches: every full batch goes to the socket as its own piece.
    const total = 40_000;
    const filler = new Uint8Array(1020);
    for (let k = 0; k < filler.length; k++) filler[k] = (k * 31 + 7) & 0xff;
    const p = new Producer({
      brokers,
      defaultTopic: topic,
      acks: "all",
      batchSize: 256 * 1024,
      // ~330 KiB per partition arrive within a linger: the batches fill.
      lingerMs: 100,
      requestTimeoutMs: 15_000,
      deliveryTimeoutMs: 180_000,
    });
    let i = 0;
    let restart: Promise<void> | undefined;
    const source = new ReadableStream<ProducerRecord>({
      async pull(c) {
        await new Promise((r) => setTimeout(r, 10));
        for (let k = 0; k < 100 && i < total; k++, i++) {
          const value = new Uint8Array(4 + filler.length);
          new DataView(value.buffer).setUint32(0, i);
          value.set(filler, 4);
          c.enqueue({ partition: i % partitions, value });
        }
        if (i === 6_000) restart = t.restartNode(leader);
        if (i >= total) c.close();
      },
    }, { highWaterMark: 0 });
    await source.pipeTo(p.writable);
    const m = p.metrics();
    await p.close();
    await restart;
    assert.equal(m.recordsFailed, 0);
    assert.equal(m.recordsSent, total);
    assert.ok(m.retries > 0, "the restart made the producer retry");
    const read = await readBack(brokers, topic, { timeoutMs: 300_000 });
    const seen = new Uint8Array(total);
    const last = new Array(partitions).fill(-1);
    let outOfOrder = 0;
    let corrupt = 0;
    for (const r of read) {
      const bytes = r.value!;
      const v = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
      for (let k = 0; k < filler.length; k++) if (bytes[4 + k] !== filler[k]) corrupt++;
      seen[v]!++;
      assert.equal(r.partition, v % partitions);
      if (v <= last[r.partition]) outOfOrder++;
      last[r.partition] = v;
    }
    assert.equal(corrupt, 0, "every record's bytes intact");
    assert.equal(outOfOrder, 0, "order within each partition");
    assert.equal(seen.filter((x) => x === 0).length, 0, "every record is present");
    assert.equal(seen.filter((x) => x > 1).length, 0, "no record is duplicated");
    assert.equal(read.length, total);
  },
});
