/**
 * A first-in first-out queue with O(1) push and shift (an array with a moving head that is
 * compacted now and then): the records that wait for metadata or buffer space can number in
 * the millions when callers do not await their sends, and `Array#shift` is O(n) there.
 *
 * @module
 */

/** The queue. */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Items queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds at the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The head, without removing it. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Removes and returns the head. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes every item `match` accepts (in order), and returns them. */
  removeWhere(match: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: (T | undefined)[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i] as T;
      if (match(item)) removed.push(item);
      else kept.push(item);
    }
    this.#items = kept;
    this.#head = 0;
    return removed;
  }
}
