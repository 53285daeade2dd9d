/**
 * gzip on `node:zlib`, read the way Java's `GZIPInputStream` (and so the Kafka broker) reads
 * it: concatenated members are decoded one after another, and bytes after a member that do not
 * form a gzip header are ignored.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { joinParts, plain, zlibCapped } from "./output.ts";
import { zlib } from "./zlib.ts";

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/**
 * Parses a gzip member header at `pos`; returns where its deflate data starts, or -1 when the
 * bytes there are not a complete gzip header (bad magic or method, truncated, header CRC).
 */
function parseHeader(data: Uint8Array, pos: number): number {
  const start = pos;
  if (data.length - pos < 10) return -1;
  if (data[pos] !== 0x1f || data[pos + 1] !== 0x8b || data[pos + 2] !== 8) return -1;
  const flags = data[pos + 3]!;
  pos += 10; // magic, method, flags, mtime, xfl, os
  if (flags & FEXTRA) {
    if (data.length - pos < 2) return -1;
    const n = data[pos]! | (data[pos + 1]! << 8);
    pos += 2;
    if (data.length - pos < n) return -1;
    pos += n;
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      while (pos < data.length && data[pos] !== 0) pos++;
      if (pos >= data.length) return -1;
      pos++;
    }
  }
  if (flags & FHCRC) {
    if (data.length - pos < 2) return -1;
    const expected = data[pos]! | (data[pos + 1]! << 8);
    if ((zlib("gzip").crc32(data.subarray(start, pos)) & 0xffff) !== expected) return -1;
    pos += 2;
  }
  return pos;
}

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/**
 * Compresses `data` as one gzip member at `level` (1-9, default 6 as Kafka's default -1).
 *
 * @example
 * ```ts
 * import { gzipCompress, gzipDecompress } from "@denokafka/kafka/protocol";
 * const gz = gzipCompress(new Uint8Array(64), 9);
 * console.log(gzipDecompress(gz, 64).length); // 64
 * ```
 */
export function gzipCompress(data: Uint8Array, level?: number): Uint8Array {
  if (level !== undefined && (!Number.isInteger(level) || level < -1 || level > 9)) {
    throw new RangeError(`gzip level ${level} is outside -1..9`);
  }
  return plain(zlib("gzip").gzipSync(data, level === undefined ? {} : { level }));
}

/**
 * Decompresses gzip data with Java's `GZIPInputStream` semantics, refusing output beyond
 * `maxOutputBytes` with a {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { gzipCompress, gzipDecompress } from "@denokafka/kafka/protocol";
 * const two = new Uint8Array([...gzipCompress(new Uint8Array(3)), ...gzipCompress(new Uint8Array(4))]);
 * console.log(gzipDecompress(two, 100).length); // 7
 * ```
 */
export function gzipDecompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const { crc32, inflateRawSync } = zlib("gzip");
  let pos = parseHeader(data, 0);
  if (pos < 0) throw new DecodeError("gzip: not in gzip format");
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const room = maxOutputBytes - total;
    type Inflated = { buffer: Uint8Array; engine: { bytesWritten: number } };
    const r = zlibCapped(
      "gzip",
      maxOutputBytes,
      room,
      (o: Inflated) => o.buffer.length,
      () =>
        inflateRawSync(data.subarray(pos), {
          info: true,
          maxOutputLength: Math.max(1, room),
        }) as unknown as Inflated,
    );
    const out = r.buffer;
    pos += r.engine.bytesWritten;
    if (data.length - pos < 8) throw new DecodeError("gzip: truncated trailer");
    if (u32(data, pos) !== crc32(out) >>> 0) throw new DecodeError("gzip: CRC-32 mismatch");
    if (u32(data, pos + 4) !== out.length >>> 0) throw new DecodeError("gzip: size mismatch");
    pos += 8;
    parts.push(out);
    total += out.length;
    // GZIPInputStream only looks for another member when more than 18 bytes follow (a member
    // is at least 20), and quietly ends at anything that is not a gzip header.
    if (data.length - pos <= 18) break;
    const next = parseHeader(data, pos);
    if (next < 0) break;
    pos = next;
  }
  return joinParts(parts, total);
}
