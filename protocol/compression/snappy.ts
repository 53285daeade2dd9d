/**
 * Snappy in pure TypeScript: the raw block format, the xerial "snappy-java" stream framing that
 * Kafka's Java client writes, and (read only) Google's official framing format.
 *
 * What is on the wire in Kafka:
 * - The Java client writes snappy-java's `SnappyOutputStream`: the header
 *   `\x82SNAPPY\0`, version 1, compatible version 1 (int32 big-endian each), then for every
 *   32 KiB of input an int32 big-endian length and one raw snappy block.
 * - Other clients (librdkafka and sarama, for example) write one raw snappy block without any
 *   framing; the Java reader (`SnappyInputStream`) falls back to raw when the header is absent.
 * - No Kafka client is known to write the official framing format (stream identifier
 *   `0xff "sNaPpY"`); it is accepted because detecting it costs one comparison.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { crc32c } from "../crc32c.ts";
import { Output } from "./output.ts";

/** snappy-java's stream magic: `\x82SNAPPY\0`. */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00] as const;
/** The magic's first four bytes read as a big-endian int32, as snappy-java's reader sees it. */
const XERIAL_MAGIC_HEAD = 0x82534e41 | 0;
const XERIAL_HEADER_SIZE = 16;
/** `SnappyOutputStream`'s default block size, which Kafka's `SnappyCompression` uses. */
export const XERIAL_BLOCK_SIZE = 32 * 1024;

const FRAMING_ID = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59] as const;

/** The reference compressor hashes each 64 KiB fragment on its own, so offsets fit 16 bits. */
const FRAGMENT_SIZE = 1 << 16;
const MAX_TABLE_BITS = 14;
const table = new Uint16Array(1 << MAX_TABLE_BITS);
/** Bytes left unmatched at a fragment's end, so the 4-byte loads stay in bounds. */
const INPUT_MARGIN = 15;

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** The largest size `n` input bytes can take as one raw snappy block. */
export function snappyMaxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function emitLiteral(dst: Uint8Array, dp: number, src: Uint8Array, sp: number, n: number): number {
  const v = n - 1;
  if (v < 60) {
    dst[dp++] = v << 2;
  } else if (v < 0x100) {
    dst[dp++] = 60 << 2;
    dst[dp++] = v;
  } else if (v < 0x10000) {
    dst[dp++] = 61 << 2;
    dst[dp++] = v & 0xff;
    dst[dp++] = v >>> 8;
  } else if (v < 0x1000000) {
    dst[dp++] = 62 << 2;
    dst[dp++] = v & 0xff;
    dst[dp++] = (v >>> 8) & 0xff;
    dst[dp++] = v >>> 16;
  } else {
    dst[dp++] = 63 << 2;
    dst[dp++] = v & 0xff;
    dst[dp++] = (v >>> 8) & 0xff;
    dst[dp++] = (v >>> 16) & 0xff;
    dst[dp++] = v >>> 24;
  }
  if (n < 32) {
    for (let k = 0; k < n; k++) dst[dp + k] = src[sp + k]!;
  } else {
    dst.set(src.subarray(sp, sp + n), dp);
  }
  return dp + n;
}

function emitCopyUpTo64(dst: Uint8Array, dp: number, off: number, len: number): number {
  if (len < 12 && off < 2048) {
    dst[dp++] = 1 | ((len - 4) << 2) | ((off >>> 8) << 5);
    dst[dp++] = off & 0xff;
  } else {
    dst[dp++] = 2 | ((len - 1) << 2);
    dst[dp++] = off & 0xff;
    dst[dp++] = off >>> 8;
  }
  return dp;
}

function emitCopy(dst: Uint8Array, dp: number, off: number, len: number): number {
  // Long matches are cut into 64-byte copies; the split keeps the tail at 4 bytes or more.
  while (len >= 68) {
    dp = emitCopyUpTo64(dst, dp, off, 64);
    len -= 64;
  }
  if (len > 64) {
    dp = emitCopyUpTo64(dst, dp, off, 60);
    len -= 60;
  }
  return emitCopyUpTo64(dst, dp, off, len);
}

/** Compresses one fragment (at most 64 KiB) with its own hash table; returns the new `dp`. */
function compressFragment(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dp: number,
): number {
  let nextEmit = start;
  const len = end - start;
  if (len >= INPUT_MARGIN) {
    let bits = 8;
    while (bits < MAX_TABLE_BITS && 1 << bits < len) bits++;
    const shift = 32 - bits;
    table.fill(0, 0, 1 << bits);
    const ipLimit = end - INPUT_MARGIN;
    let ip = start + 1;
    let nextHash = Math.imul(read32(src, ip), 0x1e35a7bd) >>> shift;
    outer: for (;;) {
      // Heuristic match skipping: after 32 misses, look at every second byte, then every
      // third..., so incompressible input is passed over quickly.
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      do {
        ip = nextIp;
        const h = nextHash;
        nextIp = ip + (skip++ >>> 5);
        if (nextIp > ipLimit) break outer;
        nextHash = Math.imul(read32(src, nextIp), 0x1e35a7bd) >>> shift;
        candidate = start + table[h]!;
        table[h] = ip - start;
      } while (read32(src, ip) !== read32(src, candidate));
      dp = emitLiteral(dst, dp, src, nextEmit, ip - nextEmit);
      let cur: number;
      do {
        // Extend the match, four bytes at a time, then emit copies until no match follows.
        const base = ip;
        let mp = ip + 4;
        let rp = candidate + 4;
        for (;;) {
          if (mp + 4 <= end) {
            const x = read32(src, mp) ^ read32(src, rp);
            if (x === 0) {
              mp += 4;
              rp += 4;
              continue;
            }
            mp += (31 - Math.clz32(x & -x)) >>> 3;
            break;
          }
          while (mp < end && src[mp] === src[rp]) {
            mp++;
            rp++;
          }
          break;
        }
        ip = mp;
        dp = emitCopy(dst, dp, base - candidate, mp - base);
        nextEmit = ip;
        if (ip >= ipLimit) break outer;
        table[Math.imul(read32(src, ip - 1), 0x1e35a7bd) >>> shift] = ip - 1 - start;
        const h = Math.imul(read32(src, ip), 0x1e35a7bd) >>> shift;
        candidate = start + table[h]!;
        table[h] = ip - start;
        cur = read32(src, ip);
      } while (cur === read32(src, candidate));
      ip++;
      nextHash = Math.imul(read32(src, ip), 0x1e35a7bd) >>> shift;
    }
  }
  if (nextEmit < end) dp = emitLiteral(dst, dp, src, nextEmit, end - nextEmit);
  return dp;
}

/** Writes `src[start, end)` as one raw snappy block at `dp`; returns the new position. */
function compressRawInto(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dp: number,
): number {
  let n = end - start;
  while (n >= 0x80) {
    dst[dp++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  dst[dp++] = n;
  for (let p = start; p < end; p += FRAGMENT_SIZE) {
    dp = compressFragment(src, p, Math.min(end, p + FRAGMENT_SIZE), dst, dp);
  }
  return dp;
}

/**
 * Compresses `data` as one raw snappy block (no framing), as librdkafka and sarama send it.
 *
 * @example
 * ```ts
 * import { snappyCompressRaw, snappyDecompress } from "@denokafka/kafka/protocol";
 * const raw = snappyCompressRaw(new Uint8Array(100));
 * console.log(snappyDecompress(raw, 100).length); // 100
 * ```
 */
export function snappyCompressRaw(data: Uint8Array): Uint8Array {
  if (data.length > 0xffffffff) throw new RangeError("snappy input exceeds 4 GiB");
  const dst = new Uint8Array(snappyMaxCompressedLength(data.length));
  return dst.slice(0, compressRawInto(data, 0, data.length, dst, 0));
}

/**
 * Compresses `data` in snappy-java's stream framing, byte-compatible with what Kafka's Java
 * producer writes: the 16-byte header, then one length-prefixed raw block per 32 KiB.
 *
 * @example
 * ```ts
 * import { snappyCompressXerial } from "@denokafka/kafka/protocol";
 * const framed = snappyCompressXerial(new TextEncoder().encode("kafka kafka kafka"));
 * console.log(framed[0], framed.length > 16); // 130 true
 * ```
 */
export function snappyCompressXerial(
  data: Uint8Array,
  blockSize: number = XERIAL_BLOCK_SIZE,
): Uint8Array {
  if (!Number.isInteger(blockSize) || blockSize < 1024 || blockSize > 512 * 1024 * 1024) {
    throw new RangeError(`snappy block size ${blockSize} is outside 1 KiB-512 MiB`);
  }
  const blocks = Math.ceil(data.length / blockSize);
  const dst = new Uint8Array(
    XERIAL_HEADER_SIZE + blocks * 4 + snappyMaxCompressedLength(data.length) + blocks * 32,
  );
  dst.set(XERIAL_MAGIC);
  dst[11] = 1; // version
  dst[15] = 1; // minimum compatible version
  let dp = XERIAL_HEADER_SIZE;
  for (let p = 0; p < data.length; p += blockSize) {
    const blockStart = dp + 4;
    const blockEnd = compressRawInto(
      data,
      p,
      Math.min(data.length, p + blockSize),
      dst,
      blockStart,
    );
    const n = blockEnd - blockStart;
    dst[dp] = n >>> 24;
    dst[dp + 1] = (n >>> 16) & 0xff;
    dst[dp + 2] = (n >>> 8) & 0xff;
    dst[dp + 3] = n & 0xff;
    dp = blockEnd;
  }
  return dst.slice(0, dp);
}

function truncated(): never {
  throw new DecodeError("snappy: truncated block");
}

/**
 * Decodes the raw snappy block `src[sp, end)` onto `out`. The length it claims is checked
 * against the cap and against what its bytes could possibly expand to before any room is
 * reserved.
 */
function decodeRawInto(src: Uint8Array, sp: number, end: number, out: Output): void {
  let claimed = 0;
  for (let shift = 0;; shift += 7) {
    if (sp >= end) truncated();
    if (shift > 28) throw new DecodeError("snappy: invalid length preamble");
    const b = src[sp++]!;
    // Shifts keep small lengths small integers: a float here would make V8 treat every
    // output position downstream as a double, halving the decoders' speed.
    claimed += shift < 28 ? (b & 0x7f) << shift : (b & 0x7f) * 0x10000000;
    if (b < 0x80) break;
  }
  if (claimed > 0xffffffff) throw new DecodeError("snappy: invalid length preamble");
  const base = out.length;
  if (claimed > out.cap - base) {
    throw new DecodeError(`snappy: decompressed data exceeds the limit of ${out.cap} bytes`);
  }
  // A 3-byte copy yields at most 64 bytes: no honest block expands more than 22 times.
  if (claimed > (end - sp) * 22) {
    throw new DecodeError(`snappy: block claims ${claimed} bytes from only ${end - sp}`);
  }
  const stop = base + claimed;
  const dst = out.reserve(stop, base === 0);
  let op = base;
  while (sp < end) {
    const tag = src[sp++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const extra = n - 59;
        if (end - sp < extra) truncated();
        n = src[sp]!;
        if (extra > 1) n |= src[sp + 1]! << 8;
        if (extra > 2) n |= src[sp + 2]! << 16;
        if (extra > 3) n = (n | (src[sp + 3]! << 24)) >>> 0;
        sp += extra;
      }
      n += 1;
      if (n > end - sp) truncated();
      if (n > stop - op) throw new DecodeError("snappy: literal runs past the declared length");
      if (n < 32) {
        for (let k = 0; k < n; k++) dst[op + k] = src[sp + k]!;
      } else {
        dst.set(src.subarray(sp, sp + n), op);
      }
      sp += n;
      op += n;
      continue;
    }
    let len: number;
    let off: number;
    if (kind === 1) {
      if (sp >= end) truncated();
      len = ((tag >>> 2) & 7) + 4;
      off = ((tag >>> 5) << 8) | src[sp++]!;
    } else if (kind === 2) {
      if (end - sp < 2) truncated();
      len = (tag >>> 2) + 1;
      off = src[sp]! | (src[sp + 1]! << 8);
      sp += 2;
    } else {
      if (end - sp < 4) truncated();
      len = (tag >>> 2) + 1;
      off = read32(src, sp) >>> 0;
      sp += 4;
    }
    if (off === 0 || off > op - base) {
      throw new DecodeError(`snappy: copy offset ${off} points before the start of the block`);
    }
    if (len > stop - op) throw new DecodeError("snappy: copy runs past the declared length");
    let m = op - off;
    if (off >= len) {
      for (let k = 0; k < len; k++) dst[op + k] = dst[m + k]!;
      op += len;
    } else {
      // Overlapping copies repeat the last `off` bytes, byte by byte by definition.
      const e = op + len;
      while (op < e) dst[op++] = dst[m++]!;
    }
  }
  if (op !== stop) {
    throw new DecodeError(`snappy: block decoded to ${op - base} bytes, it claims ${claimed}`);
  }
  out.length = stop;
}

function startsWith(data: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (data.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[at + i] !== prefix[i]) return false;
  return true;
}

function int32be(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

function decodeXerial(data: Uint8Array, out: Output): void {
  let pos = 0;
  for (;;) {
    // Every header, the first and any of a concatenated stream, must be version 1 or later.
    const version = int32be(data, pos + 8);
    if (version < 1) {
      throw new DecodeError(`snappy: unsupported snappy-java stream version ${version}`);
    }
    pos += XERIAL_HEADER_SIZE;
    // Like snappy-java's reader, 1-3 bytes after the last block are not a block and are ignored.
    while (data.length - pos >= 4) {
      const n = int32be(data, pos);
      if (n === XERIAL_MAGIC_HEAD) break;
      if (n <= 0) throw new DecodeError(`snappy: invalid snappy-java block length ${n}`);
      if (n > data.length - pos - 4) throw new DecodeError("snappy: truncated snappy-java block");
      decodeRawInto(data, pos + 4, pos + 4 + n, out);
      pos += 4 + n;
    }
    if (data.length - pos < 4) return;
    // Another stream's header follows (snappy-java reads concatenated streams).
    if (data.length - pos < XERIAL_HEADER_SIZE) {
      throw new DecodeError("snappy: truncated header of a concatenated snappy-java stream");
    }
    // snappy-java ends the stream quietly at a header with a bad magic; do the same.
    if (!startsWith(data, XERIAL_MAGIC, pos)) return;
  }
}

function unmaskCrc(masked: number): number {
  const r = (masked - 0xa282ead8) >>> 0;
  return ((r >>> 17) | (r << 15)) >>> 0;
}

/** Google's framing format: chunks of [type][24-bit length] with CRC-32C checked data. */
function decodeFraming(data: Uint8Array, out: Output): void {
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new DecodeError("snappy: truncated chunk header");
    const type = data[pos]!;
    const n = data[pos + 1]! | (data[pos + 2]! << 8) | (data[pos + 3]! << 16);
    pos += 4;
    if (n > data.length - pos) throw new DecodeError("snappy: truncated chunk");
    const end = pos + n;
    if (type === 0xff) {
      if (!startsWith(data, FRAMING_ID, pos - 4) || n !== 6) {
        throw new DecodeError("snappy: invalid stream identifier");
      }
    } else if (type === 0x00 || type === 0x01) {
      if (n < 4) throw new DecodeError("snappy: chunk too short for its checksum");
      const expected = unmaskCrc(read32(data, pos) >>> 0);
      const start = out.length;
      if (type === 0x00) {
        decodeRawInto(data, pos + 4, end, out);
      } else {
        const buf = out.reserve(start + n - 4);
        buf.set(data.subarray(pos + 4, end), start);
        out.length = start + n - 4;
      }
      if (out.length - start > 65536) throw new DecodeError("snappy: chunk exceeds 64 KiB");
      if (crc32c(out.buf, start, out.length) !== expected) {
        throw new DecodeError("snappy: chunk checksum mismatch");
      }
    } else if (type < 0x80) {
      throw new DecodeError(`snappy: unskippable chunk type 0x${type.toString(16)}`);
    }
    // 0x80-0xfe: padding and reserved skippable chunks.
    pos = end;
  }
}

/**
 * Decompresses a Kafka snappy payload of any of the three shapes found in the wild: the
 * snappy-java stream framing (Java client), one raw block (librdkafka, sarama, franz-go), or
 * Google's framing format. Output beyond `maxOutputBytes` is refused with a
 * {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { snappyCompressXerial, snappyDecompress } from "@denokafka/kafka/protocol";
 * const data = new TextEncoder().encode("to be or not to be");
 * console.log(snappyDecompress(snappyCompressXerial(data), 1024).length); // 18
 * ```
 */
export function snappyDecompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  let out: Output;
  // snappy-java's reader takes anything shorter than its 16-byte header, or without the
  // magic, for one raw block; do the same so the two always agree.
  if (data.length >= XERIAL_HEADER_SIZE && startsWith(data, XERIAL_MAGIC)) {
    out = new Output("snappy", maxOutputBytes, data.length * 4 + 64);
    decodeXerial(data, out);
  } else if (startsWith(data, FRAMING_ID)) {
    out = new Output("snappy", maxOutputBytes, data.length * 4 + 64);
    decodeFraming(data, out);
  } else {
    out = new Output("snappy", maxOutputBytes, 0);
    decodeRawInto(data, 0, data.length, out);
  }
  return out.finish();
}
