/**
 * Leader changes on the three-node cluster, without stopping any broker (others share it):
 * partition leadership is moved with a replica reorder and a preferred leader election while
 * our consumer reads and our producer writes. The consumer follows the new leaders (fetch
 * errors, KIP-951 hints or metadata) and reads every record exactly once and in order, and the
 * leader epoch it reports grows.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { Producer } from "../../producer/mod.ts";
import { Api } from "../../protocol/apis.ts";
import { Connection } from "../../net/connection.ts";
import { KafkaError } from "../../protocol/errors.ts";
import { trio, trioWanted } from "../helpers/broker.ts";
import { uniq } from "../helpers/consumer_testkit.ts";

const PARTITIONS = 3;

async function admin<T>(bootstrap: string, fn: (c: Connection) => Promise<T>): Promise<T> {
  const [host, port] = bootstrap.split(":");
  const conn = await Connection.connect({ host: host!, port: Number(port) });
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

async function leaders(conn: Connection, topic: string): Promise<number[]> {
  const md = await conn.request(Api.Metadata, {
    topics: [{ name: topic, topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    allowAutoTopicCreation: false,
  });
  return (md.topics[0]?.partitions ?? []).sort((a, b) => a.partitionIndex - b.partitionIndex)
    .map((p) => p.leaderId);
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new KafkaError(`timed out waiting for ${what}`);
}

Deno.test({
  name: "failover: the consumer follows leader changes, every record once and in order",
  ignore: !trioWanted(),
  async fn() {
    const t = (await trio())!;
    const bootstrap = t.bootstrap("PLAINTEXT");
    const [n1, n2, n3] = t.nodeIds.length >= 3 ? t.nodeIds : [1, 2, 3];
    const topic = uniq("failover");
    await admin(bootstrap[0]!, async (conn) => {
      const res = await conn.request(Api.CreateTopics, {
        topics: [{
          name: topic,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: Array.from({ length: PARTITIONS }, (_, p) => ({
            partitionIndex: p,
            brokerIds: [n1!, n2!, n3!],
          })),
          configs: [{ name: "min.insync.replicas", value: "2" }],
        }],
        timeoutMs: 30_000,
      });
      assert.equal(res.topics[0]!.errorCode, 0, res.topics[0]!.errorMessage ?? "");
      await until(
        () => leaders(conn, topic),
        (l) => l.length === PARTITIONS && l.every((x) => x === n1),
        "leaders",
      );
    });

    await using producer = new Producer({ brokers: bootstrap, defaultTopic: topic, acks: "all" });
    const produced = new Array<number>(PARTITIONS).fill(0);
    const write = async (n: number) => {
      for (let p = 0; p < PARTITIONS; p++) {
        await producer.send(
          Array.from(
            { length: n },
            (_, i) => ({ partition: p, value: `${p}:${produced[p]! + i}` }),
          ),
        );
        produced[p]! += n;
      }
    };
    await write(500);

    await using consumer = new Consumer({
      brokers: bootstrap,
      maxBufferedBytes: 1 << 20,
      maxPartitionFetchBytes: 4096, // many small fetches: some hit the old leader
    });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic,
      partition,
      offset: "earliest" as const,
    })));
    const got: ConsumerRecord[][] = Array.from({ length: PARTITIONS }, () => []);
    let total = 0;
    const reader = consumer.getReader();
    const readSome = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const { value } = await reader.read();
        got[value!.partition]!.push(value!);
        total++;
        if (total % 50 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    };
    await readSome(600);

    // Move every partition's leadership to n2 (reorder the replicas, elect the preferred).
    await admin(bootstrap[0]!, async (conn) => {
      const r = await conn.request(Api.AlterPartitionReassignments, {
        timeoutMs: 30_000,
        topics: [{
          name: topic,
          partitions: Array.from({ length: PARTITIONS }, (_, p) => ({
            partitionIndex: p,
            replicas: [n2!, n1!, n3!],
          })),
        }],
      });
      assert.equal(r.errorCode, 0, r.errorMessage ?? "");
      await until(
        () =>
          conn.request(Api.ElectLeaders, {
            electionType: 0,
            topicPartitions: [{
              topic,
              partitions: Array.from({ length: PARTITIONS }, (_, p) => p),
            }],
            timeoutMs: 30_000,
          }).then(() => leaders(conn, topic)),
        (l) => l.every((x) => x === n2),
        "the new leaders",
      );
    });
    await write(300);
    const want = produced.reduce((a, b) => a + b, 0);
    await readSome(want - total);
    reader.releaseLock();

    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = got[p]!.map((r) => r.offset);
      assert.deepEqual(offsets, Array.from({ length: produced[p]! }, (_, i) => BigInt(i)));
      const values = got[p]!.map((r) => new TextDecoder().decode(r.value!));
      assert.deepEqual(values, Array.from({ length: produced[p]! }, (_, i) => `${p}:${i}`));
      const epochs = got[p]!.map((r) => r.leaderEpoch);
      assert.ok(epochs.at(-1)! > epochs[0]!, `partition ${p}: the leader epoch grew`);
    }
  },
});
