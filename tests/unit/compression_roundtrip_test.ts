import assert from "node:assert/strict";
import { zstdCompressSync } from "node:zlib";
import {
  compress,
  Compression,
  compressionFromName,
  decompress,
  gzipCompress,
  lz4CompressFrame,
  lz4DecompressFrame,
  snappyCompressRaw,
  snappyCompressXerial,
  snappyDecompress,
  xxhash32,
  zstdCompress,
} from "../../protocol/compression/mod.ts";
import { DecodeError } from "../../protocol/errors.ts";
import { CODECS, randomBytes, recordLike, standardInputs } from "./fixtures/compression/data.ts";

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

for (const [name, codec] of CODECS) {
  Deno.test(`compression ${name}: round trips every standard input at an exact cap`, () => {
    for (const [input, data] of standardInputs()) {
      const packed = compress(codec, data);
      const back = decompress(codec, packed, data.length);
      assert.ok(equalBytes(back, data), `${name} ${input}: output differs`);
      assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype, `${name} ${input}: type`);
      if (data.length > 0) {
        assert.throws(() => decompress(codec, packed, data.length - 1), DecodeError, input);
      }
    }
  });
}

Deno.test("compression: text compresses well and random data barely grows", () => {
  const text = recordLike(1 << 20);
  const noise = randomBytes(1 << 16);
  for (const [name, codec] of CODECS) {
    const t = compress(codec, text).length;
    assert.ok(t < text.length / 2.5, `${name} text ratio ${text.length / t}`);
    const r = compress(codec, noise).length;
    assert.ok(r < noise.length * 1.01 + 64, `${name} random grew to ${r}`);
  }
});

Deno.test("compression: none is the identity and honours the cap", () => {
  const d = new Uint8Array([1, 2, 3]);
  assert.equal(compress(Compression.None, d), d);
  assert.equal(decompress(Compression.None, d, 3), d);
  assert.throws(() => decompress(Compression.None, d, 2), DecodeError);
  assert.equal(compressionFromName("lz4"), Compression.Lz4);
});

Deno.test("compression: levels are honoured for gzip and zstd and checked for all", () => {
  const text = recordLike(256 * 1024);
  assert.notEqual(
    compress(Compression.Gzip, text, 1).length,
    compress(Compression.Gzip, text, 9).length,
  );
  const z1 = compress(Compression.Zstd, text, 1).length;
  const z19 = compress(Compression.Zstd, text, 19).length;
  assert.ok(z19 < z1, `zstd 19 (${z19}) should beat zstd 1 (${z1})`);
  assert.equal(compress(Compression.Zstd, text, 3).length, zstdCompress(text).length);
  assert.ok(equalBytes(decompress(Compression.Zstd, zstdCompress(text, -5), text.length), text));
  assert.throws(() => compress(Compression.Gzip, text, 10), RangeError);
  assert.throws(() => compress(Compression.Zstd, text, 23), RangeError);
  assert.throws(() => compress(Compression.Lz4, text, 18), RangeError);
  assert.ok(equalBytes(decompress(Compression.Lz4, compress(Compression.Lz4, text, 1), 1e6), text));
  assert.throws(() => gzipCompress(text, 1.5), RangeError);
});

Deno.test("compression snappy: raw blocks and xerial streams of any block size", () => {
  for (const [input, data] of standardInputs()) {
    const raw = snappyCompressRaw(data);
    assert.ok(equalBytes(snappyDecompress(raw, data.length), data), `raw ${input}`);
    const x = snappyCompressXerial(data, 1024);
    assert.ok(equalBytes(snappyDecompress(x, data.length), data), `xerial 1k ${input}`);
  }
  // Kafka's framing: header, then one block per 32 KiB of input.
  const framed = snappyCompressXerial(new Uint8Array(65537));
  assert.deepEqual([...framed.subarray(0, 16)], [
    0x82,
    0x53,
    0x4e,
    0x41,
    0x50,
    0x50,
    0x59,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    1,
  ]);
  let blocks = 0;
  for (let p = 16; p < framed.length; blocks++) {
    p += 4 + new DataView(framed.buffer, framed.byteOffset).getInt32(p);
  }
  assert.equal(blocks, 3);
  assert.throws(() => snappyCompressXerial(new Uint8Array(1), 100), RangeError);
});

Deno.test("compression snappy: reference-format vectors decode", () => {
  // Hand-assembled raw blocks: a literal, a 1-byte-offset copy, an overlapping 2-byte copy, a
  // 4-byte-offset copy and a literal with a 1-byte length.
  const raw = new Uint8Array([
    20, // length 20
    (3 << 2) | 0,
    0x61,
    0x62,
    0x63,
    0x64, // literal "abcd"
    1 | ((4 - 4) << 2),
    4, // copy1: len 4 off 4 -> "abcd"
    2 | ((6 - 1) << 2),
    2,
    0, // copy2: len 6 off 2 -> "cdcdcd"
    3 | ((3 - 1) << 2),
    3,
    0,
    0,
    0, // copy4: len 3 off 3 -> "dcd"
    60 << 2,
    2,
    0x78,
    0x79,
    0x7a, // literal "xyz" with a 1-byte length
  ]);
  assert.equal(new TextDecoder().decode(snappyDecompress(raw, 100)), "abcdabcdcdcdcddcdxyz");
});

Deno.test("compression lz4: every frame option round trips", () => {
  const data = recordLike(600_000, 11);
  for (const blockSizeId of [4, 5, 6, 7] as const) {
    for (const blockChecksum of [false, true]) {
      for (const contentChecksum of [false, true]) {
        const f = lz4CompressFrame(data, { blockSizeId, blockChecksum, contentChecksum });
        assert.ok(equalBytes(lz4DecompressFrame(f, data.length), data));
      }
    }
  }
  // The KAFKA-3160 header checksum (over the magic too) is read as well.
  const v0 = lz4CompressFrame(data, { brokenHeaderChecksum: true });
  assert.notEqual(v0[6], lz4CompressFrame(data)[6]);
  assert.ok(equalBytes(lz4DecompressFrame(v0, data.length), data));
  // Kafka's exact header: magic, FLG 0x60 (v1, independent blocks), BD 0x40 (64 KiB), HC.
  assert.deepEqual([...lz4CompressFrame(new Uint8Array(0))], [
    0x04,
    0x22,
    0x4d,
    0x18,
    0x60,
    0x40,
    0x82,
    0,
    0,
    0,
    0,
  ]);
  assert.throws(() => lz4CompressFrame(data, { blockSizeId: 3 as 4 }), RangeError);
});

Deno.test("compression lz4: the compressor respects the end-of-block rules", () => {
  // The last 5 bytes must be literals and the last match must start 12 bytes before the end,
  // or lz4's fast decoders read past the block. Walk the sequences of many blocks to check.
  for (const n of [13, 17, 30, 64, 100, 1000, 65536]) {
    const frame = lz4CompressFrame(new Uint8Array(n).fill(0x61));
    const size = new DataView(frame.buffer).getUint32(7, true);
    if (size & 0x80000000) continue;
    let p = 11;
    const end = 11 + size;
    let out = 0;
    for (;;) {
      const token = frame[p++]!;
      let lit = token >>> 4;
      if (lit === 15) { for (let b = 255; b === 255;) lit += b = frame[p++]!; }
      p += lit;
      out += lit;
      if (p === end) break;
      p += 2;
      let ml = token & 15;
      if (ml === 15) { for (let b = 255; b === 255;) ml += b = frame[p++]!; }
      assert.ok(out <= n - 12, `n=${n}: match starts ${n - out} bytes before the end`);
      out += ml + 4;
      assert.ok(out <= n - 5, `n=${n}: match ends ${n - out} bytes before the end`);
    }
    assert.equal(out, n);
  }
});

/** Seeded random upper-case letters in lines of `size` (what the benchmark's payloads are). */
function letters(n: number, size: number, seed = 12345): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = i % (size + 1) === size ? 10 : 65 + ((x >>> 16) % 26);
  }
  return out;
}

Deno.test("compression lz4: blocks that save under ~3 % are stored raw, compressible ones never", () => {
  // A raw block's size word has the high bit set; frames start with a 7-byte header.
  const firstBlockRaw = (frame: Uint8Array) => (frame[10]! & 0x80) !== 0;
  const hardly = letters(1 << 16, 1024);
  const packed = lz4CompressFrame(hardly);
  assert.ok(firstBlockRaw(packed), "random letters are stored raw");
  assert.ok(equalBytes(lz4DecompressFrame(packed, hardly.length), hardly));
  // Letters with one 8-byte key repeated per 100-byte line save ~8 %: searched to the end.
  const keyed = letters(1 << 16, 100);
  for (let i = 0; i + 8 < keyed.length; i += 101) keyed.set([75, 69, 89, 45, 49, 50, 51, 52], i);
  const packedKeyed = lz4CompressFrame(keyed);
  assert.ok(!firstBlockRaw(packedKeyed), "a block that saves ~8 % is compressed");
  assert.ok(packedKeyed.length < keyed.length * 0.95, `${packedKeyed.length} of ${keyed.length}`);
  assert.ok(equalBytes(lz4DecompressFrame(packedKeyed, keyed.length), keyed));
  const json = recordLike(1 << 20);
  assert.ok(lz4CompressFrame(json).length < json.length / 2, "JSON records still compress");
  // An incompressible first record or two does not condemn a block of compressible ones.
  for (const prefix of [2000, 3000, 4000, 5000]) {
    const mixed = new Uint8Array(1 << 16);
    mixed.set(letters(prefix, 1 << 20, 2));
    mixed.set(json.subarray(0, mixed.length - prefix), prefix);
    const packedMixed = lz4CompressFrame(mixed);
    assert.ok(!firstBlockRaw(packedMixed), `${prefix} B of letters, then JSON`);
    assert.ok(packedMixed.length < mixed.length / 2, `${prefix}: ${packedMixed.length}`);
    assert.ok(equalBytes(lz4DecompressFrame(packedMixed, mixed.length), mixed));
  }
});

Deno.test("compression lz4: after a raw block, a block of letters goes raw and JSON still compresses", () => {
  // Block k's size word follows block k-1's bytes; the high bit marks a raw block.
  const blocks = (frame: Uint8Array) => {
    const raw: boolean[] = [];
    const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    for (let p = 7; v.getUint32(p, true) !== 0;) {
      const w = v.getUint32(p, true);
      raw.push((w & 0x80000000) !== 0);
      p += 4 + (w & 0x7fffffff);
    }
    return raw;
  };
  const json = recordLike(1 << 17);
  const data = new Uint8Array(4 << 16);
  data.set(letters(2 << 16, 100));
  data.set(json.subarray(0, 1 << 16), 2 << 16);
  data.set(letters(1 << 16, 1024, 9), 3 << 16);
  const packed = lz4CompressFrame(data);
  assert.deepEqual(blocks(packed), [true, true, false, true]);
  assert.ok(equalBytes(lz4DecompressFrame(packed, data.length), data));
  // A block of JSON after a raw one compresses as well as alone.
  const alone = lz4CompressFrame(json.subarray(0, 1 << 16));
  const afterRaw = lz4CompressFrame(data.subarray(1 << 16, 3 << 16));
  assert.equal(afterRaw.length - (4 + (1 << 16)), alone.length);
});

Deno.test("compression zstd: level 3 frames declare a 128 KiB window and decode", () => {
  const data = recordLike(1 << 20);
  for (const level of [2, 3]) {
    const z = zstdCompress(data, level);
    // Frame header descriptor, then the window descriptor (no single-segment flag for 1 MiB):
    // exponent 17 - 10 = 7, mantissa 0.
    assert.equal(z[4]! & 0x20, 0, "not single-segment");
    assert.equal(z[5], 7 << 3, `level ${level}: window descriptor`);
    assert.ok(equalBytes(decompress(Compression.Zstd, z, data.length), data));
  }
});

Deno.test("compression zstd: level -1 is level -1, not the default level 3", () => {
  // node:zlib passes levels through a Uint32Array where -1 (0xffffffff) means "not set", so a
  // plain level -1 came out as zstd's default level 3 (a quarter smaller, several times
  // slower). Negative levels store literals raw: -1 sits between -2 and 1 in size.
  const data = recordLike(1 << 20);
  const size = (level: number) => zstdCompress(data, level).length;
  const minus1 = size(-1);
  assert.ok(minus1 <= size(-2), `level -1 (${minus1}) no larger than level -2 (${size(-2)})`);
  assert.ok(minus1 > size(1), `level -1 (${minus1}) larger than level 1 (${size(1)})`);
  const z = zstdCompress(data, -1);
  assert.notDeepEqual(z, new Uint8Array(zstdCompressSync(data)), "not the default level");
  assert.ok(equalBytes(decompress(Compression.Zstd, z, data.length), data));
});

Deno.test("xxhash32: known answers (from lz4-java)", () => {
  const enc = new TextEncoder();
  const cases: [string, number, number][] = [
    ["", 0x02cc5d05, 0x8d3b42d8],
    ["a", 0x550d7456, 0x12b7e114],
    ["abc", 0x32d153ff, 0x4d4cb222],
    ["Nobody inspects the spammish repetition", 0xe2293b2f, 0x70b91719],
    ["0123456789abcdef", 0xc2c45b69, 0x59ac4ea7],
    ["0123456789abcdefg", 0xcc79b217, 0x277aaef8],
  ];
  for (const [s, h0, hs] of cases) {
    const b = enc.encode(s);
    assert.equal(xxhash32(b), h0, s);
    assert.equal(xxhash32(b, 0, b.length, 0x9747b28c), hs, s);
  }
  const big = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 0xff);
  assert.equal(xxhash32(big), 0xa793e7c7);
  assert.equal(xxhash32(new Uint8Array([9, ...big, 9]), 1, 1001), 0xa793e7c7);
  assert.throws(() => xxhash32(big, 0, 1001), RangeError);
});
