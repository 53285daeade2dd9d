/**
 * LZ4 in pure TypeScript: the block format and the frame format (magic `0x184D2204`) that
 * Kafka uses for `compression.type=lz4`.
 *
 * Frames are written the way Kafka's Java client (`Lz4BlockOutputStream`) writes them for
 * RecordBatch v2: 64 KiB independent blocks, no block or content checksum, no content size,
 * a correct header checksum. Any valid frame is read: dependent blocks, block and content
 * checksums, content size, concatenated and skippable frames.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { Output } from "./output.ts";
import { xxhash32 } from "./xxhash32.ts";
import { crc32cUpdate } from "../crc32c.ts";

// The frame's CRC-32C, when asked for, is computed a block at a time right after the block is
// written, while it is still in the cache: a record batch's CRC then needs no second pass over
// 1 MiB (Session 13 lz4 in bench/PROFILE.md: 1 MiB batches of P3 records 3-8 % faster). Runs
// of this size: a whole 64 KiB block per call, since crc32c's WebAssembly path costs a copy,
// a call and a ~3 KiB tail per call (16 KiB runs, sized for the old table CRC's L1 tables,
// took 87 against 68 us per warm 640 KB; bench/PROFILE.md, Session 15: producer CRC runs).
const CRC_RUN = 64 * 1024;

function crcRuns(crc: number, b: Uint8Array, start: number, end: number): number {
  for (let p = start; p < end; p += CRC_RUN) {
    crc = crc32cUpdate(crc, b, p, Math.min(end, p + CRC_RUN));
  }
  return crc;
}

const MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const UNCOMPRESSED_BIT = 0x80000000;

const MIN_MATCH = 4;
// The format's end-of-block rules: the last 5 bytes are always literals, and the last match
// must start at least 12 bytes before the end, so decoders may copy in 8-byte strides.
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;
// 13 bits, as lz4 itself hashes inputs of up to 64 KiB (Kafka's block size; lz4-java's native
// fast compressor, which Kafka's producer uses, does the same): the 32 KiB table stays in L1,
// where a 64 KiB one made every probe a cache miss (measured: twice as slow on text).
const HASH_LOG = 13;
const HASH_SHIFT = 32 - HASH_LOG;
// After this many misses in a row the search starts skipping ahead (lz4's "acceleration").
const SKIP_TRIGGER = 6;
// Early abort: every CHECK_INTERVAL input bytes of a block, the compressor checks what it has
// saved of what it has encoded; after two checks in a row below 1/2^ABORT_SHIFT (3.1 %), or one
// below 1/2^HOPELESS_SHIFT (1.6 %), it stops searching. Incompressible data (random bytes,
// already compressed or encrypted payloads) and data LZ4 can hardly shorten (random letters:
// 4-6 byte matches that save a byte or two each, ~3 % in all) is then stored raw after ~4 KiB
// of searching instead of 64: ~2.5 GB/s instead of 0.27 on 100-byte random-letter records,
// ~4 GB/s instead of 1.6 on 1 KiB ones (bench/PROFILE.md, Session 11), for at most ~3 % more
// bytes, which the broker and consumers then copy instead of decoding. Data that compresses
// (text, JSON, records of short values) saves far more than 3 % and is never cut short. zstd
// stores a block raw below a 1/64 gain too, though only after compressing it.
const CHECK_INTERVAL = 2048;
const ABORT_SHIFT = 5;
const HOPELESS_SHIFT = 6;
// STRICT: a block that follows a block stored raw (in the same frame: one record batch, whose
// records are usually alike) is judged at every CHECK_INTERVAL of input whether or not a match
// was found, counting the pending literals as saving nothing, and one check below 1/32 stores
// it raw. The lenient rules above wait for a match past the check point (random letters of 1
// KiB records find one only after 4-12 KiB) and for two poor checks; kept for a frame's first
// block and after any block that compressed, so a few incompressible records before
// compressible ones cost no ratio there. Measured (1 MiB batches of bench:compare's P3
// records, bench/PROFILE.md Session 13 lz4): 1 KiB letters 25k → 10k probes, 100 B 100k → 26k.

// Positions are absolute and every candidate is verified against the bytes themselves, so the
// table never needs clearing: a stale entry is at worst a wasted comparison.
const table = new Int32Array(1 << HASH_LOG);

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash(v: number): number {
  return Math.imul(v, 0x9e3779b1) >>> HASH_SHIFT;
}

/** The largest size `n` input bytes can take as one LZ4 block. */
export function lz4BlockBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/** Writes a length continuation (the bytes after a 15 nibble); returns the new position. */
function writeLength(dst: Uint8Array, dp: number, n: number): number {
  while (n >= 255) {
    dst[dp++] = 255;
    n -= 255;
  }
  dst[dp++] = n;
  return dp;
}

function copyBytes(dst: Uint8Array, dp: number, src: Uint8Array, sp: number, n: number): void {
  if (n < 32) {
    for (let k = 0; k < n; k++) dst[dp + k] = src[sp + k]!;
  } else {
    dst.set(src.subarray(sp, sp + n), dp);
  }
}

/**
 * Compresses `src[start, end)` as one independent LZ4 block into `dst` at `dp`, which must
 * have {@linkcode lz4BlockBound} bytes of room. Returns the position after the block.
 */
export function lz4CompressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dp: number,
): number {
  return compressBlock(src, start, end, dst, dp, false);
}

/**
 * {@linkcode lz4CompressBlock}, or with `earlyAbort` -1 as soon as the block proves
 * incompressible (see CHECK_INTERVAL; `strict`: see STRICT): the caller then stores it raw.
 */
function compressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dp: number,
  earlyAbort: boolean,
  strict = false,
): number {
  let anchor = start;
  const dp0 = dp;
  let nextCheck = earlyAbort ? start + CHECK_INTERVAL : Infinity;
  let poorChecks = 0;
  if (end - start >= MF_LIMIT + 1) {
    // One unaligned little-endian load per 4 bytes instead of four byte loads and shifts.
    const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const mfLimit = end - MF_LIMIT; // a match may start at or before this position
    const matchLimit = end - LAST_LITERALS; // and must end at or before this one
    table[hash(v.getInt32(start, true))] = start;
    let ip = start + 1;
    let h = hash(v.getInt32(ip, true));
    // A strict block also stops its scan for a match at each check (see STRICT).
    let scanLimit = strict ? Math.min(mfLimit, nextCheck) : mfLimit;
    for (;;) {
      let ref = 0;
      let forward = ip;
      let attempts = 1 << SKIP_TRIGGER;
      let found = false;
      while (forward <= scanLimit) {
        ip = forward;
        forward = ip + (attempts++ >> SKIP_TRIGGER);
        ref = table[h]!;
        table[h] = ip;
        const seq = v.getInt32(ip, true);
        if (forward <= mfLimit) h = hash(v.getInt32(forward, true));
        if (
          ref >= start && ref < ip && ip - ref <= MAX_DISTANCE && v.getInt32(ref, true) === seq
        ) {
          found = true;
          break;
        }
      }
      if (!found) {
        if (forward > mfLimit) break;
        // Strict, and a check is due with no match found: the pending literals saved nothing.
        const consumed = forward - start;
        const saved = anchor - start - (dp - dp0);
        if (saved < consumed >> ABORT_SHIFT) return -1;
        ip = forward;
        nextCheck = ip + CHECK_INTERVAL;
        scanLimit = Math.min(mfLimit, nextCheck);
        continue;
      }
      if (strict && ip >= nextCheck) {
        const consumed = ip - start;
        const saved = anchor - start - (dp - dp0);
        if (saved < consumed >> ABORT_SHIFT) return -1;
        nextCheck = ip + CHECK_INTERVAL;
        scanLimit = Math.min(mfLimit, nextCheck);
      } else if (ip >= nextCheck) {
        // Checked only when a match is found: a block without any is cheap to scan anyway
        // (the search skips ahead faster and faster). Only what is encoded counts: the
        // literals between `anchor` and this match are not written yet, and counting them as
        // saved (as this check once did) kept blocks of random letters searching for 8-30 KiB
        // instead of giving up at the first check. A block whose first KiBs are mostly one
        // long literal run (a unique record before repetitive ones) has little encoded yet:
        // it is judged once at least half an interval is. Below 1/64 saved over a whole
        // interval it gives up at once (random letters of 1 KiB records come out 0.3 % larger);
        // below 1/32 only after two such checks in a row, so a first record or two that
        // hardly compress (a token of letters, then JSON) do not condemn the whole block.
        const consumed = anchor - start;
        if (consumed >= CHECK_INTERVAL >>> 1) {
          const saved = consumed - (dp - dp0);
          if (saved < consumed >> HOPELESS_SHIFT && consumed >= CHECK_INTERVAL) return -1;
          if (saved >= consumed >> ABORT_SHIFT) poorChecks = 0;
          else if (++poorChecks === 2) return -1;
        }
        nextCheck = ip + CHECK_INTERVAL;
      }
      // Extend the match backwards over literals that also match.
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let tokenPos = dp++;
      const lit = ip - anchor;
      let token: number;
      if (lit >= 15) {
        token = 15 << 4;
        dp = writeLength(dst, dp, lit - 15);
      } else {
        token = lit << 4;
      }
      copyBytes(dst, dp, src, anchor, lit);
      dp += lit;
      let more = false;
      let done = false;
      do {
        const off = ip - ref;
        dst[dp++] = off & 0xff;
        dst[dp++] = off >>> 8;
        // Extend forwards four bytes at a time; the first differing byte ends the match.
        let mp = ip + MIN_MATCH;
        let rp = ref + MIN_MATCH;
        let diff = 0;
        while (mp + 4 <= matchLimit) {
          diff = v.getInt32(mp, true) ^ v.getInt32(rp, true);
          if (diff !== 0) break;
          mp += 4;
          rp += 4;
        }
        if (diff !== 0) {
          mp += (31 - Math.clz32(diff & -diff)) >>> 3;
        } else {
          while (mp < matchLimit && src[mp] === src[rp]) {
            mp++;
            rp++;
          }
        }
        const ml = mp - ip - MIN_MATCH;
        if (ml >= 15) {
          dst[tokenPos] = token | 15;
          dp = writeLength(dst, dp, ml - 15);
        } else {
          dst[tokenPos] = token | ml;
        }
        ip = mp;
        anchor = ip;
        if (ip > mfLimit) {
          done = true;
          more = false;
        } else {
          table[hash(v.getInt32(ip - 2, true))] = ip - 2;
          // A match right after a match needs no literals: try it before searching again.
          const cur = v.getInt32(ip, true);
          const hh = hash(cur);
          ref = table[hh]!;
          table[hh] = ip;
          more = ref >= start && ref < ip && ip - ref <= MAX_DISTANCE &&
            v.getInt32(ref, true) === cur;
          if (more) {
            tokenPos = dp++;
            token = 0;
          }
        }
      } while (more);
      if (done) break;
      ip++;
      if (ip > mfLimit) break;
      h = hash(v.getInt32(ip, true));
    }
  }
  const lit = end - anchor;
  if (lit >= 15) {
    dst[dp++] = 15 << 4;
    dp = writeLength(dst, dp, lit - 15);
  } else {
    dst[dp++] = lit << 4;
  }
  copyBytes(dst, dp, src, anchor, lit);
  return dp + lit;
}

function truncated(): never {
  throw new DecodeError("lz4: truncated block");
}

function overrun(): never {
  throw new DecodeError("lz4: block output overruns its limit");
}

/**
 * Decodes the LZ4 block `src[sp, end)` into `dst` at `op`, writing nothing at or past `limit`
 * (which must be at most `dst.length`). Matches may reach back to `windowStart`: the block's
 * own start for independent blocks, the frame's start for linked ones. Returns the new `op`.
 *
 * The buffer is fixed for the whole block (the caller reserves what the block can produce), so
 * the hot loop works on a constant array, which V8 compiles much better than a growable one.
 */
export function lz4DecompressBlock(
  src: Uint8Array,
  sp: number,
  end: number,
  dst: Uint8Array,
  op: number,
  limit: number,
  windowStart: number,
): number {
  for (;;) {
    if (sp >= end) truncated();
    const token = src[sp++]!;
    let lit = token >>> 4;
    if (lit !== 0) {
      if (lit === 15) {
        let b: number;
        do {
          if (sp >= end) truncated();
          b = src[sp++]!;
          lit += b;
        } while (b === 255);
      }
      if (lit > end - sp) truncated();
      if (lit > limit - op) overrun();
      // Inlined by hand: most literal runs are a few bytes, where a call would dominate.
      if (lit < 32) {
        const stop = sp + lit;
        while (sp < stop) dst[op++] = src[sp++]!;
      } else {
        dst.set(src.subarray(sp, sp + lit), op);
        sp += lit;
        op += lit;
      }
    }
    // The last sequence of a block has literals only.
    if (sp === end) return op;
    if (end - sp < 2) truncated();
    const off = src[sp]! | (src[sp + 1]! << 8);
    sp += 2;
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (sp >= end) truncated();
        b = src[sp++]!;
        ml += b;
      } while (b === 255);
    }
    ml += MIN_MATCH;
    if (off === 0 || off > op - windowStart) {
      throw new DecodeError(`lz4: match offset ${off} points before the start of the output`);
    }
    if (ml > limit - op) overrun();
    let m = op - off;
    if (off >= ml) {
      if (ml < 32) {
        const stop = m + ml;
        while (m < stop) dst[op++] = dst[m++]!;
      } else {
        dst.copyWithin(op, m, m + ml);
        op += ml;
      }
    } else if (off === 1) {
      dst.fill(dst[m]!, op, op + ml);
      op += ml;
    } else if (ml < 32) {
      // Overlapping: a forward byte copy repeats the last `off` bytes, as the format intends.
      const stop = op + ml;
      while (op < stop) dst[op++] = dst[m++]!;
    } else {
      // Overlapping and long: the region [m, op) is periodic, so it can be copied in chunks
      // that double each time.
      const stop = op + ml;
      while (op < stop) {
        const n = Math.min(op - m, stop - op);
        dst.copyWithin(op, m, m + n);
        op += n;
      }
    }
  }
}

/** Options of {@linkcode lz4CompressFrame}. */
export interface Lz4FrameOptions {
  /** Block maximum size code 4-7 (64 KiB, 256 KiB, 1 MiB, 4 MiB). Default 4, as Kafka. */
  blockSizeId?: 4 | 5 | 6 | 7;
  /** Append an XXH32 of each block. Default false, as Kafka. */
  blockChecksum?: boolean;
  /** Append an XXH32 of the whole content. Default false, as Kafka. */
  contentChecksum?: boolean;
  /**
   * Write the header checksum over the magic too, as Kafka did for message format v0
   * (KAFKA-3160). Only for writing legacy v0 message sets; never for RecordBatch v2.
   */
  brokenHeaderChecksum?: boolean;
}

function write32(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

/**
 * Compresses `data` into one LZ4 frame, by default exactly as Kafka's Java producer frames a
 * RecordBatch v2: FLG `0x60`, BD `0x40`, independent 64 KiB blocks stored raw when they do not
 * shrink, then an end mark. A block whose first KiBs save less than 1/32 is stored raw
 * without searching the rest (early abort: incompressible data costs a third as much).
 *
 * @example
 * ```ts
 * import { lz4CompressFrame, lz4DecompressFrame } from "@denokafka/kafka/protocol";
 * const frame = lz4CompressFrame(new Uint8Array(1000));
 * console.log(lz4DecompressFrame(frame, 1000).length); // 1000
 * ```
 */
export function lz4CompressFrame(data: Uint8Array, options: Lz4FrameOptions = {}): Uint8Array {
  return lz4CompressFrameWithHeadroom(data, 0, options);
}

/**
 * The most bytes {@linkcode lz4CompressFrame} may write for `n` input bytes with these options
 * (Kafka's by default).
 *
 * @example
 * ```ts
 * import { lz4FrameBound } from "./lz4.ts";
 * console.log(lz4FrameBound(1 << 20) > 1 << 20); // true
 * ```
 */
export function lz4FrameBound(n: number, options: Lz4FrameOptions = {}): number {
  const blockMax = 1 << (2 * (options.blockSizeId ?? 4) + 8);
  const blocks = Math.ceil(n / blockMax);
  const perBlock = 4 + (options.blockChecksum ? 4 : 0);
  return 7 + blocks * perBlock + lz4BlockBound(n) + blocks * 16 + 4 + 4;
}

/**
 * {@linkcode lz4CompressFrame} into a buffer whose first `headroom` bytes are left free (zero
 * in a new buffer) for the caller: a record batch's header goes there without copying the
 * frame. `out` is used when it has room for `headroom` + {@linkcode lz4FrameBound} bytes; the
 * result is then a view of it. With `crc`, `crc[0]` receives the CRC-32C of the frame (the
 * bytes after the headroom), computed as it is written.
 */
export function lz4CompressFrameWithHeadroom(
  data: Uint8Array,
  headroom: number,
  options: Lz4FrameOptions = {},
  out?: Uint8Array,
  crc?: Uint32Array,
): Uint8Array {
  return compressFrame(data, headroom, options, out, crc, 0).bytes;
}

/** What {@linkcode lz4CompressFrameOrPlain} wrote. */
export interface Lz4FrameResult {
  /** The headroom, then the frame, or (`plain`) the data as is. */
  bytes: Uint8Array;
  /** Every block was stored raw, so the data went out as is instead of in a frame. */
  plain: boolean;
}

/**
 * {@linkcode lz4CompressFrameWithHeadroom}, except that when every block proves incompressible
 * (every one would be stored raw) the data is written as is after the headroom, without a
 * frame, and `plain` says so: the caller sends it uncompressed. A frame of raw blocks costs
 * every reader more than the same bytes uncompressed: Kafka's broker streams a compressed
 * batch through `KafkaLZ4BlockInputStream` to validate it, where it validates an uncompressed
 * one in place, and consumers walk the frame. franz-go sends a batch uncompressed too when
 * compressing did not shrink it. With `crc`, `crc[0]` is the CRC-32C of what follows the
 * headroom in either case. With `inPlace`, plain data is not copied: `bytes` is then `data`
 * itself (no headroom), and the caller, which has the headroom in front of it, sends it.
 * `dataCrc`, the CRC-32C of `data` when the caller has it, is then `crc[0]` without a pass.
 */
export function lz4CompressFrameOrPlain(
  data: Uint8Array,
  headroom: number,
  out?: Uint8Array,
  crc?: Uint32Array,
  inPlace = false,
  dataCrc?: number,
): Lz4FrameResult {
  return compressFrame(data, headroom, {}, out, crc, inPlace ? 2 : 1, dataCrc);
}

function compressFrame(
  data: Uint8Array,
  headroom: number,
  options: Lz4FrameOptions,
  out: Uint8Array | undefined,
  crc: Uint32Array | undefined,
  // When no block compresses: 0 a frame of raw blocks all the same, 1 the data copied after
  // the headroom, 2 the data left where it is (`bytes` is `data`).
  plain: 0 | 1 | 2,
  dataCrc?: number,
): Lz4FrameResult {
  const sizeId = options.blockSizeId ?? 4;
  if (sizeId < 4 || sizeId > 7) throw new RangeError(`lz4 block size id ${sizeId} is not 4-7`);
  const blockMax = 1 << (2 * sizeId + 8);
  const blockChecksum = options.blockChecksum ?? false;
  const contentChecksum = options.contentChecksum ?? false;
  const need = headroom + lz4FrameBound(data.length, options);
  const given = out !== undefined && out.length >= need;
  const dst = given ? out : new Uint8Array(need);
  const h = headroom;
  write32(dst, h, MAGIC);
  dst[h + 4] = 0x40 | 0x20 | (blockChecksum ? 0x10 : 0) | (contentChecksum ? 0x04 : 0);
  dst[h + 5] = sizeId << 4;
  dst[h + 6] = (xxhash32(dst, h + (options.brokenHeaderChecksum ? 0 : 4), h + 6) >>> 8) & 0xff;
  let dp = h + 7;
  let c = crc === undefined ? 0 : crc32cUpdate(0, dst, h, dp);
  let raw = false;
  // Raw blocks are copied only once a compressed block follows them (or the frame ends with
  // some compressed): when none compresses, the data goes out plain instead (`plain`),
  // copied once. `pending` is where the first raw block not yet copied starts, in `data`, and
  // `pendingDp` where its block goes in `dst`.
  let pending = -1;
  let pendingDp = 0;
  let compressed = false;
  // Copies (and checksums, a CRC run at a time while it is in L1) the raw blocks of
  // data[pending, upTo).
  const flushRaw = (upTo: number): void => {
    let q = pendingDp;
    for (let s = pending; s < upTo; s += blockMax) {
      const e = Math.min(upTo, s + blockMax);
      const size = e - s;
      write32(dst, q, (size | UNCOMPRESSED_BIT) >>> 0);
      const bs = q + 4;
      const be = bs + size;
      if (crc === undefined) {
        dst.set(data.subarray(s, e), bs);
      } else {
        c = crc32cUpdate(c, dst, q, bs);
        for (let p = bs; p < be; p += CRC_RUN) {
          const r = Math.min(be, p + CRC_RUN);
          dst.set(data.subarray(s + p - bs, s + r - bs), p);
          c = crc32cUpdate(c, dst, p, r);
        }
      }
      q = be;
      if (blockChecksum) {
        write32(dst, q, xxhash32(dst, bs, be));
        if (crc !== undefined) c = crc32cUpdate(c, dst, q, q + 4);
        q += 4;
      }
    }
    pending = -1;
  };
  for (let start = 0; start < data.length; start += blockMax) {
    const end = Math.min(data.length, start + blockMax);
    const blockStart = dp + 4;
    let blockEnd = compressBlock(data, start, end, dst, blockStart, true, raw);
    const size = blockEnd - blockStart;
    raw = blockEnd < 0 || size >= end - start;
    if (raw) {
      // Incompressible: stored as is (flagged by the size's high bit), copied later.
      if (pending < 0) {
        pending = start;
        pendingDp = dp;
      }
      dp = blockStart + (end - start) + (blockChecksum ? 4 : 0);
      continue;
    }
    compressed = true;
    if (pending >= 0) flushRaw(start);
    write32(dst, dp, size);
    if (blockChecksum) {
      write32(dst, blockEnd, xxhash32(dst, blockStart, blockEnd));
      blockEnd += 4;
    }
    if (crc !== undefined) c = crcRuns(c, dst, dp, blockEnd);
    dp = blockEnd;
  }
  if (pending >= 0 && plain === 2 && !compressed) {
    // Nothing compressed, and the caller sends the data from where it is.
    if (crc !== undefined) crc[0] = dataCrc ?? crcRuns(0, data, 0, data.length);
    return { bytes: data, plain: true };
  }
  if (pending >= 0 && plain === 1 && !compressed) {
    // Nothing compressed: the data as is, after the headroom.
    dp = h + data.length;
    if (crc === undefined) {
      dst.set(data, h);
    } else {
      c = 0;
      for (let p = h; p < dp; p += CRC_RUN) {
        const r = Math.min(dp, p + CRC_RUN);
        dst.set(data.subarray(p - h, r - h), p);
        c = crc32cUpdate(c, dst, p, r);
      }
      crc[0] = c;
    }
    // The bound exceeds the data by a few bytes per block: a view, never a copy.
    return { bytes: dst.subarray(0, dp), plain: true };
  }
  if (pending >= 0) flushRaw(data.length);
  write32(dst, dp, 0);
  dp += 4;
  if (contentChecksum) {
    write32(dst, dp, xxhash32(data));
    dp += 4;
  }
  if (crc !== undefined) crc[0] = crc32cUpdate(c, dst, dp - (contentChecksum ? 8 : 4), dp);
  // The bound leaves little slack when the data hardly compresses: a view then saves copying
  // the whole frame; a copy is worth it only when it frees a good part of the buffer (not
  // when the caller gave it, to reuse it).
  const bytes = given || dp > dst.length - (dst.length >>> 3)
    ? dst.subarray(0, dp)
    : dst.slice(0, dp);
  return { bytes, plain: false };
}

function u32(b: Uint8Array, i: number): number {
  return read32(b, i) >>> 0;
}

/**
 * Decompresses a stream of LZ4 frames (usually exactly one), refusing output beyond
 * `maxOutputBytes` with a {@linkcode DecodeError}.
 *
 * The header checksum computed over the magic too (KAFKA-3160, written by Kafka before 0.10 for
 * message format v0/v1) is accepted as well as the correct one, as Kafka's reader does for
 * those formats.
 *
 * @example
 * ```ts
 * import { lz4CompressFrame, lz4DecompressFrame } from "@denokafka/kafka/protocol";
 * const text = new TextEncoder().encode("hello hello hello hello");
 * const back = lz4DecompressFrame(lz4CompressFrame(text), 1 << 20);
 * console.log(new TextDecoder().decode(back)); // hello hello hello hello
 * ```
 */
export function lz4DecompressFrame(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const out = new Output("lz4", maxOutputBytes, data.length * 4 + 64);
  let pos = 0;
  let frames = 0;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new DecodeError("lz4: truncated frame magic");
    const magic = u32(data, pos);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (data.length - pos < 8) throw new DecodeError("lz4: truncated skippable frame");
      const size = u32(data, pos + 4);
      if (size > data.length - pos - 8) throw new DecodeError("lz4: truncated skippable frame");
      pos += 8 + size;
      continue;
    }
    if (magic !== MAGIC) {
      throw new DecodeError(
        frames === 0
          ? `lz4: not an LZ4 frame (magic 0x${magic.toString(16)})`
          : `lz4: unexpected bytes after frame ${frames}`,
      );
    }
    pos = decodeFrame(data, pos, out);
    frames++;
  }
  if (frames === 0) throw new DecodeError("lz4: no frame in the input");
  return out.finish();
}

/** Decodes the frame whose magic is at `start`; returns the position after it. */
function decodeFrame(data: Uint8Array, start: number, out: Output): number {
  let pos = start + 4;
  if (data.length - pos < 3) throw new DecodeError("lz4: truncated frame descriptor");
  const flg = data[pos]!;
  const bd = data[pos + 1]!;
  if (flg >>> 6 !== 1) throw new DecodeError(`lz4: unsupported frame version ${flg >>> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) {
    throw new DecodeError("lz4: reserved frame descriptor bits are set");
  }
  const independent = (flg & 0x20) !== 0;
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  if ((flg & 0x01) !== 0) throw new DecodeError("lz4: frames with a dictionary are unsupported");
  const sizeId = (bd >>> 4) & 7;
  if (sizeId < 4) throw new DecodeError(`lz4: invalid block maximum size id ${sizeId}`);
  const blockMax = 1 << (2 * sizeId + 8);
  const descEnd = pos + 2 + (hasContentSize ? 8 : 0);
  if (data.length - descEnd < 1) throw new DecodeError("lz4: truncated frame descriptor");
  const hc = data[descEnd]!;
  if (
    ((xxhash32(data, pos, descEnd) >>> 8) & 0xff) !== hc &&
    ((xxhash32(data, start, descEnd) >>> 8) & 0xff) !== hc
  ) {
    throw new DecodeError("lz4: frame descriptor checksum mismatch");
  }
  let contentSize = -1;
  if (hasContentSize) {
    const lo = u32(data, pos + 2);
    const hi = u32(data, pos + 6);
    // Only a claim: compared with what is actually decoded, never used to allocate.
    contentSize = hi > 0x1fffff ? Number.MAX_VALUE : hi * 0x100000000 + lo;
    if (contentSize > out.cap - out.length) {
      throw new DecodeError(
        `lz4: content size ${contentSize} exceeds the limit of ${out.cap} bytes`,
      );
    }
  }
  pos = descEnd + 1;
  const frameStart = out.length;
  for (;;) {
    if (data.length - pos < 4) throw new DecodeError("lz4: truncated block size");
    const word = u32(data, pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMax) {
      throw new DecodeError(`lz4: block of ${size} bytes exceeds the frame's ${blockMax}`);
    }
    if (size + (blockChecksum ? 4 : 0) > data.length - pos) {
      throw new DecodeError("lz4: truncated block");
    }
    const end = pos + size;
    if (blockChecksum && xxhash32(data, pos, end) !== u32(data, end)) {
      throw new DecodeError("lz4: block checksum mismatch");
    }
    const blockStart = out.length;
    if (word & UNCOMPRESSED_BIT) {
      const buf = out.reserve(blockStart + size);
      buf.set(data.subarray(pos, end), blockStart);
      out.length = blockStart + size;
    } else {
      // A block yields at most its maximum size, and at most ~255 bytes per input byte (a
      // run of 255s in a length): reserve that much, never more than the cap allows.
      const most = Math.min(blockMax, size * 255 + 64);
      const limit = Math.min(out.cap, blockStart + most);
      const dst = out.reserve(limit);
      try {
        out.length = lz4DecompressBlock(
          data,
          pos,
          end,
          dst,
          blockStart,
          limit,
          independent ? blockStart : frameStart,
        );
      } catch (e) {
        if (!(e instanceof DecodeError) || e.message !== "lz4: block output overruns its limit") {
          throw e;
        }
        throw new DecodeError(
          limit === out.cap && most > out.cap - blockStart
            ? `lz4: decompressed data exceeds the limit of ${out.cap} bytes`
            : `lz4: block decodes to more than the frame's ${blockMax} bytes`,
        );
      }
    }
    pos = end + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) {
    if (data.length - pos < 4) throw new DecodeError("lz4: truncated content checksum");
    if (xxhash32(out.buf, frameStart, out.length) !== u32(data, pos)) {
      throw new DecodeError("lz4: content checksum mismatch");
    }
    pos += 4;
  }
  if (contentSize >= 0 && out.length - frameStart !== contentSize) {
    throw new DecodeError(
      `lz4: frame decoded to ${out.length - frameStart} bytes, its header says ${contentSize}`,
    );
  }
  return pos;
}
