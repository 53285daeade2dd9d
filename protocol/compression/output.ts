/**
 * Growable decompression output with a hard cap, shared by the pure-TypeScript codecs, and the
 * same cap for the `node:zlib` ones ({@linkcode zlibCapped}).
 *
 * A compressed stream only *claims* how large it will be; the bytes are allocated as they are
 * actually produced, doubling up to the caller's cap, so a small hostile input can never make
 * the client reserve more memory than real output (or the cap) justifies.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";

/** The bytes decoded so far; `buf` is replaced when it grows. */
export class Output {
  /** The backing buffer; only `buf[0, length)` is meaningful. */
  buf: Uint8Array;
  /** Bytes written. */
  length = 0;
  /** The most bytes this output may ever hold. */
  readonly cap: number;
  /** The codec name used in error messages. */
  readonly codec: string;

  /** Starts with `initial` bytes of room (clamped to the cap). */
  constructor(codec: string, cap: number, initial: number) {
    if (!Number.isSafeInteger(cap) || cap < 0) {
      throw new RangeError(`maxOutputBytes must be a non-negative integer, got ${cap}`);
    }
    this.codec = codec;
    this.cap = cap;
    this.buf = new Uint8Array(Math.max(0, Math.min(cap, initial)));
  }

  /**
   * Makes room so that `buf.length >= end`, and returns the (possibly new) buffer. `exact`
   * skips the doubling when the final size is known. Throws a {@linkcode DecodeError} when
   * `end` is beyond the cap.
   */
  reserve(end: number, exact = false): Uint8Array {
    if (end <= this.buf.length) return this.buf;
    if (end > this.cap) {
      throw new DecodeError(
        `${this.codec}: decompressed data exceeds the limit of ${this.cap} bytes`,
      );
    }
    let size = exact ? end : Math.max(this.buf.length * 2, 4096);
    if (size < end) size = end;
    if (size > this.cap) size = this.cap;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    return next;
  }

  /** The bytes written, trimmed (copied only when the buffer is much larger). */
  finish(): Uint8Array {
    if (this.length === this.buf.length) return this.buf;
    // A view would pin the slack; copy when it is more than an eighth.
    if (this.buf.length - this.length > this.buf.length >>> 3) {
      return this.buf.slice(0, this.length);
    }
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Runs a `node:zlib` decompression given `maxOutputLength: max(1, room)` and returns its output
 * (what `length` says of it), or throws a {@linkcode DecodeError}: the limit of `limit` bytes
 * overall when zlib stops at the cap (a RangeError) or the output is over `room`, else the
 * codec's own complaint.
 */
export function zlibCapped<T>(
  codec: string,
  limit: number,
  room: number,
  length: (out: T) => number,
  run: () => T,
): T {
  let out: T;
  try {
    out = run();
  } catch (e) {
    if (e instanceof RangeError) throw overLimit(codec, limit);
    throw new DecodeError(`${codec}: ${(e as Error).message}`, { cause: e });
  }
  if (length(out) > room) throw overLimit(codec, limit);
  return out;
}

function overLimit(codec: string, limit: number): DecodeError {
  return new DecodeError(`${codec}: decompressed data exceeds the limit of ${limit} bytes`);
}

/**
 * A `node:zlib` result (a `Buffer`) as a plain `Uint8Array` over the same bytes, so callers
 * get the type they asked for (a `Buffer`'s `slice` shares, a `Uint8Array`'s copies).
 */
export function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The decoded members or frames of one input, in order, as one array (`total` bytes in all):
 * the only part itself when there is one.
 */
export function joinParts(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return plain(parts[0]!);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
