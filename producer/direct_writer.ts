/**
 * The producer's writable and the writer its `getWriter()` returns, which hands records
 * straight to the producer while the stream is idle (internal).
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
        if (this.#offer(record!)) return Promise.resolve();
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
