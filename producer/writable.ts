/**
 * The producer's writable (internal): its queuing strategy, and the writer its `getWriter()`
 * returns, which hands records straight to the producer while the stream is idle.
 *
 * A `WritableStream` write costs a write request, a promise for the sink's result and its
 * reactions, even when the sink takes the record at once: more per record than the
 * producer's whole intake (bench/PROFILE.md, Session 10). While the stream is idle, that
 * machinery only ever calls the sink at once with the record, so the writer may do the same
 * call itself: the record reaches the producer in the same order, at the same moment.
 *
 * @module
 */

import type { ProducerRecord } from "./record.ts";

/** What a record adds to a record batch besides its key and value (a rough upper bound). */
const RECORD_OVERHEAD = 64;

/** Bytes a record takes in the writable's queue: key, value (strings in UTF-16 units), overhead. */
function queuedBytes(record: ProducerRecord): number {
  if (record === null || typeof record !== "object") return RECORD_OVERHEAD;
  const value = record.value as { length?: unknown } | null | undefined;
  const key = record.key as { length?: unknown } | null | undefined;
  return RECORD_OVERHEAD + ((value?.length as number) | 0) + ((key?.length as number) | 0);
}

/**
 * Bytes the writable may queue ahead of the producer before it signals backpressure. Small on
 * purpose: a steady deeper queue (a plain `highWaterMark` of 64 records, or of 16 KiB) cost
 * more CPU per record than `highWaterMark: 1`, not less (bench/PROFILE.md, Session 10).
 */
const WRITE_QUEUE_BYTES = 16 * 1024;

/**
 * What a direct write returns: one promise, already resolved, for every record taken at once
 * (a settled promise cannot change, so sharing it costs nothing and saves one per record).
 */
const WRITTEN: Promise<void> = Promise.resolve();

/**
 * The writable's queuing strategy. With a plain `highWaterMark: 1`, every write fills the
 * queue, so the stream signals backpressure and makes a new `ready` promise per record, and a
 * writer that waits on `ready` takes a promise turn per record. Here a record counts 0 while
 * the records queued ahead of the producer hold less than {@linkcode WRITE_QUEUE_BYTES}, and 1
 * after: a writer hands over a run of records, then waits once until the stream has passed
 * them on. What the stream holds beyond the producer's `bufferMemory` stays bounded by that
 * mark plus one record.
 *
 * @example
 * ```ts ignore
 * const queue = new WriteQueue();
 * const stream = new ProducerWritable({ write: (r) => { queue.taken(r); } }, queue, offer, gate);
 * ```
 */
export class WriteQueue implements QueuingStrategy<ProducerRecord> {
  readonly highWaterMark = 1;
  #bytes = 0;
  readonly size = (record: ProducerRecord): number => {
    const bytes = queuedBytes(record);
    this.#bytes += bytes;
    return this.#bytes <= WRITE_QUEUE_BYTES ? 0 : 1;
  };

  /** The sink took `record` out of the queue. */
  taken(record: ProducerRecord): void {
    const left = this.#bytes - queuedBytes(record);
    this.#bytes = left > 0 ? left : 0;
  }
}

/**
 * Whether the stream may still take records: false once it closes, is aborted or errors
 * (the producer's sink and its delivery reports set it; see `Producer.writable`).
 */
export interface WritableGate {
  open: boolean;
}

/**
 * Hands a record to the producer if it goes into a batch at once: true then; false when it
 * would have to wait (nothing was done); throws for a bad record or a refusal (nothing was
 * done either). See `Intake.offer`.
 */
export type Offer = (record: ProducerRecord) => boolean;

/**
 * The writer of {@linkcode ProducerWritable.getWriter}. Its `write()` calls the producer
 * itself (`offer`) while it knows the stream is idle; otherwise, and whenever the producer
 * cannot take the record at once or refuses it, it writes through the stream, which does
 * what it always does (queues it, waits, or fails the record and errors the stream).
 *
 * The writer knows the stream is idle ("trusted") once one of its own writes through the
 * stream has completed with none of its writes left in the stream: the stream then has no
 * write queued or in flight (any write of an earlier writer came before, and nobody else can
 * write while this writer holds the lock), it has started, and any close it was asked for
 * has reached the sink. Trust ends at the first write it sends through the stream, and for
 * good when a write fails, or this writer closes, aborts or releases the stream, or the
 * stream's gate closes. So the stream's queue stays empty while records go around it:
 * `desiredSize`, `ready` and `closed` say what they say for the standard writer, ordering
 * holds across both kinds of write, and what waits beyond `bufferMemory` is still bounded by
 * the stream's queue.
 *
 * @example
 * ```ts ignore
 * const writer = new DirectWriter(stream, (r) => intake.offer(r), gate);
 * await writer.write({ value: "a" });
 * ```
 */
export class DirectWriter extends WritableStreamDefaultWriter<ProducerRecord> {
  readonly #offer: Offer;
  readonly #gate: WritableGate;
  /** The stream is known idle: records may go straight to the producer. */
  #trusted = false;
  /** Writes of this writer through the stream not settled yet. */
  #pending = 0;
  /** Released, closed, aborted or failed: never trusted again. */
  #ended = false;
  readonly #settled = () => {
    if (--this.#pending === 0 && !this.#ended) this.#trusted = true;
  };
  readonly #failed = (e: unknown): never => {
    this.#pending--;
    this.#end();
    throw e;
  };

  /** A writer of `stream` (locking it) handing records to `offer` while the stream is idle. */
  constructor(stream: WritableStream<ProducerRecord>, offer: Offer, gate: WritableGate) {
    super(stream);
    this.#offer = offer;
    this.#gate = gate;
  }

  #end(): void {
    this.#ended = true;
    this.#trusted = false;
  }

  /** Writes a record (see the class): resolves once it is in a batch. */
  override write(record?: ProducerRecord): Promise<void> {
    if (this.#trusted && this.#gate.open) {
      try {
        if (this.#offer(record!)) return WRITTEN;
      } catch {
        // Bad or refused: written through the stream below, which fails it (and errors the
        // stream) as it fails any such record.
      }
      this.#trusted = false;
    }
    this.#pending++;
    return super.write(record).then(this.#settled, this.#failed);
  }

  /** Closes the stream (see `WritableStreamDefaultWriter.close`). */
  override close(): Promise<void> {
    this.#end();
    return super.close();
  }

  /** Aborts the stream (see `WritableStreamDefaultWriter.abort`). */
  override abort(reason?: unknown): Promise<void> {
    this.#end();
    return super.abort(reason);
  }

  /** Releases the stream (see `WritableStreamDefaultWriter.releaseLock`). */
  override releaseLock(): void {
    this.#end();
    super.releaseLock();
  }
}

/**
 * The producer's `WritableStream`: a standard stream whose `getWriter()` returns a
 * {@linkcode DirectWriter}. Pipes (`pipeTo`, `pipeThrough`) lock it with the standard
 * writer and take the standard path; while they hold it, no `DirectWriter` can exist.
 *
 * @example
 * ```ts ignore
 * const stream = new ProducerWritable(sink, strategy, (r) => intake.offer(r), gate);
 * const writer = stream.getWriter();
 * ```
 */
export class ProducerWritable extends WritableStream<ProducerRecord> {
  readonly #offer: Offer;
  readonly #gate: WritableGate;

  /** A stream over `sink` with `strategy`, whose writers hand records to `offer`. */
  constructor(
    sink: UnderlyingSink<ProducerRecord>,
    strategy: QueuingStrategy<ProducerRecord>,
    offer: Offer,
    gate: WritableGate,
  ) {
    super(sink, strategy);
    this.#offer = offer;
    this.#gate = gate;
  }

  /** Locks the stream to a {@linkcode DirectWriter}. */
  override getWriter(): WritableStreamDefaultWriter<ProducerRecord> {
    return new DirectWriter(this, this.#offer, this.#gate);
  }
}
