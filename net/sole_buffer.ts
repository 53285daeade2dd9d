/**
 * Which read buffers a frame owns whole (internal; not exported from the package): the frame
 * reader marks a buffer it made for one frame alone and let go of once the frame was taken,
 * so that the frame's consumer may transfer the buffer to a Worker (the consumer's CRC check,
 * consumer/crc_pool.ts) without detaching anything the reader or another frame still uses.
 *
 * @module
 */

const sole = new WeakSet<ArrayBufferLike>();

/**
 * Marks `buffer` as holding one frame that nothing but the frame's views uses (called by the
 * frame reader only).
 *
 * @example
 * ```ts
 * import { isSoleFrameBuffer, markSoleFrameBuffer } from "./sole_buffer.ts";
 * const b = new ArrayBuffer(8);
 * markSoleFrameBuffer(b);
 * console.log(isSoleFrameBuffer(b)); // true
 * ```
 */
export function markSoleFrameBuffer(buffer: ArrayBufferLike): void {
  sole.add(buffer);
}

/**
 * Whether `buffer` was read for one frame alone and the reader no longer uses it:
 * transferring it detaches only the views taken of that frame.
 *
 * @example
 * ```ts
 * import { isSoleFrameBuffer } from "./sole_buffer.ts";
 * console.log(isSoleFrameBuffer(new ArrayBuffer(8))); // false
 * ```
 */
export function isSoleFrameBuffer(buffer: ArrayBufferLike): boolean {
  return sole.has(buffer);
}
