/**
 * The consumer's CRC check in Workers (consumer/crc_pool.ts): the verdict per partition range
 * (good, corrupt, several batches, compressed, legacy, a truncated tail), the pool's round
 * trip of a fetch response's buffer (transferred there and back, the records re-pointed into
 * it), the chunk skipping the check only for verified data, and the frame reader giving up a
 * frame's own buffer so that transferring it cannot break the next read.
 */

import assert from "node:assert/strict";
import { Chunk } from "../../consumer/chunk.ts";
import { CrcPool, verifyRanges } from "../../consumer/crc_pool.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import { FrameReader } from "../../net/frame_reader.ts";
import { isSoleFrameBuffer, markSoleFrameBuffer } from "../../net/sole_buffer.ts";
import { Compression, type CompressionCodec } from "../../protocol/compression/mod.ts";
import { DecodeError } from "../../protocol/errors.ts";
import { silentLogger } from "../../protocol/logger.ts";
import type { FetchResponse } from "../../protocol/messages/fetch.ts";
import { RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";

const enc = new TextEncoder();

function batch(baseOffset: number, n: number, compression: CompressionCodec = 0): Uint8Array {
  const b = new RecordBatchBuilder({ baseOffset, compression });
  for (let i = 0; i < n; i++) {
    b.append(1000 + i, null, enc.encode(`value ${baseOffset + i} `.repeat(20)));
  }
  return b.finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A copy of `b` with one byte of its records (past the 61-byte header) flipped. */
function corrupt(b: Uint8Array): Uint8Array {
  const c = b.slice();
  c[c.length - 10]! ^= 0x40;
  return c;
}

/** A magic-1 message (legacy): never verified by a worker. */
function legacy(): Uint8Array {
  const b = new Uint8Array(12 + 22);
  new DataView(b.buffer).setInt32(8, 22);
  b[16] = 1;
  new DataView(b.buffer).setInt32(26, -1);
  new DataView(b.buffer).setInt32(30, -1);
  return b;
}

Deno.test("crc pool: verifyRanges passes good batches and fails a range with a corrupt one", () => {
  const good = concat(batch(0, 5), batch(5, 3), batch(8, 40));
  const zipped = concat(batch(0, 50, Compression.Lz4), batch(50, 50, Compression.Gzip));
  const bad = concat(batch(0, 5), corrupt(batch(5, 5)), batch(10, 5));
  const badZipped = corrupt(batch(0, 50, Compression.Zstd));
  // A truncated batch at the end is not looked at (the consumer never decodes it).
  const tail = concat(batch(0, 5), batch(5, 5).subarray(0, 70));
  const parts = [good, zipped, bad, badZipped, legacy(), tail, new Uint8Array(0)];
  const all = concat(new Uint8Array(7), ...parts);
  const ranges: number[] = [];
  let at = 7;
  for (const p of parts) {
    ranges.push(at, p.length);
    at += p.length;
  }
  assert.deepEqual([...verifyRanges(all, new Int32Array(ranges))], [1, 1, 0, 0, 0, 1, 1]);
  // A range outside the bytes is not verified.
  assert.deepEqual([...verifyRanges(good, new Int32Array([0, good.length + 1]))], [0]);
});

Deno.test("crc pool: a chunk skips the CRC only when it was verified", () => {
  const ps = new PartitionState("t", 0);
  ps.startAt(0n, -1);
  const bytes = corrupt(batch(0, 5));
  const checked = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 0n, -1, 5n, -1);
  assert.throws(() => checked.nextRecords(true, 1 << 20), DecodeError);
  const verified = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 0n, -1, 5n, -1);
  verified.crcChecked = true;
  assert.equal(verified.nextRecords(true, 1 << 20)?.records.length, 5);
});

/** A fetch response over one buffer: a partition per part, the records views into it. */
function response(parts: Uint8Array[], sole: boolean): FetchResponse {
  const all = concat(new Uint8Array(100), ...parts);
  if (sole) markSoleFrameBuffer(all.buffer);
  let at = 100;
  const partitions = parts.map((p, i) => {
    const records = all.subarray(at, at + p.length);
    at += p.length;
    return { partitionIndex: i, records };
  });
  return { responses: [{ topic: "t", partitions }] } as unknown as FetchResponse;
}

Deno.test("crc pool: a response's buffer goes to a worker and back with a verdict per partition", async () => {
  const pool = new CrcPool(1, silentLogger);
  try {
    const parts = [
      concat(batch(0, 100), batch(100, 100)),
      concat(batch(0, 200, Compression.Lz4), batch(200, 100, Compression.Snappy)),
      concat(batch(0, 100), corrupt(batch(100, 100)), batch(200, 100)),
      new Uint8Array(0),
    ];
    // A worker starts with the first response it could take (that one is checked inline),
    // in well under a second on an idle machine; a busy one can take many.
    const deadline = Date.now() + 60_000;
    let res = response(parts, true);
    let pending = pool.check(res);
    while (pending === undefined) {
      assert.ok(Date.now() < deadline, "no CRC worker reported ready within 60 s");
      await new Promise((r) => setTimeout(r, 10));
      res = response(parts, true);
      pending = pool.check(res);
    }
    assert.equal(pool.ready, 1);
    // Transferred, not copied: the views the main thread had read as empty meanwhile.
    assert.equal(res.responses[0]!.partitions[0]!.records!.length, 0);
    const verified = await pending;
    const ps = res.responses[0]!.partitions;
    assert.deepEqual(ps.map((p) => verified.has(p)), [true, true, false, true]);
    for (let i = 0; i < parts.length; i++) {
      assert.deepEqual(ps[i]!.records, parts[i], `partition ${i}'s records, back in place`);
    }
    // The buffer that came back is a new one, and not a frame's: it is never sent again.
    assert.equal(isSoleFrameBuffer(ps[0]!.records!.buffer), false);
    assert.equal(pool.check(res), undefined);
    // A buffer the frame reader did not give up is never transferred.
    const shared = response(parts, false);
    assert.equal(pool.check(shared), undefined);
    assert.equal(shared.responses[0]!.partitions[0]!.records!.length, parts[0]!.length);
  } finally {
    pool.close();
  }
});

Deno.test("crc pool: closing rejects a response still out, as a retriable error", async () => {
  const pool = new CrcPool(1, silentLogger);
  const deadline = Date.now() + 60_000;
  const parts = [concat(...Array.from({ length: 50 }, (_, i) => batch(i * 100, 100)))];
  let pending = pool.check(response(parts, true));
  while (pending === undefined) {
    assert.ok(Date.now() < deadline, "no CRC worker reported ready within 60 s");
    await new Promise((r) => setTimeout(r, 10));
    pending = pool.check(response(parts, true));
  }
  pool.close();
  await assert.rejects(pending, (e: Error & { retriable?: boolean }) => e.retriable === true);
});

Deno.test("frame reader: a frame's own buffer is given up, so transferring it leaves the reader intact", async () => {
  const big = 200_000;
  const stream = new Uint8Array(4 + big + 4 + 3 + 4 + big);
  const v = new DataView(stream.buffer);
  v.setInt32(0, big);
  stream.fill(7, 4, 4 + big);
  v.setInt32(4 + big, 3);
  stream.set([1, 2, 3], 8 + big);
  v.setInt32(11 + big, big);
  stream.fill(9, 15 + big);
  let at = 0;
  const source = {
    read(p: Uint8Array) {
      if (at >= stream.length) return Promise.resolve(null);
      const n = Math.min(p.length, 50_000, stream.length - at);
      p.set(stream.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
  const reader = new FrameReader(source, 1 << 20);
  const first = (await reader.next())!;
  assert.equal(first.length, big);
  assert.ok(isSoleFrameBuffer(first.buffer), "a large frame owns its buffer");
  // What the consumer's CRC check does with it: the buffer is detached here.
  structuredClone(first.buffer, { transfer: [first.buffer as ArrayBuffer] });
  const second = (await reader.next())!;
  assert.deepEqual([...second], [1, 2, 3]);
  assert.equal(isSoleFrameBuffer(second.buffer), false, "a small frame shares its buffer");
  const third = (await reader.next())!;
  assert.equal(third.length, big);
  assert.equal(third[0], 9);
  assert.equal(await reader.next(), null);
});
