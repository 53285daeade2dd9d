/**
 * The clock that stamps records (their CreateTime). `Date.now()` is a system call on some
 * hosts (about 0.2 µs on the project's VM, a third of the producer's CPU per 100 B record), so
 * the producer reads it at most once per {@linkcode CLOCK_REUSES} records and once per turn of
 * the event loop, and stamps the records in between with the same millisecond.
 *
 * How far a stamp can lag the true time: a record is stamped with a reading taken earlier in
 * the same event-loop turn (the cached reading expires with a zero-delay timer, so it never
 * survives an idle producer or an await of I/O), and at most {@linkcode CLOCK_REUSES} − 1
 * records earlier. On a producer writing flat out, that is tens of microseconds; it is far
 * below the linger, which is how late Java's CreateTime (taken at `send()`) already is against
 * the time the batch leaves.
 *
 * @module
 */

/** Records stamped from one reading of the clock, at most. */
export const CLOCK_REUSES = 32;

/** A coarse wall clock for record timestamps (ms since the epoch). */
export class RecordClock {
  #now = 0;
  /** Stamps left on the current reading. */
  #left = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #expire = () => {
    this.#left = 0;
    this.#timer = undefined;
  };

  /** Now, in ms: the cached reading while it is fresh, else a new one. */
  now(): number {
    if (this.#left > 0) {
      this.#left--;
      return this.#now;
    }
    return this.#read();
  }

  #read(): number {
    this.#now = Date.now();
    this.#left = CLOCK_REUSES - 1;
    // The reading lasts this turn of the event loop at most: the timer runs on the next one.
    this.#timer ??= setTimeout(this.#expire, 0);
    return this.#now;
  }

  /** Forgets the reading and its timer (the producer closed). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#expire();
  }
}
