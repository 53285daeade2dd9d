/**
 * A growable byte writer for the Kafka wire format. One buffer is grown (doubling) and reused,
 * so a whole request, frame length included, is written into a single allocation.
 *
 * @module
 */

import { putUvarint, putVarint, putVarlong } from "./varint_put.ts";

const encoder = new TextEncoder();
const MAX_INT32 = 0x7fffffff;

/**
 * The UTF-8 length of a string, without encoding it.
 *
 * @example
 * ```ts
 * import { utf8Length } from "@denokafka/kafka/protocol";
 * console.log(utf8Length("é")); // 2
 * ```
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for the pair, counted as 2 UTF-16 units already
        i++;
      } else n += 2; // lone surrogate becomes U+FFFD (3 bytes)
    } else n += 2;
  }
  return n;
}

/**
 * The size of an unsigned varint.
 *
 * @example
 * ```ts
 * import { uvarintSize } from "@denokafka/kafka/protocol";
 * console.log(uvarintSize(300)); // 2
 * ```
 */
export function uvarintSize(value: number): number {
  let v = value >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

/**
 * The size of a zigzag-encoded signed 32-bit varint.
 *
 * @example
 * ```ts
 * import { varintSize } from "@denokafka/kafka/protocol";
 * console.log(varintSize(-1)); // 1
 * ```
 */
export function varintSize(value: number): number {
  return uvarintSize((value << 1) ^ (value >> 31));
}

/**
 * The size of a zigzag varlong given as a JS number (must be a safe integer).
 *
 * @example
 * ```ts
 * import { varlongSize } from "@denokafka/kafka/protocol";
 * console.log(varlongSize(2 ** 40)); // 6
 * ```
 */
export function varlongSize(value: number): number {
  // zigzag(v) = 2u + sign with u = v or -v - 1; forming 2u + 1 in a double would round for
  // |v| > 2^52, so count the first 7 bits (6 of u) and then u / 64 in base 128.
  let u = value >= 0 ? value : -value - 1;
  let n = 1;
  if (u < 64) return 1;
  u = Math.floor(u / 64);
  while (u > 0) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/**
 * Writes Kafka primitives into one growing buffer.
 *
 * @example
 * ```ts
 * import { Writer } from "@denokafka/kafka/protocol";
 * const w = new Writer();
 * w.int16(18).int16(3).int32(1).string("my-client");
 * console.log(w.finish().length); // 19
 * ```
 */
export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  /** `raw` input at least this long is referenced, not copied (see {@linkcode Writer.splice}). */
  #spliceMin = Infinity;
  /** Referenced inputs and where in the written bytes each goes. */
  #spliced: { at: number; bytes: Uint8Array }[] = [];
  #splicedLength = 0;

  /** Creates a writer whose buffer starts at `initialCapacity` bytes. */
  constructor(initialCapacity = 1024) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** The size of the buffer now (what has been written plus the room left). */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): this {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return this;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    return this;
  }

  /** Forgets what was written, keeping the buffer for reuse (and stops splicing). */
  reset(): this {
    this.#pos = 0;
    this.#spliceMin = Infinity;
    if (this.#spliced.length > 0) this.#spliced = [];
    this.#splicedLength = 0;
    return this;
  }

  /**
   * From now until the next {@linkcode Writer.reset}, `raw` input of at least `minBytes` is not
   * copied but referenced: {@linkcode Writer.length} does not count it, and
   * {@linkcode Writer.takeParts} returns the output as pieces (copies of the written bytes
   * between references, and the referenced inputs themselves). The caller must leave those
   * inputs unchanged until the pieces are used. Offsets (`reserve`, `setInt32At`) stay those
   * of the written bytes; a size measured with `length` across a referenced input is wrong.
   *
   * @example
   * ```ts
   * import { Writer } from "@denokafka/kafka/protocol";
   * const w = new Writer().splice(4);
   * const big = new Uint8Array([1, 2, 3, 4]);
   * w.int8(9).raw(big).int8(8);
   * console.log(w.length + w.splicedLength, w.takeParts().length); // 6 3
   * ```
   */
  splice(minBytes: number): this {
    this.#spliceMin = minBytes;
    return this;
  }

  /** Bytes of the inputs referenced since the last reset (see {@linkcode Writer.splice}). */
  get splicedLength(): number {
    return this.#splicedLength;
  }

  /**
   * The output as pieces in order (see {@linkcode Writer.splice}): the written bytes between
   * referenced inputs are copied, the inputs are returned as they are. The writer is reset.
   */
  takeParts(): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const s of this.#spliced) {
      if (s.at > from) parts.push(this.#buf.slice(from, s.at));
      parts.push(s.bytes);
      from = s.at;
    }
    if (this.#pos > from) parts.push(this.#buf.slice(from, this.#pos));
    this.reset();
    return parts;
  }

  /** A view of the bytes written so far (valid until the next write or reset). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * The bytes written so far, handed over without a copy: the writer gives up its buffer and
   * starts afresh in a new one sized for another output like this one (an eighth more). For
   * large outputs that is cheaper than {@linkcode Writer.toBytes} (allocating zeroed memory
   * costs less than copying into it), and cheaper still when the caller hands back an
   * earlier output it no longer needs as `next`.
   */
  take(next?: Uint8Array): Uint8Array {
    const out = this.#buf.subarray(0, this.#pos);
    // `next`: a buffer the caller is done with (a frame the broker has answered), reused.
    this.#buf = next !== undefined && next.byteOffset === 0 && next.length >= 16
      ? next
      : new Uint8Array(Math.max(16, this.#pos + (this.#pos >>> 3)));
    this.#view = new DataView(this.#buf.buffer);
    this.#pos = 0;
    return out;
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /** Skips `n` bytes to be patched later; returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  /** Writes a big-endian int32 at an earlier offset. */
  setInt32At(offset: number, value: number): this {
    this.#view.setInt32(offset, value);
    return this;
  }

  /** Writes a big-endian uint32 at an earlier offset. */
  setUint32At(offset: number, value: number): this {
    this.#view.setUint32(offset, value);
    return this;
  }

  /** Writes a big-endian int16 at an earlier offset. */
  setInt16At(offset: number, value: number): this {
    this.#view.setInt16(offset, value);
    return this;
  }

  /** The live buffer, for in-place work such as computing a CRC over a written range. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Writes a signed byte. */
  int8(v: number): this {
    this.ensure(1);
    this.#view.setInt8(this.#pos, v);
    this.#pos += 1;
    return this;
  }

  /** Writes a boolean as one byte. */
  bool(v: boolean): this {
    this.ensure(1);
    this.#buf[this.#pos++] = v ? 1 : 0;
    return this;
  }

  /** Writes a big-endian int16. */
  int16(v: number): this {
    this.ensure(2);
    this.#view.setInt16(this.#pos, v);
    this.#pos += 2;
    return this;
  }

  /** Writes a big-endian uint16. */
  uint16(v: number): this {
    this.ensure(2);
    this.#view.setUint16(this.#pos, v);
    this.#pos += 2;
    return this;
  }

  /** Writes a big-endian int32. */
  int32(v: number): this {
    this.ensure(4);
    this.#view.setInt32(this.#pos, v);
    this.#pos += 4;
    return this;
  }

  /** Writes a big-endian uint32. */
  uint32(v: number): this {
    this.ensure(4);
    this.#view.setUint32(this.#pos, v);
    this.#pos += 4;
    return this;
  }

  /** Writes a big-endian int64 from a bigint. */
  int64(v: bigint): this {
    this.ensure(8);
    this.#view.setBigInt64(this.#pos, v);
    this.#pos += 8;
    return this;
  }

  /** Writes a big-endian int64 from a safe-integer number, without a bigint. */
  int64n(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / 0x100000000);
    this.#view.setInt32(this.#pos, hi);
    this.#view.setUint32(this.#pos + 4, v - hi * 0x100000000);
    this.#pos += 8;
    return this;
  }

  /** Writes a big-endian IEEE 754 double. */
  float64(v: number): this {
    this.ensure(8);
    this.#view.setFloat64(this.#pos, v);
    this.#pos += 8;
    return this;
  }

  /** Writes an unsigned varint (up to 32 bits). */
  uvarint(value: number): this {
    this.ensure(5);
    this.#pos = putUvarint(this.#buf, this.#pos, value);
    return this;
  }

  /** Writes a zigzag signed 32-bit varint. */
  varint(value: number): this {
    this.ensure(5);
    this.#pos = putVarint(this.#buf, this.#pos, value);
    return this;
  }

  /** Writes a zigzag varlong from a safe-integer number. */
  varlongn(value: number): this {
    this.ensure(10);
    this.#pos = putVarlong(this.#buf, this.#pos, value);
    return this;
  }

  /** Writes a zigzag varlong from a bigint. */
  varlong(value: bigint): this {
    this.ensure(10);
    let z = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    const b = this.#buf;
    let p = this.#pos;
    while (z >= 0x80n) {
      b[p++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    b[p++] = Number(z);
    this.#pos = p;
    return this;
  }

  /** Writes raw bytes. */
  raw(bytes: Uint8Array): this {
    if (bytes.length >= this.#spliceMin && bytes.length > 0) {
      this.#spliced.push({ at: this.#pos, bytes });
      this.#splicedLength += bytes.length;
      return this;
    }
    this.ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    return this;
  }

  /** Writes a UTF-8 string with no length prefix; returns the byte count. */
  utf8(s: string): number {
    if (s.length === 0) return 0;
    this.ensure(s.length * 3);
    const { written } = encoder.encodeInto(s, this.#buf.subarray(this.#pos));
    this.#pos += written;
    return written;
  }

  /** Writes a classic string: int16 length then UTF-8; `null` is length -1. */
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const at = this.reserve(2);
    const n = this.utf8(s);
    if (n > 0x7fff) throw new RangeError(`string of ${n} bytes exceeds the int16 length limit`);
    this.#view.setInt16(at, n);
    return this;
  }

  /** Writes a compact string: uvarint(length + 1) then UTF-8; `null` is 0. */
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    this.uvarint(utf8Length(s) + 1);
    this.utf8(s);
    return this;
  }

  /** Writes classic bytes: int32 length then the bytes; `null` is length -1. */
  bytes(b: Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    if (b.length > MAX_INT32) throw new RangeError("bytes too long");
    return this.int32(b.length).raw(b);
  }

  /** Writes compact bytes: uvarint(length + 1) then the bytes; `null` is 0. */
  compactBytes(b: Uint8Array | null): this {
    if (b === null) return this.uvarint(0);
    return this.uvarint(b.length + 1).raw(b);
  }

  /** Writes a 16-byte UUID. */
  uuid(bytes: Uint8Array): this {
    if (bytes.length !== 16) throw new RangeError("a UUID is 16 bytes");
    return this.raw(bytes);
  }

  /** Writes a classic array length (int32; -1 for null). */
  arrayLength(n: number | null): this {
    return this.int32(n === null ? -1 : n);
  }

  /** Writes a compact array length (uvarint(n + 1); 0 for null). */
  compactArrayLength(n: number | null): this {
    return this.uvarint(n === null ? 0 : n + 1);
  }
}
