import assert from "node:assert/strict";
import { crc32 as ieeeCrc32 } from "node:zlib";
import { Compression } from "../../protocol/compression/mod.ts";
import { crc32c } from "../../protocol/crc32c.ts";
import { ClosedError, DecodeError } from "../../protocol/errors.ts";
import {
  type BatchRecord,
  ControlRecordType,
  nextOffset,
  type RecordBatch,
  RecordBatchLayout,
  type RecordHeader,
  recordOffset,
  recordTimestamp,
  TimestampType,
} from "../../protocol/record_batch.ts";
import {
  compressRecordBatch,
  encodeControlBatch,
  encodeRecordBatch,
  maxRecordSize,
  RecordBatchBuilder,
  type RecordInput,
  rewriteProducerState,
  setBaseOffset,
} from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const T0 = 1_700_000_000_000;

function one(bytes: Uint8Array): RecordBatch {
  const d = decodeRecordBatches(bytes);
  assert.equal(d.truncated, false);
  assert.equal(d.batches.length, 1);
  return d.batches[0]!;
}

function plain(r: BatchRecord) {
  return {
    offsetDelta: r.offsetDelta,
    timestampDelta: r.timestampDelta,
    key: r.key === null ? null : hex(r.key),
    value: r.value === null ? null : hex(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : hex(h.value) })),
  };
}

const HEADERS: RecordHeader[] = [
  { key: "dup", value: enc.encode("first") },
  { key: "dup", value: enc.encode("second") },
  { key: "null", value: null },
  { key: "", value: new Uint8Array(0) },
  { key: "ключ-🔑", value: enc.encode("utf8 key") },
  { key: "k".repeat(200), value: new Uint8Array(1000).fill(7) },
];

const RECORDS: RecordInput[] = [
  { timestamp: T0, key: enc.encode("k0"), value: enc.encode("v0"), headers: HEADERS },
  { timestamp: T0 + 1, key: null, value: enc.encode("null key") },
  { timestamp: T0 - 5, key: enc.encode("null value"), value: null },
  { timestamp: T0 + 2, key: new Uint8Array(0), value: new Uint8Array(0) },
  { timestamp: T0 + 3, key: null, value: null, headers: [] },
  { timestamp: T0 + 2 ** 31 + 7, key: new Uint8Array(70).fill(1), value: new Uint8Array(20000) },
  { timestamp: T0 - 2 ** 40, key: null, value: enc.encode("far past") },
];

function assertRecords(batch: RecordBatch, records: readonly RecordInput[]): void {
  assert.equal(batch.count, records.length);
  assert.equal(batch.records.length, records.length);
  records.forEach((r, i) => {
    const got = batch.records[i]!;
    assert.equal(got.offsetDelta, i);
    assert.equal(recordTimestamp(batch, got), r.timestamp, `timestamp ${i}`);
    assert.deepEqual(plain(got), {
      offsetDelta: i,
      timestampDelta: r.timestamp - records[0]!.timestamp,
      key: r.key === null ? null : hex(r.key),
      value: r.value === null ? null : hex(r.value),
      headers: (r.headers ?? []).map((h) => ({
        key: h.key,
        value: h.value === null ? null : hex(h.value),
      })),
    });
  });
}

Deno.test("record batch: every header field round-trips", () => {
  for (const codec of [Compression.None, Compression.Gzip, Compression.Zstd] as const) {
    for (const transactional of [false, true]) {
      const bytes = encodeRecordBatch(RECORDS, {
        compression: codec,
        baseOffset: 2n ** 40n + 3n,
        partitionLeaderEpoch: 17,
        producerId: 2n ** 50n + 1n,
        producerEpoch: 32000,
        baseSequence: 2 ** 31 - 10,
        transactional,
        timestampType: TimestampType.CreateTime,
      });
      const b = one(bytes);
      assert.equal(b.magic, 2);
      assert.equal(b.baseOffset, 2n ** 40n + 3n);
      assert.equal(b.batchLength, bytes.length - 12);
      assert.equal(b.partitionLeaderEpoch, 17);
      assert.equal(b.compression, codec);
      assert.equal(b.attributes, codec | (transactional ? 0x10 : 0));
      assert.equal(b.timestampType, 0);
      assert.equal(b.isTransactional, transactional);
      assert.equal(b.isControl, false);
      assert.equal(b.hasDeleteHorizon, false);
      assert.equal(b.lastOffsetDelta, RECORDS.length - 1);
      assert.equal(b.baseTimestamp, T0);
      assert.equal(b.maxTimestamp, T0 + 2 ** 31 + 7);
      assert.equal(b.producerId, 2n ** 50n + 1n);
      assert.equal(b.producerEpoch, 32000);
      assert.equal(b.baseSequence, 2 ** 31 - 10);
      assert.equal(b.control, null);
      assert.equal(nextOffset(b), 2n ** 40n + 3n + BigInt(RECORDS.length));
      assert.equal(recordOffset(b, b.records[4]!), 2n ** 40n + 7n);
      assertRecords(b, RECORDS);
      if (codec !== 0) assert.ok(bytes.length < 20000, "compressed");
    }
  }
});

Deno.test("record batch: LogAppendTime, delete horizon and control attributes", () => {
  const b = new RecordBatchBuilder({
    timestampType: TimestampType.LogAppendTime,
    deleteHorizonMs: T0 + 86_400_000,
  });
  b.append(T0, null, enc.encode("a"));
  b.append(T0 + 10, null, enc.encode("b"));
  const d = one(b.finish());
  assert.equal(d.timestampType, 1);
  assert.equal(d.hasDeleteHorizon, true);
  assert.equal(d.attributes, 0x08 | 0x40);
  assert.equal(d.baseTimestamp, T0 + 86_400_000);
  assert.equal(d.maxTimestamp, T0 + 10);
  // Under LogAppendTime every record carries the batch's (broker-set) max timestamp.
  assert.equal(recordTimestamp(d, d.records[0]!), T0 + 10);
});

Deno.test("record batch: control batches carry commit and abort markers", () => {
  for (const [type, id] of [["commit", 1], ["abort", 0]] as const) {
    const bytes = encodeControlBatch({
      type,
      coordinatorEpoch: 321,
      producerId: 9n,
      producerEpoch: 4,
      timestamp: T0,
      baseOffset: 77n,
      partitionLeaderEpoch: 2,
    });
    const b = one(bytes);
    assert.equal(b.isControl, true);
    assert.equal(b.isTransactional, true);
    assert.equal(b.attributes, 0x30);
    assert.equal(b.producerId, 9n);
    assert.equal(b.producerEpoch, 4);
    assert.equal(b.baseSequence, -1);
    assert.equal(b.baseOffset, 77n);
    assert.deepEqual(b.control, { version: 0, type: id, coordinatorEpoch: 321 });
    assert.equal(hex(b.records[0]!.key!), `0000000${id}`);
    assert.equal(hex(b.records[0]!.value!), "000000000141");
  }
  const other = encodeControlBatch({
    type: ControlRecordType.LeaderChange,
    coordinatorEpoch: 0,
    producerId: -1n,
    producerEpoch: -1,
    timestamp: T0,
  });
  assert.deepEqual(one(other).control, { version: 0, type: 2, coordinatorEpoch: null });
});

Deno.test("record batch: golden bytes written by hand from the spec", () => {
  // One record with a key, a value and one header, in an idempotent transactional batch.
  const golden = [
    "0000000000000007", // baseOffset 7
    "00000043", // batchLength 67 = 79 - 12
    "00000003", // partitionLeaderEpoch 3
    "02", // magic
    "58c99d19", // CRC-32C of the rest (computed by java.util.zip.CRC32C)
    "0010", // attributes: transactional
    "00000000", // lastOffsetDelta 0
    "0000018bcfe56800", // baseTimestamp 1700000000000
    "0000018bcfe56800", // maxTimestamp
    "00000000000004d2", // producerId 1234
    "0005", // producerEpoch 5
    "0000002a", // baseSequence 42
    "00000001", // 1 record
    "22", // record length 17 (zigzag 34)
    "00", // record attributes
    "00", // timestampDelta 0
    "00", // offsetDelta 0
    "02",
    "6b", // key length 1, "k"
    "0a",
    "68656c6c6f", // value length 5, "hello"
    "02", // 1 header
    "04",
    "6831", // header key length 2, "h1"
    "02",
    "76", // header value length 1, "v"
  ].join("");
  const b = new RecordBatchBuilder({
    baseOffset: 7,
    partitionLeaderEpoch: 3,
    transactional: true,
    producerId: 1234,
    producerEpoch: 5,
    baseSequence: 42,
  });
  b.append(T0, enc.encode("k"), enc.encode("hello"), [{ key: "h1", value: enc.encode("v") }]);
  assert.equal(hex(b.finish()), golden);
  const d = one(unhex(golden));
  assert.deepEqual(plain(d.records[0]!), {
    offsetDelta: 0,
    timestampDelta: 0,
    key: "6b",
    value: "68656c6c6f",
    headers: [{ key: "h1", value: "76" }],
  });
});

Deno.test("record batch: several batches, then a truncated tail at every cut", () => {
  const a = encodeRecordBatch(RECORDS.slice(0, 3), { baseOffset: 0n });
  const b = encodeRecordBatch(RECORDS.slice(3, 5), { baseOffset: 3n, compression: 1 });
  const c = encodeControlBatch({
    type: "commit",
    coordinatorEpoch: 1,
    producerId: 1n,
    producerEpoch: 0,
    timestamp: T0,
    baseOffset: 5n,
  });
  const tail = encodeRecordBatch(RECORDS.slice(0, 2), { baseOffset: 6n, compression: 4 });
  const all = new Uint8Array(a.length + b.length + c.length + tail.length);
  let p = 0;
  for (const x of [a, b, c, tail]) {
    all.set(x, p);
    p += x.length;
  }
  const full = decodeRecordBatches(all);
  assert.equal(full.truncated, false);
  assert.deepEqual(full.batches.map((x) => x.baseOffset), [0n, 3n, 5n, 6n]);
  assert.equal(full.bytesUsed, all.length);
  const head = a.length + b.length + c.length;
  for (let cut = head; cut < all.length; cut++) {
    const d = decodeRecordBatches(all.subarray(0, cut));
    assert.equal(d.truncated, cut > head, `cut ${cut}`);
    assert.equal(d.batches.length, 3);
    assert.equal(d.bytesUsed, head);
  }
  for (let cut = 1; cut < a.length; cut++) {
    const d = decodeRecordBatches(all.subarray(0, cut));
    assert.deepEqual([d.batches.length, d.truncated], [0, true], `cut ${cut}`);
  }
  assert.deepEqual(decodeRecordBatches(new Uint8Array(0)), {
    batches: [],
    truncated: false,
    bytesUsed: 0,
  });
});

Deno.test("record batch: a CRC mismatch is a DecodeError unless checkCrc is false", () => {
  const bytes = encodeRecordBatch(RECORDS);
  const valueAt = bytes.length - 3; // inside the last record's value
  bytes[valueAt]! ^= 0x01;
  assert.throws(
    () => decodeRecordBatches(bytes),
    (e) => e instanceof DecodeError && /CRC/.test(e.message),
  );
  const d = decodeRecordBatches(bytes, { checkCrc: false });
  assert.equal(d.batches[0]!.count, RECORDS.length);
  // Corrupting the stored CRC itself is caught too.
  const ok = encodeRecordBatch(RECORDS.slice(0, 1));
  ok[RecordBatchLayout.Crc]! ^= 0x80;
  assert.throws(() => decodeRecordBatches(ok), DecodeError);
});

Deno.test("record batch: decompression is capped by maxDecompressedBytes", () => {
  const bytes = encodeRecordBatch([{ timestamp: T0, key: null, value: new Uint8Array(100_000) }], {
    compression: Compression.Zstd,
  });
  assert.ok(bytes.length < 1000);
  assert.throws(() => decodeRecordBatches(bytes, { maxDecompressedBytes: 50_000 }), DecodeError);
  assert.equal(decodeRecordBatches(bytes, { maxDecompressedBytes: 200_000 }).batches.length, 1);
});

/** Rewrites the CRC after a deliberate edit, so the structural checks are what fail. */
function fixCrc(b: Uint8Array): Uint8Array {
  rewriteProducerState(
    b,
    new DataView(b.buffer, b.byteOffset).getBigInt64(43),
    new DataView(b.buffer, b.byteOffset).getInt16(51),
    new DataView(b.buffer, b.byteOffset).getInt32(53),
  );
  return b;
}

Deno.test("record batch: impossible lengths and counts are DecodeErrors", () => {
  const base = () =>
    encodeRecordBatch([{ timestamp: T0, key: enc.encode("k"), value: enc.encode("v") }]);
  // A record count the bytes cannot hold is refused before anything is allocated for it.
  const count = base();
  new DataView(count.buffer).setInt32(RecordBatchLayout.RecordCount, 0x7fffffff);
  assert.throws(() => decodeRecordBatches(fixCrc(count)), /cannot fit/);
  const neg = base();
  new DataView(neg.buffer).setInt32(RecordBatchLayout.RecordCount, -1);
  assert.throws(() => decodeRecordBatches(fixCrc(neg)), DecodeError);
  // A key length beyond the record.
  const key = base();
  key[RecordBatchLayout.HeaderSize + 4] = 0x7e; // key length 63
  assert.throws(() => decodeRecordBatches(fixCrc(key)), DecodeError);
  // A negative key length other than -1.
  const negKey = base();
  negKey[RecordBatchLayout.HeaderSize + 4] = 0x03; // -2
  assert.throws(() => decodeRecordBatches(fixCrc(negKey)), DecodeError);
  // A batch length too small for a header.
  const small = base();
  new DataView(small.buffer).setInt32(RecordBatchLayout.BatchLength, 10);
  assert.throws(() => decodeRecordBatches(small), DecodeError);
  // Unknown magic and codec.
  const magic = base();
  magic[RecordBatchLayout.Magic] = 3;
  assert.throws(() => decodeRecordBatches(magic), /magic 3/);
  const codec = base();
  codec[RecordBatchLayout.Attributes + 1] = 5;
  assert.throws(() => decodeRecordBatches(fixCrc(codec)), /codec 5/);
  // Trailing bytes inside the batch after the declared records.
  const extra = encodeRecordBatch([
    { timestamp: T0, key: null, value: null },
    { timestamp: T0, key: null, value: null },
  ]);
  new DataView(extra.buffer).setInt32(RecordBatchLayout.RecordCount, 1);
  assert.throws(() => decodeRecordBatches(fixCrc(extra)), /left after/);
  // A control batch whose key is not a control key.
  const ctrl = base();
  ctrl[RecordBatchLayout.Attributes + 1] = 0x20;
  assert.throws(() => decodeRecordBatches(fixCrc(ctrl)), DecodeError);
});

Deno.test("record batch: empty batches left by the log cleaner are decoded", () => {
  // The cleaner keeps a batch header with no records to preserve producer state; it may be a
  // (formerly) control or compressed batch.
  for (const attrs of [0x30, 0x04, 0x00]) {
    const b = encodeControlBatch({
      type: "commit",
      coordinatorEpoch: 1,
      producerId: 5n,
      producerEpoch: 1,
      timestamp: T0,
      baseOffset: 40n,
    }).slice(0, RecordBatchLayout.HeaderSize);
    const v = new DataView(b.buffer);
    v.setInt32(RecordBatchLayout.BatchLength, RecordBatchLayout.HeaderSize - 12);
    v.setInt16(RecordBatchLayout.Attributes, attrs);
    v.setInt32(RecordBatchLayout.RecordCount, 0);
    const d = one(fixCrc(b));
    assert.deepEqual([d.count, d.records.length, d.control, d.compression], [
      0,
      0,
      null,
      attrs & 7,
    ]);
    assert.equal(nextOffset(d), 41n);
  }
});

Deno.test("record batch builder: size estimates, producer state, misuse", () => {
  const b = new RecordBatchBuilder({ initialCapacity: 16 });
  assert.equal(b.sizeInBytes, 61);
  let ts = T0;
  for (let i = 0; i < 300; i++) {
    const key = i % 3 === 0 ? null : new Uint8Array(i % 100);
    const value = new Uint8Array((i * 37) % 700);
    const headers = i % 5 === 0 ? HEADERS.slice(0, 3) : undefined;
    ts += i % 7 === 0 ? -(2 ** 33) : 3;
    const before = b.sizeInBytes;
    const want = b.estimatedSizeAfter(ts, key, value, headers);
    b.append(ts, key, value, headers);
    assert.equal(b.sizeInBytes, want, `record ${i}`);
    assert.ok(want - before <= maxRecordSize(key?.length ?? -1, value.length, headers));
  }
  assert.equal(b.count, 300);
  b.setProducerState(5n, 6, 7);
  const bytes = b.finish();
  assert.equal(bytes.length, b.sizeInBytes);
  assert.equal(b.isFinished, true);
  const d = one(bytes);
  assert.deepEqual([d.producerId, d.producerEpoch, d.baseSequence, d.count], [5n, 6, 7, 300]);
  assert.throws(() => b.append(T0, null, null), ClosedError);
  assert.throws(() => b.finish(), ClosedError);
  assert.throws(() => b.setProducerState(1, 1, 1), ClosedError);
  assert.throws(() => new RecordBatchBuilder().finish(), RangeError);
  assert.throws(() => new RecordBatchBuilder().append(NaN, null, null), RangeError);
  assert.throws(() => new RecordBatchBuilder().append(1.5, null, null), RangeError);
  const c = new RecordBatchBuilder();
  c.append(T0, null, null);
  assert.throws(() => c.append(Infinity, null, null), RangeError);
  // Rewriting producer state and the base offset keeps a valid CRC.
  rewriteProducerState(bytes, 99n, 1, 1000);
  setBaseOffset(bytes, 123n);
  const r = one(bytes);
  assert.deepEqual([r.producerId, r.producerEpoch, r.baseSequence, r.baseOffset], [
    99n,
    1,
    1000,
    123n,
  ]);
  assert.throws(() => rewriteProducerState(new Uint8Array(10), 1, 1, 1), RangeError);
});

Deno.test("record batch: decodes from an unaligned view inside a larger buffer", () => {
  const batch = encodeRecordBatch(RECORDS, { compression: Compression.None });
  for (const shift of [1, 2, 3, 5]) {
    const big = new Uint8Array(batch.length + 16).fill(0xee);
    big.set(batch, shift);
    const view = big.subarray(shift, shift + batch.length);
    assertRecords(one(view), RECORDS);
  }
});

Deno.test("record batch: decoded keys and values are views, not copies", () => {
  const bytes = encodeRecordBatch([{
    timestamp: T0,
    key: enc.encode("kk"),
    value: enc.encode("vv"),
  }]);
  const r = one(bytes).records[0]!;
  assert.equal(r.value!.buffer, bytes.buffer);
  assert.equal(r.key!.buffer, bytes.buffer);
});

/** A legacy message, built by hand (the CRC is IEEE CRC-32 over magic..end). */
function legacy(
  magic: 0 | 1,
  offset: bigint,
  ts: number,
  key: string | null,
  value: string,
): Uint8Array {
  const k = key === null ? null : enc.encode(key);
  const v = enc.encode(value);
  const body = 2 + (magic === 1 ? 8 : 0) + 4 + (k?.length ?? 0) + 4 + v.length;
  const out = new Uint8Array(12 + 4 + body);
  const dv = new DataView(out.buffer);
  dv.setBigInt64(0, offset);
  dv.setInt32(8, 4 + body);
  let p = 16;
  out[p++] = magic;
  out[p++] = 0;
  if (magic === 1) {
    dv.setBigInt64(p, BigInt(ts));
    p += 8;
  }
  dv.setInt32(p, k === null ? -1 : k.length);
  p += 4;
  if (k) {
    out.set(k, p);
    p += k.length;
  }
  dv.setInt32(p, v.length);
  out.set(v, p + 4);
  dv.setUint32(12, ieeeCrc32(out.subarray(16)));
  return out;
}

Deno.test("legacy message sets v0/v1 are decoded; their CRC-32 is checked", () => {
  const m0 = legacy(0, 10n, 0, "a", "zero");
  const m1 = legacy(1, 11n, T0, null, "one");
  const all = new Uint8Array(m0.length + m1.length);
  all.set(m0);
  all.set(m1, m0.length);
  const { batches } = decodeRecordBatches(all);
  assert.equal(batches.length, 2);
  assert.deepEqual(
    batches.map((b) => [b.magic, b.baseOffset, recordTimestamp(b, b.records[0]!)]),
    [[0, 10n, -1], [1, 11n, T0]],
  );
  assert.equal(new TextDecoder().decode(batches[0]!.records[0]!.value!), "zero");
  assert.equal(batches[1]!.records[0]!.key, null);
  m1[m1.length - 1]! ^= 1;
  assert.throws(() => decodeRecordBatches(m1), /CRC-32 mismatch/);
  assert.equal(decodeRecordBatches(m1, { checkCrc: false }).batches.length, 1);
});

Deno.test("compressRecordBatch: lz4's CRC, taken as the frame is written, is the batch's CRC", () => {
  let x = 7;
  const letters = (n: number) =>
    Uint8Array.from(
      { length: n },
      () => 65 + ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16) % 26,
    );
  const json = (i: number) =>
    enc.encode(`{"id":${i},"kind":"event","tags":["a","b"]}`.repeat(1 + (i % 7)));
  // Raw blocks, compressed blocks, both in one frame, several blocks, one record, tiny values.
  const shapes: [number, (i: number) => Uint8Array][] = [
    [1, () => letters(10)],
    [300, () => letters(1024)],
    [2000, (i) => json(i)],
    [400, (i) => (i % 100 < 60 ? letters(1024) : json(i))],
    [3000, (i) => enc.encode(`v${i}`)],
  ];
  const out = new Uint8Array(4 << 20);
  for (const [count, value] of shapes) {
    const b = new RecordBatchBuilder({ compression: Compression.Lz4 });
    for (let i = 0; i < count; i++) b.append(T0 + i, null, value(i));
    const raw = b.finishUncompressed();
    for (const dst of [undefined, out]) {
      const batch = compressRecordBatch(raw.slice(), undefined, dst);
      const stored = new DataView(batch.buffer, batch.byteOffset).getUint32(RecordBatchLayout.Crc);
      assert.equal(stored, crc32c(batch, RecordBatchLayout.Attributes, batch.length), `${count}`);
      const decoded = decodeRecordBatches(batch, { checkCrc: true }).batches[0]!;
      assert.equal(decoded.count, count);
    }
  }
});
