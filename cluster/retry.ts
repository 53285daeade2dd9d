/**
 * Retries with exponential backoff and jitter under an overall deadline.
 *
 * @module
 */

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
 * import { retryPolicy } from "@denokafka/kafka";
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
 * import { backoffMs, retryPolicy } from "@denokafka/kafka";
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
}

/** Options for one {@linkcode withRetry} call. */
export interface WithRetryOptions {
  /** Stops retrying and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Overrides the policy's deadline for this operation. */
  deadlineMs?: number | undefined;
  /**
   * Called after a failure; return true to retry it. The default retries KafkaErrors whose
   * `retriable` flag is set. Also the place to refresh metadata or forget a coordinator.
   */
  onError?: ((error: unknown, ctx: RetryContext) => boolean | Promise<boolean>) | undefined;
}

/**
 * Runs `fn` until it succeeds, a non-retriable error occurs, attempts run out or the deadline
 * passes; then the last error is thrown (a deadline with no error yet gives TimeoutError).
 *
 * @example
 * ```ts
 * import { retryPolicy, withRetry } from "@denokafka/kafka";
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
  const deadlineMs = options.deadlineMs ?? policy.deadlineMs;
  const start = Date.now();
  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  for (let attempt = 1;; attempt++) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    try {
      return await fn(attempt, signal);
    } catch (e) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (deadline.aborted) {
        if (e instanceof KafkaError && !(e instanceof DOMException)) throw e;
        throw new TimeoutError(`operation timed out after ${deadlineMs} ms`, {
          timeoutMs: deadlineMs,
          cause: e,
        });
      }
      const remainingMs = deadlineMs - (Date.now() - start);
      const retry = options.onError
        ? await options.onError(e, { attempt, remainingMs })
        : e instanceof KafkaError && e.retriable;
      if (!retry || attempt >= policy.maxAttempts) throw e;
      const wait = backoffMs(policy, attempt);
      if (wait >= remainingMs) giveUp(e, attempt, deadlineMs);
      await sleep(wait, options.signal);
      // A timer can fire late on a busy machine: no attempt starts after the deadline.
      if (Date.now() - start >= deadlineMs) giveUp(e, attempt, deadlineMs);
    }
  }
}

/** Out of time between attempts: the last error, or a TimeoutError caused by it. */
function giveUp(e: unknown, attempt: number, deadlineMs: number): never {
  if (e instanceof KafkaError) throw e;
  throw new TimeoutError(`gave up after ${attempt} attempts in ${deadlineMs} ms`, {
    timeoutMs: deadlineMs,
    cause: e,
  });
}

/**
 * Resolves after `ms`, or rejects early when `signal` aborts. The timer never outlives it.
 *
 * @example
 * ```ts
 * import { sleep } from "@denokafka/kafka";
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
