/**
 * `RecordBatchBuilder.appendWithin`: the producer's one-sizing append. It appends exactly what
 * `append` does when the batch stays within the limit, and nothing (returning minus
 * `estimatedSizeAfter`) when it would not.
 */

import assert from "node:assert/strict";
import { RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import { crc32c } from "../../protocol/crc32c.ts";
import { RecordBatchLayout as L } from "../../protocol/record_batch.ts";

Deno.test("appendWithin: the same bytes as append within the limit, nothing beyond it", () => {
  const a = new RecordBatchBuilder({ initialCapacity: 64 });
  const b = new RecordBatchBuilder({ initialCapacity: 64 });
  const enc = new TextEncoder();
  let ts = 1_700_000_000_000;
  let refused = 0;
  for (let i = 0; i < 500; i++) {
    const key = i % 3 === 0 ? null : enc.encode(`key-${i}`);
    const value = new Uint8Array(i % 200);
    const headers = i % 7 === 0 ? [{ key: "h", value: enc.encode(String(i)) }] : undefined;
    ts += i % 11 === 0 ? -5_000 : 3;
    const want = b.estimatedSizeAfter(ts, key, value, headers);
    const before = b.sizeInBytes;
    // Every fourth record gets a limit one byte short of what it needs.
    const limit = i % 4 === 1 ? want - 1 : want;
    const got = b.appendWithin(ts, key, value, headers, limit);
    if (i % 4 === 1) {
      assert.equal(got, -want, `record ${i} refused`);
      assert.equal(b.sizeInBytes, before);
      refused++;
      continue;
    }
    assert.equal(got, want, `record ${i}`);
    assert.equal(b.sizeInBytes, want);
    a.append(ts, key, value, headers);
  }
  assert.equal(refused, 125);
  assert.equal(b.count, a.count);
  const bytes = b.finish();
  assert.deepEqual(bytes, a.finish());
  const batch = decodeRecordBatches(bytes).batches[0]!;
  assert.equal(batch.count, 375);
});

Deno.test("appendWithin: a refused first record leaves the batch empty", () => {
  const b = new RecordBatchBuilder();
  const empty = b.sizeInBytes;
  const size = b.appendWithin(5_000, null, new Uint8Array(100), undefined, 100);
  assert.ok(size < -empty);
  assert.equal(b.count, 0);
  assert.equal(b.sizeInBytes, empty);
  // The batch's base timestamp comes from the first record appended, not the refused one.
  assert.ok(b.appendWithin(9_000, null, null, undefined, Infinity) > empty);
  const batch = decodeRecordBatches(b.finish()).batches[0]!;
  assert.equal(batch.baseTimestamp, 9_000);
});

Deno.test("appendWithin: the CRC, checksummed in runs while appending, covers the final header", () => {
  // The records are checksummed in runs as they are appended (16 KiB runs when this was
  // written, 128 KiB since Session 15), the header at the end:
  // batches below, at and across several runs, with the producer state set only before
  // finishing, and a buffer that has to grow in between.
  for (
    const [count, size] of [[1, 10], [15, 1024], [16, 1024], [17, 1024], [300, 1000], [3, 40_000]]
  ) {
    const b = new RecordBatchBuilder({ initialCapacity: 128 });
    for (let i = 0; i < count!; i++) {
      const value = new Uint8Array(size!).fill(i + 1);
      b.append(1_700_000_000_000 + i, i % 2 ? null : new Uint8Array([i]), value);
    }
    b.setProducerState(123_456n, 7, 4_242);
    const out = b.finish();
    const stored = new DataView(out.buffer, out.byteOffset).getUint32(L.Crc);
    assert.equal(stored, crc32c(out, L.Attributes, out.length), `${count} x ${size} B`);
    const { batches } = decodeRecordBatches(out);
    assert.equal(batches[0]!.count, count);
  }
});

/**
 * Fills a builder with 1000-byte values, then one value sized so that the batch ends exactly
 * at `end` bytes (or as close below as the varints allow), returning the builder.
 */
function fillTo(b: RecordBatchBuilder, end: number): RecordBatchBuilder {
  let i = 0;
  const value = (n: number) => new Uint8Array(n).fill(i & 0xff);
  while (b.appendWithin(1_700_000_000_000 + i, null, value(1000), undefined, end - 2100) > 0) i++;
  // 2100 to ~3100 bytes left: one record closes the gap.
  for (let n = 3200; n >= 0; n--) {
    if (b.appendWithin(1_700_000_000_000 + i, null, value(n), undefined, end) > 0) break;
  }
  return b;
}

Deno.test("appendWithin: the CRC is right for batches ending at, before and after every run boundary", () => {
  // The builder checksums the records in runs (128 KiB; 16-64 KiB measured too) as they are
  // appended, the last one at finish: batches ending one byte before, at, and one byte past
  // every multiple of 16 KiB of records up to 288 KiB (the boundaries of any of those run
  // sizes), and a 1 MiB batch, in a reused buffer as the producer builds them.
  const buffer = new Uint8Array(1 << 20);
  const ends: number[] = [];
  for (let k = 1; k <= 18; k++) {
    for (const d of [-1, 0, 1]) ends.push(L.HeaderSize + k * 16 * 1024 + d);
  }
  ends.push(1 << 20);
  let exact = 0;
  for (const end of ends) {
    const b = fillTo(new RecordBatchBuilder({ buffer, maxCapacity: 1 << 20 }), end);
    if (b.sizeInBytes === end) exact++;
    b.setProducerState(99n, 1, 10);
    const out = b.finish();
    const stored = new DataView(out.buffer, out.byteOffset).getUint32(L.Crc);
    assert.equal(stored, crc32c(out, L.Attributes, out.length), `${out.length} B`);
    assert.equal(decodeRecordBatches(out).batches[0]!.count, b.count);
  }
  assert.ok(exact >= ends.length - 3, `only ${exact} of ${ends.length} batches end exactly`);
});

Deno.test("appendWithin: recordsCrc is the records' CRC at every run boundary, also with a codec", () => {
  // `checksumRecords` (a compressed batch that may go out uncompressed) takes the same runs;
  // recordsCrc() checksums the last one.
  for (const compression of [0, 3] as const) {
    for (let k = 1; k <= 18; k += 1) {
      for (const d of [-1, 0, 1]) {
        const end = L.HeaderSize + k * 16 * 1024 + d;
        const b = fillTo(new RecordBatchBuilder({ compression, checksumRecords: true }), end);
        const records = b.finishUncompressed();
        assert.equal(
          b.recordsCrc(),
          crc32c(records, L.HeaderSize),
          `codec ${compression}, ${end} B`,
        );
      }
    }
  }
});
