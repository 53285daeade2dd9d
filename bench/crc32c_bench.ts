/**
 * CRC-32C throughput: GB/s = bytes / (time per iteration). 1 MiB per iteration is
 * 1.048576 / (time in ms) GB/s; 1 KiB is about one record of the C1-1KiB workload, 16 kB one
 * default-sized producer batch, 64 KiB one lz4 block's CRC run, 110 kB one 1000 x 100 B batch
 * (the record batch builder's CRC runs are 128 KiB, 16 KiB before Session 15); 2.5
 * and 4 KiB sit on either side of the switch to the WebAssembly reduction (3 KiB, see
 * protocol/crc32c.ts). Session 15: 1 MiB ~115 us (9 GB/s) with it, 250-300 without.
 */
import { crc32c } from "../protocol/crc32c.ts";

const MiB = new Uint8Array(1 << 20);
for (let i = 0; i < MiB.length; i++) MiB[i] = (i * 2654435761) >>> 24;
const small = MiB.subarray(1, 1 + 110 * 1000); // about one 1000 x 100 B record batch
let sink = 0;

Deno.bench({
  name: "crc32c 1 MiB",
  group: "crc32c",
  baseline: true,
  fn() {
    sink ^= crc32c(MiB);
  },
});

Deno.bench({
  name: "crc32c 110 kB unaligned",
  group: "crc32c",
  fn() {
    sink ^= crc32c(small);
  },
});

Deno.bench({
  name: "crc32c 16 kB unaligned",
  group: "crc32c-16k",
  fn() {
    sink ^= crc32c(MiB, 1, 16_001);
  },
});

Deno.bench({
  name: "crc32c 64 KiB unaligned",
  group: "crc32c-64k",
  fn() {
    sink ^= crc32c(MiB, 1, 65_537);
  },
});

Deno.bench({
  name: "crc32c 4 KiB unaligned",
  group: "crc32c-4k",
  fn() {
    sink ^= crc32c(MiB, 1, 4_097);
  },
});

Deno.bench({
  name: "crc32c 2.5 KiB unaligned",
  group: "crc32c-2.5k",
  fn() {
    sink ^= crc32c(MiB, 1, 2_561);
  },
});

Deno.bench({
  name: "crc32c 1 KiB unaligned",
  group: "crc32c-1k",
  fn() {
    sink ^= crc32c(MiB, 3, 3 + 1024);
  },
});

Deno.bench({
  name: "crc32c 64 B",
  group: "crc32c-small",
  fn() {
    sink ^= crc32c(MiB, 3, 67);
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink); // keeps the results observable
});
