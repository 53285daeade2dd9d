/**
 * zstd on `node:zlib`, with the frame walking that the binding lacks: `zstdDecompressSync`
 * decodes only the first frame and returns what it has of a truncated one without complaint,
 * while zstd-jni (the Kafka broker's reader) decodes concatenated frames and rejects
 * truncation. Walking the block headers (no decoding) finds each frame's end first.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { joinParts, plain, zlibCapped } from "./output.ts";
import { zlib } from "./zlib.ts";

const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const DID_SIZE = [0, 1, 2, 4] as const;
const FCS_SIZE = [0, 2, 4, 8] as const;

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function truncated(): never {
  throw new DecodeError("zstd: truncated frame");
}

/** Returns the end of the zstd frame whose magic is at `pos`, checking it is all present. */
function frameEnd(data: Uint8Array, pos: number): number {
  if (data.length - pos < 5) truncated();
  const fhd = data[pos + 4]!;
  if (fhd & 0x08) throw new DecodeError("zstd: reserved frame header bit is set");
  const single = (fhd >>> 5) & 1;
  const fcsFlag = fhd >>> 6;
  const header = 1 + (single ? 0 : 1) + DID_SIZE[fhd & 3]! +
    (fcsFlag === 0 ? single : FCS_SIZE[fcsFlag]!);
  let p = pos + 4 + header;
  for (;;) {
    if (data.length - p < 3) truncated();
    const bh = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16);
    p += 3;
    const type = (bh >>> 1) & 3;
    if (type === 3) throw new DecodeError("zstd: reserved block type");
    // An RLE block stores one byte however long its run is.
    p += type === 1 ? 1 : bh >>> 3;
    if (p > data.length) truncated();
    if (bh & 1) break;
  }
  if (fhd & 0x04) p += 4;
  if (p > data.length) truncated();
  return p;
}

/** The output room zstd's worst case needs for `n` bytes (ZSTD_COMPRESSBOUND), plus 64. */
function zstdBound(n: number): number {
  return n + (n >>> 8) + (n < 131_072 ? (131_072 - n) >>> 11 : 0) + 64;
}

/** The parameters of a level, as {@linkcode zstdCompress} sets them. */
function zstdParams(level: number): Record<number, number> {
  const { constants } = zlib("zstd");
  // node:zlib hands the parameters over in a Uint32Array in which 0xffffffff means "not set",
  // so level -1 would arrive as no level at all: zstd's default, level 3. libzstd makes every
  // negative level from one row of its table, with the target length set to minus the level,
  // so level -2 with a target length of 1 is level -1, byte for byte (checked against libzstd
  // 1.5.7's own level -1, bench/PROFILE.md, Session 14).
  const params: Record<number, number> = {
    [constants.ZSTD_c_compressionLevel]: level === -1 ? -2 : level,
  };
  if (level === -1) params[constants.ZSTD_c_targetLength] = 1;
  // Levels 2 and 3 use zstd's "dfast" strategy. For inputs over 256 KiB (a producer batch is up
  // to 1 MiB) level 3 sizes its tables for large files: a 2^17-entry hash table, a 2^16-entry
  // short-match table and a 2 MiB window. Those tables (768 KiB) miss a small machine's cache
  // on every probe: on 1 MiB batches of the benchmark's 1 KiB records compression ran at ~210
  // MB/s. The tables of the same strategy at 2^14 entries each (128 KiB) and a 128 KiB window
  // run at ~700-800 MB/s there (~500 with only the short-match table cut), 1.634 against
  // 1.636 ratio; on JSON records +15-20 % speed with output 1.5 % smaller (bench/PROFILE.md,
  // Session 11). Level 3 keeps its strategy, search depth and target length, so it is still
  // level 3 as a user would expect it; franz-go's zstd uses a 64 KiB window. Only the encoder
  // changes: the frame is a standard one whose header declares the 128 KiB window, which
  // every decoder takes (zstd-jni in the broker and the Java consumer accepts windows up to
  // 2^27 by default, and a smaller window only lowers the memory it needs).
  // The short-match table (chainLog, dfast's 5-byte hash) is 2^12 entries (16 KiB, in L1
  // beside the data): on 1 MiB batches of 1 KiB letter records zstd took ~13 % less CPU
  // (1.05 -> 0.90 ms), 100-byte ones ~7 % less with 1 % smaller output, JSON records ~3 %
  // less and 0.7 % smaller; on source code text 3 % less CPU for 1.3 % larger output
  // (bench/PROFILE.md, Session 14).
  if (level === 2 || level === 3) {
    params[constants.ZSTD_c_windowLog] = 17;
    params[constants.ZSTD_c_hashLog] = 14;
    params[constants.ZSTD_c_chainLog] = 12;
  }
  return params;
}

/** The part of node:zlib's native zstd handle that {@linkcode zstdCompressInto} drives. */
interface ZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
}

/** A compression context kept for one level: the stream, its handle and its write state. */
interface ZstdContext {
  stream: unknown;
  handle: ZstdHandle;
  /** [output room left, input left] after a write. */
  state: Uint32Array;
  /** `constants.ZSTD_e_end`: end the frame with this write. */
  end: number;
}

/**
 * One reusable context per level up to 3 (null where the runtime's node:zlib has no such
 * handle). `zstdCompressSync` builds a context for every call (its tables and window, ~0.5 MiB
 * at level 3, allocated and cleared) and a fresh output buffer the size of the worst case;
 * reusing a context and writing into the caller's buffer took ~2.4x less time per 1 MiB batch
 * and left no ~1 MiB dead buffer per batch for the GC (bench/PROFILE.md, Session 13). Higher
 * levels are not kept: their tables and window run to tens of MiB, and their compression
 * costs far more than the set-up.
 */
const contexts = new Map<number, ZstdContext | null>();

function zstdContext(level: number): ZstdContext | null {
  let c = contexts.get(level);
  if (c !== undefined) return c;
  c = null;
  try {
    // Not in node:zlib's typings, nor in every runtime: node:zlib's own stream class, whose
    // handle takes the output buffer (what the sync functions drive it with, one call).
    const z = zlib("zstd");
    const Ctor = (z as unknown as Record<string, unknown>).ZstdCompress as
      | (new (o: object) => { _handle?: ZstdHandle; _writeState?: Uint32Array })
      | undefined;
    const stream = Ctor === undefined ? undefined : new Ctor({ params: zstdParams(level) });
    const handle = stream?._handle;
    const state = stream?._writeState;
    if (
      typeof handle?.writeSync === "function" && typeof handle.reset === "function" &&
      state instanceof Uint32Array && state.length >= 2
    ) c = { stream, handle, state, end: z.constants.ZSTD_e_end };
  } catch {
    c = null;
  }
  contexts.set(level, c);
  return c;
}

/**
 * Compresses `data` as one zstd frame at `level` into `out` from `offset` on, through a
 * reused compression context. Returns the frame's length, or -1 when this runtime has no
 * reusable context, the level is above 3, or `out` lacks the worst case's room (then nothing
 * is written that counts).
 */
function zstdCompressInto(
  data: Uint8Array,
  level: number,
  out: Uint8Array,
  offset: number,
): number {
  if (level > 3 || out.length - offset < zstdBound(data.length)) return -1;
  const c = zstdContext(level);
  if (c === null) return -1;
  const room = out.length - offset;
  try {
    c.handle.writeSync(c.end, data, 0, data.length, out, offset, room);
  } catch {
    contexts.set(level, null);
    return -1;
  }
  const left = c.state[0]!;
  const pending = c.state[1]!;
  // The bound leaves room, so the frame is complete when all input went in and room is left.
  c.handle.reset();
  return pending === 0 && left > 0 ? room - left : -1;
}

/**
 * Compresses `data` as one zstd frame at `level` (default 3, as Kafka's default).
 *
 * @example
 * ```ts
 * import { zstdCompress, zstdDecompress } from "@denokafka/kafka/protocol";
 * const z = zstdCompress(new Uint8Array(1000), 19);
 * console.log(zstdDecompress(z, 1000).length); // 1000
 * ```
 */
export function zstdCompress(data: Uint8Array, level?: number): Uint8Array {
  return zstdCompressWithHeadroom(data, 0, level);
}

/**
 * Compresses `data` as one zstd frame at `level` (default 3) after `headroom` bytes left for
 * the caller, into `out` when it has the worst case's room, else into a new array.
 */
export function zstdCompressWithHeadroom(
  data: Uint8Array,
  headroom: number,
  level?: number,
  out?: Uint8Array,
): Uint8Array {
  if (level === undefined) level = 3;
  else if (!Number.isInteger(level) || level < -131072 || level > 22) {
    throw new RangeError(`zstd level ${level} is outside -131072..22`);
  }
  const bound = zstdBound(data.length);
  if (level <= 3) {
    // Straight into `out`, or into a scratch buffer then copied out at its exact size (a
    // result the size of the worst case would hold up to ~1 MiB for a batch that compressed
    // to a tenth of it).
    const into = out !== undefined && out.length >= headroom + bound ? out : scratch(bound);
    const at = into === out ? headroom : 0;
    const n = zstdCompressInto(data, level, into, at);
    if (n >= 0) {
      if (into === out) return out.subarray(0, headroom + n);
      const dst = new Uint8Array(headroom + n);
      dst.set(into.subarray(0, n), headroom);
      return dst;
    }
  }
  // Output room for the worst case (ZSTD_COMPRESSBOUND) in one chunk: zstd then compresses
  // straight into it, where node:zlib's default 16 KiB chunks made it stage the frame and hand
  // it out in ~40 pieces, which node:zlib then concatenated (+8 % on 1 MiB batches of 1 KiB
  // letter records, +3 % on 100-byte ones; the same on JSON).
  const packed = zlib("zstd").zstdCompressSync(data, {
    params: zstdParams(level),
    chunkSize: bound,
  });
  if (headroom === 0 && out === undefined) return plain(packed);
  const n = headroom + packed.length;
  const dst = out !== undefined && out.length >= n ? out.subarray(0, n) : new Uint8Array(n);
  dst.set(packed, headroom);
  return dst;
}

let scratchBuffer = new Uint8Array(0);
/** The largest scratch buffer kept between calls: room for a 1 MiB batch and then some. */
const SCRATCH_KEPT = 2 << 20;

/** A buffer of at least `n` bytes for output that is copied out at once. */
function scratch(n: number): Uint8Array {
  if (n > SCRATCH_KEPT) return new Uint8Array(n);
  if (scratchBuffer.length < n) scratchBuffer = new Uint8Array(n);
  return scratchBuffer;
}

/**
 * Decompresses one or more zstd frames (skippable frames are skipped), refusing output beyond
 * `maxOutputBytes` with a {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { zstdCompress, zstdDecompress } from "@denokafka/kafka/protocol";
 * const two = new Uint8Array([...zstdCompress(new Uint8Array(3)), ...zstdCompress(new Uint8Array(4))]);
 * console.log(zstdDecompress(two, 100).length); // 7
 * ```
 */
export function zstdDecompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const { zstdDecompressSync } = zlib("zstd");
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  let frames = 0;
  while (pos < data.length) {
    if (data.length - pos < 4) truncated();
    const magic = u32(data, pos);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (data.length - pos < 8) truncated();
      const size = u32(data, pos + 4);
      if (size > data.length - pos - 8) truncated();
      pos += 8 + size;
      frames++;
      continue;
    }
    if (magic !== MAGIC) {
      throw new DecodeError(
        frames === 0 ? "zstd: not a zstd frame" : `zstd: unexpected bytes after frame ${frames}`,
      );
    }
    const end = frameEnd(data, pos);
    const room = maxOutputBytes - total;
    const out = zlibCapped(
      "zstd",
      maxOutputBytes,
      room,
      (o: Uint8Array) => o.length,
      () => zstdDecompressSync(data.subarray(pos, end), { maxOutputLength: Math.max(1, room) }),
    );
    parts.push(out);
    total += out.length;
    pos = end;
    frames++;
  }
  if (frames === 0) throw new DecodeError("zstd: no frame in the input");
  return joinParts(parts, total);
}
