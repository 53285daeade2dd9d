/**
 * The producer's background tasks (metadata fetches, Produce requests, coordinator calls):
 * tracked so that closing waits for every one of them, and described for logs when they fail.
 *
 * @module
 */

/** Runs a background task the producer awaits at shutdown; returns the same promise. */
export type Track = <T>(p: Promise<T>) => Promise<T>;

/** The tasks still running. */
export class Background {
  readonly #tasks = new Set<Promise<unknown>>();

  /** Tracks `p` until it settles. */
  readonly track: Track = <T>(p: Promise<T>): Promise<T> => {
    this.#tasks.add(p);
    p.then(() => this.#tasks.delete(p), () => this.#tasks.delete(p));
    return p;
  };

  /** Waits until no task runs (tasks may start others while it waits). */
  async settled(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }
}

/** A failure's message, for logs and wrapping errors. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
