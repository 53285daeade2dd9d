/**
 * kafka-go `Conn` (seed 004): `DialLeader` for one partition, `WriteMessages`, then
 * `ReadBatch(10e3, 1e6)` under a read deadline. The protocol layer's `Connection` is the same
 * low level: one socket to one broker, typed requests, no retries.
 *
 * Run: `deno run -A examples/kafkago_conn.ts`
 */

import { Admin } from "../mod.ts";
import { Api, decodeRecordBatches, RecordBatchBuilder } from "../protocol/mod.ts";
import { Connection } from "../net/mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "my-topic";
const partition = 0;
await ensureTopic(topic);

// DialLeader: find the partition's leader and connect to it.
const leader = await (async () => {
  await using admin = new Admin({ brokers });
  const id = (await admin.describeTopic(topic)).partitions[partition]!.leader;
  return (await admin.describeCluster()).brokers.find((b) => b.nodeId === id)!;
})();
await using conn = await Connection.connect({ host: leader.host, port: leader.port });

// conn.SetWriteDeadline(10 s); conn.WriteMessages("one!", "two!", "three!")
const batch = new RecordBatchBuilder({ compression: 0 });
for (const v of ["one!", "two!", "three!"]) {
  batch.append(Date.now(), null, new TextEncoder().encode(v));
}
const produced = await conn.request(Api.Produce, {
  acks: -1,
  timeoutMs: 10_000,
  topicData: [{ name: topic, partitionData: [{ index: partition, records: batch.finish() }] }],
}, { version: Math.min(12, conn.versionFor(Api.Produce)), timeoutMs: 10_000 }); // v13: topic ids
const base = produced.responses[0]!.partitionResponses[0]!.baseOffset;
console.log(`written at offset ${base}`);

// conn.SetReadDeadline(10 s); batch := conn.ReadBatch(10e3, 1e6)
const fetched = await conn.request(Api.Fetch, {
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 1e6,
  topics: [{ topic, partitions: [{ partition, fetchOffset: base, partitionMaxBytes: 1e6 }] }],
}, { version: 12, timeoutMs: 10_000 });
const records = fetched.responses[0]!.partitions[0]!.records;
for (const b of records ? decodeRecordBatches(records).batches : []) {
  for (const r of b.records) {
    const offset = b.baseOffset + BigInt(r.offsetDelta);
    if (offset >= base) console.log(`${offset} ${new TextDecoder().decode(r.value!)}`);
  }
}
