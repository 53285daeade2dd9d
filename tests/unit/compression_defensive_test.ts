/**
 * Hostile and broken input: every failure must be a DecodeError (never a RangeError, a
 * TypeError or a hang), and nothing may be allocated beyond the caller's cap.
 */

import assert from "node:assert/strict";
import { crc32, gzipSync } from "node:zlib";
import {
  compress,
  Compression,
  type CompressionCodec,
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
import { Output } from "../../protocol/compression/output.ts";
import { crc32c } from "../../protocol/crc32c.ts";
import { DecodeError } from "../../protocol/errors.ts";
import { CODECS, randomBytes, recordLike, rng } from "./fixtures/compression/data.ts";

const enc = new TextEncoder();
const cat = (...parts: Iterable<number>[]) => new Uint8Array(parts.flatMap((p) => [...p]));

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

function be32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** Runs `f`; it may return output within the cap or throw a DecodeError, nothing else. */
function decodesOrRejects(f: () => Uint8Array, cap: number, what: string): Uint8Array | null {
  try {
    const out = f();
    assert.ok(out.length <= cap, `${what}: ${out.length} bytes beyond the cap ${cap}`);
    return out;
  } catch (e) {
    if (!(e instanceof DecodeError)) {
      assert.fail(`${what}: ${(e as Error).name}: ${(e as Error).message}`);
    }
    return null;
  }
}

/** An LZ4 frame (FLG `flg`, 64 KiB blocks) around hand-made blocks `[bytes, raw?]`. */
function lz4Frame(flg: number, blocks: [number[], boolean?][]): Uint8Array {
  const header = [flg, 0x40];
  const hc = (xxhash32(new Uint8Array(header)) >>> 8) & 0xff;
  const body = blocks.flatMap(([b, raw]) => [
    ...le32((b.length | (raw ? 0x80000000 : 0)) >>> 0),
    ...b,
  ]);
  return cat(le32(0x184d2204), header, [hc], body, le32(0));
}

Deno.test("compression: bombs stop at the cap with a DecodeError", () => {
  const cap = 1 << 20;
  const zeros = new Uint8Array(16 << 20);
  for (const [name, codec] of CODECS) {
    const bomb = compress(codec, zeros);
    assert.ok(bomb.length < zeros.length / 20, `${name} bomb is ${bomb.length} bytes`);
    assert.throws(() => decompress(codec, bomb, cap), DecodeError, name);
    // The same bytes decode once the cap allows them.
    assert.equal(decompress(codec, bomb, zeros.length).length, zeros.length);
  }
});

Deno.test("compression: a length that is merely claimed is never allocated", () => {
  // snappy: a preamble claiming 4 GiB - 1 over three bytes of body.
  const claim4g = cat([0xff, 0xff, 0xff, 0xff, 0x0f], [0, 0x61]);
  assert.throws(() => snappyDecompress(claim4g, 2 ** 40), DecodeError);
  // snappy: 1 MiB claimed from 10 bytes is beyond any honest expansion (22x), cap or not.
  const claim1m = cat([0x80, 0x80, 0x40], new Uint8Array(10));
  assert.throws(() => snappyDecompress(claim1m, 1 << 30), /claims/);
  // xerial: a block length of 2 GiB - 1 with nothing behind it.
  const xerial = cat(snappyCompressXerial(new Uint8Array(0)), be32(0x7fffffff));
  assert.throws(() => snappyDecompress(xerial, 1 << 30), DecodeError);
  // lz4: a content size of 2^60 is refused before anything is decoded.
  const header = [0x68, 0x40, ...le32(0), ...le32(0x10000000)];
  const hc = (xxhash32(new Uint8Array(header)) >>> 8) & 0xff;
  const bigFrame = cat(le32(0x184d2204), header, [hc], le32(0));
  assert.throws(() => lz4DecompressFrame(bigFrame, 1 << 30), /content size/);
  // lz4: a 4 MiB block size in BD costs nothing when the block is tiny.
  const f = lz4CompressFrame(new Uint8Array(10), { blockSizeId: 7 });
  assert.equal(lz4DecompressFrame(f, 10).length, 10);
});

Deno.test("compression: the output buffer grows by doubling and never past the cap", () => {
  const out = new Output("test", 10_000, 100);
  assert.equal(out.buf.length, 100);
  out.reserve(101);
  assert.equal(out.buf.length, 4096);
  out.reserve(5000);
  assert.equal(out.buf.length, 8192);
  out.reserve(9000);
  assert.equal(out.buf.length, 10_000);
  assert.throws(() => out.reserve(10_001), DecodeError);
  assert.equal(new Output("test", 50, 1 << 30).buf.length, 50);
  assert.throws(() => new Output("test", -1, 0), RangeError);
});

Deno.test("compression lz4: a long-match bomb is cut at the cap", () => {
  // One literal, then one match of offset 1 whose length is 60,000 bytes of 255: ~15 MB.
  const block = [0x1f, 0x61, 1, 0, ...new Array(60_000).fill(255), 0, 0x10, 0x61];
  const frame = lz4Frame(0x60, [[block]]);
  assert.throws(() => lz4DecompressFrame(frame, 30_000), /limit of 30000/);
  // Block maximum size is enforced even under a generous cap.
  assert.throws(() => lz4DecompressFrame(frame, 1 << 30), /block decodes to more/);
});

Deno.test("compression lz4: malformed frames and blocks are DecodeErrors", () => {
  const good = lz4CompressFrame(recordLike(100_000));
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["wrong magic", cat(le32(0x184d2205), good.subarray(4))],
    ["header checksum", cat(good.subarray(0, 6), [good[6]! ^ 1], good.subarray(7))],
    ["version 0", cat(good.subarray(0, 4), [0x20], good.subarray(5))],
    ["dictionary", lz4Frame(0x61, [])],
    ["no end mark", good.subarray(0, good.length - 4)],
    ["offset 0", lz4Frame(0x60, [[[0x10, 0x61, 0, 0, 0x10, 0x62]]])],
    ["offset before start", lz4Frame(0x60, [[[0x10, 0x61, 2, 0, 0x10, 0x62]]])],
    [
      "offset into the previous independent block",
      lz4Frame(0x60, [[[0x40, 0x61, 0x62, 0x63, 0x64]], [[0x00, 4, 0, 0x10, 0x65]]]),
    ],
    ["literals past the block", lz4Frame(0x60, [[[0x50, 0x61]]])],
    ["match without final literals", lz4Frame(0x60, [[[0x10, 0x61, 1, 0]]])],
    ["literal length runs off", lz4Frame(0x60, [[[0xf0, 255, 255]]])],
    ["raw block past the input", cat(good.subarray(0, 7), le32(0x80000010), [1, 2, 3])],
    ["block over the maximum", cat(good.subarray(0, 7), le32(0x10001), new Uint8Array(0x10001))],
    ["trailing garbage", cat(good, [1, 2, 3, 4, 5])],
    ["trailing short garbage", cat(good, [1])],
  ];
  for (const [what, data] of bad) {
    assert.throws(() => decompress(Compression.Lz4, data, 1 << 20), DecodeError, what);
  }
  const checked = lz4CompressFrame(recordLike(5000), {
    blockChecksum: true,
    contentChecksum: true,
  });
  const flipBlock = checked.slice();
  flipBlock[20]! ^= 1;
  assert.throws(() => lz4DecompressFrame(flipBlock, 1 << 20), DecodeError);
  const flipContent = checked.slice();
  flipContent[flipContent.length - 1]! ^= 1;
  assert.throws(() => lz4DecompressFrame(flipContent, 1 << 20), /content checksum/);
});

Deno.test("compression lz4: linked blocks, concatenated and skippable frames decode", () => {
  // FLG 0x40: blocks may refer to earlier blocks of the same frame.
  const linked = lz4Frame(0x40, [[[0x40, 0x61, 0x62, 0x63, 0x64]], [[0x00, 4, 0, 0x10, 0x65]]]);
  assert.equal(new TextDecoder().decode(lz4DecompressFrame(linked, 100)), "abcdabcde");
  const a = lz4CompressFrame(enc.encode("first "));
  const b = lz4CompressFrame(enc.encode("second"), { contentChecksum: true });
  const skippable = cat(le32(0x184d2a53), le32(3), [9, 9, 9]);
  assert.equal(
    new TextDecoder().decode(lz4DecompressFrame(cat(a, skippable, b), 100)),
    "first second",
  );
  assert.throws(() => lz4DecompressFrame(cat(le32(0x184d2a50), le32(4), [1]), 100), DecodeError);
});

Deno.test("compression snappy: malformed raw blocks and xerial streams are DecodeErrors", () => {
  const raw = snappyCompressRaw(recordLike(10_000));
  const xerial = snappyCompressXerial(recordLike(100_000));
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["preamble only", new Uint8Array([5])],
    ["endless preamble", new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1])],
    ["short", new Uint8Array([4, 0x0c, 0x61, 0x62, 0x63])],
    ["long", new Uint8Array([2, 0x0c, 0x61, 0x62, 0x63, 0x64])],
    ["offset 0", new Uint8Array([8, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x00])],
    ["offset before start", new Uint8Array([8, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x05])],
    ["copy4 offset", new Uint8Array([8, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x0f, 0, 0, 0, 0x80])],
    ["copy past length", new Uint8Array([6, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x04])],
    ["literal length bytes missing", new Uint8Array([200, 1, 63 << 2, 1])],
    ["literal past input", new Uint8Array([100, 60 << 2, 98, 0x61])],
    ["truncated raw", raw.subarray(0, raw.length - 1)],
    ["xerial block length negative", cat(xerial.subarray(0, 16), be32(-5 >>> 0), [0])],
    ["xerial block length 0", cat(xerial.subarray(0, 16), be32(0))],
    ["xerial truncated block", xerial.subarray(0, xerial.length - 1)],
    ["xerial version 0", cat(xerial.subarray(0, 11), [0], xerial.subarray(12))],
    ["xerial short concatenated header", cat(xerial, xerial.subarray(0, 10))],
    ["xerial corrupt block", cat(xerial.subarray(0, 20), [0xff], xerial.subarray(21))],
  ];
  for (const [what, data] of bad) {
    assert.throws(() => decompress(Compression.Snappy, data, 1 << 20), DecodeError, what);
  }
});

Deno.test("compression snappy: concatenated xerial streams and snappy-java's leniencies", () => {
  const a = snappyCompressXerial(enc.encode("hello "));
  const b = snappyCompressXerial(enc.encode("world"));
  const td = new TextDecoder();
  assert.equal(td.decode(snappyDecompress(cat(a, b), 100)), "hello world");
  // As snappy-java: up to three stray bytes after the last block, and a second "header" whose
  // magic is wrong, end the stream without error.
  assert.equal(td.decode(snappyDecompress(cat(a, [1, 2, 3]), 100)), "hello ");
  const fake = cat(b.subarray(0, 7), [1], b.subarray(8));
  assert.equal(td.decode(snappyDecompress(cat(a, fake), 100)), "hello ");
  // Shorter than the header, or without its magic: one raw block, as snappy-java decides.
  assert.equal(td.decode(snappyDecompress(snappyCompressRaw(enc.encode("hi")), 100)), "hi");
  const rawLong = snappyCompressRaw(recordLike(5000));
  assert.equal(snappyDecompress(rawLong, 5000).length, 5000);
});

function framingChunk(type: number, body: number[]): number[] {
  return [type, body.length & 0xff, (body.length >>> 8) & 0xff, body.length >>> 16, ...body];
}

function maskedCrc(data: Uint8Array): number[] {
  const c = crc32c(data);
  return le32((((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
}

Deno.test("compression snappy: Google's framing format is read and checked", () => {
  const part1 = recordLike(3000);
  const part2 = enc.encode("uncompressed tail");
  const id = framingChunk(0xff, [...enc.encode("sNaPpY")]);
  const stream = cat(
    id,
    framingChunk(0x00, [...maskedCrc(part1), ...snappyCompressRaw(part1)]),
    framingChunk(0xfe, [0, 0, 0]),
    framingChunk(0x80, [1]),
    framingChunk(0x01, [...maskedCrc(part2), ...part2]),
    id,
  );
  const out = snappyDecompress(stream, 10_000);
  assert.deepEqual(out, cat(part1, part2));
  const badCrc = stream.slice();
  badCrc[id.length + 4]! ^= 1;
  assert.throws(() => snappyDecompress(badCrc, 10_000), /checksum/);
  assert.throws(() => snappyDecompress(cat(id, framingChunk(0x02, [])), 10), /unskippable/);
  assert.throws(() => snappyDecompress(cat(id, [0x00, 9, 0]), 10), DecodeError);
  assert.throws(() => snappyDecompress(cat(id, framingChunk(0x01, [1, 2])), 10), DecodeError);
});

Deno.test("compression gzip: members, trailing bytes and corruption as Java reads them", () => {
  const td = new TextDecoder();
  const a = gzipCompress(enc.encode("hello "));
  const b = gzipCompress(enc.encode("world"));
  assert.equal(td.decode(decompress(Compression.Gzip, cat(a, b), 100)), "hello world");
  // GZIPInputStream ignores what follows a member when it is not a gzip header.
  assert.equal(td.decode(decompress(Compression.Gzip, cat(a, [0, 0, 0]), 100)), "hello ");
  assert.equal(
    td.decode(decompress(Compression.Gzip, cat(a, new Uint8Array(40).fill(7)), 100)),
    "hello ",
  );
  assert.equal(td.decode(decompress(Compression.Gzip, cat(a, b.subarray(0, 15)), 100)), "hello ");
  // A member with a name, a comment, an extra field and a header CRC.
  const full = gzipSync(enc.encode("named"));
  const hdr = [0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3, 2, 0, 0x41, 0x42, ...enc.encode("n"), 0];
  const withComment = [...hdr, ...enc.encode("c"), 0];
  const crcHdr = new Uint8Array(withComment);
  const hcrc = crc32(crcHdr) & 0xffff;
  const member = cat(withComment, [hcrc & 0xff, hcrc >>> 8], full.subarray(10));
  assert.equal(td.decode(decompress(Compression.Gzip, member, 100)), "named");
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["not gzip", enc.encode("plain text, not gzip at all")],
    ["truncated", a.subarray(0, a.length - 3)],
    ["crc", cat(a.subarray(0, a.length - 8), [0, 0, 0, 0], a.subarray(a.length - 4))],
    ["size", cat(a.subarray(0, a.length - 4), [9, 0, 0, 0])],
    ["deflate garbage", cat(a.subarray(0, 10), [0xff, 0xff, 0xff], a.subarray(13))],
    ["bad header crc", cat(withComment, [(hcrc & 0xff) ^ 1, hcrc >>> 8], full.subarray(10))],
    ["corrupt second member", cat(a, b.subarray(0, 12), [0xff, 0xff], b.subarray(14))],
  ];
  for (const [what, data] of bad) {
    assert.throws(() => decompress(Compression.Gzip, data, 100), DecodeError, what);
  }
});

Deno.test("compression zstd: frames, skippable frames, truncation and garbage", () => {
  const td = new TextDecoder();
  const a = zstdCompress(enc.encode("hello "));
  const b = zstdCompress(enc.encode("world"), 19);
  const skippable = cat(le32(0x184d2a5e), le32(2), [7, 7]);
  assert.equal(td.decode(decompress(Compression.Zstd, cat(a, skippable, b), 100)), "hello world");
  const big = zstdCompress(recordLike(200_000));
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["not zstd", enc.encode("definitely not zstd")],
    ["truncated", big.subarray(0, big.length - 1)],
    ["truncated header", big.subarray(0, 5)],
    ["trailing garbage", cat(a, [1, 2, 3, 4, 5, 6])],
    ["trailing short garbage", cat(a, [1])],
    ["reserved block type", cat(a.subarray(0, 6), [0x06, 0, 0])],
    // (No "corrupt body" case: a frame without the optional checksum, like Kafka's, cannot
    // tell a flipped literal; the bit-flip test below covers that it still fails safely.)
  ];
  for (const [what, data] of bad) {
    assert.throws(() => decompress(Compression.Zstd, data, 1 << 20), DecodeError, what);
  }
});

Deno.test("compression: every truncation of a valid payload is rejected or a clean prefix", () => {
  const data = recordLike(150_000, 21);
  for (const [name, codec] of CODECS) {
    const packed = compress(codec, data);
    const next = rng(99);
    const cuts = new Set<number>();
    for (let i = 0; i < 40; i++) cuts.add(i);
    for (let i = 0; i < 120; i++) cuts.add(next() % packed.length);
    for (const cut of cuts) {
      const out = decodesOrRejects(
        () => decompress(codec, packed.subarray(0, cut), data.length),
        data.length,
        `${name} cut at ${cut}`,
      );
      if (out === null) continue;
      // Only snappy-java's framing has no end mark: a cut on a block boundary is a shorter
      // valid stream. Whatever decodes must then be a prefix of the original.
      assert.equal(name, "snappy", `${name} accepted a truncation at ${cut}`);
      assert.deepEqual(out, data.subarray(0, out.length));
    }
  }
});

Deno.test("compression: random garbage and bit flips never escape as other errors", () => {
  const next = rng(1234);
  const cap = 1 << 20;
  const sample = recordLike(40_000, 5);
  const variants: [string, (d: Uint8Array) => Uint8Array, CompressionCodec][] = [
    ["gzip", (d) => compress(Compression.Gzip, d), Compression.Gzip],
    ["snappy-xerial", (d) => compress(Compression.Snappy, d), Compression.Snappy],
    ["snappy-raw", snappyCompressRaw, Compression.Snappy],
    ["lz4", (d) => compress(Compression.Lz4, d), Compression.Lz4],
    [
      "lz4-checked",
      (d) => lz4CompressFrame(d, { blockChecksum: true, contentChecksum: true }),
      Compression.Lz4,
    ],
    ["zstd", (d) => compress(Compression.Zstd, d), Compression.Zstd],
  ];
  for (const [name, write, codec] of variants) {
    for (let i = 0; i < 150; i++) {
      const junk = randomBytes(next() % 300, next());
      decodesOrRejects(() => decompress(codec, junk, cap), cap, `${name} garbage ${i}`);
    }
    const packed = write(sample);
    for (let i = 0; i < 150; i++) {
      const mutated = packed.slice();
      const flips = 1 + (next() % 4);
      for (let k = 0; k < flips; k++) mutated[next() % mutated.length]! ^= 1 << (next() % 8);
      decodesOrRejects(() => decompress(codec, mutated, cap), cap, `${name} flip ${i}`);
    }
    // Garbage behind a valid header exercises the block decoders rather than the magic check.
    const headerLength = name.startsWith("snappy-xerial") ? 16 : name.startsWith("lz4") ? 7 : 0;
    for (let i = 0; i < 100 && headerLength > 0; i++) {
      const junk = cat(packed.subarray(0, headerLength), randomBytes(next() % 400, next()));
      decodesOrRejects(() => decompress(codec, junk, cap), cap, `${name} junk body ${i}`);
    }
  }
});

Deno.test("compression: snappy and lz4 data checked by random round trips", () => {
  const next = rng(42);
  for (let i = 0; i < 200; i++) {
    // Short inputs from a tiny alphabet produce every kind of match, overlap and tail.
    const n = next() % 2000;
    const alphabet = 1 + (next() % 4);
    const data = new Uint8Array(n).map(() => 0x61 + (next() % alphabet));
    for (const [name, codec] of CODECS.slice(1, 3)) {
      const back = decompress(codec, compress(codec, data), n);
      assert.deepEqual(back, data, `${name} #${i} n=${n}`);
    }
    assert.deepEqual(snappyDecompress(snappyCompressRaw(data), n), data);
  }
});
