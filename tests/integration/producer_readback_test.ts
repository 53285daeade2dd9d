/**
 * Every producer option, checked by reading the records back with an independent consumer
 * (Kafka's Java consumer) byte-exactly: keys, values, headers (ordered, duplicates), timestamps,
 * partitions and offsets; and, through our own Fetch, what a consumer cannot show (codec,
 * producer id/epoch/sequence).
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import {
  type CompressionName,
  consistentPartition,
  javaPartitionForKey,
  type PartitionerName,
  Producer,
  type ProducerOptions,
  type ProducerRecord,
  type RecordMetadata,
  saramaHashPartition,
  saramaReferenceHashPartition,
} from "../../producer/mod.ts";
import {
  createTopic,
  fetchBatches,
  hex,
  readBack,
  type ReadRecord,
  topicName,
} from "../peers/readback.ts";

const b = await broker();
const brokers = b.bootstrap();
const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(v: Uint8Array | string | null | undefined): Uint8Array | null {
  return v === null || v === undefined ? null : typeof v === "string" ? enc.encode(v) : v;
}

function byOffset(records: ReadRecord[]): Map<string, ReadRecord> {
  return new Map(records.map((r) => [`${r.partition}@${r.offset}`, r]));
}

Deno.test("producer: keys, values, headers, partitions and timestamps read back exactly", async () => {
  const topic = topicName("prod-fields");
  await createTopic(brokers, topic, 3);
  const all = new Uint8Array(256).map((_, i) => i);
  const records: ProducerRecord[] = [
    {
      key: "k1",
      value: "plain text",
      headers: [{ key: "a", value: "1" }, { key: "b", value: "2" }, { key: "a", value: "3" }],
    },
    { key: all, value: all.slice().reverse() },
    { key: null, value: "no key", partition: 2 },
    { key: "tomb", value: null },
    { key: "", value: "" },
    { key: "ts-number", value: "x", timestamp: 1_600_000_000_123 },
    { key: "ts-date", value: "y", timestamp: new Date(1_700_000_000_456) },
    {
      key: "explicit",
      value: "z",
      partition: 0,
      headers: [{ key: "utf8-ключ", value: "значение" }],
    },
    { key: "bin-hdr", value: "w", headers: [{ key: "h", value: new Uint8Array([0x41, 0x42]) }] },
  ];
  const before = Date.now();
  let mds: RecordMetadata[];
  {
    await using p = new Producer({ brokers, defaultTopic: topic });
    mds = await p.send(records);
  }
  const read = byOffset(await readBack(brokers, topic));
  assert.equal(read.size, records.length);
  records.forEach((r, i) => {
    const md = mds[i]!;
    assert.equal(md.topic, topic);
    const got = read.get(`${md.partition}@${md.offset}`);
    assert.ok(got, `record ${i} at ${md.partition}@${md.offset} not found`);
    assert.equal(hex(got.key), hex(bytes(r.key)), `key of ${i}`);
    assert.equal(hex(got.value), hex(bytes(r.value)), `value of ${i}`);
    if (r.partition !== undefined) assert.equal(md.partition, r.partition);
    else if (r.key !== null && r.key !== undefined) {
      assert.equal(md.partition, javaPartitionForKey(bytes(r.key)!, 3), `partition of ${i}`);
    }
    const ts = r.timestamp === undefined
      ? undefined
      : typeof r.timestamp === "number"
      ? r.timestamp
      : r.timestamp.getTime();
    if (ts !== undefined) assert.equal(got.timestamp, ts);
    else assert.ok(got.timestamp >= before && got.timestamp <= Date.now(), `timestamp of ${i}`);
    assert.equal(md.timestamp, got.timestamp);
    const headers = (r.headers ?? []).map((h) =>
      `${h.key}=${typeof h.value === "string" ? h.value : dec.decode(h.value!)}`
    ).join(",");
    assert.equal(got.headers, headers, `headers of ${i}`);
  });
});

Deno.test("producer: every codec (with levels) reads back, and the batches carry it", async () => {
  const codecs: [CompressionName, number | undefined, number][] = [
    ["none", undefined, 0],
    ["gzip", 9, 1],
    ["snappy", undefined, 2],
    ["lz4", undefined, 3],
    ["zstd", 3, 4],
  ];
  for (const [compression, level, id] of codecs) {
    const topic = topicName(`prod-${compression}`);
    await createTopic(brokers, topic, 1);
    const values: Uint8Array[] = [];
    for (let i = 0; i < 500; i++) {
      const v = i % 2 === 0
        ? enc.encode(`compressible ${"abc".repeat(i % 50)} ${i}`)
        : crypto.getRandomValues(new Uint8Array(i % 300));
      values.push(v);
    }
    {
      await using p = new Producer({
        brokers,
        defaultTopic: topic,
        compression,
        ...level !== undefined && { compressionLevel: level },
        batchSize: 8192,
      });
      await ReadableStream.from(values.map((value, i) => ({ key: `${i}`, value })))
        .pipeTo(p.writable);
    }
    const read = await readBack(brokers, topic);
    assert.equal(read.length, values.length, compression);
    read.forEach((r, i) => {
      assert.equal(r.offset, BigInt(i));
      assert.equal(hex(r.value), hex(values[i]!), `${compression} value ${i}`);
      assert.equal(dec.decode(r.key!), `${i}`);
    });
    const batches = await fetchBatches(brokers, topic, 0);
    assert.ok(batches.length > 1, `${compression}: several batches (batchSize 8192)`);
    for (const batch of batches) assert.equal(batch.compression, id, `${compression} codec id`);
    // Idempotent by default: one producer id, sequences consecutive from 0.
    let seq = 0;
    for (const batch of batches) {
      assert.ok(batch.producerId >= 0n);
      assert.equal(batch.baseSequence, seq);
      seq += batch.count;
    }
  }
});

Deno.test("producer: acks 0/1/all, idempotence off, linger 0/100 and small batches keep order", async () => {
  const variants: Partial<ProducerOptions>[] = [
    { acks: 0, idempotent: false },
    { acks: 1 },
    { acks: "all", lingerMs: 0 },
    { acks: "all", lingerMs: 100, batchSize: 1024 },
    { acks: "all", idempotent: false, maxInFlight: 5, batchSize: 512 },
  ];
  for (const v of variants) {
    const topic = topicName("prod-acks");
    await createTopic(brokers, topic, 4);
    const n = 3000;
    if (v.acks === 0) {
      // acks 0 cannot retry: a partition whose leader is still starting on a brand-new topic
      // would drop records silently (as with every client). Warm every partition up first.
      await using warm = new Producer({ brokers, defaultTopic: topic });
      await warm.send([0, 1, 2, 3].map((partition) => ({ partition, key: "warm", value: "-1" })));
    }
    const mds: Promise<RecordMetadata>[] = [];
    {
      await using p = new Producer({ brokers, defaultTopic: topic, ...v });
      for (let i = 0; i < n; i++) mds.push(p.send({ key: `key-${i % 37}`, value: `${i}` }));
      await Promise.all(mds);
      const m = p.metrics();
      assert.equal(m.recordsSent, n);
      assert.equal(m.producerId >= 0n, v.idempotent !== false && v.acks !== 0 && v.acks !== 1);
    }
    let read = await readBack(brokers, topic);
    // acks 0: the producer is done once the bytes are written; the broker appends a moment later.
    for (let i = 0; i < 50 && read.length < n + 4 && v.acks === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      read = await readBack(brokers, topic);
    }
    assert.equal(read.length, n + (v.acks === 0 ? 4 : 0), JSON.stringify(v));
    const last = new Map<string, number>();
    for (const r of read) {
      const key = dec.decode(r.key!);
      if (key === "warm") continue;
      assert.equal(r.partition, javaPartitionForKey(r.key!, 4));
      const i = Number(dec.decode(r.value!));
      assert.ok((last.get(key) ?? -1) < i, `order within key ${key} (${JSON.stringify(v)})`);
      last.set(key, i);
    }
    if (v.acks === 0) {
      for (const md of await Promise.all(mds)) assert.equal(md.offset, -1n);
    } else {
      const got = byOffset(read);
      for (const [i, md] of (await Promise.all(mds)).entries()) {
        assert.equal(dec.decode(got.get(`${md.partition}@${md.offset}`)!.value!), `${i}`);
      }
    }
  }
});

Deno.test("producer: named partitioners and a user function place keyed records as their peers do", async () => {
  const n = 6;
  const cases: [
    PartitionerName | ((i: { key: Uint8Array | null; partitionCount: number }) => number),
    (k: Uint8Array) => number,
  ][] = [
    ["default", (k) => javaPartitionForKey(k, n)],
    ["murmur2", (k) => javaPartitionForKey(k, n)],
    ["fnv1a", (k) => saramaHashPartition(k, n)],
    ["fnv1a_reference", (k) => saramaReferenceHashPartition(k, n)],
    ["consistent", (k) => consistentPartition(k, n)],
    ["consistent_random", (k) => consistentPartition(k, n)],
    [({ key, partitionCount }) => key![0]! % partitionCount, (k) => k[0]! % n],
  ];
  for (const [partitioner, expect] of cases) {
    const topic = topicName("prod-part");
    await createTopic(brokers, topic, n);
    {
      await using p = new Producer({ brokers, defaultTopic: topic, partitioner });
      const w = p.writable.getWriter();
      for (let i = 0; i < 600; i++) {
        await w.write({ key: crypto.getRandomValues(new Uint8Array(1 + (i % 20))), value: "v" });
      }
      await w.close();
    }
    const read = await readBack(brokers, topic);
    assert.equal(read.length, 600);
    for (const r of read) {
      assert.equal(r.partition, expect(r.key!), `${String(partitioner)} ${hex(r.key)}`);
    }
  }
  // Keyless: round-robin spreads evenly; the default sticks (KIP-794), so runs are long.
  for (
    const [partitioner, check] of [
      ["round_robin", (counts: number[], runs: number) => {
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `even: ${counts}`);
        assert.ok(runs > 500, `round-robin alternates (${runs} runs)`);
      }],
      [
        "default",
        (_counts: number[], runs: number) => assert.ok(runs < 100, `sticky runs: ${runs}`),
      ],
      // Awaited sends leave nothing outstanding: least_bytes ties, and ties go round-robin.
      ["least_bytes", (counts: number[], runs: number) => {
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `even: ${counts}`);
        assert.ok(runs > 500, `least_bytes alternates (${runs} runs)`);
      }],
    ] as const
  ) {
    const topic = topicName("prod-keyless");
    await createTopic(brokers, topic, n);
    const mds: RecordMetadata[] = [];
    {
      await using p = new Producer({
        brokers,
        defaultTopic: topic,
        partitioner,
        lingerMs: 0,
        batchSize: 2048,
      });
      for (let i = 0; i < 600; i++) mds.push(await p.send({ value: `value ${i}` }));
    }
    const counts = new Array(n).fill(0);
    let runs = 0;
    mds.forEach((md, i) => {
      counts[md.partition]++;
      if (i === 0 || mds[i - 1]!.partition !== md.partition) runs++;
    });
    check(counts, runs);
    assert.equal((await readBack(brokers, topic)).length, 600);
  }
});

Deno.test("producer: a user partitioner sees the serialized value (keyless records and tombstones too)", async () => {
  const topic = topicName("prod-part-value");
  await createTopic(brokers, topic, 4);
  const seen: (number | null)[] = [];
  {
    await using p = new Producer({
      brokers,
      defaultTopic: topic,
      // Routes on the value's first byte, as a Java Partitioner may with valueBytes.
      partitioner: ({ value, partitionCount }) => {
        seen.push(value === undefined ? -1 : value === null ? null : value[0]!);
        return value ? value[0]! % partitionCount : 0;
      },
    });
    const w = p.writable.getWriter();
    for (let i = 0; i < 40; i++) await w.write({ value: new Uint8Array([i, 1, 2]) });
    await w.write({ key: "k", value: null });
    await w.close();
  }
  assert.deepEqual(seen, [...Array.from({ length: 40 }, (_, i) => i), null]);
  const read = await readBack(brokers, topic);
  assert.equal(read.length, 41);
  for (const r of read) {
    assert.equal(r.partition, r.value === null ? 0 : r.value[0]! % 4, String(hex(r.value)));
  }
});

Deno.test("producer: delivery reports for stream writes match what was written", async () => {
  const topic = topicName("prod-reports");
  await createTopic(brokers, topic, 3);
  const p = new Producer({ brokers, defaultTopic: topic });
  const reports = p.deliveryReports();
  const collected: { partition: number; offset: bigint; value: string; error?: Error }[] = [];
  const reading = (async () => {
    for await (const r of reports) {
      collected.push({
        partition: r.partition,
        offset: r.offset,
        value: r.record.value as string,
        ...r.error && { error: r.error },
      });
    }
  })();
  const n = 2000;
  await ReadableStream.from(
    Array.from({ length: n }, (_, i) => ({ key: `${i % 10}`, value: `v${i}` })),
  )
    .pipeTo(p.writable);
  await p.close();
  await reading;
  assert.equal(collected.length, n);
  const read = byOffset(await readBack(brokers, topic));
  for (const c of collected) {
    assert.equal(c.error, undefined);
    assert.equal(dec.decode(read.get(`${c.partition}@${c.offset}`)!.value!), c.value);
  }
});

Deno.test("producer: LogAppendTime topics report the broker's timestamp", async () => {
  const topic = topicName("prod-lat");
  await createTopic(brokers, topic, 1, { "message.timestamp.type": "LogAppendTime" });
  const before = Date.now();
  let md: RecordMetadata;
  {
    await using p = new Producer({ brokers, defaultTopic: topic });
    md = await p.send({ value: "x", timestamp: 1000 });
  }
  assert.ok(md.timestamp >= before - 1000 && md.timestamp !== 1000, `${md.timestamp}`);
  const [r] = await readBack(brokers, topic);
  assert.equal(r!.timestamp, md.timestamp);
});
