/**
 * A bounds-checked reader over a Uint8Array for the Kafka wire format. Every length prefix is
 * checked against the bytes actually left before anything is allocated, so a hostile or corrupt
 * frame can only ever produce a {@linkcode DecodeError}.
 *
 * @module
 */

import { DecodeError } from "./errors.ts";
import { uuidAt } from "./uuid.ts";

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Decodes UTF-8, with a fast path for short ASCII strings (most Kafka names). */
function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 32) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = "";
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
      return s;
    }
  }
  return decoder.decode(buf.subarray(start, end));
}

/**
 * Reads Kafka primitives from a byte array, throwing {@linkcode DecodeError} on any overrun.
 *
 * @example
 * ```ts
 * import { Reader } from "@denokafka/kafka/protocol";
 * const r = new Reader(new Uint8Array([0, 2, 0x68, 0x69]));
 * console.log(r.string()); // hi
 * ```
 */
export class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos: number;
  readonly #end: number;

  /** Reads `buf` from `offset` up to `end` (default: its length). */
  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new RangeError("reader bounds outside the buffer");
    }
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#pos = offset;
    this.#end = end;
  }

  /** The current offset. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** The underlying bytes. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number, what = "value"): void {
    if (n < 0 || this.#pos + n > this.#end) {
      throw new DecodeError(
        `truncated ${what}: needs ${n} bytes at offset ${this.#pos}, ${this.remaining} left`,
      );
    }
  }

  /** Moves the offset forward by `n` bytes. */
  skip(n: number): this {
    this.need(n, "skip");
    this.#pos += n;
    return this;
  }

  /** Reads a signed byte. */
  int8(): number {
    this.need(1, "int8");
    return this.#view.getInt8(this.#pos++);
  }

  /** Reads an unsigned byte. */
  uint8(): number {
    this.need(1, "uint8");
    return this.#buf[this.#pos++]!;
  }

  /** Reads a boolean byte. */
  bool(): boolean {
    return this.uint8() !== 0;
  }

  /** Reads a big-endian int16. */
  int16(): number {
    this.need(2, "int16");
    const v = this.#view.getInt16(this.#pos);
    this.#pos += 2;
    return v;
  }

  /** Reads a big-endian uint16. */
  uint16(): number {
    this.need(2, "uint16");
    const v = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return v;
  }

  /** Reads a big-endian int32. */
  int32(): number {
    this.need(4, "int32");
    const v = this.#view.getInt32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a big-endian uint32. */
  uint32(): number {
    this.need(4, "uint32");
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a big-endian int64 as a bigint. */
  int64(): bigint {
    this.need(8, "int64");
    const v = this.#view.getBigInt64(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** Reads a big-endian int64 as a number (exact up to 2^53; timestamps, offsets in range). */
  int64n(): number {
    this.need(8, "int64");
    const hi = this.#view.getInt32(this.#pos);
    const lo = this.#view.getUint32(this.#pos + 4);
    this.#pos += 8;
    return hi * 0x100000000 + lo;
  }

  /** Reads a big-endian IEEE 754 double. */
  float64(): number {
    this.need(8, "float64");
    const v = this.#view.getFloat64(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** Reads an unsigned varint of up to 32 bits. */
  uvarint(): number {
    const b = this.#buf;
    let p = this.#pos;
    let result = 0;
    let shift = 0;
    while (true) {
      if (p >= this.#end) throw new DecodeError(`truncated varint at offset ${this.#pos}`);
      const byte = b[p++]!;
      if (shift === 28) {
        if (byte > 0x0f) throw new DecodeError(`varint longer than 32 bits at ${this.#pos}`);
        result = (result | (byte << 28)) >>> 0;
        break;
      }
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7;
    }
    this.#pos = p;
    return result >>> 0;
  }

  /** Reads a zigzag signed 32-bit varint. */
  varint(): number {
    const z = this.uvarint();
    return (z >>> 1) ^ -(z & 1);
  }

  /**
   * Reads a zigzag varlong as a number. Exact for -2^53 <= v <= 2^53; a value outside that
   * range is a {@linkcode DecodeError} rather than a silently rounded number (use
   * {@linkcode varlong} for full int64).
   */
  varlongn(): number {
    const b = this.#buf;
    let p = this.#pos;
    if (p >= this.#end) throw new DecodeError(`truncated varlong at offset ${this.#pos}`);
    let byte = b[p++]!;
    // Fast path: one byte is the common case for deltas.
    if (byte < 0x80) {
      this.#pos = p;
      return (byte >>> 1) ^ -(byte & 1);
    }
    // zigzag(v) = 2u + sign, u = v or -v - 1: the first byte holds the sign and 6 bits of u,
    // the next ones the rest of u in base 128, so u is summed exactly without forming 2u + 1.
    const neg = byte & 1;
    const low = (byte & 0x7f) >>> 1;
    let u = low;
    let mul = 64;
    for (let i = 1; i < 10; i++) {
      if (p >= this.#end) throw new DecodeError(`truncated varlong at offset ${this.#pos}`);
      byte = b[p++]!;
      u += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        // Every integer up to 2^53 is exact; a true 2^53 + 1 would round to 2^53, told apart
        // by its odd low bits. -2^53 - 1 (u = 2^53, negative) is not representable.
        if (u > 2 ** 53 || (u === 2 ** 53 && (neg || (low & 1)))) {
          throw new DecodeError(`varlong at offset ${this.#pos} is outside the safe-integer range`);
        }
        this.#pos = p;
        return neg ? -u - 1 : u;
      }
      mul *= 128;
    }
    throw new DecodeError(`varlong longer than 10 bytes at offset ${this.#pos}`);
  }

  /** Reads a zigzag varlong as a bigint. */
  varlong(): bigint {
    let p = this.#pos;
    let z = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (p >= this.#end) throw new DecodeError(`truncated varlong at offset ${this.#pos}`);
      const byte = this.#buf[p++]!;
      z |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.#pos = p;
        return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n));
      }
      shift += 7n;
    }
    throw new DecodeError(`varlong longer than 10 bytes at offset ${this.#pos}`);
  }

  /** Reads `n` raw bytes as a view (no copy). */
  raw(n: number): Uint8Array {
    this.need(n, "bytes");
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** Reads `n` bytes of UTF-8. */
  utf8(n: number): string {
    this.need(n, "string");
    const s = decodeUtf8(this.#buf, this.#pos, this.#pos + n);
    this.#pos += n;
    return s;
  }

  /** Reads a classic non-null string (int16 length). */
  string(): string {
    const n = this.int16();
    if (n < 0) throw new DecodeError(`null or negative length ${n} for a non-nullable string`);
    return this.utf8(n);
  }

  /** Reads a classic nullable string (-1 is null). */
  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) throw new DecodeError(`invalid string length ${n}`);
    return this.utf8(n);
  }

  /** Reads a compact non-null string (uvarint length + 1). */
  compactString(): string {
    const n = this.uvarint();
    if (n === 0) throw new DecodeError("null for a non-nullable compact string");
    return this.utf8(n - 1);
  }

  /** Reads a compact nullable string (0 is null). */
  compactNullableString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.utf8(n - 1);
  }

  /** Reads classic non-null bytes (int32 length) as a view. */
  bytes(): Uint8Array {
    const n = this.int32();
    if (n < 0) throw new DecodeError(`null or negative length ${n} for non-nullable bytes`);
    return this.raw(n);
  }

  /** Reads classic nullable bytes (-1 is null) as a view. */
  nullableBytes(): Uint8Array | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) throw new DecodeError(`invalid bytes length ${n}`);
    return this.raw(n);
  }

  /** Reads compact non-null bytes as a view. */
  compactBytes(): Uint8Array {
    const n = this.uvarint();
    if (n === 0) throw new DecodeError("null for non-nullable compact bytes");
    return this.raw(n - 1);
  }

  /** Reads compact nullable bytes as a view (0 is null). */
  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint();
    return n === 0 ? null : this.raw(n - 1);
  }

  /** Reads a 16-byte UUID as a view. */
  uuid(): Uint8Array {
    return this.raw(16);
  }

  /** Reads a 16-byte UUID as its string form (see {@linkcode uuidAt}). */
  uuidString(): string {
    this.need(16, "uuid");
    const s = uuidAt(this.#buf, this.#pos);
    this.#pos += 16;
    return s;
  }

  /**
   * Reads a classic array length (int32; -1 is null). `minItemSize` is the smallest encoded
   * size of one element; a count that could not fit in the bytes left is rejected before
   * anything is allocated.
   */
  arrayLength(minItemSize = 1): number | null {
    const n = this.int32();
    if (n === -1) return null;
    return this.#checkCount(n, minItemSize);
  }

  /** Reads a compact array length (uvarint n + 1; 0 is null), checked like {@linkcode arrayLength}. */
  compactArrayLength(minItemSize = 1): number | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.#checkCount(n - 1, minItemSize);
  }

  #checkCount(n: number, minItemSize: number): number {
    if (n < 0) throw new DecodeError(`negative array length ${n}`);
    if (n * minItemSize > this.remaining) {
      throw new DecodeError(
        `array of ${n} items cannot fit in the ${this.remaining} bytes left at offset ${this.#pos}`,
      );
    }
    return n;
  }
}
