/**
 * RecordBatch v2 encode/decode, uncompressed, 1000 records per batch (records/s = 1000 /
 * time per iteration). Targets at 100 B values on one core: encode >= 3M records/s, decode
 * >= 5M records/s (CRC check on, as by default).
 */
import { RecordBatchBuilder } from "../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../protocol/record_batch_decoder.ts";
import type { RecordHeader } from "../protocol/record_batch.ts";

const N = 1000;
const T0 = 1_700_000_000_000;

function values(size: number): Uint8Array[] {
  return Array.from({ length: N }, (_, i) => {
    const v = new Uint8Array(size);
    for (let j = 0; j < size; j++) v[j] = (i * 31 + j) & 0xff;
    return v;
  });
}
const keys = Array.from({ length: N }, (_, i) => new TextEncoder().encode(`key-${i}`));
const headers: RecordHeader[] = [{ key: "trace", value: new Uint8Array(16) }];

function encode(vals: Uint8Array[], withKeys: boolean, hdrs?: RecordHeader[]): Uint8Array {
  const b = new RecordBatchBuilder({ producerId: 1n, producerEpoch: 0, baseSequence: 0 });
  for (let i = 0; i < N; i++) b.append(T0 + (i >> 3), withKeys ? keys[i]! : null, vals[i]!, hdrs);
  return b.finish();
}

let sink = 0;
for (const size of [100, 1024]) {
  const vals = values(size);
  const label = size === 100 ? "100 B" : "1 KiB";
  const plain = encode(vals, false);
  const keyed = encode(vals, true, headers);
  Deno.bench({
    name: `encode 1000 x ${label}`,
    group: `encode ${label}`,
    baseline: true,
    fn() {
      sink += encode(vals, false).length;
    },
  });
  Deno.bench({
    name: `encode 1000 x ${label}, key + 1 header`,
    group: `encode ${label}`,
    fn() {
      sink += encode(vals, true, headers).length;
    },
  });
  Deno.bench({
    name: `decode 1000 x ${label}`,
    group: `decode ${label}`,
    baseline: true,
    fn() {
      sink += decodeRecordBatches(plain).batches[0]!.count;
    },
  });
  Deno.bench({
    name: `decode 1000 x ${label}, no CRC check`,
    group: `decode ${label}`,
    fn() {
      sink += decodeRecordBatches(plain, { checkCrc: false }).batches[0]!.count;
    },
  });
  Deno.bench({
    name: `decode 1000 x ${label}, key + 1 header`,
    group: `decode ${label}`,
    fn() {
      sink += decodeRecordBatches(keyed).batches[0]!.count;
    },
  });
}

// The producer's append alone: 1000 records of 100 B into a builder over a reused 1 MiB buffer
// (no allocation, and lz4's builder checksums nothing while appending), stamped as the
// producer's clock stamps them. Each record writes three two-byte varints (its length, its
// offset delta past 63, the value's length).
const appendBuffer = new Uint8Array(1 << 20);
const appendValue = values(100)[0]!;
Deno.bench({
  name: "appendWithin 1000 x 100 B, reused buffer, no CRC",
  group: "append",
  fn() {
    const b = new RecordBatchBuilder({ compression: 3, buffer: appendBuffer });
    const now = T0 + (sink & 1);
    for (let i = 0; i < N; i++) b.appendWithin(now, null, appendValue, undefined, 1 << 20);
    sink += b.sizeInBytes;
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
