/**
 * Splits a byte stream into Kafka frames (int32 big-endian size, then that many bytes).
 *
 * @module
 */

import { AuthenticationError, ConnectionError, DecodeError } from "../protocol/errors.ts";

/** The minimal readable side of a socket: a transport's socket fits. */
export interface ByteSource {
  /** Reads into `p`; resolves with the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

const CHUNK = 64 * 1024;
/** Below this much free tail space, a fresh chunk is started instead of a tiny read. */
const MIN_TAIL = 4096;
/**
 * Frames claiming at most this many bytes get a buffer of exactly their size at once (one
 * copy of what arrived so far); larger claims grow with the bytes that actually arrive.
 */
const DIRECT_LIMIT = 16 * 1024 * 1024;

/**
 * Reads length-prefixed frames from a {@linkcode ByteSource}.
 *
 * Frames are returned as views into read buffers that are never reused, so a frame (and
 * any zero-copy view a decoder takes of it) stays valid. A claimed size is checked against
 * `maxFrameBytes`, and even a valid large claim is never allocated up front: the buffer grows
 * geometrically as bytes actually arrive.
 *
 * @example
 * ```ts
 * import { FrameReader } from "@denokafka/kafka/net";
 * const bytes = new Uint8Array([0, 0, 0, 2, 7, 9]);
 * let given = false;
 * const source = {
 *   read(p: Uint8Array) {
 *     if (given) return Promise.resolve(null);
 *     given = true;
 *     p.set(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * const frame = await new FrameReader(source, 1024).next();
 * console.log(frame); // Uint8Array(2) [ 7, 9 ]
 * ```
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #maxFrameBytes: number;
  #buf = new Uint8Array(CHUNK);
  #start = 0;
  #end = 0;
  #first = true;
  readonly #peer: string;

  /**
   * Reads frames from `source`, refusing any frame larger than `maxFrameBytes`. `peer` names
   * the other end in errors.
   */
  constructor(source: ByteSource, maxFrameBytes: number, options: { peer?: string } = {}) {
    this.#source = source;
    this.#maxFrameBytes = maxFrameBytes;
    this.#peer = options.peer ?? "the peer";
  }

  /** The next frame's payload, or null at a clean end of stream between frames. */
  async next(): Promise<Uint8Array | null> {
    while (true) {
      const frame = this.#take();
      if (frame !== undefined) return frame;
      const n = await this.#source.read(this.#buf.subarray(this.#end));
      if (n === null) {
        if (this.#end === this.#start) return null;
        // A peer that dies mid-frame is a network failure (retriable), not corrupt data.
        throw new ConnectionError(
          `connection closed in the middle of a frame (${this.#end - this.#start} bytes buffered)`,
        );
      }
      this.#end += n;
    }
  }

  /** Returns a complete buffered frame, or prepares the buffer for more bytes. */
  #take(): Uint8Array | undefined {
    const have = this.#end - this.#start;
    if (have >= 4) {
      const b = this.#buf;
      const s = this.#start;
      if (this.#first) {
        // A TLS listener answers a plaintext request with a TLS alert record (content type
        // 0x15, version 0x03 0x0n), whose header reads as a ~350 MB frame size.
        if (b[s]! >= 0x14 && b[s]! <= 0x17 && b[s + 1] === 0x03 && b[s + 2]! <= 0x04) {
          throw new AuthenticationError(
            `${this.#peer} answered with a TLS record: this port speaks TLS: set the tls option ` +
              `(or use the broker's plaintext port)`,
          );
        }
        this.#first = false;
      }
      const size = (b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!;
      if (size < 0) throw new DecodeError(`negative frame size ${size}`);
      if (size > this.#maxFrameBytes) {
        throw new DecodeError(
          `frame of ${size} bytes exceeds maxFrameBytes ${this.#maxFrameBytes}`,
        );
      }
      if (have >= 4 + size) {
        this.#start = s + 4 + size;
        return b.subarray(s + 4, s + 4 + size);
      }
      this.#makeRoom(4 + size);
    } else this.#makeRoom(4);
    return undefined;
  }

  /**
   * Ensures free space after `#end` for the frame being read. A frame that will not fit in the
   * current buffer moves to a new one: of exactly its size when the claim is at most
   * {@linkcode DIRECT_LIMIT} (bounded, and then copied once), else one that doubles as bytes
   * actually arrive, so a large claim alone never allocates its size.
   */
  #makeRoom(frameTotal: number): void {
    const have = this.#end - this.#start;
    const tail = this.#buf.length - this.#end;
    const fits = this.#start + frameTotal <= this.#buf.length;
    if (fits) {
      if (tail > 0) return;
    } else if (tail >= MIN_TAIL && frameTotal > DIRECT_LIMIT) {
      return; // keep filling; grow only once this buffer is full
    }
    const cap = frameTotal <= DIRECT_LIMIT
      ? Math.max(frameTotal, Math.min(CHUNK, this.#buf.length))
      : Math.min(frameTotal, Math.max(have * 2, CHUNK));
    const next = new Uint8Array(Math.max(cap, have + 1));
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = next;
    this.#start = 0;
    this.#end = have;
  }
}
