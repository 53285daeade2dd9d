/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2 (KIP-98).
 *
 * Pure TypeScript, in two *braids* (as in zlib's braided CRC): several CRC registers each take
 * every n-th 32-bit word, so that n independent dependency chains run side by side, and each
 * step advances a register by the bytes all the lanes cover together, by table lookups. The
 * last round feeds the registers through ordinary 4-byte steps, which combines them.
 *
 * - From 64 bytes: four lanes (16 bytes a round), three lookups per word in 11-bit tables
 *   (11 + 11 + 10 bits; 20 KiB, stays in L1).
 * - From 32 KiB: eight lanes (32 bytes a round), two lookups per word in 16-bit tables (2 x
 *   256 KiB, in L2). Eight chains in flight hide L2's latency; with four, 16-bit tables are
 *   slower than the 11-bit ones (1 MiB: 397 against 267 us).
 *
 * Why (measured with `deno bench`, best iterations, on the project's machine): every lookup
 * costs V8 a shift, a mask, a bounds check (kept even where the mask proves the index in
 * range), a load and an xor, so fewer lookups per byte is what counts. Byte-table
 * slicing-by-16 (one lookup per byte) ran at ~1.9 GB/s; the four-lane braid (0.75 per byte)
 * runs at ~4 GB/s on 1 MiB (261 us); the eight-lane one (0.5 per byte) at ~4.2 GB/s (247 us):
 * 5-7 % less from 64 KiB to 1 MiB, ~9 % less CRC time in the catch-up consume of 1 KiB records
 * (1 MiB batches; bench/PROFILE.md, session 11), but 3-6 % more from 4 to 16 KiB, hence the
 * two. Eight lanes with 11-bit tables (282 us on 1 MiB) and separate tables instead of offsets
 * into one (273 us) were not faster.
 *
 * @module
 */

import { CRC32C_WASM, REDUCE_AT, REDUCE_BLOCKS, REDUCE_CHUNK } from "./crc32c_wasm.ts";

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/**
 * Byte tables: table k at [k * 256, k * 256 + 255] advances a byte through k more zero bytes
 * (table 0 is the classic byte-at-a-time table; 0..3 make a 4-byte step).
 */
const TABLE: Int32Array = (() => {
  const t = new Int32Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let s = 1; s < 4; s++) {
      c = (c >>> 8) ^ t[c & 0xff]!;
      t[s * 256 + i] = c;
    }
  }
  return t;
})();

/** Bytes one braid round covers: four lanes of one 32-bit word each. */
const ROUND = 16;

/**
 * The braid tables: a register value `x` (a lane's CRC with its word folded in) advanced by
 * {@linkcode ROUND} bytes is `B[x & 0x7ff] ^ B[2048 + ((x >>> 11) & 0x7ff)] ^ B[4096 + (x >>> 22)]`,
 * the operator being linear over GF(2).
 */
const BRAID: Int32Array = (() => {
  // The image of each of the 32 register bits, advanced bytewise.
  const bit = new Int32Array(32);
  for (let k = 0; k < 32; k++) {
    let c = 1 << k;
    for (let i = 0; i < ROUND; i++) c = (c >>> 8) ^ TABLE[c & 0xff]!;
    bit[k] = c;
  }
  const t = new Int32Array(2048 + 2048 + 1024);
  for (let i = 1; i < 2048; i++) {
    // Linearity: the image of i is the image of i without its lowest set bit, xor that bit's.
    const low = 31 - Math.clz32(i & -i);
    const rest = i & (i - 1);
    t[i] = t[rest]! ^ bit[low]!;
    t[2048 + i] = t[2048 + rest]! ^ bit[low + 11]!;
    if (i < 1024) t[4096 + i] = t[4096 + rest]! ^ bit[low + 22]!;
  }
  return t;
})();

/** Whether 32-bit words can be read straight from the bytes (true on x86 and ARM). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Below this many bytes, the braid's setup (a word view, the final combine) costs more. */
const BRAID_MIN = 64;

/**
 * Runs the braid over `w` (a whole number of rounds, at least one) starting from register `c`,
 * and returns the register after all of it.
 */
function braid(c: number, w: Int32Array): number {
  const b = BRAID;
  const t = TABLE;
  const n = w.length - 4; // the last round is combined below
  let r0 = c;
  let r1 = 0;
  let r2 = 0;
  let r3 = 0;
  let j = 0;
  // Two rounds per iteration: halves the loop overhead V8 adds (index checks, stack checks).
  // `j | k` rather than `j + k`: j is a multiple of 4 (8), so it is the same index, and an `|`
  // cannot overflow, which spares V8 an overflow check per load.
  for (; j < n - 4; j += 8) {
    let x0 = r0 ^ w[j]!;
    let x1 = r1 ^ w[j | 1]!;
    let x2 = r2 ^ w[j | 2]!;
    let x3 = r3 ^ w[j | 3]!;
    r0 = b[x0 & 0x7ff]! ^ b[2048 + ((x0 >>> 11) & 0x7ff)]! ^ b[4096 + (x0 >>> 22)]!;
    r1 = b[x1 & 0x7ff]! ^ b[2048 + ((x1 >>> 11) & 0x7ff)]! ^ b[4096 + (x1 >>> 22)]!;
    r2 = b[x2 & 0x7ff]! ^ b[2048 + ((x2 >>> 11) & 0x7ff)]! ^ b[4096 + (x2 >>> 22)]!;
    r3 = b[x3 & 0x7ff]! ^ b[2048 + ((x3 >>> 11) & 0x7ff)]! ^ b[4096 + (x3 >>> 22)]!;
    x0 = r0 ^ w[j | 4]!;
    x1 = r1 ^ w[j | 5]!;
    x2 = r2 ^ w[j | 6]!;
    x3 = r3 ^ w[j | 7]!;
    r0 = b[x0 & 0x7ff]! ^ b[2048 + ((x0 >>> 11) & 0x7ff)]! ^ b[4096 + (x0 >>> 22)]!;
    r1 = b[x1 & 0x7ff]! ^ b[2048 + ((x1 >>> 11) & 0x7ff)]! ^ b[4096 + (x1 >>> 22)]!;
    r2 = b[x2 & 0x7ff]! ^ b[2048 + ((x2 >>> 11) & 0x7ff)]! ^ b[4096 + (x2 >>> 22)]!;
    r3 = b[x3 & 0x7ff]! ^ b[2048 + ((x3 >>> 11) & 0x7ff)]! ^ b[4096 + (x3 >>> 22)]!;
  }
  for (; j < n; j += 4) {
    const x0 = r0 ^ w[j]!;
    const x1 = r1 ^ w[j | 1]!;
    const x2 = r2 ^ w[j | 2]!;
    const x3 = r3 ^ w[j | 3]!;
    r0 = b[x0 & 0x7ff]! ^ b[2048 + ((x0 >>> 11) & 0x7ff)]! ^ b[4096 + (x0 >>> 22)]!;
    r1 = b[x1 & 0x7ff]! ^ b[2048 + ((x1 >>> 11) & 0x7ff)]! ^ b[4096 + (x1 >>> 22)]!;
    r2 = b[x2 & 0x7ff]! ^ b[2048 + ((x2 >>> 11) & 0x7ff)]! ^ b[4096 + (x2 >>> 22)]!;
    r3 = b[x3 & 0x7ff]! ^ b[2048 + ((x3 >>> 11) & 0x7ff)]! ^ b[4096 + (x3 >>> 22)]!;
  }
  // Each lane's register is now aligned with its word of the last round: run that round as
  // four ordinary 4-byte steps, folding lane k's register in with its word.
  let x = r0 ^ w[j]!;
  x = t[768 + (x & 0xff)]! ^ t[512 + ((x >>> 8) & 0xff)]! ^ t[256 + ((x >>> 16) & 0xff)]! ^
    t[x >>> 24]! ^ r1 ^ w[j | 1]!;
  x = t[768 + (x & 0xff)]! ^ t[512 + ((x >>> 8) & 0xff)]! ^ t[256 + ((x >>> 16) & 0xff)]! ^
    t[x >>> 24]! ^ r2 ^ w[j | 2]!;
  x = t[768 + (x & 0xff)]! ^ t[512 + ((x >>> 8) & 0xff)]! ^ t[256 + ((x >>> 16) & 0xff)]! ^
    t[x >>> 24]! ^ r3 ^ w[j | 3]!;
  return t[768 + (x & 0xff)]! ^ t[512 + ((x >>> 8) & 0xff)]! ^ t[256 + ((x >>> 16) & 0xff)]! ^
    t[x >>> 24]!;
}

/** Bytes one wide braid round covers: eight lanes of one 32-bit word each. */
const WIDE_ROUND = 32;

/**
 * One wide braid table: the register bits `[lo, lo + 16)` of a lane (its CRC with its word
 * folded in) advanced by {@linkcode WIDE_ROUND} bytes. A register `x` advances to
 * `LOW[x & 0xffff] ^ HIGH[x >>> 16]`.
 */
function wideTable(lo: number): Int32Array {
  // The image of each of the 16 register bits, advanced bytewise.
  const bit = new Int32Array(16);
  for (let k = 0; k < 16; k++) {
    let c = 1 << (lo + k);
    for (let i = 0; i < WIDE_ROUND; i++) c = (c >>> 8) ^ TABLE[c & 0xff]!;
    bit[k] = c;
  }
  // Linearity: the image of `m + i` (bit k set, i below it) is the image of i xor bit k's.
  const t = new Int32Array(1 << 16);
  for (let k = 0, m = 1; k < 16; k++, m <<= 1) {
    const b = bit[k]!;
    for (let i = 0; i < m; i++) t[m + i] = t[i]! ^ b;
  }
  return t;
}

/**
 * The wide braid tables of the register's low and high 16 bits (~0.7 ms to build at import).
 * Module constants on purpose: V8 then folds each table's length into its bounds checks
 * (built lazily on first use instead, 1 MiB took 287 us against 248).
 */
const LOW: Int32Array = wideTable(0);
const HIGH: Int32Array = wideTable(16);

/**
 * The WebAssembly block reduction (protocol/crc32c_wasm.ts, scripts/gen_crc32c_wasm.ts), or
 * undefined where WebAssembly or its SIMD is not available (then the braids do everything).
 * Its memory never grows, so the view stays valid.
 */
const WASM: { mem: Uint8Array; reduce: (blocks: number) => void } | undefined = (() => {
  try {
    const { exports } = new WebAssembly.Instance(
      new WebAssembly.Module(CRC32C_WASM as BufferSource),
    );
    return {
      mem: new Uint8Array((exports.memory as WebAssembly.Memory).buffer),
      reduce: exports.reduce as (blocks: number) => void,
    };
  } catch {
    return undefined;
  }
})();

/**
 * From this many bytes the WebAssembly reduction is faster: below, its fixed part (the last
 * {@linkcode REDUCE_BLOCKS} blocks through the braid, the copy, the call) costs more.
 */
const WASM_MIN = 3 * 1024;

/**
 * Advances register `c` over `d[start, end)` (at least {@linkcode WASM_MIN} bytes) with the
 * WebAssembly reduction: the bytes are copied into its memory, reduced in place to their last
 * {@linkcode REDUCE_BLOCKS} 16-byte blocks (same CRC from register 0), which the braid then
 * checksums. Chunks of at most {@linkcode REDUCE_CHUNK} bytes keep the memory small.
 */
function reduceUpdate(
  wasm: { mem: Uint8Array; reduce: (blocks: number) => void },
  c: number,
  d: Uint8Array,
  start: number,
  end: number,
): number {
  const t = TABLE;
  const mem = wasm.mem;
  let i = start;
  // The first (length mod 16) bytes a byte at a time: the rest is whole blocks.
  for (const stop = start + ((end - start) & 15); i < stop; i++) {
    c = (c >>> 8) ^ t[(c ^ d[i]!) & 0xff]!;
  }
  while (i < end) {
    let n = end - i;
    // A chunk, but never leave a last one shorter than WASM_MIN.
    if (n > REDUCE_CHUNK) n = n - REDUCE_CHUNK >= WASM_MIN ? REDUCE_CHUNK : n - WASM_MIN;
    mem.set(d.subarray(i, i + n), REDUCE_AT);
    // The register from c over D equals the register from 0 over D with c xored into its first
    // four bytes (little-endian): the reduction then needs no register at all.
    mem[REDUCE_AT]! ^= c;
    mem[REDUCE_AT + 1]! ^= c >>> 8;
    mem[REDUCE_AT + 2]! ^= c >>> 16;
    mem[REDUCE_AT + 3]! ^= c >>> 24;
    wasm.reduce(n >>> 4);
    const at = REDUCE_AT + n;
    c = update(0, mem, at - 16 * REDUCE_BLOCKS, at);
    i += n;
  }
  return c;
}

/** From this many bytes the eight-lane braid is faster (see the module doc). */
const WIDE_MIN = 32 * 1024;

/** Advances register `c` by the four bytes of `x` (little-endian): one ordinary 4-byte step. */
function step(c: number, x: number): number {
  const t = TABLE;
  const y = c ^ x;
  return t[768 + (y & 0xff)]! ^ t[512 + ((y >>> 8) & 0xff)]! ^ t[256 + ((y >>> 16) & 0xff)]! ^
    t[y >>> 24]!;
}

/**
 * Runs the eight-lane braid over `w` (a whole number of its rounds, at least one) starting
 * from register `c`, and returns the register after all of it.
 */
function wideBraid(c: number, w: Int32Array): number {
  const lo = LOW;
  const hi = HIGH;
  const n = w.length - 8; // the last round is combined below
  let r0 = c;
  let r1 = 0;
  let r2 = 0;
  let r3 = 0;
  let r4 = 0;
  let r5 = 0;
  let r6 = 0;
  let r7 = 0;
  let j = 0;
  for (; j < n; j += 8) {
    const x0 = r0 ^ w[j]!;
    const x1 = r1 ^ w[j | 1]!;
    const x2 = r2 ^ w[j | 2]!;
    const x3 = r3 ^ w[j | 3]!;
    const x4 = r4 ^ w[j | 4]!;
    const x5 = r5 ^ w[j | 5]!;
    const x6 = r6 ^ w[j | 6]!;
    const x7 = r7 ^ w[j | 7]!;
    r0 = lo[x0 & 0xffff]! ^ hi[x0 >>> 16]!;
    r1 = lo[x1 & 0xffff]! ^ hi[x1 >>> 16]!;
    r2 = lo[x2 & 0xffff]! ^ hi[x2 >>> 16]!;
    r3 = lo[x3 & 0xffff]! ^ hi[x3 >>> 16]!;
    r4 = lo[x4 & 0xffff]! ^ hi[x4 >>> 16]!;
    r5 = lo[x5 & 0xffff]! ^ hi[x5 >>> 16]!;
    r6 = lo[x6 & 0xffff]! ^ hi[x6 >>> 16]!;
    r7 = lo[x7 & 0xffff]! ^ hi[x7 >>> 16]!;
  }
  // As in braid: the last round as eight ordinary 4-byte steps.
  let x = step(r0, w[j]!);
  x = step(x, r1 ^ w[j | 1]!);
  x = step(x, r2 ^ w[j | 2]!);
  x = step(x, r3 ^ w[j | 3]!);
  x = step(x, r4 ^ w[j | 4]!);
  x = step(x, r5 ^ w[j | 5]!);
  x = step(x, r6 ^ w[j | 6]!);
  return step(x, r7 ^ w[j | 7]!);
}

/**
 * Advances a raw (pre-inverted) CRC register over `data[start, end)`.
 * Kept separate so the one-shot and incremental forms share the hot loop.
 */
function update(crc: number, d: Uint8Array, start: number, end: number): number {
  const t = TABLE;
  let c = crc;
  let i = start;
  if (WASM !== undefined && end - start >= WASM_MIN) return reduceUpdate(WASM, c, d, start, end);
  if (LITTLE_ENDIAN && end - start >= BRAID_MIN) {
    // Align to 4 bytes, then read whole little-endian words.
    while (((d.byteOffset + i) & 3) !== 0) c = (c >>> 8) ^ t[(c ^ d[i++]!) & 0xff]!;
    const wide = end - i >= WIDE_MIN;
    const words = wide ? ((end - i) >>> 5) << 3 : ((end - i) >>> 4) << 2;
    const w = new Int32Array(d.buffer, d.byteOffset + i, words);
    c = wide ? wideBraid(c, w) : braid(c, w);
    i += words * 4;
  }
  // Short inputs and tails: four bytes per step, read bytewise (no word view to create).
  for (const stop = end - 3; i < stop; i += 4) {
    const x = c ^ (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
    c = t[768 + (x & 0xff)]! ^ t[512 + ((x >>> 8) & 0xff)]! ^ t[256 + ((x >>> 16) & 0xff)]! ^
      t[x >>> 24]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ d[i]!) & 0xff]!;
  return c;
}

function checkRange(data: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && end <= data.length && start <= end)) {
    throw new RangeError(`crc32c range [${start}, ${end}) outside a ${data.length}-byte array`);
  }
}

/**
 * The CRC-32C of `data[start, end)`, as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { crc32c } from "@denokafka/kafka/protocol";
 * const crc = crc32c(new TextEncoder().encode("123456789"));
 * console.log(crc.toString(16)); // e3069283
 * ```
 */
export function crc32c(data: Uint8Array, start = 0, end: number = data.length): number {
  checkRange(data, start, end);
  return ~update(-1, data, start, end) >>> 0;
}

/**
 * Extends a finished CRC-32C with more bytes: `crc32cUpdate(crc32c(a), b)` equals the CRC of
 * `a` followed by `b`. Start from 0 for an empty prefix.
 *
 * @example
 * ```ts
 * import { crc32c, crc32cUpdate } from "@denokafka/kafka/protocol";
 * const bytes = new TextEncoder().encode("123456789");
 * const crc = crc32cUpdate(crc32c(bytes, 0, 4), bytes, 4);
 * console.log(crc === crc32c(bytes)); // true
 * ```
 */
export function crc32cUpdate(
  crc: number,
  data: Uint8Array,
  start = 0,
  end: number = data.length,
): number {
  checkRange(data, start, end);
  return ~update(~crc, data, start, end) >>> 0;
}

/**
 * `a * b` modulo the polynomial, both reflected (bit 31 is x^0), as zlib's `multmodp`.
 */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** `X2N[k]` is x^(2^k) modulo the polynomial, reflected (k < 64 covers any safe length). */
const X2N: Uint32Array = (() => {
  const t = new Uint32Array(64);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 64; k++) t[k] = p = multModP(p, p);
  return t;
})();

/**
 * The CRC-32C of `a` followed by `b`, from the CRC of each and the length of `b` (zlib's
 * `crc32_combine`): the CRC is linear, so `a`'s CRC is advanced over `b.length` zero bytes
 * (a multiplication by x^(8 * length), in O(log length) steps) and `b`'s is xored in. The
 * record batch builder uses it to checksum the records while they are still in the cache and
 * the header, whose fields are known only at the end, last.
 *
 * @example
 * ```ts
 * import { crc32c, crc32cCombine } from "@denokafka/kafka/protocol";
 * const bytes = new TextEncoder().encode("123456789");
 * const crc = crc32cCombine(crc32c(bytes, 0, 4), crc32c(bytes, 4), 5);
 * console.log(crc === crc32c(bytes)); // true
 * ```
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (!(Number.isSafeInteger(lengthB) && lengthB >= 0)) {
    throw new RangeError(`crc32cCombine length ${lengthB} is not a non-negative integer`);
  }
  // x^(8 * lengthB): lengthB's bits, each selecting x^(2^(k + 3)).
  let p = 0x80000000; // x^0
  let k = 3;
  for (let n = lengthB; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multModP(X2N[k]!, p);
  }
  return (multModP(p, crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}

/**
 * An incremental CRC-32C over chunks.
 *
 * @example
 * ```ts
 * import { Crc32c } from "@denokafka/kafka/protocol";
 * const enc = new TextEncoder();
 * const c = new Crc32c().update(enc.encode("1234")).update(enc.encode("56789"));
 * console.log(c.value.toString(16)); // e3069283
 * ```
 */
export class Crc32c {
  #reg = -1;

  /** Feeds `data[start, end)`. */
  update(data: Uint8Array, start = 0, end: number = data.length): this {
    checkRange(data, start, end);
    this.#reg = update(this.#reg, data, start, end);
    return this;
  }

  /** The CRC of everything fed so far, unsigned. */
  get value(): number {
    return ~this.#reg >>> 0;
  }

  /** Starts over, as if nothing had been fed. */
  reset(): this {
    this.#reg = -1;
    return this;
  }
}
