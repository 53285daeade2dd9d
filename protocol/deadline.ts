/**
 * The one notion of "when must this call end": an absolute deadline carried by an
 * `AbortSignal`. Every wait in the client (connects, requests, metadata refreshes, backoff
 * sleeps, retries nested in retries) already takes a signal, so a signal that aborts at the
 * deadline bounds them all, and nested work shares the caller's remaining time instead of
 * starting a clock of its own. Code that needs the number (to clip a connect or request
 * timeout, or to size a backoff) asks {@linkcode deadlineOf}.
 *
 * @module
 */

import { abortReason, TimeoutError } from "./errors.ts";

/** Absolute deadlines (epoch ms) of the signals made by {@linkcode Deadline}. */
const DEADLINES = new WeakMap<AbortSignal, number>();
/** For those signals: aborts them now with their TimeoutError (a timer that fires late). */
const EXPIRE = new WeakMap<AbortSignal, () => void>();

/**
 * The absolute time (epoch ms) by which work under `signal` must end: the deadline it carries,
 * or `Infinity` when it carries none.
 *
 * @example
 * ```ts
 * import { Deadline, deadlineOf } from "@denokafka/kafka/protocol";
 * using d = new Deadline({ timeoutMs: 1000 });
 * console.log(deadlineOf(d.signal) - Date.now() <= 1000); // true
 * console.log(deadlineOf(undefined)); // Infinity
 * ```
 */
export function deadlineOf(signal: AbortSignal | undefined): number {
  if (signal === undefined) return Infinity;
  return DEADLINES.get(signal) ?? Infinity;
}

/**
 * Milliseconds left before `signal`'s deadline, never below 0 (`Infinity` without one).
 *
 * @example
 * ```ts
 * import { remainingMs } from "@denokafka/kafka/protocol";
 * console.log(remainingMs(undefined)); // Infinity
 * ```
 */
export function remainingMs(signal: AbortSignal | undefined): number {
  return Math.max(0, deadlineOf(signal) - Date.now());
}

/**
 * `ms` clipped to the time left before `signal`'s deadline (at least 1 ms, so a timer still
 * runs and reports).
 *
 * @example
 * ```ts
 * import { clipToDeadline } from "@denokafka/kafka/protocol";
 * console.log(clipToDeadline(30_000, undefined)); // 30000
 * ```
 */
export function clipToDeadline(ms: number, signal: AbortSignal | undefined): number {
  return Math.max(1, Math.min(ms, remainingMs(signal)));
}

/** Options of a {@linkcode Deadline}. */
export interface DeadlineOptions {
  /** Time allowed from now; omit (or `Infinity`) for none of its own. */
  timeoutMs?: number | undefined;
  /** The caller's signal: its abort ends the deadline too, and its deadline, if earlier, wins. */
  signal?: AbortSignal | undefined;
  /** What is timed, for the TimeoutError's message. Default `operation`. */
  what?: string | undefined;
}

/**
 * A deadline: the earliest of a timeout from now and whatever deadline the caller's signal
 * carries. Its {@linkcode Deadline.signal} aborts at that time with a {@linkcode TimeoutError}
 * (or with the caller's reason, if the caller aborts first); pass it down to everything the
 * operation waits on. Dispose of it (`using`) so that its timer does not outlive the work.
 *
 * @example
 * ```ts
 * import { Deadline } from "@denokafka/kafka/protocol";
 * using d = new Deadline({ timeoutMs: 50, what: "listTopics" });
 * await new Promise((r) => d.signal.addEventListener("abort", r));
 * console.log((d.signal.reason as Error).name); // TimeoutError
 * ```
 */
export class Deadline implements Disposable {
  /** The absolute deadline, epoch ms (`Infinity` for none). */
  readonly at: number;
  /** Aborts at {@linkcode Deadline.at}, or when the caller's signal does. */
  readonly signal: AbortSignal;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts the clock. */
  constructor(options: DeadlineOptions = {}) {
    const now = Date.now();
    const own = options.timeoutMs === undefined ? Infinity : now + options.timeoutMs;
    const parent = options.signal;
    this.at = Math.min(own, deadlineOf(parent));
    if (own === Infinity || own >= deadlineOf(parent)) {
      // The caller's deadline comes first (or there is none of our own): its signal is ours.
      this.signal = parent ?? new AbortController().signal;
      this.#timer = undefined;
      return;
    }
    const controller = new AbortController();
    const timeoutMs = options.timeoutMs!;
    const what = options.what ?? "operation";
    const expire = () => {
      clearTimeout(this.#timer);
      if (!controller.signal.aborted) {
        controller.abort(
          new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { timeoutMs }),
        );
      }
    };
    this.#timer = setTimeout(expire, Math.max(0, own - now));
    this.signal = parent ? AbortSignal.any([parent, controller.signal]) : controller.signal;
    DEADLINES.set(this.signal, this.at);
    EXPIRE.set(this.signal, expire);
  }

  /** Milliseconds left, never below 0. */
  get remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Whether the deadline passed (or the caller aborted). */
  get expired(): boolean {
    return this.signal.aborted;
  }

  /**
   * Once the deadline has passed, aborts the signal now (with its TimeoutError) even if the
   * timer has not fired yet: a busy machine runs timers late, and whoever notices the time
   * first should see the same reason as everyone else.
   */
  expireIfDue(): void {
    if (this.signal.aborted || Date.now() < this.at) return;
    EXPIRE.get(this.signal)?.();
  }

  /** Throws the abort reason (TimeoutError, or the caller's reason) once expired. */
  throwIfExpired(): void {
    if (this.signal.aborted) throw abortReason(this.signal);
  }

  /** Stops the timer. */
  [Symbol.dispose](): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

/**
 * A signal that aborts when `signal` does and carries its deadline, but never aborts for its
 * own sake: for a follower that must not outlive a caller but has nothing else to add.
 * Marks a signal made elsewhere (e.g. with `AbortSignal.any`) as carrying deadline `at`.
 *
 * @example
 * ```ts
 * import { carryDeadline, deadlineOf } from "@denokafka/kafka/protocol";
 * const s = carryDeadline(new AbortController().signal, Date.now() + 100);
 * console.log(deadlineOf(s) > Date.now()); // true
 * ```
 */
export function carryDeadline(signal: AbortSignal, at: number): AbortSignal {
  if (at < deadlineOf(signal)) DEADLINES.set(signal, at);
  return signal;
}

/**
 * `signal` combined with `extra` (e.g. a close signal), keeping `signal`'s deadline.
 *
 * @example
 * ```ts
 * import { anySignal } from "@denokafka/kafka/protocol";
 * const close = new AbortController();
 * const s = anySignal(undefined, close.signal);
 * console.log(s === close.signal); // true
 * ```
 */
export function anySignal(signal: AbortSignal | undefined, extra: AbortSignal): AbortSignal {
  if (signal === undefined) return extra;
  const both = AbortSignal.any([signal, extra]);
  const expire = EXPIRE.get(signal);
  if (expire) EXPIRE.set(both, expire);
  return carryDeadline(both, Math.min(deadlineOf(signal), deadlineOf(extra)));
}
