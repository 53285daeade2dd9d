/**
 * Cross-check against Kafka's Java implementation (kafka-clients of the pinned version):
 * Java's MemoryRecords.builder writes batches for every codec, legacy v0/v1 message sets and
 * transaction markers, which our decoder must read exactly; and Java validates (CRC,
 * structure) and reads back batches from our builder.
 *
 * Codecs our compression module does not implement yet (snappy, lz4 at the time of writing)
 * are detected at run time and reported as skipped; they run once `compress`/`decompress`
 * support them.
 */
import assert from "node:assert/strict";
import {
  compress,
  Compression,
  type CompressionCodec,
  decompress,
} from "../../protocol/compression/mod.ts";
import { encodeControlBatch, RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import {
  type RecordBatch,
  type RecordHeader,
  recordOffset,
  recordTimestamp,
  TimestampType,
} from "../../protocol/record_batch.ts";
import { pinnedJars } from "../helpers/pinned_jars.ts";

// Always the pinned release: the fixture uses the 4.x package names of the record classes
// (org.apache.kafka.common.record.internal), whatever KAFKA_VERSION the broker tests use.
// Fetched like the launcher fetches them (Maven Central), when not cached yet.
const JARS = await pinnedJars();

const T0 = 1_700_000_000_000;
const enc = new TextEncoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

interface JavaRecord {
  offset: string;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
  controlType?: number;
  coordinatorEpoch?: number;
}
interface JavaBatch {
  magic: number;
  baseOffset: string;
  lastOffset: string;
  crc: number;
  compression: number;
  timestampType: number;
  maxTimestamp: number;
  isValid: boolean;
  sizeInBytes: number;
  baseTimestamp?: number;
  partitionLeaderEpoch?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  producerId?: string;
  producerEpoch?: number;
  baseSequence?: number;
  count?: number;
  records: JavaRecord[];
}
interface JavaOutput {
  java: { name: string; hex: string; batches: JavaBatch[] }[];
  verified: { name: string; batches?: JavaBatch[]; error?: string }[];
}

const CODECS: [string, CompressionCodec][] = [
  ["none", Compression.None],
  ["gzip", Compression.Gzip],
  ["snappy", Compression.Snappy],
  ["lz4", Compression.Lz4],
  ["zstd", Compression.Zstd],
];

/** Whether our compression module can round-trip `codec` yet. */
function available(codec: CompressionCodec): boolean {
  try {
    const data = enc.encode("probe probe probe probe");
    return hex(decompress(codec, compress(codec, data), 1024)) === hex(data);
  } catch {
    return false;
  }
}

interface Rec {
  ts: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/** The same small record set as RecordBatchFixtures.small(true). */
function small(): Rec[] {
  return [
    {
      ts: T0,
      key: enc.encode("key-0"),
      value: enc.encode("value-0"),
      headers: [
        { key: "h", value: enc.encode("1") },
        { key: "h", value: enc.encode("2") },
        { key: "n", value: null },
        { key: "ключ", value: new Uint8Array(0) },
      ],
    },
    { ts: T0 + 5, key: null, value: enc.encode("v1"), headers: [] },
    { ts: T0 - 3, key: new Uint8Array(0), value: new Uint8Array(0), headers: [] },
    { ts: T0 + 1, key: enc.encode("k3"), value: null, headers: [] },
    { ts: T0 + 100_000, key: enc.encode("ü-ключ"), value: new Uint8Array(300), headers: [] },
  ];
}

/** Seeded records with multi-byte varints and large values. */
function big(): Rec[] {
  let x = 99;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd(256));
  return Array.from({ length: 300 }, (_, i) => ({
    ts: T0 + rnd(4_000_000) - 2_000_000,
    key: rnd(4) === 0 ? null : bytes(rnd(200)),
    value: rnd(10) === 0 ? null : bytes(rnd(i % 60 === 0 ? 20_000 : 400)),
    headers: Array.from({ length: rnd(4) }, () => ({
      key: `hdr-${rnd(3)}-é`,
      value: rnd(2) ? null : bytes(rnd(150)),
    })),
  }));
}

async function runJava(ours: [string, Uint8Array][]): Promise<JavaOutput> {
  const fixture = new URL("./fixtures/RecordBatchFixtures.java", import.meta.url).pathname;
  const child = new Deno.Command("java", {
    args: ["-cp", `${JARS}/*`, fixture],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    // A wedged JVM must fail the test, not hang the suite.
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(enc.encode(ours.map(([n, b]) => `${n} ${hex(b)}\n`).join("")));
  await w.close();
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) assert.fail(`java fixture failed (${out.code}):\n${err}`);
  if (err.trim()) console.log(err.trim());
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Compares our decoding of a buffer with Java's reading of the same buffer, field by field. */
function assertSameAsJava(name: string, ours: RecordBatch[], java: JavaBatch[]): void {
  assert.equal(ours.length, java.length, `${name}: batch count`);
  for (let i = 0; i < java.length; i++) {
    const j = java[i]!;
    const o = ours[i]!;
    const at = `${name} batch ${i}`;
    assert.equal(j.isValid, true, `${at}: Java says invalid`);
    assert.equal(o.magic, j.magic, `${at}: magic`);
    assert.equal(o.crc, j.crc, `${at}: crc`);
    assert.equal(o.compression, j.compression, `${at}: compression`);
    assert.equal(o.maxTimestamp, j.maxTimestamp, `${at}: maxTimestamp`);
    assert.equal(o.batchLength + 12, j.sizeInBytes, `${at}: size`);
    // Java reports NO_TIMESTAMP_TYPE (-1) for magic 0.
    assert.equal(j.magic === 0 ? -1 : o.timestampType, j.timestampType, `${at}: timestampType`);
    if (j.magic === 2) {
      assert.equal(o.baseOffset, BigInt(j.baseOffset), `${at}: baseOffset`);
      assert.equal(o.baseOffset + BigInt(o.lastOffsetDelta), BigInt(j.lastOffset), `${at}: last`);
      assert.equal(o.baseTimestamp, j.baseTimestamp, `${at}: baseTimestamp`);
      assert.equal(o.partitionLeaderEpoch, j.partitionLeaderEpoch, `${at}: leader epoch`);
      assert.equal(o.isTransactional, j.isTransactional, `${at}: transactional`);
      assert.equal(o.isControl, j.isControl, `${at}: control`);
      assert.equal(o.producerId, BigInt(j.producerId!), `${at}: producerId`);
      assert.equal(o.producerEpoch, j.producerEpoch, `${at}: producerEpoch`);
      assert.equal(o.baseSequence, j.baseSequence, `${at}: baseSequence`);
      assert.equal(o.count, j.count, `${at}: count`);
    } else {
      // Java's legacy "batch" is the outer message; its offsets are the inner ones.
      assert.equal(o.baseOffset, BigInt(j.records[0]!.offset), `${at}: baseOffset`);
    }
    assert.equal(o.records.length, j.records.length, `${at}: records`);
    for (let k = 0; k < j.records.length; k++) {
      const jr = j.records[k]!;
      const or = o.records[k]!;
      const rat = `${at} record ${k}`;
      assert.equal(recordOffset(o, or), BigInt(jr.offset), `${rat}: offset`);
      assert.equal(recordTimestamp(o, or), jr.timestamp, `${rat}: timestamp`);
      assert.equal(or.key === null ? null : hex(or.key), jr.key, `${rat}: key`);
      assert.equal(or.value === null ? null : hex(or.value), jr.value, `${rat}: value`);
      assert.deepEqual(
        or.headers.map((h) => ({ key: h.key, value: h.value === null ? null : hex(h.value) })),
        jr.headers,
        `${rat}: headers`,
      );
      if (jr.controlType !== undefined) {
        assert.equal(o.control?.type, jr.controlType, `${rat}: control type`);
        assert.equal(o.control?.coordinatorEpoch, jr.coordinatorEpoch ?? null, `${rat}: epoch`);
      }
    }
  }
}

/** Checks Java's reading of one of our batches against the records we encoded. */
function assertJavaReadOurs(name: string, java: JavaBatch[], recs: Rec[], opts: {
  baseOffset: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
  leaderEpoch: number;
  codec: number;
}): void {
  assert.equal(java.length, 1, `${name}: batch count`);
  const j = java[0]!;
  assert.equal(j.isValid, true, `${name}: Java says the CRC is wrong`);
  assert.equal(j.magic, 2);
  assert.equal(j.compression, opts.codec, `${name}: codec`);
  assert.equal(BigInt(j.baseOffset), opts.baseOffset);
  assert.equal(BigInt(j.lastOffset), opts.baseOffset + BigInt(recs.length - 1));
  assert.equal(j.count, recs.length);
  assert.equal(BigInt(j.producerId!), opts.producerId);
  assert.equal(j.producerEpoch, opts.producerEpoch);
  assert.equal(j.baseSequence, opts.baseSequence);
  assert.equal(j.isTransactional, opts.transactional);
  assert.equal(j.partitionLeaderEpoch, opts.leaderEpoch);
  assert.equal(j.baseTimestamp, recs[0]!.ts);
  assert.equal(j.maxTimestamp, Math.max(...recs.map((r) => r.ts)));
  assert.equal(j.records.length, recs.length);
  recs.forEach((r, k) => {
    const jr = j.records[k]!;
    assert.equal(BigInt(jr.offset), opts.baseOffset + BigInt(k), `${name} ${k}: offset`);
    assert.equal(jr.timestamp, r.ts, `${name} ${k}: timestamp`);
    assert.equal(jr.key, r.key === null ? null : hex(r.key), `${name} ${k}: key`);
    assert.equal(jr.value, r.value === null ? null : hex(r.value), `${name} ${k}: value`);
    assert.deepEqual(
      jr.headers,
      r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : hex(h.value) })),
      `${name} ${k}: headers`,
    );
  });
}

Deno.test("record batch: Java and this codec read each other's batches", async (t) => {
  const skipped: string[] = [];
  const ours: [string, Uint8Array][] = [];
  const expectations: [string, Rec[], Parameters<typeof assertJavaReadOurs>[3]][] = [];
  for (const [cname, codec] of CODECS) {
    if (!available(codec)) {
      skipped.push(cname);
      continue;
    }
    // zstd also at level -1 (sent as level -2 with target length 1) and level 2 (the
    // tuned window, hash and chain sizes of levels 2-3): Java must read those frames too.
    const levels = codec === Compression.Zstd ? [undefined, -1, 2] : [undefined];
    for (
      const [set, recs, level] of levels.flatMap((l) =>
        [["small", small(), l], ["big", big(), l]] as const
      )
    ) {
      const opts = {
        baseOffset: set === "small" ? 0n : 1000n,
        producerId: set === "small" ? 1234n : 77n,
        producerEpoch: set === "small" ? 5 : 0,
        baseSequence: set === "small" ? 42 : 2_000_000_000,
        transactional: set === "big",
        leaderEpoch: set === "small" ? -1 : 12,
        codec,
      };
      const b = new RecordBatchBuilder({
        compression: codec,
        transactional: opts.transactional,
        partitionLeaderEpoch: opts.leaderEpoch,
        baseOffset: opts.baseOffset,
        ...level !== undefined && { level },
      });
      for (const r of recs) b.append(r.ts, r.key, r.value, r.headers);
      // Producer state set at drain time, as the producer does.
      b.setProducerState(opts.producerId, opts.producerEpoch, opts.baseSequence);
      const name = `ts-${set}-${cname}${level === undefined ? "" : `-level${level}`}`;
      ours.push([name, b.finish()]);
      expectations.push([name, recs, opts]);
    }
  }
  ours.push([
    "ts-ctrl-commit",
    encodeControlBatch({
      type: "commit",
      coordinatorEpoch: 9,
      producerId: 1234n,
      producerEpoch: 5,
      timestamp: T0,
    }),
  ]);
  ours.push([
    "ts-ctrl-abort",
    encodeControlBatch({
      type: "abort",
      coordinatorEpoch: 10,
      producerId: 1234n,
      producerEpoch: 5,
      timestamp: T0,
      baseOffset: 501n,
    }),
  ]);
  const la = new RecordBatchBuilder({ timestampType: TimestampType.LogAppendTime });
  la.append(T0, null, enc.encode("x"));
  ours.push(["ts-logappend", la.finish()]);

  const out = await runJava(ours);

  await t.step("our decoder reads Java's batches exactly", () => {
    const checked: string[] = [];
    for (const c of out.java) {
      const codec = CODECS.find(([n]) => c.name.endsWith(`-${n}`))?.[1] ?? Compression.None;
      if (!available(codec)) continue;
      const decoded = decodeRecordBatches(unhex(c.hex));
      assert.equal(decoded.truncated, false, c.name);
      assertSameAsJava(c.name, decoded.batches, c.batches);
      checked.push(c.name);
    }
    // Guard against a fixture that silently produced nothing.
    for (
      const must of ["v2-none", "v2-gzip", "v2-zstd", "v2-big-zstd", "ctrl-commit", "ctrl-abort"]
    ) {
      assert.ok(checked.includes(must), `missing Java case ${must}`);
    }
    for (const must of ["v2-txn", "v2-logappend", "legacy-v0-none", "legacy-v1-gzip"]) {
      assert.ok(checked.includes(must), `missing Java case ${must}`);
    }
  });

  await t.step("our golden bytes equal Java's for the uncompressed batch", () => {
    // Same records, same header fields: the bytes must be identical (compressed bytes may
    // legitimately differ between codec implementations).
    const j = out.java.find((c) => c.name === "v2-none")!;
    const b = new RecordBatchBuilder({
      baseOffset: 100n,
      producerId: 1234n,
      producerEpoch: 5,
      baseSequence: 42,
      partitionLeaderEpoch: 7,
    });
    for (const r of small()) b.append(r.ts, r.key, r.value, r.headers);
    assert.equal(hex(b.finish()), j.hex);
    const commit = encodeControlBatch({
      type: "commit",
      coordinatorEpoch: 9,
      producerId: 1234n,
      producerEpoch: 5,
      timestamp: T0,
      baseOffset: 500n,
      partitionLeaderEpoch: 3,
    });
    assert.equal(hex(commit), out.java.find((c) => c.name === "ctrl-commit")!.hex);
  });

  await t.step("Java validates and reads our batches", () => {
    const byName = new Map(out.verified.map((v) => [v.name, v]));
    for (const [name, recs, opts] of expectations) {
      const v = byName.get(name);
      assert.ok(v, `Java did not answer for ${name}`);
      assert.equal(v.error, undefined, `${name}: Java rejected it: ${v.error}`);
      assertJavaReadOurs(name, v.batches!, recs, opts);
    }
    for (
      const [name, type, epoch, offset] of [
        ["ts-ctrl-commit", 1, 9, "0"],
        ["ts-ctrl-abort", 0, 10, "501"],
      ] as const
    ) {
      const v = byName.get(name)!;
      assert.equal(v.error, undefined, `${name}: ${v.error}`);
      const b = v.batches![0]!;
      assert.equal(b.isControl, true);
      assert.equal(b.isTransactional, true);
      assert.equal(b.baseOffset, offset);
      assert.equal(b.records[0]!.controlType, type);
      assert.equal(b.records[0]!.coordinatorEpoch, epoch);
    }
    const la = byName.get("ts-logappend")!.batches![0]!;
    assert.equal(la.timestampType, 1);
  });

  if (skipped.length > 0) {
    console.log(
      `record batch Java cross-check: codecs not yet available here, skipped: ${
        skipped.join(", ")
      } (they run once protocol/compression implements them)`,
    );
  }
});
