/**
 * A wake-up signal for loops that wait for "something changed" (internal).
 *
 * @module
 */

import { abortReason } from "../protocol/errors.ts";

/**
 * Resolves every pending {@linkcode Notifier.wait} on the next {@linkcode Notifier.notify}.
 *
 * @example
 * ```ts ignore
 * const n = new Notifier();
 * setTimeout(() => n.notify(), 1);
 * await n.wait();
 * ```
 */
export class Notifier {
  #waiters: (() => void)[] = [];

  /** Wakes everyone waiting now. */
  notify(): void {
    const w = this.#waiters;
    if (w.length === 0) return;
    this.#waiters = [];
    for (const f of w) f();
  }

  /**
   * Resolves at the next `notify()`, after `timeoutMs` if given, or rejects when `signal`
   * aborts. Leaves no timer or listener behind.
   */
  wait(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        if (timer !== undefined) clearTimeout(timer);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      this.#waiters.push(done);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.#waiters.indexOf(done);
          if (i >= 0) this.#waiters.splice(i, 1);
          done();
        }, Math.max(0, timeoutMs));
      }
    });
  }
}
