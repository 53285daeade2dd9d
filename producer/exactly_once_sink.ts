/**
 * The exactly-once pipeline sink: one transaction per `transactionRecords` source records or
 * `transactionMs` (KIP-98, KIP-447 `sendOffsetsToTransaction`).
 *
 * @module
 */

import type {
  PipelineChunk,
  PipelineEnvelope,
  PipelineSinkOptions,
  SourceRecord,
} from "./pipeline.ts";
import {
  type EnvelopeSteps,
  isEnvelopeList,
  positive,
  queueing,
  SinkFailure,
  type SinkHost,
  type SourceSlot,
  toOffset,
  writeEnvelopes,
  yieldNow,
} from "./sink_common.ts";

/**
 * Transactions of many records: begin at the first envelope, write records and remember
 * the last source offset per partition, then (after N sources or T ms) send the offsets to
 * the transaction and commit. Envelopes never straddle two transactions, so the offsets
 * committed are exactly those of the records committed.
 */
export class ExactlyOnceSink {
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
