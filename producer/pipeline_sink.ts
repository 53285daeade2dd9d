/**
 * The sink behind `producer.sink()`: it writes the {@linkcode PipelineEnvelope}s of a
 * pipeline (producer/pipeline.ts, the user's side) and commits their source offsets under the
 * pipeline's guarantee, in a transaction per batch of sources (exactly-once) or once every
 * record derived from a source was acknowledged (at-least-once). Internal: the producer builds
 * it through {@linkcode createSink} with a {@linkcode SinkHost}.
 *
 * @module
 */

import type { Delivery } from "./delivery.ts";
import {
  type PipelineChunk,
  type PipelineEnvelope,
  PipelineError,
  type PipelineGuarantee,
  type PipelineSinkOptions,
  type SourceRecord,
} from "./pipeline.ts";
import type { ConsumerGroupMetadata, ProducerRecord, TransactionOffset } from "./record.ts";
import type { TransactionState } from "./transaction_manager.ts";

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

function positive(v: number | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${String(v)}`);
  }
  return v;
}

/** Builds the sink behind `producer.sink()` (internal). */
export function createSink(
  host: SinkHost,
  options: PipelineSinkOptions,
): WritableStream<PipelineChunk> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("sink() takes an options object");
  }
  const c = options.consumer;
  if (c === null || typeof c !== "object" || typeof c.commit !== "function") {
    throw new TypeError("sink() needs options.consumer (the consumer the records come from)");
  }
  if (options.guarantee === "exactly-once") {
    if (host.transactionState() === undefined) {
      throw new TypeError("an exactly-once sink needs a producer with a transactionalId");
    }
    return new ExactlyOnceSink(host, options).stream;
  }
  if (options.guarantee === "at-least-once") return new AtLeastOnceSink(host, options).stream;
  throw new TypeError(
    `options.guarantee must be "at-least-once" or "exactly-once", got ${String(options.guarantee)}`,
  );
}

/** The sink's queue, counted in envelopes (a batch counts as its length). */
function queueing(options: PipelineSinkOptions): QueuingStrategy<PipelineChunk> {
  return {
    highWaterMark: positive(options.highWaterMark, "highWaterMark", 16_384),
    size: (c) => isEnvelopeList(c) ? Math.max(1, c.length) : 1,
  };
}

function toOffset(s: SourceRecord): TransactionOffset {
  const epoch = s.leaderEpoch;
  return epoch === undefined || epoch < 0
    ? { topic: s.topic, partition: s.partition, offset: s.offset + 1n }
    : { topic: s.topic, partition: s.partition, offset: s.offset + 1n, leaderEpoch: epoch };
}

function checkSource(e: PipelineEnvelope): void {
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
function yieldNow(now: number): Promise<void> | undefined {
  if (now - yieldedAt < 2) return undefined;
  yieldedAt = now;
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function isEnvelopeList(c: PipelineChunk): c is readonly PipelineEnvelope[] {
  return Array.isArray(c);
}

/** How a sink failed, once, and its stream's controller to error with it. */
class SinkFailure {
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
interface EnvelopeSteps {
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
function writeEnvelopes(
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
interface SourceSlot {
  readonly topic: string;
  readonly partition: number;
  source: SourceRecord;
}

// -----------------------------------------------------------------------------------------
// Exactly-once

/**
 * Transactions of many records: begin at the first envelope, write records and remember
 * the last source offset per partition, then (after N sources or T ms) send the offsets to
 * the transaction and commit. Envelopes never straddle two transactions, so the offsets
 * committed are exactly those of the records committed.
 */
class ExactlyOnceSink {
  readonly stream: WritableStream<PipelineChunk>;
  readonly #host: SinkHost;
  readonly #options: PipelineSinkOptions;
  readonly #maxRecords: number;
  readonly #maxMs: number;
  /** Last source per partition in the open transaction. */
  readonly #sources = new Map<string, SourceSlot>();
  /** The slot of the last source noted (consecutive sources mostly share a partition). */
  #last: SourceSlot | undefined;
  #open = false;
  #count = 0;
  #openedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A write is running: a due commit waits for its end. */
  #writing = false;
  #due = false;
  #committing: Promise<void> | undefined;
  readonly #failure: SinkFailure;

  constructor(host: SinkHost, options: PipelineSinkOptions) {
    this.#host = host;
    this.#options = options;
    this.#failure = new SinkFailure("exactly-once");
    this.#maxRecords = positive(options.transactionRecords, "transactionRecords", 100_000);
    this.#maxMs = positive(options.transactionMs, "transactionMs", 100);
    this.stream = new WritableStream<PipelineChunk>({
      start: async (c) => {
        this.#failure.controller = c;
        if (host.transactionState() === "uninitialized") await host.initTransactions();
      },
      write: (e) => this.#write(e),
      close: () => this.#close(),
      abort: () => this.#abort(),
    }, queueing(options));
  }

  /** Records of the open transaction carry no delivery; each envelope's source is noted. */
  readonly #steps: EnvelopeSteps = {
    start: () => null,
    end: (e) => this.#noteSource(e.source),
  };

  #write(chunk: PipelineChunk): Promise<void> | undefined {
    if (this.#committing) return this.#committing.then(() => this.#write(chunk));
    if (this.#failure.error) throw this.#failure.error;
    const list: readonly PipelineEnvelope[] = isEnvelopeList(chunk) ? chunk : [chunk];
    this.#writing = true;
    let wait: Promise<void> | undefined;
    try {
      if (!this.#open) this.#begin();
      wait = writeEnvelopes(this.#host, list, this.#steps);
    } catch (error) {
      this.#writing = false;
      return this.#fail(error);
    }
    if (wait) return this.#writeSlow(wait, list.length);
    this.#writing = false;
    return this.#after(list.length);
  }

  /** The rest of {@linkcode #write} once the records written after backpressure are in. */
  async #writeSlow(wait: Promise<void>, sources: number): Promise<void> {
    try {
      await wait;
    } catch (error) {
      await this.#fail(error);
    } finally {
      this.#writing = false;
    }
    await this.#after(sources);
  }

  /** Counts the sources written; commits when the transaction is full or due. */
  #after(sources: number): Promise<void> | undefined {
    this.#count += sources;
    // The clock is read here too: while the pipe never waits, its promise jobs run back to
    // back and the timer's task does not get a turn.
    const now = Date.now();
    if (this.#due || this.#count >= this.#maxRecords || now - this.#openedAt >= this.#maxMs) {
      return this.#commit();
    }
    return yieldNow(now);
  }

  /** Remembers the last source of its partition (the partition of the last one is cached). */
  #noteSource(s: SourceRecord): void {
    const last = this.#last;
    if (last !== undefined && last.partition === s.partition && last.topic === s.topic) {
      last.source = s;
      return;
    }
    const key = s.topic + "\0" + s.partition;
    let slot = this.#sources.get(key);
    if (slot === undefined) {
      slot = { topic: s.topic, partition: s.partition, source: s };
      this.#sources.set(key, slot);
    } else slot.source = s;
    this.#last = slot;
  }

  #begin(): void {
    this.#host.beginTransaction();
    this.#open = true;
    this.#due = false;
    this.#count = 0;
    this.#openedAt = Date.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A write in progress commits at its end (its source is not recorded yet).
      if (this.#writing) this.#due = true;
      else this.#commit().catch(() => {/* reported to the stream */});
    }, this.#maxMs);
  }

  #commit(): Promise<void> {
    if (this.#committing) return this.#committing;
    if (!this.#open) return Promise.resolve();
    this.#committing = this.#doCommit().finally(() => {
      this.#committing = undefined;
    });
    return this.#committing;
  }

  async #doCommit(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const offsets = Array.from(this.#sources.values(), (slot) => toOffset(slot.source));
    try {
      // The offsets travel (AddOffsetsToTxn, TxnOffsetCommit) while the last records are
      // acknowledged: commitTransaction() then only has EndTxn left.
      const flushed = this.#host.flush();
      if (offsets.length > 0) {
        await this.#host.sendOffsetsToTransaction(offsets, this.#options.consumer.groupMetadata())
          .finally(() => flushed.catch(() => {}));
      }
      await flushed;
      await this.#host.commitTransaction();
    } catch (error) {
      await this.#fail(error);
    }
    this.#open = false;
    this.#sources.clear();
    this.#last = undefined;
    this.#options.onCommit?.(offsets);
  }

  /** Aborts the open transaction and fails the stream with a PipelineError (thrown). */
  async #fail(error: unknown): Promise<never> {
    if (this.#failure.error) throw this.#failure.error;
    const failed = this.#failure.set(error);
    await this.#abortTransaction();
    this.#failure.errorStream();
    throw failed;
  }

  async #abortTransaction(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sources.clear();
    this.#last = undefined;
    if (!this.#open) return;
    this.#open = false;
    const state = this.#host.transactionState();
    if (state === "fatal_error" || state === "ready" || state === "uninitialized") return;
    await this.#host.abortTransaction().catch((e) => {
      this.#host.warn("a pipeline could not abort its transaction", e);
    });
  }

  async #close(): Promise<void> {
    await this.#committing?.catch(() => {});
    if (this.#failure.error) throw this.#failure.error;
    await this.#commit();
  }

  /**
   * A stopped pipe (its signal, or its source failed): the open transaction is aborted, so
   * its sources are read again by the next consumer of the group.
   */
  async #abort(): Promise<void> {
    await this.#committing?.catch(() => {});
    if (this.#failure.error) return;
    this.#failure.set(new TypeError("the pipe was aborted"));
    await this.#abortTransaction();
  }
}

// -----------------------------------------------------------------------------------------
// At-least-once

/** One source record whose derived records are not all acknowledged. */
class PendingSource implements Delivery {
  timestamp = 0;
  left: number;
  readonly source: SourceRecord;
  readonly #partition: PartitionAcks;

  constructor(source: SourceRecord, left: number, partition: PartitionAcks) {
    this.source = source;
    this.left = left;
    this.#partition = partition;
  }

  resolve(): void {
    if (--this.left === 0) this.#partition.advance();
  }

  reject(error: Error): void {
    this.#partition.sink.fail(error);
  }
}

/** A partition's sources in order, and the offset committable so far. */
class PartitionAcks {
  readonly sink: AtLeastOnceSink;
  readonly topic: string;
  readonly partition: number;
  readonly #pending: (PendingSource | undefined)[] = [];
  #head = 0;
  /** The last fully acknowledged source with every one before it (contiguous). */
  done: SourceRecord | undefined;
  /** `done` changed since the last commit. */
  dirty = false;

  constructor(sink: AtLeastOnceSink, topic: string, partition: number) {
    this.sink = sink;
    this.topic = topic;
    this.partition = partition;
  }

  push(p: PendingSource): void {
    this.#pending.push(p);
    if (p.left === 0) this.advance();
  }

  /** Moves past the acknowledged sources at the head. */
  advance(): void {
    const q = this.#pending;
    let h = this.#head;
    let last: PendingSource | undefined;
    while (h < q.length && q[h]!.left === 0) {
      last = q[h];
      q[h++] = undefined;
    }
    if (last === undefined) return;
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      q.splice(0, h);
      h = 0;
    }
    this.#head = h;
    this.done = last.source;
    this.dirty = true;
  }
}

/**
 * Records are sent as they come, each carrying its source's {@linkcode PendingSource} as
 * its delivery; the committer commits, per partition, the last source whose records and
 * predecessors' records were all acknowledged.
 */
class AtLeastOnceSink {
  readonly stream: WritableStream<PipelineChunk>;
  readonly #host: SinkHost;
  readonly #options: PipelineSinkOptions;
  readonly #intervalMs: number;
  readonly #partitions = new Map<string, PartitionAcks>();
  #lastPart: PartitionAcks | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #committing: Promise<void> | undefined;
  readonly #failure: SinkFailure;

  constructor(host: SinkHost, options: PipelineSinkOptions) {
    this.#host = host;
    this.#options = options;
    this.#failure = new SinkFailure("at-least-once");
    this.#intervalMs = positive(options.commitIntervalMs, "commitIntervalMs", 1000);
    this.stream = new WritableStream<PipelineChunk>({
      start: (c) => {
        this.#failure.controller = c;
        const state = host.transactionState();
        if (state !== undefined) {
          throw new TypeError(
            "an at-least-once sink writes outside transactions: use a producer without a " +
              'transactionalId, or guarantee "exactly-once"',
          );
        }
        this.#timer = setInterval(() => {
          this.#commit().catch((e) => host.warn("a pipeline commit failed; retrying", e));
        }, this.#intervalMs);
      },
      write: (e) => this.#write(e),
      close: () => this.#close(),
      abort: () => this.#abort(),
    }, queueing(options));
  }

  /** Each envelope's records carry its source's {@linkcode PendingSource} as their delivery. */
  readonly #steps: EnvelopeSteps = {
    start: (e) => this.#pending(e),
    end: () => {},
  };

  #write(chunk: PipelineChunk): Promise<void> | undefined {
    if (this.#failure.error) throw this.#failure.error;
    const list: readonly PipelineEnvelope[] = isEnvelopeList(chunk) ? chunk : [chunk];
    let wait: Promise<void> | undefined;
    try {
      wait = writeEnvelopes(this.#host, list, this.#steps);
    } catch (error) {
      this.fail(error);
      throw this.#failure.error;
    }
    if (wait) {
      return wait.catch((error) => {
        this.fail(error);
        throw this.#failure.error;
      });
    }
    return yieldNow(Date.now());
  }

  /** Registers an envelope's source with its partition, in order. */
  #pending(e: PipelineEnvelope): PendingSource {
    const s = e.source;
    let part = this.#lastPart;
    if (part === undefined || part.partition !== s.partition || part.topic !== s.topic) {
      const key = s.topic + "\0" + s.partition;
      part = this.#partitions.get(key);
      if (part === undefined) {
        part = new PartitionAcks(this, s.topic, s.partition);
        this.#partitions.set(key, part);
      }
      this.#lastPart = part;
    }
    const pending = new PendingSource(s, e.records.length, part);
    part.push(pending);
    return pending;
  }

  /** A record failed (or could not be written): nothing more is committed. */
  fail(error: unknown): void {
    if (this.#failure.error) return;
    this.#failure.set(error);
    this.#stop();
    this.#failure.errorStream();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #commit(): Promise<void> {
    this.#committing ??= this.#doCommit().finally(() => {
      this.#committing = undefined;
    });
    return this.#committing;
  }

  async #doCommit(): Promise<void> {
    if (this.#failure.error) return;
    const offsets: TransactionOffset[] = [];
    const parts: PartitionAcks[] = [];
    for (const p of this.#partitions.values()) {
      if (!p.dirty || p.done === undefined) continue;
      offsets.push(toOffset(p.done));
      parts.push(p);
      p.dirty = false;
    }
    if (offsets.length === 0) return;
    try {
      await this.#options.consumer.commit(offsets);
    } catch (error) {
      // Not a loss: the offsets are committed by the next commit, or read again.
      for (const p of parts) p.dirty = true;
      throw error;
    }
    this.#options.onCommit?.(offsets);
  }

  async #close(): Promise<void> {
    this.#stop();
    try {
      await this.#committing?.catch(() => {});
      await this.#host.flush();
      if (this.#failure.error) throw this.#failure.error;
      await this.#commit();
    } catch (error) {
      this.fail(error);
      throw this.#failure.error;
    }
  }

  /**
   * A stopped pipe: what was acknowledged is committed (best effort: the consumer may be
   * closing meanwhile), the rest is read again by the next consumer.
   */
  async #abort(): Promise<void> {
    this.#stop();
    if (this.#failure.error) return;
    try {
      await this.#committing?.catch(() => {});
      await this.#host.flush();
      await this.#commit();
    } catch (error) {
      this.#host.warn("a stopped at-least-once pipeline could not commit", error);
    }
  }
}
