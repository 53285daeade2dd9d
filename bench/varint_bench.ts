/**
 * Varint encode/decode throughput: 1000 values per iteration (ns per value = time / 1000).
 */
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";

const N = 1000;
const small = Int32Array.from({ length: N }, (_, i) => (i % 7) - 3); // 1-byte deltas
const mixed = Int32Array.from({ length: N }, (_, i) => Math.imul(i + 1, 2654435761) >> (i % 31));
const times = Float64Array.from({ length: N }, (_, i) => 1_700_000_000_000 + i * 1_000_003);

const w = new Writer(16 * N);
const encoded = (fill: (w: Writer) => void) => {
  w.reset();
  fill(w);
  return w.toBytes();
};
const smallBytes = encoded((w) => small.forEach((v) => w.varint(v)));
const mixedBytes = encoded((w) => mixed.forEach((v) => w.varint(v)));
const timeBytes = encoded((w) => times.forEach((v) => w.varlongn(v)));
let sink = 0;

Deno.bench({
  name: "varint encode 1000 x 1-byte",
  group: "encode",
  fn() {
    w.reset();
    for (let i = 0; i < N; i++) w.varint(small[i]!);
  },
});
Deno.bench({
  name: "varint encode 1000 x mixed",
  group: "encode",
  fn() {
    w.reset();
    for (let i = 0; i < N; i++) w.varint(mixed[i]!);
  },
});
Deno.bench({
  name: "varlongn encode 1000 x timestamps",
  group: "encode",
  fn() {
    w.reset();
    for (let i = 0; i < N; i++) w.varlongn(times[i]!);
  },
});
Deno.bench({
  name: "varint decode 1000 x 1-byte",
  group: "decode",
  fn() {
    const r = new Reader(smallBytes);
    for (let i = 0; i < N; i++) sink += r.varint();
  },
});
Deno.bench({
  name: "varint decode 1000 x mixed",
  group: "decode",
  fn() {
    const r = new Reader(mixedBytes);
    for (let i = 0; i < N; i++) sink += r.varint();
  },
});
Deno.bench({
  name: "varlongn decode 1000 x timestamps",
  group: "decode",
  fn() {
    const r = new Reader(timeBytes);
    for (let i = 0; i < N; i++) sink += r.varlongn();
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
