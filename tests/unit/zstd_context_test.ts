/**
 * zstd through a reused compression context (`zstdCompressWithHeadroom`): the frames are those
 * node:zlib's `zstdCompressSync` makes with the same parameters, byte for byte, call after call
 * (nothing of one frame leaks into the next), written into the caller's buffer after its
 * headroom when it has the room, and decoded back intact at every level.
 */

import assert from "node:assert/strict";
import { constants, zstdCompressSync } from "node:zlib";
import { zstdCompressWithHeadroom, zstdDecompress } from "../../protocol/compression/zstd.ts";
import { Compression, compressWithHeadroom } from "../../protocol/compression/mod.ts";

/** Letters with some repetition, deterministic. */
function letters(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = i % 97 < 40 ? 65 + (i % 7) : 65 + ((x >>> 0) % 26);
  }
  return out;
}

/**
 * What zstdCompressSync makes with the parameters zstdCompress documents, output in one chunk
 * of the worst case's size (in 16 KiB chunks node:zlib appends an empty frame after some).
 */
function reference(data: Uint8Array, level: number): Uint8Array {
  // Level -1 goes as level -2 with target length 1 (node:zlib reads -1 as "not set").
  const params: Record<number, number> = {
    [constants.ZSTD_c_compressionLevel]: level === -1 ? -2 : level,
  };
  if (level === -1) params[constants.ZSTD_c_targetLength] = 1;
  if (level === 2 || level === 3) {
    params[constants.ZSTD_c_windowLog] = 17;
    params[constants.ZSTD_c_hashLog] = 14;
    params[constants.ZSTD_c_chainLog] = 12;
  }
  const n = data.length;
  const bound = n + (n >>> 8) + (n < 131_072 ? (131_072 - n) >>> 11 : 0) + 64;
  return new Uint8Array(zstdCompressSync(data, { params, chunkSize: bound }));
}

Deno.test("zstd context: frames match zstdCompressSync's byte for byte, call after call", () => {
  for (const level of [-5, -1, 1, 3, 6]) {
    for (const [i, n] of [0, 1, 100, 70_000, 1 << 20, 1000, 300_000].entries()) {
      const data = letters(n, 11 + i);
      const got = zstdCompressWithHeadroom(data, 0, level);
      assert.deepEqual(got, reference(data, level), `level ${level}, ${n} bytes`);
      assert.deepEqual(zstdDecompress(got, n), data);
    }
  }
});

Deno.test("zstd context: into the caller's buffer after its headroom, or a new exact one", () => {
  const data = letters(200_000, 5);
  const ref = reference(data, 3);
  const out = new Uint8Array(61 + 210_000).fill(0xee);
  const got = zstdCompressWithHeadroom(data, 61, 3, out);
  assert.equal(got.buffer, out.buffer, "written into the caller's buffer");
  assert.equal(got.length, 61 + ref.length);
  assert.deepEqual(got.subarray(61), ref);
  assert.ok(got.subarray(0, 61).every((b) => b === 0xee), "the headroom is left alone");
  // Too small a buffer: a new one, of the exact size.
  const small = new Uint8Array(1000);
  const fresh = zstdCompressWithHeadroom(data, 61, 3, small);
  assert.notEqual(fresh.buffer, small.buffer);
  assert.equal(fresh.buffer.byteLength, 61 + ref.length);
  assert.deepEqual(fresh.subarray(61), ref);
  // compressWithHeadroom (the producer's path) takes the same route.
  const viaMod = compressWithHeadroom(Compression.Zstd, data, 61, undefined, out);
  assert.equal(viaMod.buffer, out.buffer);
  assert.deepEqual(viaMod.subarray(61), ref);
});

Deno.test("zstd context: levels above 3 and bad levels", () => {
  const data = letters(50_000, 9);
  assert.deepEqual(zstdDecompress(zstdCompressWithHeadroom(data, 0, 12), data.length), data);
  assert.throws(() => zstdCompressWithHeadroom(data, 0, 23), RangeError);
  assert.throws(() => zstdCompressWithHeadroom(data, 0, 1.5), RangeError);
});
