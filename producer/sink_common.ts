/**
 * What both pipeline sinks share: the producer's side of a sink ({@linkcode SinkHost}), the
 * sink's queue, envelope checks, the failure holder and the loop that writes envelopes'
 * records in order.
 *
 * @module
 */

import type { Delivery } from "./delivery.ts";
import type { ConsumerGroupMetadata, ProducerRecord, TransactionOffset } from "./record.ts";
import type { TransactionState } from "./transaction_manager.ts";
import {
  type PipelineChunk,
  type PipelineEnvelope,
  PipelineError,
  type PipelineGuarantee,
  type PipelineSinkOptions,
  type SourceRecord,
} from "./pipeline.ts";

/** What the producer lends its sinks (internal). */
export interface SinkHost {
  /**
   * Appends a record (throws for a bad one or a refused append); returns a promise when the
   * record must wait (backpressure), resolved once it is in a batch. `delivery` learns its
   * acknowledgement; null: only the transaction does.
   */
  write(record: ProducerRecord, delivery: Delivery | null): Promise<void> | undefined;
  /** The transaction state, or undefined without a transactionalId. */
  transactionState(): TransactionState | undefined;
  initTransactions(): Promise<void>;
  beginTransaction(): void;
  sendOffsetsToTransaction(
    offsets: readonly TransactionOffset[],
    group: ConsumerGroupMetadata,
  ): Promise<void>;
  commitTransaction(): Promise<void>;
  abortTransaction(): Promise<void>;
  flush(): Promise<void>;
  warn(message: string, error: unknown): void;
}

export function positive(v: number | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${String(v)}`);
  }
  return v;
}

/**
 * Envelopes a sink queues by default: two of mapConsumer's batches (1,024). The consumer keeps
 * fetching into its own buffer while a transaction commits, so a deeper queue only keeps more
 * records alive across young-generation collections: on X1 (bench/PROFILE.md, Session 11)
 * 16,384 cost 1.60 client CPU s/M and 265 MiB peak RSS, 4,096 1.52 and 242, 2,048 and 1,024
 * 1.18 and 190.
 */
const SINK_HIGH_WATER_MARK = 2_048;

/** The sink's queue, counted in envelopes (a batch counts as its length). */
export function queueing(options: PipelineSinkOptions): QueuingStrategy<PipelineChunk> {
  return {
    highWaterMark: positive(options.highWaterMark, "highWaterMark", SINK_HIGH_WATER_MARK),
    size: (c) => isEnvelopeList(c) ? Math.max(1, c.length) : 1,
  };
}

export function toOffset(s: SourceRecord): TransactionOffset {
  const epoch = s.leaderEpoch;
  return epoch === undefined || epoch < 0
    ? { topic: s.topic, partition: s.partition, offset: s.offset + 1n }
    : { topic: s.topic, partition: s.partition, offset: s.offset + 1n, leaderEpoch: epoch };
}

export function checkSource(e: PipelineEnvelope): void {
  if (e === null || typeof e !== "object" || e.source === null || typeof e.source !== "object") {
    throw new TypeError("a pipeline sink takes { source, records } envelopes (see mapRecords)");
  }
  if (!Array.isArray(e.records)) throw new TypeError("envelope.records must be an array");
}

let yieldedAt = 0;

/**
 * Lets the event loop run every few milliseconds. A pipe whose source has data and whose sink
 * never waits runs as one long chain of promise jobs, during which no socket is read: the
 * producer's acknowledgements (and the next fetch) would wait for the chain to end, and the
 * transaction's commit would then wait for all of them at once.
 */
export function yieldNow(now: number): Promise<void> | undefined {
  // `now` is the wall clock: stepped back (NTP, a VM resumed), `now - yieldedAt` is negative
  // until it catches up, and a busy pipe would not yield (no socket read, no timer) that long.
  const since = now - yieldedAt;
  if (since >= 0 && since < 2) return undefined;
  yieldedAt = now;
  return new Promise(macrotask);
}

/**
 * Runs `fn` in a task of its own, after the event loop polled for I/O. `setImmediate` (Deno,
 * Node, Bun) does that at once; `setTimeout(fn, 0)` waits for the timer phase, 1-4 ms on Deno
 * (the HTML spec clamps nested timeouts to 4 ms), and the pipe sat idle that long every 2 ms.
 * Runtimes without `setImmediate` (Workers) take `setTimeout`. Looked up at the first yield,
 * not at import: in Deno the first touch of `globalThis.setImmediate` loads Node's timers
 * (+5-6 MiB RSS, +1.2 MB of V8 heap), which only the pipeline sinks need (bench/PROFILE.md,
 * Session 16: import footprint).
 */
function macrotask(fn: () => void): void {
  (schedule ??= typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
    ? (f) => (globalThis as unknown as { setImmediate(f: () => void): void }).setImmediate(f)
    : (f) => setTimeout(f, 0))(fn);
}
let schedule: ((fn: () => void) => void) | undefined;

export function isEnvelopeList(c: PipelineChunk): c is readonly PipelineEnvelope[] {
  return Array.isArray(c);
}

/** How a sink failed, once, and its stream's controller to error with it. */
export class SinkFailure {
  /** The stream's controller, set when the stream starts. */
  controller: WritableStreamDefaultController | undefined;
  /** The sink's failure; set once. */
  error: PipelineError | undefined;
  readonly #guarantee: PipelineGuarantee;

  constructor(guarantee: PipelineGuarantee) {
    this.#guarantee = guarantee;
  }

  /** Records the failure (the first one wins) and returns it. */
  set(cause: unknown): PipelineError {
    this.error ??= new PipelineError(this.#guarantee, cause);
    return this.error;
  }

  /** Errors the sink's stream with the failure. */
  errorStream(): void {
    try {
      this.controller?.error(this.error);
    } catch { /* already errored */ }
  }
}

/** What a sink does around each envelope's records (see {@linkcode writeEnvelopes}). */
export interface EnvelopeSteps {
  /** Before the envelope's records are written: the delivery they carry (null: the stream's). */
  start(e: PipelineEnvelope): Delivery | null;
  /** Once its records are all written (in a batch or waiting in the intake). */
  end(e: PipelineEnvelope): void;
}

/**
 * Writes the envelopes' records in order. Returns undefined when all were taken at once, or a
 * promise that settles once the rest was written after backpressure (the byte budget full).
 * Throws (or rejects) for a bad envelope or record.
 */
export function writeEnvelopes(
  host: SinkHost,
  list: readonly PipelineEnvelope[],
  steps: EnvelopeSteps,
): Promise<void> | undefined {
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    checkSource(e);
    const delivery = steps.start(e);
    const records = e.records;
    for (let j = 0; j < records.length; j++) {
      const wait = host.write(records[j]!, delivery);
      // Backpressure (the byte budget is full): the rest goes on asynchronously.
      if (wait) return writeEnvelopesAfter(wait, host, list, i, j + 1, delivery, steps);
    }
    steps.end(e);
  }
  return undefined;
}

/** {@linkcode writeEnvelopes} from record `j` of envelope `i` on, after waiting for `wait`. */
async function writeEnvelopesAfter(
  wait: Promise<void>,
  host: SinkHost,
  list: readonly PipelineEnvelope[],
  i: number,
  j: number,
  delivery: Delivery | null,
  steps: EnvelopeSteps,
): Promise<void> {
  await wait;
  for (; i < list.length; i++, j = 0) {
    const e = list[i]!;
    if (j === 0) {
      checkSource(e);
      delivery = steps.start(e);
    }
    const records = e.records;
    for (; j < records.length; j++) {
      const next = host.write(records[j]!, delivery);
      if (next) await next;
    }
    steps.end(e);
  }
}

/** The last source of one partition in a transaction. */
export interface SourceSlot {
  readonly topic: string;
  readonly partition: number;
  source: SourceRecord;
}
