/**
 * XXH32, the 32-bit xxHash that the LZ4 frame format uses for its header, block and content
 * checksums.
 *
 * @module
 */

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/**
 * XXH32 of `data[start, end)` with `seed`, as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { xxhash32 } from "@denokafka/kafka/protocol";
 * console.log(xxhash32(new Uint8Array(0)).toString(16)); // 2cc5d05
 * ```
 */
export function xxhash32(
  data: Uint8Array,
  start = 0,
  end: number = data.length,
  seed = 0,
): number {
  if (start < 0 || end > data.length || start > end) {
    throw new RangeError("xxhash32 range outside the buffer");
  }
  let i = start;
  let h: number;
  if (end - start >= 16) {
    // Four lanes run in parallel over 16-byte stripes; Math.imul keeps the products 32-bit.
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(read32(data, i), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(read32(data, i + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(read32(data, i + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(read32(data, i + 12), P2)) | 0, 13), P1);
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + (end - start)) | 0;
  while (i + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(read32(data, i), P3)) | 0, 17), P4);
    i += 4;
  }
  while (i < end) {
    h = Math.imul(rotl((h + Math.imul(data[i]!, P5)) | 0, 11), P1);
    i++;
  }
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}
