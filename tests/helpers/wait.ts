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
