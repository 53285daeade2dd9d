import assert from "node:assert/strict";
import { DecodeError } from "../../protocol/errors.ts";
import { Reader } from "../../protocol/reader.ts";
import { uvarintSize, varintSize, varlongSize, Writer } from "../../protocol/writer.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

// Known answers computed from the zigzag definition (Java's ByteUtils writes the same bytes).
const VARINTS: [number, string][] = [
  [0, "00"],
  [-1, "01"],
  [1, "02"],
  [-64, "7f"],
  [63, "7e"],
  [64, "8001"],
  [-65, "8101"],
  [300, "d804"],
  [2 ** 31 - 1, "feffffff0f"],
  [-(2 ** 31), "ffffffff0f"],
];

const UVARINTS: [number, string][] = [
  [0, "00"],
  [127, "7f"],
  [128, "8001"],
  [16383, "ff7f"],
  [16384, "808001"],
  [2 ** 32 - 1, "ffffffff0f"],
];

const VARLONGS_N: [number, string][] = [
  [0, "00"],
  [-1, "01"],
  [1, "02"],
  [2 ** 31, "8080808010"],
  [-(2 ** 31), "ffffffff0f"],
  [-(2 ** 31) - 1, "8180808010"],
  [2 ** 40, "808080808040"],
  [1_700_000_000_000, "80a0abfef962"],
  [Number.MAX_SAFE_INTEGER, "feffffffffffff1f"],
  [-Number.MAX_SAFE_INTEGER, "fdffffffffffff1f"],
  [2 ** 53, "8080808080808020"],
  [-(2 ** 53), "ffffffffffffff1f"],
];

const VARLONGS: [bigint, string][] = [
  [0n, "00"],
  [-1n, "01"],
  [1n, "02"],
  [2n ** 53n + 1n, "8280808080808020"],
  [9223372036854775807n, "feffffffffffffffff01"],
  [-9223372036854775808n, "ffffffffffffffffff01"],
];

Deno.test("varint: zigzag known answers, sizes and round trips", () => {
  for (const [v, h] of VARINTS) {
    const bytes = new Writer().varint(v).finish();
    assert.equal(hex(bytes), h, `varint ${v}`);
    assert.equal(varintSize(v), h.length / 2, `varintSize ${v}`);
    const r = new Reader(unhex(h));
    assert.equal(r.varint(), v);
    assert.equal(r.remaining, 0);
  }
});

Deno.test("uvarint: known answers, sizes and round trips", () => {
  for (const [v, h] of UVARINTS) {
    assert.equal(hex(new Writer().uvarint(v).finish()), h, `uvarint ${v}`);
    assert.equal(uvarintSize(v), h.length / 2);
    assert.equal(new Reader(unhex(h)).uvarint(), v);
  }
});

Deno.test("varlongn: number varlongs up to +-2^53 are exact", () => {
  for (const [v, h] of VARLONGS_N) {
    assert.equal(hex(new Writer().varlongn(v).finish()), h, `varlongn ${v}`);
    assert.equal(varlongSize(v), h.length / 2, `varlongSize ${v}`);
    const r = new Reader(unhex(h));
    assert.equal(r.varlongn(), v, `read ${h}`);
    assert.equal(r.remaining, 0);
    // the bigint reader agrees
    assert.equal(new Reader(unhex(h)).varlong(), BigInt(v));
  }
});

Deno.test("varlong: bigint varlongs to int64 min/max", () => {
  for (const [v, h] of VARLONGS) {
    assert.equal(hex(new Writer().varlong(v).finish()), h, `varlong ${v}`);
    assert.equal(new Reader(unhex(h)).varlong(), v);
  }
  for (const [v, h] of VARLONGS_N) assert.equal(hex(new Writer().varlong(BigInt(v)).finish()), h);
});

Deno.test("varlongn: a varlong beyond the safe range is a DecodeError, not a wrong number", () => {
  assert.throws(() => new Reader(unhex("feffffffffffffffff01")).varlongn(), DecodeError);
  assert.throws(() => new Reader(unhex("8280808080808020")).varlongn(), DecodeError);
  assert.throws(() => new Reader(unhex("8180808080808020")).varlongn(), DecodeError); // -2^53-1
});

Deno.test("varints: malformed input is a DecodeError", () => {
  const cases: [string, (r: Reader) => unknown][] = [
    ["", (r) => r.varint()],
    ["80", (r) => r.varint()],
    ["ffff", (r) => r.uvarint()],
    ["ffffffff10", (r) => r.uvarint()], // more than 32 bits
    ["ffffffffff01", (r) => r.varint()], // 6 bytes
    ["", (r) => r.varlongn()],
    ["8080", (r) => r.varlongn()],
    ["ffffffffffffffffffff01", (r) => r.varlongn()], // 11 bytes
    ["ffffffffffffffffffff01", (r) => r.varlong()],
    ["ffffffff", (r) => r.varlong()],
  ];
  for (const [h, read] of cases) {
    assert.throws(() => read(new Reader(unhex(h))), DecodeError, `input ${h}`);
  }
});

Deno.test("varints: random round trips", () => {
  let x = 7;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) | 0);
  const w = new Writer();
  const ints: number[] = [];
  const longs: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const a = next();
    const b = (next() >>> 0) * 2 ** 21 + (next() >>> 11); // up to 2^53
    const l = i & 1 ? -b : b;
    ints.push(a);
    longs.push(l);
    w.varint(a).varlongn(l);
  }
  const r = new Reader(w.finish());
  for (let i = 0; i < ints.length; i++) {
    assert.equal(r.varint(), ints[i]);
    assert.equal(r.varlongn(), longs[i]);
  }
  assert.equal(r.remaining, 0);
});
