/**
 * Polling for broker-side state that settles asynchronously (a group's state, an ACL, a
 * config): shared by the integration tests.
 */

/**
 * Calls `fn` every `stepMs` until it gives a value other than undefined, and returns it; after
 * `ms` it throws, naming `what`.
 */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 20_000,
  stepMs = 200,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Fails after `ms` with `what` (read when it fires) unless `p` settles first. */
export function deadline<T>(p: Promise<T>, what: () => string, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what()}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Calls `f` after `n` microtasks: to land an action between a pipe's steps. */
export function afterMicrotasks(n: number, f: () => void): void {
  if (n === 0) return f();
  queueMicrotask(() => afterMicrotasks(n - 1, f));
}
