/**
 * Codec throughput on 1 MiB of record-batch-like data (JSON events with repeated keys), the
 * shape a producer batch usually has. MB/s = 1.048576 / (time per iteration in ms) * 1000.
 *
 * snappy and lz4 are pure TypeScript; gzip and zstd run on node:zlib. Run with
 * `deno bench bench/compression_bench.ts`.
 */
import { compress, Compression, type CompressionCodec, decompress } from "../protocol/mod.ts";
import { recordLike } from "../tests/unit/fixtures/compression/data.ts";

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

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink); // keeps the results observable
});
