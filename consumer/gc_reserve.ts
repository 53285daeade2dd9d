/**
 * The garbage collector's pacing for fetched bytes (internal).
 *
 * Every fetched byte lives in an ArrayBuffer (records are zero-copy views into the fetch
 * responses), and V8 starts a full mark-compact whenever ArrayBuffer memory has grown by a
 * fraction of what was live after the last one. A consumer keeps little alive (its budget's
 * worth of responses next to a JS heap of a few MB), so at 1 GB/s that is a full collection
 * every ~20 MB: ~50 per GB, measured at a quarter of the consumer's CPU with 1 KiB records
 * (`--v8-flags=--trace-gc` on `bench/compare/peers/ours.ts`).
 *
 * While consumers run, the process holds one ArrayBuffer of reserved address space (the
 * largest any live consumer asked for). It is never written, so the operating system gives it
 * no physical memory, but V8 counts it as live external memory and paces its collections on
 * it. Measured on 1M x 1 KiB records with the default 64 MiB budget: 48 full collections
 * without, 25 with 4 x the budget reserved, 17 with 8 x (the default), for ~-0.25 and ~-0.35
 * CPU s per million records; the price is that dead fetch responses wait longer for the
 * collector (maximum resident size +25 MB and +50 MB at ~1 GB/s). It shows in V8's external
 * memory (`memoryUsage().external` in Deno, Node and Bun), and is dropped when the last
 * consumer closes. Nothing is reserved in workerd, where a new buffer is real memory.
 *
 * @module
 */

import { untouchedBuffersAreFree } from "../net/runtime.ts";

/** The reservations of live consumers, in bytes. */
const wanted = new Map<symbol, number>();
let reserve: ArrayBuffer | undefined;

function resize(): void {
  let size = 0;
  for (const n of wanted.values()) size = Math.max(size, n);
  if ((reserve?.byteLength ?? 0) === size) return;
  reserve = undefined;
  if (size === 0) return;
  try {
    reserve = new ArrayBuffer(size);
  } catch {
    // No address space to spare (32-bit, strict overcommit): collections keep V8's pace.
  }
}

/**
 * Asks for `bytes` of reserved address space until the returned release function is called
 * (idempotent). 0 reserves nothing.
 *
 * @example
 * ```ts ignore
 * const release = reserveGcHeadroom(512 * 1024 * 1024);
 * // ... consume ...
 * release();
 * ```
 */
export function reserveGcHeadroom(bytes: number): () => void {
  // Only where untouched pages are free: in workerd the buffer would be real memory.
  if (!(bytes > 0) || !untouchedBuffersAreFree()) return () => {};
  const key = Symbol("consumer");
  wanted.set(key, Math.floor(bytes));
  resize();
  return () => {
    if (wanted.delete(key)) resize();
  };
}

/**
 * The reserved bytes now (for tests).
 *
 * @example
 * ```ts ignore
 * console.log(reservedGcHeadroom()); // 0 when no consumer runs
 * ```
 */
export function reservedGcHeadroom(): number {
  return reserve?.byteLength ?? 0;
}
