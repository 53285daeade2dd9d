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
  // The records are checksummed in 16 KiB runs as they are appended, the header at the end:
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
