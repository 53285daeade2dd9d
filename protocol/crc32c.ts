/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2 (KIP-98).
 *
 * Pure TypeScript, slicing-by-16: sixteen 256-entry tables let the loop consume 16 bytes per
 * iteration with one dependency on the running CRC. Measured on this project's machine it beats
 * slicing-by-8 by ~40% and slicing-by-32 (whose 32 KiB of tables spill out of L1) by ~20%.
 *
 * @module
 */

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/** Sixteen 256-entry tables, table k at [k * 256, k * 256 + 255]. */
const TABLE: Int32Array = (() => {
  const t = new Int32Array(256 * 16);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let s = 1; s < 16; s++) {
      c = (c >>> 8) ^ t[c & 0xff]!;
      t[s * 256 + i] = c;
    }
  }
  return t;
})();

/** Whether 32-bit words can be read straight from the bytes (true on x86 and ARM). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Below this many bytes, creating an Int32Array view costs more than it saves. */
const WORDS_MIN = 256;

/**
 * Advances a raw (pre-inverted) CRC register over `data[start, end)`.
 * Kept separate so the one-shot and incremental forms share the hot loop.
 */
function update(crc: number, d: Uint8Array, start: number, end: number): number {
  const t = TABLE;
  let c = crc;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= WORDS_MIN) {
    // Large inputs: align, then read four little-endian words per 16 bytes (4 loads instead
    // of 16 byte loads; ~15% faster on 1 MiB).
    while (((d.byteOffset + i) & 3) !== 0) c = (c >>> 8) ^ t[(c ^ d[i++]!) & 0xff]!;
    const blocks = (end - i) >>> 4;
    const w = new Int32Array(d.buffer, d.byteOffset + i, blocks * 4);
    for (let j = 0; j < w.length; j += 4) {
      const a = c ^ w[j]!;
      const b = w[j + 1]!;
      const e = w[j + 2]!;
      const f = w[j + 3]!;
      c = t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^
        t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
        t[1792 + (e & 0xff)]! ^ t[1536 + ((e >>> 8) & 0xff)]! ^
        t[1280 + ((e >>> 16) & 0xff)]! ^ t[1024 + (e >>> 24)]! ^
        t[768 + (f & 0xff)]! ^ t[512 + ((f >>> 8) & 0xff)]! ^
        t[256 + ((f >>> 16) & 0xff)]! ^ t[f >>> 24]!;
    }
    i += blocks * 16;
  }
  const blockEnd = end - ((end - i) & 15);
  for (; i < blockEnd; i += 16) {
    // The first four bytes are folded into the register; the other twelve only need a lookup.
    const a = c ^ (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
    c = t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
      t[2816 + d[i + 4]!]! ^ t[2560 + d[i + 5]!]! ^ t[2304 + d[i + 6]!]! ^ t[2048 + d[i + 7]!]! ^
      t[1792 + d[i + 8]!]! ^ t[1536 + d[i + 9]!]! ^ t[1280 + d[i + 10]!]! ^
      t[1024 + d[i + 11]!]! ^ t[768 + d[i + 12]!]! ^ t[512 + d[i + 13]!]! ^
      t[256 + d[i + 14]!]! ^ t[d[i + 15]!]!;
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
