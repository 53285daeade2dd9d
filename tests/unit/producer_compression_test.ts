/**
 * The producer's compression path without a broker: batches finished uncompressed and
 * compressed later (in a worker) have exactly the bytes of batches compressed at once, the
 * producer fields patched into a compressed batch keep its CRC right, lz4 gives up on
 * incompressible blocks early without losing anything, builder buffers are reused and never
 * overgrown, and the worker pool compresses, reports and shuts down cleanly.
 */

import assert from "node:assert/strict";
import { Compression, type CompressionCodec } from "../../protocol/compression/mod.ts";
import { lz4CompressFrame, lz4DecompressFrame } from "../../protocol/compression/lz4.ts";
import {
  compressRecordBatch,
  patchProducerState,
  RecordBatchBuilder,
  rewriteProducerState,
} from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import { silentLogger } from "../../protocol/logger.ts";
import { crc32c } from "../../protocol/crc32c.ts";
import { CompressionPool } from "../../producer/compression_pool.ts";
import { Accumulator } from "../../producer/accumulator.ts";
import { PartitionState, TopicState } from "../../producer/batch.ts";
import { resolveProducerOptions } from "../../producer/options.ts";

const enc = new TextEncoder();
const CODECS: CompressionCodec[] = [
  Compression.Gzip,
  Compression.Snappy,
  Compression.Lz4,
  Compression.Zstd,
];

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Random upper-case letters: what the side-by-side benchmark sends (lz4 cannot shrink it). */
function letters(n: number, seed = 7): Uint8Array {
  return noise(n, seed).map((b) => 65 + (b % 26));
}

function fill(b: RecordBatchBuilder, records: number, value: (i: number) => Uint8Array): void {
  for (let i = 0; i < records; i++) {
    b.append(1_700_000_000_000 + i, i % 3 === 0 ? null : enc.encode(`k${i}`), value(i));
  }
}

function builder(codec: CompressionCodec, extra: Record<string, unknown> = {}) {
  return new RecordBatchBuilder({
    compression: codec,
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: 1000,
    transactional: true,
    ...extra,
  });
}

Deno.test("producer compression: finishUncompressed + compressRecordBatch equals finish, for every codec", () => {
  for (const codec of CODECS) {
    for (
      const [records, value] of [
        [1, () => enc.encode("one")],
        [300, (i: number) => enc.encode(`value ${i} `.repeat(i % 20))],
        [200, (i: number) => letters(1024, i + 1)],
      ] as const
    ) {
      const a = builder(codec);
      fill(a, records, value);
      const b = builder(codec);
      fill(b, records, value);
      const direct = a.finish();
      const raw = b.finishUncompressed();
      const copy = raw.slice();
      const later = compressRecordBatch(raw, undefined);
      assert.deepEqual(later, direct, `codec ${codec}, ${records} records`);
      assert.deepEqual(raw, copy, "the input is left as it was");
      // Into a caller's buffer: used when it has room, ignored when it has not.
      const roomy = new Uint8Array(later.length * 2 + 70_000);
      const into = compressRecordBatch(raw, undefined, roomy);
      assert.deepEqual(into, direct);
      if (codec !== Compression.Snappy || into.buffer === roomy.buffer) {
        assert.equal(into.buffer, roomy.buffer, `codec ${codec}: the given buffer is used`);
      }
      const tiny = new Uint8Array(10);
      const notInto = compressRecordBatch(raw, undefined, tiny);
      assert.deepEqual(notInto, direct);
      assert.notEqual(notInto.buffer, tiny.buffer);
      const decoded = decodeRecordBatches(later).batches[0]!;
      assert.equal(decoded.count, records);
      assert.equal(decoded.baseSequence, 1000);
    }
  }
  assert.throws(() => compressRecordBatch(new Uint8Array(10)), RangeError);
  const none = new RecordBatchBuilder();
  none.append(1, null, null);
  assert.throws(() => compressRecordBatch(none.finishUncompressed()), RangeError);
});

Deno.test("producer compression: patchProducerState gives the bytes and CRC rewriteProducerState does", () => {
  let n = 0;
  for (const codec of [Compression.None, ...CODECS]) {
    for (const records of [1, 7, 120]) {
      const b = builder(codec, { producerId: -1n, producerEpoch: -1, baseSequence: -1 });
      fill(b, records, (i) => letters(100 + i, n + 3));
      const patched = b.finish();
      const rewritten = patched.slice();
      const pid = 123_456_789_012_345n * BigInt(n + 1);
      const epoch = (n * 37) % 32768;
      const seq = (n * 1_000_003) % 0x7fffffff;
      patchProducerState(patched, pid, epoch, seq);
      rewriteProducerState(rewritten, pid, epoch, seq);
      assert.deepEqual(patched, rewritten, `codec ${codec}, ${records} records`);
      // The decoder checks the CRC by default.
      const d = decodeRecordBatches(patched).batches[0]!;
      assert.deepEqual([d.producerId, d.producerEpoch, d.baseSequence], [pid, epoch, seq]);
      // Patching twice (an epoch bump after the first drain) stays right.
      patchProducerState(patched, 5n, 0, 0);
      rewriteProducerState(rewritten, 5n, 0, 0);
      assert.deepEqual(patched, rewritten);
      n++;
    }
  }
  assert.throws(() => patchProducerState(new Uint8Array(10), 1, 1, 1), RangeError);
});

Deno.test("producer compression: an lz4 batch whose every block is incompressible goes out uncompressed", () => {
  const values = letters(300_000, 11);
  const value = (i: number) => values.subarray(i * 1000, i * 1000 + 1000);
  const make = () => {
    const b = builder(Compression.Lz4);
    fill(b, 300, value);
    return b;
  };
  const plain = builder(Compression.None);
  fill(plain, 300, value);
  const plainBytes = plain.finish();
  const expected = decodeRecordBatches(plainBytes).batches[0]!;
  // Inline, into a reused buffer, and through finish(): the records as they are, attributes
  // naming no codec (the transactional bit kept), CRC right (the decoder checks it).
  const roomy = new Uint8Array(1 << 20);
  for (
    const bytes of [make().finish(), compressRecordBatch(make().finishUncompressed(), 1, roomy)]
  ) {
    assert.equal(bytes.length, plainBytes.length);
    const got = decodeRecordBatches(bytes, { checkCrc: true }).batches[0]!;
    assert.equal(got.compression, Compression.None);
    assert.equal(got.isTransactional, true);
    assert.equal(got.count, 300);
    assert.deepEqual(got.records.map((r) => r.value), expected.records.map((r) => r.value));
  }
  // In place: the same bytes, in the input's own buffer (the output buffer only scratch).
  const input = make().finishUncompressed();
  const scratch = new Uint8Array(1 << 20);
  const inPlace = compressRecordBatch(input, undefined, scratch, true);
  assert.equal(inPlace, input);
  assert.deepEqual(inPlace, compressRecordBatch(make().finishUncompressed()));
  // A batch with a block that compresses stays lz4, its raw blocks framed around it.
  const mixed = builder(Compression.Lz4);
  fill(mixed, 200, value);
  fill(mixed, 200, () => enc.encode("a compressible record value ".repeat(20)));
  const m = decodeRecordBatches(mixed.finish(), { checkCrc: true }).batches[0]!;
  assert.equal(m.compression, Compression.Lz4);
  assert.equal(m.count, 400);
  const compressible = builder(Compression.Lz4);
  fill(compressible, 400, () => enc.encode("a compressible record value ".repeat(20)));
  const framed = compressRecordBatch(compressible.finishUncompressed(), undefined, scratch, true);
  assert.equal(framed.buffer, scratch.buffer);
  assert.equal(decodeRecordBatches(framed).batches[0]!.compression, Compression.Lz4);
});

Deno.test("producer compression: a batch no codec can shrink goes out uncompressed, for every codec", () => {
  // Random bytes, no keys: nothing in them for any codec to shorten.
  const values = noise(200_000, 3);
  const add = (b: RecordBatchBuilder) => {
    for (let i = 0; i < 50; i++) {
      b.append(1_700_000_000_000, null, values.subarray(i * 4000, i * 4000 + 4000));
    }
  };
  const plain = builder(Compression.None);
  add(plain);
  const plainBytes = plain.finish();
  for (const codec of CODECS) {
    for (const inPlace of [false, true]) {
      const b = builder(codec);
      add(b);
      const bytes = compressRecordBatch(b.finishUncompressed(), undefined, undefined, inPlace);
      assert.equal(bytes.length, plainBytes.length, `codec ${codec}`);
      const got = decodeRecordBatches(bytes, { checkCrc: true }).batches[0]!;
      assert.equal(got.compression, Compression.None, `codec ${codec}`);
      assert.equal(got.count, 50);
      assert.deepEqual(bytes, plainBytes, `codec ${codec}: the bytes of an uncompressed batch`);
    }
  }
});

Deno.test("accumulator: incompressible lz4 batches go out from their builder's buffer, uncompressed", () => {
  const o = resolveProducerOptions({
    brokers: ["127.0.0.1:9092"],
    batchSize: 262_144,
    compressionWorkers: 0,
  });
  const acc = new Accumulator(o, Compression.Lz4, { wake() {}, opened() {}, lost() {} });
  const t = new TopicState("t", o.batchSize);
  const ps = new PartitionState(t, 0);
  t.partitions.push(ps);
  const values = letters(1 << 20, 5);
  const json = enc.encode("a compressible record value ".repeat(36)).subarray(0, 1000);
  const buffers: ArrayBufferLike[] = [];
  let at = 0;
  // Letters, then compressible records, then letters again: once a batch went out plain the
  // next builders checksum as they append (the batch CRC must then still be right), and a
  // batch that compresses again turns that off.
  const kinds = ["plain", "plain", "plain", "plain", "lz4", "lz4", "lz4", "plain", "plain"];
  for (const [round, kind] of kinds.entries()) {
    while (ps.queue.length < 2) {
      at = (at + 1000) % ((1 << 20) - 1000);
      const value = kind === "lz4" && round > 4 ? json : values.subarray(at, at + 1000);
      acc.append(ps, 1, null, value, undefined, null, null);
    }
    const batch = ps.queue.shift()!;
    acc.finish(batch);
    const decoded = decodeRecordBatches(batch.bytes!, { checkCrc: true }).batches[0]!;
    assert.equal(decoded.count, batch.count);
    // Round 4's batch was filled with letters before the switch; the next one is mixed.
    const want = kind === "lz4" && round > 4 ? Compression.Lz4 : Compression.None;
    if (round !== 7) assert.equal(decoded.compression, want, `round ${round}`);
    assert.equal(t.recordsPlain, decoded.compression === Compression.None, `round ${round}`);
    buffers.push(batch.bytes!.buffer);
    batch.attempts = 1;
    acc.release(batch, true);
  }
  // Buffers still come back and are used again: no new one per batch (one more while
  // batches switch between compressed, which hold an output buffer, and plain).
  assert.ok(new Set(buffers).size <= 4, `${new Set(buffers).size} buffers`);
  assert.ok(buffers.slice(-2).every((b) => buffers.slice(0, -2).includes(b)), "reused");
});

Deno.test("record batch builder: recordsCrc is the records' CRC-32C when checksumRecords is set", () => {
  for (const checksumRecords of [false, true]) {
    const b = new RecordBatchBuilder({ compression: Compression.Lz4, checksumRecords });
    fill(b, 3000, (i) => letters(100 + (i % 50), i));
    const u = b.finishUncompressed();
    const crc = b.recordsCrc();
    if (!checksumRecords) {
      assert.equal(crc, undefined);
      continue;
    }
    assert.equal(crc, crc32c(u.subarray(61)));
    // Used as given (a wrong one would make the batch fail its CRC check).
    const bytes = compressRecordBatch(u.slice(), undefined, undefined, true, crc);
    assert.equal(decodeRecordBatches(bytes, { checkCrc: true }).batches[0]!.count, 3000);
    const bad = compressRecordBatch(u.slice(), undefined, undefined, true, crc! ^ 1);
    assert.throws(() => decodeRecordBatches(bad, { checkCrc: true }));
  }
});

Deno.test("producer compression: lz4 stores incompressible blocks raw after a few KiB, loses nothing", () => {
  const rawBit = (frame: Uint8Array) => {
    // Walk the blocks of a Kafka-style frame (7-byte header, no checksums).
    const kinds: boolean[] = [];
    let p = 7;
    for (;;) {
      const w = new DataView(frame.buffer, frame.byteOffset + p).getUint32(0, true);
      p += 4;
      if (w === 0) break;
      kinds.push((w & 0x80000000) !== 0);
      p += w & 0x7fffffff;
    }
    return kinds;
  };
  // Letters: a few 4-byte matches by chance, nothing worth keeping: every block raw.
  const text = letters(300_000);
  const frame = lz4CompressFrame(text);
  assert.deepEqual(lz4DecompressFrame(frame, text.length), text);
  assert.ok(rawBit(frame).every((raw) => raw), "incompressible blocks are stored raw");
  assert.ok(frame.length <= text.length + 64);
  // Compressible data is compressed as before.
  const json = enc.encode(
    Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i, name: `user-${i % 97}` }))
      .join("\n"),
  );
  const jf = lz4CompressFrame(json);
  assert.ok(jf.length < json.length / 3, `json ratio ${jf.length / json.length}`);
  assert.ok(rawBit(jf).every((raw) => !raw));
  assert.deepEqual(lz4DecompressFrame(jf, json.length), json);
  // A block that starts incompressible and ends compressible, and the reverse, round-trip.
  for (
    const mixed of [
      new Uint8Array([...noise(20_000), ...json.subarray(0, 100_000)]),
      new Uint8Array([...json.subarray(0, 30_000), ...noise(100_000, 9)]),
    ]
  ) {
    assert.deepEqual(lz4DecompressFrame(lz4CompressFrame(mixed), mixed.length), mixed);
  }
});

Deno.test("producer compression: builders build in a given buffer and stop doubling at maxCapacity", () => {
  const given = new Uint8Array(4096);
  const b = new RecordBatchBuilder({ compression: Compression.Lz4, buffer: given });
  b.append(1, null, enc.encode("x"));
  const bytes = b.finish();
  assert.notEqual(bytes.buffer, given.buffer, "compressed: the bytes live elsewhere");
  assert.equal(b.releaseBuffer(), given, "and the builder's buffer is handed back");
  assert.equal(b.releaseBuffer(), null, "once");
  // Uncompressed: the bytes are the buffer, which is not handed back.
  const u = new RecordBatchBuilder({ buffer: given });
  u.append(1, null, enc.encode("y"));
  assert.equal(u.releaseBuffer(), null, "not finished");
  assert.equal(u.finish().buffer, given.buffer);
  assert.equal(u.releaseBuffer(), null);
  const f = new RecordBatchBuilder({ compression: Compression.Zstd, buffer: given });
  f.append(1, null, enc.encode("z"));
  f.finishUncompressed();
  assert.equal(f.releaseBuffer(), null, "finishUncompressed hands the buffer over itself");
  // A too small buffer is ignored.
  const small = new RecordBatchBuilder({ buffer: new Uint8Array(8), initialCapacity: 256 });
  small.append(1, null, enc.encode("s"));
  assert.equal(small.finish().buffer.byteLength, 256);
  // Growth is capped at maxCapacity: 1000 -> 2000 -> 2500, not 4000.
  const g = new RecordBatchBuilder({ initialCapacity: 1000, maxCapacity: 2500 });
  while (g.sizeInBytes < 2400) g.append(1, null, new Uint8Array(50));
  assert.equal(g.finish().buffer.byteLength, 2500);
  // A record beyond it still fits.
  const h = new RecordBatchBuilder({ initialCapacity: 1000, maxCapacity: 1500 });
  h.append(1, null, new Uint8Array(3000));
  assert.ok(h.finish().length > 3000);
});

Deno.test("producer compression: the worker pool compresses off-thread, hands buffers back, closes cleanly", async () => {
  const pool = new CompressionPool(2, silentLogger);
  const make = (codec: CompressionCodec, seed: number) => {
    const b = builder(codec, { initialCapacity: 200_000 });
    fill(b, 150, (i) => i % 2 ? letters(1000, seed + i) : enc.encode(`json ${i} `.repeat(80)));
    return b;
  };
  // Nothing is ready before the first worker reported in: the caller compresses itself.
  const first = make(Compression.Lz4, 1).finishUncompressed();
  assert.equal(pool.submit(first, undefined, undefined, () => {}), false);
  assert.ok(first.length > 0, "a refused batch is left as it was");
  // A view that does not start its buffer cannot be transferred whole: refused.
  const offset = new Uint8Array(first.buffer, 1, first.length - 1);
  // A worker starts in well under a second on an idle machine; a busy one (or a cold module
  // cache) can take many: wait for the first one generously, and fail only if none ever comes.
  const deadline = Date.now() + 60_000;
  for (let ready = false; !ready;) {
    if (pool.submit(offset, undefined, undefined, () => {})) assert.fail("accepted an offset view");
    assert.ok(Date.now() < deadline, "no compression worker reported ready within 60 s");
    await new Promise((r) => setTimeout(r, 10));
    ready = pool.submit(
      make(Compression.Lz4, 2).finishUncompressed(),
      undefined,
      undefined,
      () => {},
    );
  }
  // Every codec, through the workers, gives the bytes of an inline finish().
  const results: Promise<[Uint8Array | null, Uint8Array | null]>[] = [];
  const expected: Uint8Array[] = [];
  const outputSizes: number[] = [];
  for (const codec of CODECS) {
    for (let k = 0; k < 3; k++) {
      expected.push(make(codec, 10 * codec + k).finish());
      const batch = make(codec, 10 * codec + k).finishUncompressed();
      const output = new Uint8Array(expected.at(-1)!.length + 100_000);
      outputSizes.push(output.length);
      const { promise, resolve } = Promise.withResolvers<[Uint8Array | null, Uint8Array | null]>();
      assert.ok(pool.submit(batch, undefined, output, (bytes, input) => resolve([bytes, input])));
      assert.equal(batch.length, 0, "transferred, not copied");
      assert.equal(output.length, 0);
      results.push(promise);
    }
  }
  const answers = await Promise.all(results);
  answers.forEach(([bytes, input], i) => {
    assert.ok(bytes !== null && input !== null);
    assert.deepEqual(bytes, expected[i], `job ${i}`);
    assert.equal(bytes.buffer.byteLength, outputSizes[i], "compressed into the given buffer");
    assert.equal(input.byteLength, 200_000, "the input buffer comes back whole");
  });
  // Jobs still out when the pool closes are reported lost, once.
  let lost = 0;
  for (let i = 0; i < 4; i++) {
    pool.submit(make(Compression.Zstd, 99 + i).finishUncompressed(), 19, undefined, (b, input) => {
      assert.equal(b, null);
      assert.equal(input, null);
      lost++;
    });
  }
  const pending = pool.pending;
  pool.close();
  assert.equal(lost, pending);
  assert.equal(pool.pending, 0);
  assert.equal(
    pool.submit(make(Compression.Lz4, 3).finishUncompressed(), 1, undefined, () => {}),
    false,
  );
  pool.close();
});

Deno.test("accumulator: without workers, large batches compress into reused output buffers", () => {
  for (const codec of [Compression.Lz4, Compression.Zstd] as const) {
    const o = resolveProducerOptions({
      brokers: ["127.0.0.1:9092"],
      batchSize: 262_144,
      compressionWorkers: 0,
    });
    const acc = new Accumulator(o, codec, { wake() {}, opened() {}, lost() {} });
    const t = new TopicState("t", o.batchSize);
    const ps = new PartitionState(t, 0);
    t.partitions.push(ps);
    const value = enc.encode("a compressible record value ".repeat(36)); // ~1 KiB
    const buffers: ArrayBufferLike[] = [];
    for (let round = 0; round < 6; round++) {
      // Fill one batch (it closes itself when full), then drain and acknowledge it.
      while (ps.queue.length < 2) acc.append(ps, 1, null, value, undefined, null, null);
      const batch = ps.queue.shift()!;
      acc.finish(batch);
      const decoded = decodeRecordBatches(batch.bytes!).batches[0]!;
      assert.equal(decoded.count, batch.count);
      assert.equal(decoded.compression, codec);
      buffers.push(batch.bytes!.buffer);
      batch.attempts = 1; // sent once (the sender counts), then acknowledged
      acc.release(batch, true);
    }
    // The output buffers came back and were used again, and again. Builder and output buffers
    // share one pool (a drained batch's builder buffer is the next drain's output buffer), so
    // the outputs take turns among the first rounds' buffers: the one output, the open batch's
    // builder and the one being filled.
    const distinct = new Set(buffers).size;
    assert.ok(distinct <= 3, `codec ${codec}: ${distinct} buffers`);
    assert.equal(new Set(buffers.slice(0, 3)).size, distinct, `codec ${codec}: new buffers later`);
  }
});

Deno.test("accumulator: batches handed to a compression worker get a reusable output buffer", () => {
  // Without one the worker compressed into a buffer of its own, which no later batch could
  // reuse: a quarter of the P3 batches of a one-worker producer (bench/PROFILE.md, Session 16).
  for (const codec of [Compression.Lz4, Compression.Zstd] as const) {
    const o = resolveProducerOptions({
      brokers: ["127.0.0.1:9092"],
      batchSize: 262_144,
      compressionWorkers: 1,
    });
    // A stand-in for the pool: it keeps the jobs, and the test runs them as a worker would.
    const jobs: (() => void)[] = [];
    const outputs: (Uint8Array | undefined)[] = [];
    const compressor = {
      submit(
        batch: Uint8Array,
        level: number | undefined,
        output: Uint8Array | undefined,
        done: (bytes: Uint8Array | null, input: Uint8Array | null) => void,
      ): boolean {
        outputs.push(output);
        jobs.push(() =>
          done(compressRecordBatch(batch, level, output), new Uint8Array(batch.buffer))
        );
        return true;
      },
    };
    const acc = new Accumulator(o, codec, { wake() {}, opened() {}, lost() {} }, compressor);
    const t = new TopicState("t", o.batchSize);
    const ps = new PartitionState(t, 0);
    t.partitions.push(ps);
    const value = enc.encode("a compressible record value ".repeat(36)); // ~1 KiB
    const buffers: ArrayBufferLike[] = [];
    for (let round = 0; round < 6; round++) {
      // Fill one batch (it closes itself when full and goes to the "worker"), compress it,
      // then acknowledge it.
      while (ps.queue.length < 2) acc.append(ps, 1, null, value, undefined, null, null);
      for (const job of jobs.splice(0)) job();
      const batch = ps.queue.shift()!;
      assert.ok(batch.bytes !== null && batch.bytes !== undefined, "compressed by the worker");
      const decoded = decodeRecordBatches(batch.bytes!).batches[0]!;
      assert.equal(decoded.count, batch.count);
      assert.equal(decoded.compression, codec);
      buffers.push(batch.bytes!.buffer);
      batch.attempts = 1;
      acc.release(batch, true);
    }
    assert.ok(outputs.length >= 6);
    assert.ok(outputs.every((b) => b !== undefined), `codec ${codec}: a job without an output`);
    const distinct = new Set(buffers).size;
    assert.ok(distinct <= 3, `codec ${codec}: ${distinct} buffers`);
  }
});

Deno.test("accumulator: a retried batch's buffer is not reused, its patched bytes are a copy", () => {
  // Requests write a batch's own buffer (zeroCopy): an earlier attempt's write may still be
  // queued on some connection when a later one is answered, or when the batch is renumbered.
  for (const codec of [Compression.None, Compression.Lz4] as const) {
    const o = resolveProducerOptions({
      brokers: ["127.0.0.1:9092"],
      batchSize: 262_144,
      compressionWorkers: 0,
    });
    const acc = new Accumulator(o, codec, { wake() {}, opened() {}, lost() {} });
    const t = new TopicState("t", o.batchSize);
    const ps = new PartitionState(t, 0);
    t.partitions.push(ps);
    const value = enc.encode("a compressible record value ".repeat(36));
    const seen = new Set<ArrayBufferLike>();
    for (let round = 0; round < 3; round++) {
      while (ps.queue.length < 2) acc.append(ps, 1, null, value, undefined, null, null);
      const batch = ps.queue.shift()!;
      acc.finish(batch);
      assert.ok(!seen.has(batch.bytes!.buffer), `codec ${codec}: a retried batch's buffer reused`);
      seen.add(batch.bytes!.buffer);
      batch.attempts = 2;
      const sent = batch.bytes!;
      const before = sent.slice();
      batch.patchBytes(5n, 1, 100);
      assert.notEqual(batch.bytes, sent);
      assert.deepEqual(sent, before, "the bytes an earlier attempt wrote are unchanged");
      assert.equal(decodeRecordBatches(batch.bytes!).batches[0]!.baseSequence, 100);
      acc.release(batch, true);
    }
  }
});

Deno.test("accumulator: batches of incompressible records never compress past batchSize", () => {
  for (const codec of CODECS) {
    for (const valueSize of [100, 1000]) {
      const o = resolveProducerOptions({
        brokers: ["127.0.0.1:9092"],
        batchSize: 262_144,
        bufferMemory: 8 << 20,
        compressionWorkers: 0,
      });
      const acc = new Accumulator(o, codec, { wake() {}, opened() {}, lost() {} });
      const t = new TopicState("t", o.batchSize);
      const ps = new PartitionState(t, 0);
      t.partitions.push(ps);
      const values = noise(1 << 20, 7 + codec);
      for (let i = 0; ps.queue.length < 4; i++) {
        const at = (i * valueSize) % (values.length - valueSize);
        acc.append(ps, 1, null, values.subarray(at, at + valueSize), undefined, null, null);
      }
      for (const batch of ps.queue.slice(0, 3)) {
        // Full batches: within a record of the limit, uncompressed.
        assert.ok(batch.size > o.batchSize - valueSize - 600, `${codec}: ${batch.size}`);
        acc.finish(batch);
        assert.ok(
          batch.bytes!.length <= o.batchSize,
          `codec ${codec}, ${valueSize} B records: ${batch.bytes!.length} > ${o.batchSize}`,
        );
      }
    }
  }
});
