/**
 * The public producer: a `WritableStream<ProducerRecord>` with Web Streams backpressure,
 * awaited `send()`s, flush, close and abort, and the wiring of its parts:
 *
 * - `intake.ts`: records on their way into batches, those that wait for metadata or budget,
 *   and their checks;
 * - `wiring.ts`: the producer's state and every call-back between these parts;
 * - `accumulator.ts`: per-partition batches, the byte budget, linger;
 * - `sender.ts`: Produce requests, in-flight limits, retries, splits;
 * - `idempotence.ts`: producer id, epoch and sequence numbers;
 * - `transaction_manager.ts`: transactions;
 * - `delivery.ts`: `send()` promises and delivery reports;
 * - `metadata.ts`: topics and their leaders.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import { Deadline } from "../protocol/deadline.ts";
import { compressionFromName } from "../protocol/compression/mod.ts";
import { ClosedError } from "../protocol/errors.ts";
import type { Logger } from "../protocol/logger.ts";
import { Accumulator } from "./accumulator.ts";
import { Background, errorText } from "./background.ts";
import { CompressionPool } from "./compression_pool.ts";
import { Deliveries } from "./delivery.ts";
import { ProducerWritable, type WritableGate, WriteQueue } from "./writable.ts";
import { TransactionStateError } from "./errors.ts";
import { Idempotence } from "./idempotence.ts";
import { Intake } from "./intake.ts";
import { ProducerMetadata } from "./metadata.ts";
import {
  type ProducerOptions,
  type ResolvedProducerOptions,
  resolveProducerOptions,
} from "./options.ts";
import { builtInPartitioner } from "./partitioners.ts";
import type {
  ConsumerGroupMetadata,
  DeliveryReport,
  ProducerRecord,
  RecordMetadata,
  TransactionOffset,
} from "./record.ts";
import type { PipelineChunk, PipelineSinkOptions } from "./pipeline.ts";
import { createSink } from "./pipeline_sink.ts";
import { Sender } from "./sender.ts";
import { TransactionManager } from "./transaction_manager.ts";
import { ProducerWiring } from "./wiring.ts";

/** Options of {@linkcode Producer.send}. */
export interface SendOptions {
  /**
   * Stops waiting: while the record waits for metadata or buffer space it is dropped; once it
   * is in a batch it is still delivered, but the promise rejects with the abort reason.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode Producer.close}. */
export interface CloseOptions {
  /** Give up delivering after this long: what is left fails with ClosedError. Default: wait. */
  timeoutMs?: number;
}

/**
 * Counters and gauges of a producer.
 *
 * @example
 * ```ts
 * import type { ProducerMetrics } from "@denokafka/kafka/producer";
 * const show = (m: ProducerMetrics) => `${m.bufferedBytes}/${m.bufferMemory}`;
 * console.log(typeof show);
 * ```
 */
export interface ProducerMetrics {
  /** Bytes of records accepted and not yet acknowledged (the backpressure figure). */
  readonly bufferedBytes: number;
  /** The most `bufferedBytes` has ever been. */
  readonly maxBufferedBytes: number;
  /** The byte budget (`bufferMemory`). */
  readonly bufferMemory: number;
  /** Records waiting for metadata or buffer space. */
  readonly waitingRecords: number;
  /** Batches not yet completed. */
  readonly incompleteBatches: number;
  /** Produce requests outstanding. */
  readonly inFlightRequests: number;
  /** Records acknowledged. */
  readonly recordsSent: number;
  /** Records that failed. */
  readonly recordsFailed: number;
  /** Batches sent (retries included). */
  readonly batchesSent: number;
  /** Produce requests sent. */
  readonly requestsSent: number;
  /** Batch retries. */
  readonly retries: number;
  /** Batches split after MESSAGE_TOO_LARGE. */
  readonly splits: number;
  /**
   * Batches sent before their linger ended because their leader had no request in flight
   * (idle flush; always 0 with `lingerWhenIdle: true`).
   */
  readonly idleFlushes: number;
  /** Batches compressed by a compression worker (see `compressionWorkers`). */
  readonly workerCompressedBatches: number;
  /** Compression workers running now (they start with the first large compressed batch). */
  readonly compressionWorkersRunning: number;
  /**
   * Of those, the ones that have loaded and take batches (until then batches are compressed
   * on the producer's thread).
   */
  readonly compressionWorkersReady: number;
  /** The idempotent producer id, or -1n. */
  readonly producerId: bigint;
  /** Its epoch, or -1. */
  readonly producerEpoch: number;
}

/**
 * A Kafka producer. Write records through {@linkcode Producer.writable} (a
 * `WritableStream<ProducerRecord>` whose writes resolve once the record is in a batch, and
 * which waits while the byte budget is full), or `await producer.send(record)` for the
 * broker's acknowledgement.
 *
 * @example
 * ```ts ignore
 * import { Producer } from "@denokafka/kafka/producer";
 * await using producer = new Producer({ brokers: ["127.0.0.1:9092"], defaultTopic: "events" });
 * const md = await producer.send({ key: "k", value: "hello" });
 * console.log(md.partition, md.offset);
 * await ReadableStream.from([{ value: "a" }, { value: "b" }]).pipeTo(producer.writable);
 * ```
 */
export class Producer implements AsyncDisposable {
  readonly #options: ResolvedProducerOptions;
  readonly #cluster: Cluster;
  readonly #ownsCluster: boolean;
  readonly #logger: Logger;
  readonly #metadata: ProducerMetadata;
  readonly #accumulator: Accumulator;
  readonly #intake: Intake;
  /** The producer's state and the call-backs between its parts. */
  readonly #wiring = new ProducerWiring();
  readonly #background = new Background();
  readonly #track = this.#background.track;
  readonly #closeController = new AbortController();
  #writable: WritableStream<ProducerRecord>;
  /** The current writable was closed, aborted or errored: the getter makes a new one. */
  #writableDone = false;
  readonly #deliveries = new Deliveries();
  readonly #idempotence: Idempotence;
  readonly #txn: TransactionManager | undefined;
  readonly #sender: Sender;
  readonly #compressionPool: CompressionPool | undefined;
  #closePromise: Promise<void> | undefined;

  /** Creates a producer. Nothing connects until the first record (or `initTransactions`). */
  constructor(options: ProducerOptions) {
    this.#options = resolveProducerOptions(options);
    const chosen = options.partitioner ?? "default";
    const partitioner = typeof chosen === "function"
      ? chosen
      : chosen === "default"
      ? null
      : builtInPartitioner(chosen);
    if (options.cluster) {
      this.#cluster = options.cluster;
      this.#ownsCluster = false;
    } else {
      this.#cluster = new Cluster(options);
      this.#ownsCluster = true;
    }
    this.#logger = this.#cluster.logger;
    const signal = this.#closeController.signal;
    const wiring = this.#wiring;
    const codec = compressionFromName(this.#options.compression);
    this.#compressionPool = codec !== 0 && this.#options.compressionWorkers > 0
      ? new CompressionPool(this.#options.compressionWorkers, this.#logger)
      : undefined;
    this.#accumulator = new Accumulator(
      this.#options,
      codec,
      wiring,
      this.#compressionPool ?? null,
    );
    this.#metadata = new ProducerMetadata(
      this.#cluster,
      this.#options,
      signal,
      this.#track,
      wiring,
    );
    this.#idempotence = new Idempotence(
      this.#cluster,
      this.#options,
      this.#metadata,
      signal,
      this.#track,
      wiring,
    );
    this.#txn = this.#options.transactionalId === undefined ? undefined : new TransactionManager(
      this.#cluster,
      this.#options,
      this.#idempotence,
      signal,
      this.#track,
      wiring,
    );
    this.#sender = new Sender({
      cluster: this.#cluster,
      options: this.#options,
      accumulator: this.#accumulator,
      metadata: this.#metadata,
      idempotence: this.#idempotence,
      transactions: this.#txn,
      deliveries: this.#deliveries,
      track: this.#track,
      hooks: wiring,
      // Only a caller's cluster needs it: closing our own ends our requests (see SenderParts).
      ...!this.#ownsCluster && { signal },
    });
    this.#intake = new Intake({
      options: this.#options,
      metadata: this.#metadata,
      accumulator: this.#accumulator,
      deliveries: this.#deliveries,
      partitioner,
      transactions: this.#txn,
      host: wiring,
    });
    wiring.bind({
      accumulator: this.#accumulator,
      intake: this.#intake,
      sender: this.#sender,
      transactions: this.#txn,
    });
    this.#writable = this.#newWritable();
  }

  /**
   * One writable stream over the producer. A stream ends for good when it is closed, aborted
   * or errored (Web Streams have no way back), so the producer makes a new one for the next
   * pipe (see {@linkcode writable}).
   */
  #newWritable(): WritableStream<ProducerRecord> {
    this.#writableDone = false;
    const gate: WritableGate = { open: true };
    const done = () => {
      gate.open = false;
      if (this.#writable === stream) this.#writableDone = true;
    };
    const failed = (e: unknown): never => {
      done();
      throw e;
    };
    const queue = new WriteQueue();
    const intake = this.#intake;
    const stream: WritableStream<ProducerRecord> = new ProducerWritable(
      {
        start: (c) => this.#deliveries.bindStream(c, done),
        write: (record) => {
          queue.taken(record);
          // A record that fails here errors the stream: it is done, as when a batch fails.
          try {
            return intake.write(record)?.catch(failed);
          } catch (e) {
            return failed(e);
          }
        },
        close: async () => {
          done();
          await this.flush();
          const error = this.#deliveries.streamError;
          if (error) throw error;
        },
        // Aborting the stream (e.g. a pipe whose source failed) stops the stream only: records
        // already accepted are still delivered. `producer.abort()` discards them.
        abort: done,
      },
      queue,
      (record) => intake.offer(record),
      gate,
    );
    return stream;
  }

  /**
   * The producer as a `WritableStream`: each write resolves once the record is in a batch, and
   * waits (backpressure) while `bufferedBytes` is at the budget. The stream queues up to 16 KiB
   * of records ahead of the producer before its `desiredSize` drops to 0 (keys and values plus
   * 64 bytes a record), so a writer that waits on `ready` hands records over in runs. Closing it waits until every
   * record is acknowledged, and rejects if one failed. A record that fails errors the stream,
   * unless {@linkcode deliveryReports} is being read, where its error is reported instead.
   *
   * Pipes are not single-use: once the stream was closed, aborted (e.g. a `pipeTo` stopped by
   * its signal) or errored, the next read of `writable` returns a new stream over the same
   * producer, so `source.pipeTo(producer.writable)` works again. While a stream is open, the
   * same one is returned.
   *
   * Its `getWriter()` returns a writer that, while the stream has nothing queued or in
   * flight, hands each record to the producer itself instead of through the stream's queue
   * (the same call at the same moment, without the stream's per-write promises); its writes
   * then resolve at once. Ordering, backpressure (`ready`, `desiredSize`), errors, `close`,
   * `abort` and `releaseLock` are those of a standard writer.
   */
  get writable(): WritableStream<ProducerRecord> {
    if (this.#writableDone && this.#wiring.state === "open") this.#writable = this.#newWritable();
    return this.#writable;
  }

  /** Bytes of records accepted and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.#accumulator.bufferedBytes;
  }

  /** Counters and gauges. */
  metrics(): ProducerMetrics {
    const stats = this.#sender.stats;
    return {
      bufferedBytes: this.#accumulator.bufferedBytes,
      maxBufferedBytes: this.#accumulator.maxBufferedBytes,
      bufferMemory: this.#options.bufferMemory,
      waitingRecords: this.#intake.length,
      incompleteBatches: this.#accumulator.incomplete.size,
      inFlightRequests: stats.inFlight,
      recordsSent: stats.recordsSent,
      recordsFailed: stats.recordsFailed,
      batchesSent: stats.batchesSent,
      requestsSent: stats.requestsSent,
      retries: stats.retries,
      splits: stats.splits,
      idleFlushes: stats.idleFlushes,
      workerCompressedBatches: this.#accumulator.workerCompressed,
      compressionWorkersRunning: this.#compressionPool?.running ?? 0,
      compressionWorkersReady: this.#compressionPool?.ready ?? 0,
      producerId: this.#idempotence.producerId,
      producerEpoch: this.#idempotence.producerEpoch,
    };
  }

  /**
   * A stream of the outcome of every record written through {@linkcode writable} from now on,
   * in order per partition. While it is open, a failed record is reported here instead of
   * erroring the writable. Cancel it to stop (its queue is unbounded: keep reading). One
   * reader at a time.
   */
  deliveryReports(): ReadableStream<DeliveryReport> {
    if (this.#deliveries.reporting) {
      throw new TypeError("deliveryReports() is already being read; cancel it first");
    }
    if (this.#wiring.state === "closed") throw new ClosedError("producer");
    return this.#deliveries.open();
  }

  /**
   * A new sink for one pipeline: a `WritableStream` of {@linkcode PipelineEnvelope}s (a consumed
   * record and the records it became, see `mapRecords`) that writes the records and commits
   * the source offsets under `options.guarantee`:
   *
   * - `"at-least-once"`: a source offset is committed (by `options.consumer.commit()`) only
   *   after every record derived from it was acknowledged, in order per partition;
   * - `"exactly-once"` (needs a `transactionalId`; calls `initTransactions()` if not done):
   *   records and source offsets are committed in one transaction per
   *   `transactionRecords` (100,000) or `transactionMs` (100 ms).
   *
   * Each call makes a new stream, so the producer serves pipe after pipe, aborted or not. A
   * failure errors the stream with a `PipelineError`: restart from the committed offsets
   * with a new consumer. Aborting the pipe aborts an exactly-once sink's open transaction and
   * commits what an at-least-once sink has acknowledged.
   *
   * ```ts ignore
   * await consumer
   *   .pipeThrough(mapRecords((r) => ({ topic: "out", key: r.key, value: r.value })))
   *   .pipeTo(producer.sink({ consumer, guarantee: "exactly-once" }), { signal });
   * ```
   */
  sink(options: PipelineSinkOptions): WritableStream<PipelineChunk> {
    if (this.#wiring.state !== "open") throw new ClosedError("producer");
    return createSink({
      write: (record, delivery) => this.#intake.write(record, delivery),
      transactionState: () => this.#txn?.state,
      initTransactions: () => this.initTransactions(),
      beginTransaction: () => this.beginTransaction(),
      sendOffsetsToTransaction: (offsets, group) => this.sendOffsetsToTransaction(offsets, group),
      commitTransaction: () => this.commitTransaction(),
      abortTransaction: () => this.abortTransaction(),
      flush: () => this.flush(),
      warn: (message, error) => this.#logger.warn(message, { error: errorText(error) }),
    }, options);
  }

  // ---------------------------------------------------------------------------------------
  // Intake

  /**
   * Sends a record (or several) and resolves with where each was written once the broker
   * acknowledged it. Bad records reject with TypeError/RangeError or a typed KafkaError.
   */
  send(record: ProducerRecord, options?: SendOptions): Promise<RecordMetadata>;
  /** Sends records in order; resolves with their metadata in the same order. */
  send(records: readonly ProducerRecord[], options?: SendOptions): Promise<RecordMetadata[]>;
  send(
    input: ProducerRecord | readonly ProducerRecord[],
    options: SendOptions = {},
  ): Promise<RecordMetadata | RecordMetadata[]> {
    if (Array.isArray(input)) {
      return Promise.all(
        (input as readonly ProducerRecord[]).map((r) => this.#intake.send(r, options.signal)),
      );
    }
    return this.#intake.send(input as ProducerRecord, options.signal);
  }

  // ---------------------------------------------------------------------------------------
  // Transactions

  #transactions(): TransactionManager {
    if (this.#txn === undefined) {
      throw new TransactionStateError("this producer has no transactionalId");
    }
    return this.#txn;
  }

  /**
   * Registers the transactional id with its coordinator and gets the producer id and epoch,
   * fencing any older producer with the same id (and completing its open transaction).
   */
  async initTransactions(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#transactions().init(options.signal);
  }

  /** Starts a transaction: records sent from now on are committed or aborted together. */
  beginTransaction(): void {
    this.#transactions().begin();
  }

  /**
   * Adds consumed offsets to the transaction (AddOffsetsToTxn, then TxnOffsetCommit to the
   * group coordinator): they are committed if and only if the transaction commits.
   * `group` is what `consumer.groupMetadata()` returns.
   */
  async sendOffsetsToTransaction(
    offsets: readonly TransactionOffset[],
    group: ConsumerGroupMetadata,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.#transactions().sendOffsets(offsets, group, options.signal);
  }

  /**
   * Commits the transaction: waits until every record sent in it is acknowledged, then
   * EndTxn(commit). If a record failed, it throws an abortable TransactionStateError.
   */
  async commitTransaction(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#transactions().commit(options.signal);
  }

  /** Aborts the transaction: unsent records fail, sent ones are discarded by readers. */
  async abortTransaction(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#transactions().abort(options.signal);
  }

  /**
   * Runs `fn` inside a transaction: commits when it resolves, aborts (and rethrows) when it
   * throws.
   *
   * ```ts ignore
   * await producer.transaction(async (tx) => {
   *   await tx.send({ topic: "out", value: "x" });
   *   await tx.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
   * });
   * ```
   */
  async transaction<T>(fn: (tx: this) => Promise<T> | T): Promise<T> {
    this.beginTransaction();
    let result: T;
    try {
      result = await fn(this);
    } catch (e) {
      if (this.#txn?.fatal !== true && this.#wiring.state === "open") {
        await this.abortTransaction().catch((abortError) => {
          this.#logger.warn("abort after a failed transaction body failed", {
            error: errorText(abortError),
          });
        });
      }
      throw e;
    }
    try {
      await this.commitTransaction();
    } catch (e) {
      if (e instanceof TransactionStateError && e.abortable) {
        await this.abortTransaction().catch(() => {});
      }
      throw e;
    }
    return result;
  }

  // ---------------------------------------------------------------------------------------
  // Flush, close

  /**
   * Sends everything accepted so far without waiting for `lingerMs`, and resolves once all of
   * it is acknowledged or failed (failures are reported where the records came from).
   */
  async flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#wiring.flush(options.signal);
  }

  /**
   * Stops accepting records, delivers what was accepted (giving up after `timeoutMs`, if set),
   * and closes the connections. An open transaction is aborted. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closePromise ??= this.#close(options);
    return this.#closePromise;
  }

  async #close(options: CloseOptions): Promise<void> {
    if (this.#wiring.state === "open") this.#wiring.state = "closing";
    // One deadline for the whole close: aborting a transaction and flushing share it.
    using deadline = new Deadline({ timeoutMs: options.timeoutMs, what: "producer close" });
    const timeout = options.timeoutMs === undefined ? undefined : deadline.signal;
    try {
      if (this.#txn?.open) {
        this.#wiring.state = "open";
        try {
          await this.abortTransaction(timeout ? { signal: timeout } : {});
        } catch { /* best effort: the coordinator times it out otherwise */ }
        this.#wiring.state = "closing";
      }
      try {
        await this.#wiring.flush(timeout);
      } catch { /* timed out: fail the rest below */ }
    } finally {
      await this.#shutdown(new ClosedError("producer"));
    }
  }

  /**
   * Closes at once: records not yet acknowledged fail with ClosedError (whose cause is
   * `reason`), and open connections are dropped. A cluster passed in as `cluster` stays open:
   * the producer's own requests on it are given up instead.
   */
  abort(reason?: unknown): Promise<void> {
    this.#closePromise ??= this.#shutdown(
      new ClosedError("producer", reason === undefined ? {} : { cause: reason }),
    );
    return this.#closePromise;
  }

  async #shutdown(error: ClosedError): Promise<void> {
    this.#wiring.state = "closing";
    this.#sender.failAll(error);
    this.#wiring.state = "closed";
    this.#sender.stop();
    this.#intake.stop();
    // Batches still with a worker were failed above: what comes back is dropped.
    this.#compressionPool?.close();
    this.#closeController.abort(error);
    if (this.#ownsCluster) await this.#cluster.close();
    // In-flight requests now fail; their batches fail with them.
    await this.#background.settled();
    for (const batch of [...this.#accumulator.incomplete]) this.#sender.fail(batch, error);
    this.#deliveries.close(error);
  }

  /** `await using` support: {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
