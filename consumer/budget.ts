/**
 * The consumer's one memory budget (internal): bytes fetched, decompressed and queued for the
 * reader, plus the space promised to fetches in flight.
 *
 * @module
 */

import { Notifier } from "./notifier.ts";

/**
 * Accounting of the buffered bytes against a limit. `held` is memory the consumer keeps
 * (fetch responses not yet fully read, decompressed batches not yet fully taken); `reserved`
 * is what fetches in flight may bring back. Fetches start only when the free space allows.
 *
 * @example
 * ```ts ignore
 * const b = new ByteBudget(1 << 20);
 * b.reserve(1000);
 * b.settle(1000, 800); // the response was 800 bytes
 * b.release(800);
 * ```
 */
export class ByteBudget {
  /** The limit in bytes. */
  readonly limit: number;
  #held = 0;
  #reserved = 0;
  #peak = 0;
  readonly #released = new Notifier();

  /** A budget of `limit` bytes. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Bytes promised to fetches in flight. */
  get reserved(): number {
    return this.#reserved;
  }

  /** The most bytes ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /** `limit - held - reserved`. */
  get free(): number {
    return this.limit - this.#held - this.#reserved;
  }

  /** Promises `n` bytes to a fetch about to be sent. */
  reserve(n: number): void {
    this.#reserved += n;
  }

  /** A fetch came back: its reservation of `reserved` becomes `actual` held bytes. */
  settle(reserved: number, actual: number): void {
    this.#reserved -= reserved;
    this.charge(actual);
    if (actual < reserved) this.#released.notify();
  }

  /** Holds `n` more bytes. */
  charge(n: number): void {
    if (n <= 0) return;
    this.#held += n;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }

  /** Gives back `n` held bytes and wakes waiters. */
  release(n: number): void {
    if (n <= 0) return;
    this.#held -= n;
    this.#released.notify();
  }

  /** Resolves when some bytes are released (or after `timeoutMs`). */
  waitForRelease(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    return this.#released.wait(signal, timeoutMs);
  }
}
