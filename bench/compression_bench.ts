/**
 * Codec throughput on 1 MiB of record-batch-like data (JSON events with repeated keys), the
 * shape a producer batch usually has. MB/s = 1.048576 / (time per iteration in ms) * 1000.
 *
 * snappy and lz4 are pure TypeScript; gzip and zstd run on node:zlib. Run with
 * `deno bench bench/compression_bench.ts`.
 */
import {
  compress,
  Compression,
  type CompressionCodec,
  compressWithHeadroom,
  decompress,
} from "../protocol/mod.ts";
import { compressRecordBatch, RecordBatchBuilder } from "../protocol/record_batch_builder.ts";
import { recordLike } from "../tests/unit/fixtures/compression/data.ts";
import { payloadPool } from "./compare/payloads.ts";

const data = recordLike(1 << 20);
let sink = 0;

const CODECS: [string, CompressionCodec][] = [
  ["gzip", Compression.Gzip],
  ["snappy", Compression.Snappy],
  ["lz4", Compression.Lz4],
  ["zstd", Compression.Zstd],
];

for (const [name, codec] of CODECS) {
  const packed = compress(codec, data);
  Deno.bench({
    name: `${name} compress 1 MiB (ratio ${(data.length / packed.length).toFixed(2)})`,
    group: "compress",
    baseline: codec === Compression.Lz4,
    fn() {
      sink ^= compress(codec, data).length;
    },
  });
  Deno.bench({
    name: `${name} decompress 1 MiB`,
    group: "decompress",
    baseline: codec === Compression.Lz4,
    fn() {
      sink ^= decompress(codec, packed, data.length).length;
    },
  });
}

/**
 * A 1 MiB producer batch of bench:compare's P3 records (seeded random upper-case letters, the
 * same pool as the peers), finished uncompressed as a compression worker or the inline path
 * receives it.
 */
function p3Batch(size: number, codec: CompressionCodec): Uint8Array {
  const pool = payloadPool(size, 8 << 20, 20240601);
  const b = new RecordBatchBuilder({ compression: codec });
  for (let at = 0; b.sizeInBytes < (1 << 20) - size - 64; at += size + 1) {
    b.append(1_700_000_000_000, null, pool.subarray(at, at + size));
  }
  return b.finishUncompressed();
}

// The P3 path: compress the batch's records after its header into a reused output buffer, then
// the header and the CRC over the result (compressRecordBatch, as the producer does).
for (const [name, codec] of [["lz4", Compression.Lz4], ["zstd", Compression.Zstd]] as const) {
  for (const size of [100, 1024]) {
    const batch = p3Batch(size, codec);
    const out = new Uint8Array(2 << 20);
    const ratio = batch.length / compressRecordBatch(batch, undefined, out).length;
    Deno.bench({
      name: `${name} P3 batch of ${size} B letter records, 1 MiB (ratio ${ratio.toFixed(3)})`,
      group: "P3 batch",
      fn() {
        sink ^= compressRecordBatch(batch, undefined, out).length;
      },
    });
  }
}

// The lz4 frame alone (no header, no CRC) of the same batches: the codec's own share.
for (const size of [100, 1024]) {
  const records = p3Batch(size, Compression.Lz4).subarray(61);
  const out = new Uint8Array(2 << 20);
  const ratio = records.length /
    (compressWithHeadroom(Compression.Lz4, records, 61, undefined, out).length - 61);
  Deno.bench({
    name: `lz4 frame of P3 ${size} B letter records, 1 MiB (ratio ${ratio.toFixed(4)})`,
    group: "P3 lz4 frame",
    fn() {
      sink ^= compressWithHeadroom(Compression.Lz4, records, 61, undefined, out).length;
    },
  });
}

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink); // keeps the results observable
});
