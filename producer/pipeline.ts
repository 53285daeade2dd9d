/**
 * Pipelines as Web Streams: a consumer's records, mapped to the records they become, written
 * by a producer's {@linkcode PipelineSink} that commits the source offsets under a named
 * delivery guarantee.
 *
 * ```ts ignore
 * await consumer
 *   .pipeThrough(mapRecords((r) => ({ key: r.key, value: r.value })))
 *   .pipeTo(producer.sink({ consumer, guarantee: "exactly-once" }), { signal });
 * ```
 *
 * Provenance: what flows into the sink are {@linkcode PipelineEnvelope}s, one per consumed
 * record, `{ source, records }`: the record it came from and the zero, one or many records it
 * became. The sink never has to guess which output belongs to which input, whatever the
 * transform does (filter, map, fan out), and a source whose envelope carries no records is
 * still committed. {@linkcode mapRecords} builds the envelopes from a plain function.
 *
 * - at-least-once: records are sent as they come; a source offset is committed (through the
 *   consumer's `commit()`) once every record derived from it, and from every record before
 *   it in its partition, was acknowledged by the broker.
 * - exactly-once: records and source offsets are written in one transaction per
 *   `transactionRecords` source records or `transactionMs` (KIP-98, KIP-447
 *   `sendOffsetsToTransaction`); read the output with `read_committed`.
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import type { Delivery } from "./delivery.ts";
import type { ConsumerGroupMetadata, ProducerRecord, TransactionOffset } from "./record.ts";
import type { TransactionState } from "./transaction_manager.ts";

/**
 * The delivery guarantee of a pipeline (see {@linkcode PipelineSinkOptions.guarantee}).
 *
 * @example
 * ```ts
 * import type { PipelineGuarantee } from "@denokafka/kafka/producer";
 * const g: PipelineGuarantee = "exactly-once";
 * console.log(g);
 * ```
 */
export type PipelineGuarantee = "at-least-once" | "exactly-once";

/**
 * Where a record came from: a consumed record (a `ConsumerRecord` fits).
 *
 * @example
 * ```ts
 * import type { SourceRecord } from "@denokafka/kafka/producer";
 * const s: SourceRecord = { topic: "in", partition: 0, offset: 41n };
 * console.log(s.offset + 1n); // 42n, the offset committed for it
 * ```
 */
export interface SourceRecord {
  /** The source topic. */
  readonly topic: string;
  /** The source partition. */
  readonly partition: number;
  /** The source record's offset. */
  readonly offset: bigint;
  /** Its leader epoch (-1 or absent when unknown), committed with the offset (KIP-320). */
  readonly leaderEpoch?: number;
}

/**
 * One consumed record and the records it became (none, one or many): what a pipeline's sink
 * takes, so that every record written keeps its provenance.
 *
 * @example
 * ```ts
 * import type { PipelineEnvelope } from "@denokafka/kafka/producer";
 * const e: PipelineEnvelope = {
 *   source: { topic: "in", partition: 0, offset: 7n },
 *   records: [{ topic: "out", value: "a" }, { topic: "out", value: "b" }],
 * };
 * console.log(e.records.length);
 * ```
 */
export interface PipelineEnvelope<S extends SourceRecord = SourceRecord> {
  /** The consumed record. */
  readonly source: S;
  /** The records to produce for it, in order (may be empty: the source is still committed). */
  readonly records: readonly ProducerRecord[];
}

/**
 * What a pipeline's sink needs of its consumer (a `Consumer` fits): commits for
 * at-least-once, the group identity for exactly-once.
 *
 * @example
 * ```ts
 * import type { PipelineConsumer } from "@denokafka/kafka/producer";
 * const fake: PipelineConsumer = {
 *   commit: async () => {},
 *   groupMetadata: () => ({ groupId: "g", generationId: -1, memberId: "", groupInstanceId: null }),
 * };
 * console.log(fake.groupMetadata().groupId);
 * ```
 */
export interface PipelineConsumer {
  /** Commits offsets (the next offset to read per partition). */
  commit(
    offsets: readonly TransactionOffset[],
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** The consumer's group identity, for `sendOffsetsToTransaction`. */
  groupMetadata(): ConsumerGroupMetadata;
}

/**
 * Options of `producer.sink()`.
 *
 * @example
 * ```ts
 * import type { PipelineConsumer, PipelineSinkOptions } from "@denokafka/kafka/producer";
 * const make = (consumer: PipelineConsumer): PipelineSinkOptions => ({
 *   consumer,
 *   guarantee: "exactly-once",
 *   transactionMs: 100,
 * });
 * console.log(typeof make);
 * ```
 */
export interface PipelineSinkOptions {
  /**
   * The consumer the envelopes' sources come from. It must not commit by itself
   * (`autoCommit: false`): the sink commits. For exactly-once it must read `read_committed`
   * (the default) and have a `groupId`.
   */
  readonly consumer: PipelineConsumer;
  /**
   * - `"at-least-once"`: a source offset is committed only after every record derived from it
   *   was acknowledged (per partition, in order: the highest contiguous fully acknowledged
   *   offset + 1). A crash re-reads what was not committed, so records may be written twice,
   *   never lost.
   * - `"exactly-once"`: the producer must have a `transactionalId`. Records and source offsets
   *   are committed together in one transaction per `transactionRecords` or `transactionMs`,
   *   whichever comes first; a `read_committed` reader sees each source's records once.
   */
  readonly guarantee: PipelineGuarantee;
  /** Exactly-once: source records per transaction at most. Default 100,000. */
  readonly transactionRecords?: number;
  /** Exactly-once: how long a transaction stays open at most, in ms. Default 100. */
  readonly transactionMs?: number;
  /** At-least-once: how often acknowledged offsets are committed, in ms. Default 1000. */
  readonly commitIntervalMs?: number;
  /** Called after each commit (a transaction, or a consumer commit) with what it committed. */
  readonly onCommit?: (offsets: readonly TransactionOffset[]) => void;
}

/**
 * The pipeline failed: nothing beyond the last commit is committed (exactly-once: the open
 * transaction was aborted). The consumer's position is past what was lost, so do not go on
 * with it: close it and the producer, and start again with a new consumer, which resumes from
 * the committed offsets. `cause` is the error that failed it.
 *
 * @example
 * ```ts
 * import { PipelineError } from "@denokafka/kafka/producer";
 * const e = new PipelineError("exactly-once", new RangeError("x"));
 * console.log(e.guarantee, e.cause instanceof RangeError); // exactly-once true
 * ```
 */
export class PipelineError extends KafkaError {
  /** The guarantee the failed pipeline had. */
  readonly guarantee: PipelineGuarantee;

  /** Builds the error around its cause; retriable when the cause is. */
  constructor(guarantee: PipelineGuarantee, cause: unknown) {
    const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `${guarantee} pipeline failed (${text}); ${
        guarantee === "exactly-once" ? "its transaction was aborted; " : ""
      }restart it with a new consumer, which resumes from the committed offsets`,
      { cause, retriable: cause instanceof KafkaError && cause.retriable },
    );
    this.guarantee = guarantee;
  }
}

/**
 * A `TransformStream` from consumed records to {@linkcode PipelineEnvelope}s: `fn` returns the
 * records one consumed record becomes (a record, an array, or `null`/`undefined` for none;
 * or a promise of it). Each envelope keeps its source, so the sink commits it at the right
 * time.
 *
 * @example
 * ```ts
 * import { mapRecords } from "@denokafka/kafka/producer";
 * import type { ConsumerRecord } from "@denokafka/kafka/consumer";
 * // 1 -> 0 (drop tombstones) or 1 -> 1 (same key and value, to "out").
 * const t = mapRecords((r: ConsumerRecord) =>
 *   r.value === null ? null : { topic: "out", key: r.key, value: r.value }
 * );
 * console.log(t.writable instanceof WritableStream);
 * ```
 */
export function mapRecords<S extends SourceRecord>(
  fn: (record: S) => MappedRecords | Promise<MappedRecords>,
): TransformStream<S, PipelineEnvelope<S>> {
  const wrap = (source: S, out: MappedRecords): PipelineEnvelope<S> => ({
    source,
    records: out === null || out === undefined ? NONE : isList(out) ? out : [out],
  });
  return new TransformStream<S, PipelineEnvelope<S>>({
    transform(source, c) {
      const out = fn(source);
      // Synchronous functions stay on the fast path (no promise per record).
      if (out instanceof Promise) return out.then((o) => c.enqueue(wrap(source, o)));
      c.enqueue(wrap(source, out));
      return undefined;
    },
  });
}

/**
 * What a {@linkcode mapRecords} function returns for one record: a record, several, or
 * none (`null`, `undefined` or `[]`).
 *
 * @example
 * ```ts
 * import type { MappedRecords } from "@denokafka/kafka/producer";
 * const fanOut: MappedRecords = [{ value: "a" }, { value: "b" }];
 * console.log(Array.isArray(fanOut));
 * ```
 */
export type MappedRecords = ProducerRecord | readonly ProducerRecord[] | null | undefined;

const NONE: readonly ProducerRecord[] = Object.freeze([]);

function isList(x: ProducerRecord | readonly ProducerRecord[]): x is readonly ProducerRecord[] {
  return Array.isArray(x);
}

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
): WritableStream<PipelineEnvelope> {
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

// -----------------------------------------------------------------------------------------
// Exactly-once

/**
 * Transactions of many records: begin at the first envelope, write records and remember
 * the last source offset per partition, then (after N sources or T ms) send the offsets to
 * the transaction and commit. Envelopes never straddle two transactions, so the offsets
 * committed are exactly those of the records committed.
 */
class ExactlyOnceSink {
  readonly stream: WritableStream<PipelineEnvelope>;
  readonly #host: SinkHost;
  readonly #o: PipelineSinkOptions;
  readonly #maxRecords: number;
  readonly #maxMs: number;
  /** Last source per partition in the open transaction. */
  readonly #sources = new Map<string, SourceRecord>();
  #open = false;
  #count = 0;
  #openedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A write is running: a due commit waits for its end. */
  #writing = false;
  #due = false;
  #committing: Promise<void> | undefined;
  #controller: WritableStreamDefaultController | undefined;
  #failed: PipelineError | undefined;

  constructor(host: SinkHost, options: PipelineSinkOptions) {
    this.#host = host;
    this.#o = options;
    this.#maxRecords = positive(options.transactionRecords, "transactionRecords", 100_000);
    this.#maxMs = positive(options.transactionMs, "transactionMs", 100);
    this.stream = new WritableStream<PipelineEnvelope>({
      start: async (c) => {
        this.#controller = c;
        if (host.transactionState() === "uninitialized") await host.initTransactions();
      },
      write: (e) => this.#write(e),
      close: () => this.#close(),
      abort: () => this.#abort(),
    }, new CountQueuingStrategy({ highWaterMark: 1 }));
  }

  async #write(e: PipelineEnvelope): Promise<void> {
    if (this.#committing) await this.#committing;
    if (this.#failed) throw this.#failed;
    checkSource(e);
    this.#writing = true;
    try {
      if (!this.#open) this.#begin();
      const records = e.records;
      for (let i = 0; i < records.length; i++) {
        const wait = this.#host.write(records[i]!, null);
        if (wait) await wait;
      }
      const s = e.source;
      // One key per partition; the latest source wins (a partition's records come in order).
      this.#sources.set(s.topic + "\0" + s.partition, s);
      this.#count++;
    } catch (error) {
      await this.#fail(error);
    } finally {
      this.#writing = false;
    }
    if (this.#due || this.#count >= this.#maxRecords) await this.#commit();
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
    const offsets = Array.from(this.#sources.values(), toOffset);
    try {
      if (offsets.length > 0) {
        await this.#host.sendOffsetsToTransaction(offsets, this.#o.consumer.groupMetadata());
      }
      await this.#host.commitTransaction();
    } catch (error) {
      await this.#fail(error);
    }
    this.#open = false;
    this.#sources.clear();
    this.#o.onCommit?.(offsets);
  }

  /** Aborts the open transaction and fails the stream with a PipelineError (thrown). */
  async #fail(error: unknown): Promise<never> {
    if (this.#failed) throw this.#failed;
    const failed = new PipelineError("exactly-once", error);
    this.#failed = failed;
    await this.#abortTransaction();
    try {
      this.#controller?.error(failed);
    } catch { /* already errored */ }
    throw failed;
  }

  async #abortTransaction(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sources.clear();
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
    if (this.#failed) throw this.#failed;
    await this.#commit();
  }

  /**
   * A stopped pipe (its signal, or its source failed): the open transaction is aborted, so
   * its sources are read again by the next consumer of the group.
   */
  async #abort(): Promise<void> {
    await this.#committing?.catch(() => {});
    if (this.#failed) return;
    this.#failed = new PipelineError("exactly-once", new TypeError("the pipe was aborted"));
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
  readonly #pending: (PendingSource | undefined)[] = [];
  #head = 0;
  /** The last fully acknowledged source with every one before it (contiguous). */
  done: SourceRecord | undefined;
  /** `done` changed since the last commit. */
  dirty = false;

  constructor(sink: AtLeastOnceSink) {
    this.sink = sink;
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
  readonly stream: WritableStream<PipelineEnvelope>;
  readonly #host: SinkHost;
  readonly #o: PipelineSinkOptions;
  readonly #intervalMs: number;
  readonly #partitions = new Map<string, PartitionAcks>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #committing: Promise<void> | undefined;
  #controller: WritableStreamDefaultController | undefined;
  #failed: PipelineError | undefined;

  constructor(host: SinkHost, options: PipelineSinkOptions) {
    this.#host = host;
    this.#o = options;
    this.#intervalMs = positive(options.commitIntervalMs, "commitIntervalMs", 1000);
    this.stream = new WritableStream<PipelineEnvelope>({
      start: (c) => {
        this.#controller = c;
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
    }, new CountQueuingStrategy({ highWaterMark: 1 }));
  }

  #write(e: PipelineEnvelope): Promise<void> | undefined {
    if (this.#failed) throw this.#failed;
    checkSource(e);
    const s = e.source;
    const key = s.topic + "\0" + s.partition;
    let part = this.#partitions.get(key);
    if (part === undefined) this.#partitions.set(key, part = new PartitionAcks(this));
    const records = e.records;
    const pending = new PendingSource(s, records.length, part);
    part.push(pending);
    let wait: Promise<void> | undefined;
    for (let i = 0; i < records.length; i++) {
      try {
        const w = this.#host.write(records[i]!, pending);
        if (w) {
          // Backpressure: the rest waits for this one to be batched.
          if (i + 1 < records.length) return this.#writeRest(w, records, i + 1, pending);
          wait = w;
        }
      } catch (error) {
        this.fail(error);
        throw this.#failed;
      }
    }
    return wait;
  }

  async #writeRest(
    w: Promise<void>,
    records: readonly ProducerRecord[],
    from: number,
    pending: PendingSource,
  ): Promise<void> {
    try {
      await w;
      for (let i = from; i < records.length; i++) {
        const next = this.#host.write(records[i]!, pending);
        if (next) await next;
      }
    } catch (error) {
      this.fail(error);
      throw this.#failed;
    }
  }

  /** A record failed (or could not be written): nothing more is committed. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = new PipelineError("at-least-once", error);
    this.#stop();
    try {
      this.#controller?.error(this.#failed);
    } catch { /* already errored */ }
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
    if (this.#failed) return;
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
      await this.#o.consumer.commit(offsets);
    } catch (error) {
      // Not a loss: the offsets are committed by the next commit, or read again.
      for (const p of parts) p.dirty = true;
      throw error;
    }
    this.#o.onCommit?.(offsets);
  }

  async #close(): Promise<void> {
    this.#stop();
    try {
      await this.#committing?.catch(() => {});
      await this.#host.flush();
      if (this.#failed) throw this.#failed;
      await this.#commit();
    } catch (error) {
      this.fail(error);
      throw this.#failed;
    }
  }

  /**
   * A stopped pipe: what was acknowledged is committed (best effort: the consumer may be
   * closing meanwhile), the rest is read again by the next consumer.
   */
  async #abort(): Promise<void> {
    this.#stop();
    if (this.#failed) return;
    try {
      await this.#committing?.catch(() => {});
      await this.#host.flush();
      await this.#commit();
    } catch (error) {
      this.#host.warn("a stopped at-least-once pipeline could not commit", error);
    }
  }
}
