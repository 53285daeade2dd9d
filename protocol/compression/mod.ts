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

import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { DecodeError, KafkaError } from "../errors.ts";

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
 * Compresses `data` with `codec`. `level` applies to gzip (1-9), lz4 and zstd (1-22).
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
      return gzipSync(data, level === undefined ? {} : { level });
    case 4:
      return zstdCompressSync(data);
    default:
      throw new KafkaError(`compression codec ${codec} is not implemented yet`);
  }
}

/**
 * Decompresses `data`. Output beyond `maxOutputBytes` is refused with a {@linkcode DecodeError},
 * so a hostile batch cannot make the client allocate without bound.
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
  try {
    switch (codec) {
      case 0:
        return data;
      case 1:
        return gunzipSync(data, { maxOutputLength: maxOutputBytes });
      case 4:
        return zstdDecompressSync(data, { maxOutputLength: maxOutputBytes });
      default:
        throw new KafkaError(`compression codec ${codec} is not implemented yet`);
    }
  } catch (e) {
    if (e instanceof KafkaError) throw e;
    throw new DecodeError(`cannot decompress codec ${codec}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
