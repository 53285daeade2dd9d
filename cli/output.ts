/**
 * Output helpers: buffered stdout, tables, JSON (bigints as numbers when safe), and a progress
 * line on stderr that only appears when stderr is a terminal.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Buffered output on a Deno writable (stdout): appends are synchronous copies into 64 KiB
 * chunks, so a record costs no promise; `drain()` writes the full chunks, `flush()` everything.
 */
export class Out {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #cur = new Uint8Array(1 << 16);
  #len = 0;
  /** Bytes in full chunks waiting for `drain()`. */
  backlog = 0;

  constructor(stream: WritableStream<Uint8Array> = Deno.stdout.writable) {
    this.#writer = stream.getWriter();
  }

  /** Appends text (UTF-8). */
  text(s: string): void {
    this.bytes(encoder.encode(s));
  }

  /** Appends bytes (copied). */
  bytes(b: Uint8Array): void {
    if (this.#len + b.length > this.#cur.length) this.#seal();
    if (b.length > this.#cur.length) {
      this.#chunks.push(b.slice());
      this.backlog += b.length;
      return;
    }
    this.#cur.set(b, this.#len);
    this.#len += b.length;
  }

  /** Whether anything is buffered at all. */
  get empty(): boolean {
    return this.#len === 0 && this.#chunks.length === 0;
  }

  #seal(): void {
    if (this.#len === 0) return;
    this.#chunks.push(this.#cur.subarray(0, this.#len));
    this.backlog += this.#len;
    this.#cur = new Uint8Array(1 << 16);
    this.#len = 0;
  }

  /** Writes the full chunks. */
  async drain(): Promise<void> {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.backlog = 0;
    // Every write is queued at once, in order: a concurrent drain cannot slip in between.
    await Promise.all(chunks.map((c) => this.#writer.write(c)));
  }

  /** Writes everything buffered. */
  async flush(): Promise<void> {
    this.#seal();
    await this.drain();
  }

  /** Flushes and releases stdout. */
  async close(): Promise<void> {
    await this.flush();
    this.#writer.releaseLock();
  }
}

/** `JSON.stringify` with bigints as numbers (strings beyond 2^53) and bytes as base64. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") {
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v.toString();
    }
    if (v instanceof Uint8Array) return base64(v);
    return v;
  }, indent);
}

/** Prints a value as JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(toJson(value, 2));
}

/** Left-aligned columns separated by two spaces (the last column is not padded). */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => c === undefined ? "" : String(c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join("  ").trimEnd()
  ).join("\n");
}

/** Prints a table, or "(none)"-free nothing when there are no rows and `quietEmpty`. */
export function printTable(headers: readonly string[], rows: readonly (readonly unknown[])[]) {
  console.log(table(headers, rows));
}

/** Standard base64 of bytes. */
export function base64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of standard base64. */
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of hex. */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) throw new TypeError(`not hex: "${s}"`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Formats a count of bytes per second etc. with one decimal. */
export function fixed(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "0";
}

/**
 * A progress line on stderr (`records, rate, ETA`), redrawn at most 4 times a second, and only
 * when stderr is a terminal: piped or redirected output never sees it.
 */
export class Progress {
  readonly #enabled: boolean;
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #start = performance.now();
  #last = 0;
  #drawn = false;
  /** Records so far. */
  count = 0;
  /** Bytes so far. */
  bytes = 0;

  constructor(label: string, options: { total?: number | undefined; enabled?: boolean } = {}) {
    this.#label = label;
    this.#total = options.total;
    this.#enabled = (options.enabled ?? true) && Deno.stderr.isTerminal();
  }

  /** Adds records (and bytes); redraws when due. */
  tick(records = 1, bytes = 0): void {
    this.count += records;
    this.bytes += bytes;
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#last < 250) return;
    this.#last = now;
    this.#draw(now);
  }

  #draw(now: number): void {
    const secs = (now - this.#start) / 1000;
    const rate = secs > 0 ? this.count / secs : 0;
    let line = `${this.#label}: ${this.count.toLocaleString("en-US")} records, ` +
      `${Math.round(rate).toLocaleString("en-US")} rec/s, ` +
      `${fixed(this.bytes / 1048576 / Math.max(secs, 1e-9))} MB/s`;
    if (this.#total !== undefined && rate > 0) {
      const left = Math.max(0, this.#total - this.count) / rate;
      line += `, ${Math.round((100 * this.count) / this.#total)}%, ETA ${fixed(left, 1)} s`;
    }
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
    this.#drawn = true;
  }

  /** Draws the final figures and ends the line (terminal only). */
  done(): void {
    if (!this.#enabled) return;
    this.#draw(performance.now());
    if (this.#drawn) Deno.stderr.writeSync(encoder.encode("\n"));
  }
}
