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
 * The first consumer that reserves also primes the C allocator (see primeAllocator below), so
 * that freed responses' pages are reused rather than handed back to the kernel and faulted in
 * again.
 *
 * @module
 */

import { untouchedBuffersAreFree } from "../net/runtime.ts";

/**
 * Just under glibc's `DEFAULT_MMAP_THRESHOLD_MAX` (32 MiB on 64-bit), so that the block,
 * with its header rounded up to pages, still counts for the dynamic threshold.
 */
const PRIME_BYTES = 32 * 1024 * 1024 - 64 * 1024;
let primed = false;

/**
 * Once per process: allocates and frees one untouched buffer of {@linkcode PRIME_BYTES}.
 *
 * Fetch responses are ArrayBuffers of ~1-2 MiB, allocated by the C allocator and freed when
 * the collector finds them dead. glibc's malloc hands the top of its heap back to the kernel
 * once more than its trim threshold (twice its mmap threshold: ~4 MiB after the first
 * responses) is free there, so the next responses get fresh pages, and the socket read that
 * fills them takes a page fault for every 4 KiB. glibc raises both thresholds on its own when
 * a block it mmap'd of up to 32 MiB is freed (malloc.c, "dynamic mmap threshold"): to the
 * block's size and twice that. This buffer is such a block: mmap'd, never written (so never
 * resident), freed at once. Afterwards responses below 32 MiB come from the heap, whose top
 * is given back only once 64 MiB is free there. Measured on 1M x 1 KiB records (bench/ab.ts
 * C1-1KiB, 5 interleaved pairs): 1.26 -> 1.21 CPU s per million, minor faults ~67k -> ~45k,
 * peak RSS unchanged. Other allocators (musl, macOS) just map and unmap 32 MiB.
 */
function primeAllocator(): void {
  if (primed) return;
  primed = true;
  try {
    // `transfer(0)` detaches and frees the block now rather than at a later collection.
    const block = new ArrayBuffer(PRIME_BYTES) as ArrayBuffer & {
      transfer?: (length: number) => ArrayBuffer;
    };
    block.transfer?.(0);
  } catch {
    // No address space to spare: the allocator keeps its own thresholds.
  }
}

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
 * (idempotent). 0 reserves nothing. The first call that reserves primes the allocator.
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
  // Both trade memory for CPU, and `gcHeadroomBytes: 0` turns both off.
  primeAllocator();
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
