/**
 * Record-batch compression codecs: gzip, snappy (xerial framing), lz4 (frame format) and zstd.
 *
 * The codec ids are the values of the low three bits of a RecordBatch's attributes.
 *
 * @example
 * ```ts
 * import { compress, decompress, Compression } from "@denokafka/kafka/protocol";
 * const data = new TextEncoder().encode("aaaaaaaaaaaaaaaa");
 * const packed = compress(Compression.Gzip, data);
 * console.log(decompress(Compression.Gzip, packed, 1024).length); // 16
 * ```
 *
 * @module
 */

import { DecodeError, KafkaError } from "../errors.ts";
import { gzipCompress, gzipDecompress } from "./gzip.ts";
import {
  lz4CompressFrame,
  lz4CompressFrameOrPlain,
  lz4CompressFrameWithHeadroom,
  lz4DecompressFrame,
} from "./lz4.ts";
import { snappyCompressXerial, snappyDecompress } from "./snappy.ts";
import { RecordsCrc } from "./records_crc.ts";
import { zstdCompress, zstdCompressWithHeadroom, zstdDecompress } from "./zstd.ts";

export { gzipCompress, gzipDecompress } from "./gzip.ts";
export { lz4CompressFrame, lz4DecompressFrame, type Lz4FrameOptions } from "./lz4.ts";
export { snappyCompressRaw, snappyCompressXerial, snappyDecompress } from "./snappy.ts";
export { zstdCompress, zstdDecompress } from "./zstd.ts";
export { xxhash32 } from "./xxhash32.ts";

/** Compression codec ids, as stored in a RecordBatch's attributes. */
export const Compression = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;

/** A compression codec id (0-4). */
export type CompressionCodec = typeof Compression[keyof typeof Compression];

/** Compression names accepted by the public options. */
export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/**
 * Maps a public name to its codec id.
 *
 * @example
 * ```ts
 * import { compressionFromName } from "@denokafka/kafka/protocol";
 * console.log(compressionFromName("zstd")); // 4
 * ```
 */
export function compressionFromName(name: CompressionName): CompressionCodec {
  switch (name) {
    case "none":
      return 0;
    case "gzip":
      return 1;
    case "snappy":
      return 2;
    case "lz4":
      return 3;
    case "zstd":
      return 4;
    default:
      throw new TypeError(`unknown compression: ${String(name)}`);
  }
}

/**
 * Compresses `data` with `codec`, producing what Kafka's Java producer produces: a gzip
 * member, snappy-java's stream framing, an LZ4 frame with independent 64 KiB blocks, or a
 * zstd frame.
 *
 * `level` applies to gzip (1-9, default 6) and zstd (-131072..22, default 3). For lz4 it is
 * accepted (1-17) but the fast matcher is always used: Kafka's default level 9 also selects
 * lz4-java's fast compressor. Snappy has no levels.
 *
 * @example
 * ```ts
 * import { compress, Compression } from "@denokafka/kafka/protocol";
 * console.log(compress(Compression.Zstd, new Uint8Array(100)).length < 100); // true
 * ```
 */
export function compress(codec: CompressionCodec, data: Uint8Array, level?: number): Uint8Array {
  switch (codec) {
    case 0:
      return data;
    case 1:
      return gzipCompress(data, level);
    case 2:
      return snappyCompressXerial(data);
    case 3:
      checkLz4Level(level);
      return lz4CompressFrame(data);
    case 4:
      return zstdCompress(data, level);
    default:
      throw new TypeError(`unknown compression codec ${String(codec)}`);
  }
}

/**
 * {@linkcode compress} into a buffer that keeps its first `headroom` bytes free: the result is
 * `headroom` bytes (zero in a new buffer), then the compressed data. A record batch builder
 * writes its header there, so the compressed records are never copied (lz4, written straight
 * after the headroom) or copied once (the `node:zlib` codecs, which return their own buffer).
 * The result is a view of `out` when `out` has room enough (for lz4, room for the worst case),
 * else of a new buffer. With `crc`, a codec that checksums its output as it writes it (lz4)
 * sets `crc[0]` to the CRC-32C of the bytes after the headroom and `crc[1]` to 1 (the records
 * CRC state `Compressed`, see records_crc.ts); the others set `crc[1]` to 0 (`Unknown`).
 *
 * @example
 * ```ts
 * import { compressWithHeadroom, Compression, decompress } from "@denokafka/kafka/protocol";
 * const data = new Uint8Array(1000);
 * const out = compressWithHeadroom(Compression.Lz4, data, 61);
 * console.log(decompress(Compression.Lz4, out.subarray(61), 1000).length); // 1000
 * ```
 */
export function compressWithHeadroom(
  codec: CompressionCodec,
  data: Uint8Array,
  headroom: number,
  level?: number,
  out?: Uint8Array,
  crc?: Uint32Array,
): Uint8Array {
  if (crc !== undefined) crc[1] = RecordsCrc.Unknown;
  if (!Number.isSafeInteger(headroom) || headroom < 0) {
    throw new RangeError(`headroom must be a non-negative integer, got ${headroom}`);
  }
  if (codec === 3) {
    checkLz4Level(level);
    if (crc !== undefined) crc[1] = RecordsCrc.Compressed;
    return lz4CompressFrameWithHeadroom(data, headroom, {}, out, crc);
  }
  if (codec === 4) return zstdCompressWithHeadroom(data, headroom, level, out);
  const packed = compress(codec, data, level);
  const n = headroom + packed.length;
  const dst = out !== undefined && out.length >= n ? out.subarray(0, n) : new Uint8Array(n);
  dst.set(packed, headroom);
  return dst;
}

/**
 * {@linkcode compressWithHeadroom} for a record batch's records, with `crc` (2 words) always
 * given, `crc[1]` one of the `RecordsCrc` states (records_crc.ts): `Compressed` when
 * `crc[0]` holds the CRC-32C of the bytes after the headroom, `Unknown` when the caller must
 * compute it, and `PlainKnown` when lz4 found every block incompressible and wrote the records
 * as they are instead of a frame (`crc[0]` their CRC-32C): the batch then goes out
 * uncompressed (see `lz4CompressFrameOrPlain`; with `inPlace` the result is then `data`
 * itself, not copied; `dataCrc`, the CRC-32C of `data` if known, spares it a pass). Internal to
 * the producer's batch path.
 */
export function compressBatchRecords(
  codec: CompressionCodec,
  data: Uint8Array,
  headroom: number,
  level: number | undefined,
  out: Uint8Array | undefined,
  crc: Uint32Array,
  inPlace = false,
  dataCrc?: number,
): Uint8Array {
  if (codec !== 3) return compressWithHeadroom(codec, data, headroom, level, out, crc);
  checkLz4Level(level);
  const r = lz4CompressFrameOrPlain(data, headroom, out, crc, inPlace, dataCrc);
  crc[1] = r.plain ? RecordsCrc.PlainKnown : RecordsCrc.Compressed;
  return r.bytes;
}

function checkLz4Level(level: number | undefined): void {
  if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 17)) {
    throw new RangeError(`lz4 level ${level} is outside 1..17`);
  }
}

/**
 * Decompresses `data`. Output beyond `maxOutputBytes` is refused with a {@linkcode DecodeError},
 * so a hostile batch cannot make the client allocate without bound; so is any malformed input.
 *
 * Snappy accepts snappy-java's framing, a raw block, and Google's framing format; lz4 any valid
 * frame; gzip concatenated members (trailing non-gzip bytes are ignored, as Java does); zstd
 * concatenated and skippable frames.
 *
 * @example
 * ```ts
 * import { compress, decompress, Compression } from "@denokafka/kafka/protocol";
 * const z = compress(Compression.Gzip, new Uint8Array(10));
 * console.log(decompress(Compression.Gzip, z, 10).length); // 10
 * ```
 */
export function decompress(
  codec: CompressionCodec,
  data: Uint8Array,
  maxOutputBytes: number,
): Uint8Array {
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new RangeError(`maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
  }
  try {
    switch (codec) {
      case 0:
        if (data.length > maxOutputBytes) {
          throw new DecodeError(`uncompressed data exceeds the limit of ${maxOutputBytes} bytes`);
        }
        return data;
      case 1:
        return gzipDecompress(data, maxOutputBytes);
      case 2:
        return snappyDecompress(data, maxOutputBytes);
      case 3:
        return lz4DecompressFrame(data, maxOutputBytes);
      case 4:
        return zstdDecompress(data, maxOutputBytes);
      default:
        throw new DecodeError(`unknown compression codec ${String(codec)}`);
    }
  } catch (e) {
    if (e instanceof KafkaError) throw e;
    // Defence in depth: a codec bug must still surface as a decoding failure of this batch.
    throw new DecodeError(`cannot decompress codec ${codec}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
