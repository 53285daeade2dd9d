/**
 * Retries with exponential backoff and jitter under an overall deadline.
 *
 * @module
 */

import { Deadline } from "../protocol/deadline.ts";
import { abortReason, KafkaError, TimeoutError } from "../protocol/errors.ts";
import type { RetryOptions } from "./options.ts";

/** Fully resolved retry settings. */
export interface RetryPolicy {
  /** First backoff in ms. */
  initialBackoffMs: number;
  /** Largest backoff in ms. */
  maxBackoffMs: number;
  /** Growth per attempt. */
  multiplier: number;
  /** Random spread as a fraction of the backoff. */
  jitter: number;
  /** Overall time budget in ms. */
  deadlineMs: number;
  /** Attempts at most. */
  maxAttempts: number;
}

/**
 * Fills in retry defaults (Java's retry.backoff.ms 100, retry.backoff.max.ms 1000).
 *
 * @example
 * ```ts
 * import { retryPolicy } from "./retry.ts";
 * console.log(retryPolicy({}).initialBackoffMs); // 100
 * ```
 */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const p: RetryPolicy = {
    initialBackoffMs: options.initialBackoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 1000,
    multiplier: options.multiplier ?? 2,
    jitter: options.jitter ?? 0.2,
    deadlineMs: options.deadlineMs ?? 60_000,
    maxAttempts: options.maxAttempts ?? Infinity,
  };
  if (!(p.initialBackoffMs >= 0) || !(p.maxBackoffMs >= p.initialBackoffMs)) {
    throw new RangeError("retry backoffs must satisfy 0 <= initialBackoffMs <= maxBackoffMs");
  }
  if (!(p.multiplier >= 1)) throw new RangeError("retry.multiplier must be >= 1");
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw new RangeError("retry.jitter must be in 0..1");
  if (!(p.deadlineMs > 0)) throw new RangeError("retry.deadlineMs must be > 0");
  if (!(p.maxAttempts >= 1)) throw new RangeError("retry.maxAttempts must be >= 1");
  return p;
}

/**
 * The backoff before attempt `attempt + 1` (attempt counts from 1).
 *
 * @example
 * ```ts
 * import { backoffMs, retryPolicy } from "./retry.ts";
 * const p = retryPolicy({ jitter: 0 });
 * console.log(backoffMs(p, 1), backoffMs(p, 2)); // 100 200
 * ```
 */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(
    policy.maxBackoffMs,
    policy.initialBackoffMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  const spread = base * policy.jitter;
  return Math.max(0, base - spread + Math.random() * 2 * spread);
}

/** What a retry loop is told about each failure. */
export interface RetryContext {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** Milliseconds left before the deadline. */
  remainingMs: number;
  /**
   * Aborts at the operation's deadline (or with the caller's signal): recovery work done
   * between attempts (a metadata refresh...) runs under it, so it shares the time left.
   */
  signal: AbortSignal;
}

/** Options for one {@linkcode withRetry} call. */
export interface WithRetryOptions {
  /**
   * Stops retrying and rejects with the signal's reason. A deadline the signal carries (see
   * `Deadline`) also bounds the retries: nested retry loops share the caller's time.
   */
  signal?: AbortSignal | undefined;
  /**
   * Time allowed for this operation and its retries. The earliest of this, the policy's
   * deadline and the signal's deadline applies.
   */
  deadlineMs?: number | undefined;
  /** What is retried, for the TimeoutError's message. Default `operation`. */
  what?: string | undefined;
  /**
   * Called after a failure; return true to retry it. The default retries KafkaErrors whose
   * `retriable` flag is set. Also the place to refresh metadata or forget a coordinator.
   */
  onError?: ((error: unknown, ctx: RetryContext) => boolean | Promise<boolean>) | undefined;
}

/**
 * Runs `fn` until it succeeds, a non-retriable error occurs or attempts run out (then that
 * error is thrown), or the deadline passes: then a {@linkcode TimeoutError} is thrown whose
 * `cause` is the last failure. The deadline is the earliest of `deadlineMs`, the policy's
 * `deadlineMs` and the deadline `signal` carries; `fn` gets a signal that aborts at it.
 *
 * @example
 * ```ts
 * import { retryPolicy, withRetry } from "./retry.ts";
 * let n = 0;
 * const v = await withRetry(retryPolicy({ initialBackoffMs: 1 }), () => {
 *   if (++n < 3) throw new Error("flaky");
 *   return Promise.resolve(n);
 * }, { onError: () => true });
 * console.log(v); // 3
 * ```
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  options: WithRetryOptions = {},
): Promise<T> {
  const deadlineMs = Math.min(options.deadlineMs ?? policy.deadlineMs, policy.deadlineMs);
  const what = options.what ?? "operation";
  using deadline = new Deadline({ timeoutMs: deadlineMs, signal: options.signal, what });
  const signal = deadline.signal;
  let last: unknown;
  for (let attempt = 1;; attempt++) {
    try {
      if (signal.aborted) throw abortReason(signal);
      return await fn(attempt, signal);
    } catch (e) {
      if (signal.aborted) throw expired(signal, options.signal, e, last, attempt, what, deadlineMs);
      last = e;
      const retry = options.onError
        ? await options.onError(e, { attempt, remainingMs: deadline.remainingMs, signal })
        : e instanceof KafkaError && e.retriable;
      if (signal.aborted) throw expired(signal, options.signal, e, last, attempt, what, deadlineMs);
      if (!retry || attempt >= policy.maxAttempts) throw e;
      // The last backoff is cut to the time left, so the operation ends at its deadline
      // rather than up to a whole backoff before it.
      const wait = Math.min(backoffMs(policy, attempt), deadline.remainingMs);
      try {
        await sleep(wait, signal);
      } catch {
        throw expired(signal, options.signal, e, last, attempt, what, deadlineMs);
      }
      // A timer can fire late on a busy machine: no attempt starts after the deadline.
      deadline.expireIfDue();
      if (deadline.remainingMs <= 0) {
        throw expired(signal, options.signal, e, last, attempt, what, deadlineMs);
      }
    }
  }
}

/** Deadline errors that already explain a deadline's abort reason (keyed by the error). */
const EXPLAINED = new WeakMap<Error, Error>();

/**
 * The error for a retry loop that ran out of time: the caller's own abort reason when the
 * caller aborted (not for a deadline), else a TimeoutError caused by (and naming) the last
 * failure. A nested loop's explained timeout passes through unchanged.
 */
function expired(
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined,
  e: unknown,
  last: unknown,
  attempts: number,
  what: string,
  deadlineMs: number,
): Error {
  if (callerSignal?.aborted) {
    const r = abortReason(callerSignal);
    if (!(r instanceof TimeoutError)) return r;
  }
  const reason = signal.aborted ? abortReason(signal) : undefined;
  const base = reason instanceof TimeoutError
    ? reason
    : new TimeoutError(`${what} timed out after ${deadlineMs} ms`, { timeoutMs: deadlineMs });
  const failure = e === reason || isAbort(e) ? last : e;
  if (failure instanceof TimeoutError && EXPLAINED.get(failure) === base) return failure;
  if (failure === undefined || failure === base) return base;
  const timeoutMs = base.timeoutMs;
  const err = new TimeoutError(
    `${base.message} (${attempts} attempt(s); last error: ${describe(failure)})`,
    { ...timeoutMs !== undefined && { timeoutMs }, cause: failure },
  );
  EXPLAINED.set(err, base);
  return err;
}

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && (e.name === "AbortError" || e.name === "TimeoutError");
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Resolves after `ms`, or rejects early when `signal` aborts. The timer never outlives it.
 *
 * @example
 * ```ts
 * import { sleep } from "./retry.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
