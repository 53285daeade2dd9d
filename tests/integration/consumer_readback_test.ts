/**
 * Read-back: what independent producers wrote (Java's ConsoleProducer, and kcat/librdkafka
 * when it is installed), with each codec, is read back exactly by our consumer: offsets, keys,
 * values, headers, timestamps and their type, compared with what Kafka's Java consumer reads.
 * The raw batches are also fetched and decoded to prove each codec was really used.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { Api } from "../../protocol/apis.ts";
import { Connection } from "../../net/connection.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import { runJavaTool } from "../helpers/broker.ts";
import { javaRead, type JavaRecord } from "../helpers/java_client.ts";
import { kcatTest } from "../helpers/tools.ts";
import { b, BOOTSTRAP, createTopic, kcat, text, uniq } from "../helpers/consumer_testkit.ts";

const CODECS = [["none", 0], ["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const;

/** The codecs of the batches in a partition, from a raw fetch. */
async function codecsOf(topic: string): Promise<Set<number>> {
  const [host, port] = BOOTSTRAP[0]!.split(":");
  const conn = await Connection.connect({ host: host!, port: Number(port) });
  try {
    const res = await conn.request(Api.Fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 10_000_000,
      topics: [{
        topic,
        partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 10_000_000 }],
      }],
    }, { version: 12 });
    const records = res.responses[0]!.partitions[0]!.records!;
    return new Set(decodeRecordBatches(records).batches.map((x) => x.compression));
  } finally {
    await conn.close();
  }
}

async function readAll(topic: string): Promise<ConsumerRecord[]> {
  await using consumer = new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: 1 << 20 });
  consumer.assign([{ topic, partition: 0, offset: "earliest", end: "latest" }]);
  const out: ConsumerRecord[] = [];
  for await (const r of consumer) out.push(r);
  return out;
}

function compare(ours: ConsumerRecord[], ref: JavaRecord[]): void {
  assert.equal(ours.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    const a = ours[i]!;
    const e = ref[i]!;
    assert.equal(a.offset, e.offset, `offset at ${i}`);
    assert.equal(a.timestamp, e.timestamp, `timestamp at ${i}`);
    assert.equal(a.timestampType, TIMESTAMP_TYPES[e.timestampType], `timestamp type at ${i}`);
    assert.deepEqual(a.key, e.key, `key at ${i}`);
    assert.deepEqual(a.value, e.value, `value at ${i}`);
    assert.deepEqual(
      a.headers.map((h) => [h.key, h.value]),
      e.headers.map((h) => [h.key, h.value]),
      `headers at ${i}`,
    );
    assert.ok(a.leaderEpoch >= 0, "leader epoch");
  }
}

/** Our names for Java's timestamp types. */
const TIMESTAMP_TYPES: Record<string, string> = {
  CreateTime: "create",
  LogAppendTime: "log-append",
};

/** Reads the topic back with ours and with Java's consumer, compares, and checks the codec. */
async function check(topic: string, count: number, codec: number, name: string) {
  const ref = await javaRead(BOOTSTRAP, topic, { broker: b });
  assert.equal(ref.length, count);
  const ours = await readAll(topic);
  compare(ours, ref);
  const codecs = await codecsOf(topic);
  assert.deepEqual([...codecs], [codec], `batches were written with ${name}`);
  return ours;
}

for (const [name, codec] of CODECS) {
  await kcatTest(`readback: kcat (librdkafka) records with ${name} compression`, async () => {
    const topic = uniq(`readback-kcat-${name}`);
    await createTopic(topic, 1);
    // kcat (librdkafka): the same headers on every record, keyed lines.
    const lines = Array.from(
      { length: 150 },
      (_, i) => `key-${i}:value ${i} ${"x".repeat(i % 40)}`,
    );
    await kcat([
      "-P",
      "-b",
      BOOTSTRAP[0]!,
      "-t",
      topic,
      "-p",
      "0",
      "-K:",
      "-H",
      "origin=kcat",
      "-H",
      "n=1",
      "-X",
      `compression.codec=${name}`,
      "-X",
      "linger.ms=50",
    ], lines.join("\n") + "\n");
    const ours = await check(topic, 150, codec, name);
    assert.equal(text(ours[7]!.key), "key-7");
    assert.deepEqual(ours[7]!.headers.map((h) => [h.key, text(h.value)]), [["origin", "kcat"], [
      "n",
      "1",
    ]]);
  });

  Deno.test(`readback: Java ConsoleProducer records with ${name} compression`, async () => {
    const topic = uniq(`readback-${name}`);
    await createTopic(topic, 1);
    // Java: per-record headers (one without value) and keys.
    const javaLines = Array.from(
      { length: 150 },
      (_, i) => `origin:java,i:${i},${i % 2 ? "flag:NULL" : "h:v"}\tjkey-${i}\tjava value ${i}`,
    );
    const r = await runJavaTool("ConsoleProducer", [
      "--bootstrap-server",
      BOOTSTRAP.join(","),
      "--topic",
      topic,
      "--compression-codec",
      name,
      "--property",
      "parse.key=true",
      "--property",
      "key.separator=\t",
      "--property",
      "parse.headers=true",
      "--property",
      "null.marker=NULL",
      "--producer-property",
      "linger.ms=50",
    ], { broker: b, stdin: javaLines.join("\n") + "\n", timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    const ours = await check(topic, 150, codec, name);
    // A header without a value is null, not empty.
    const flagged = ours.find((x) => x.headers.some((h) => h.key === "flag"))!;
    assert.ok(flagged, "a Java header without a value");
    assert.equal(flagged.headers.find((h) => h.key === "flag")!.value, null);
  });
}
