/**
 * The producer: a `WritableStream<ProducerRecord>` with Web Streams backpressure, awaited
 * `send()`s, per-partition batching (the accumulator), one Produce request per broker (the
 * sender), idempotence and transactions.
 *
 * Design, in Java's terms: each record is encoded once, straight into its partition's open
 * `RecordBatchBuilder` (no per-record object is kept besides a `send()` promise's callbacks).
 * A batch is ready when it is full, when it has lingered `lingerMs`, or when something waits
 * (flush, close, a full buffer). The sender drains at most one batch per partition into one
 * request per leader, keeps at most `maxInFlight` requests per broker, and settles each batch
 * from its partition response: success, retry (in sequence order, with backoff, until the
 * delivery timeout), split (MESSAGE_TOO_LARGE) or failure. Sequence numbers, epoch bumps and
 * the retry rules for OUT_OF_ORDER_SEQUENCE_NUMBER and UNKNOWN_PRODUCER_ID follow the Java
 * client's TransactionManager.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import { Api, type ApiDef } from "../protocol/apis.ts";
import { compressionFromName } from "../protocol/compression/mod.ts";
import {
  abortReason,
  ClosedError,
  ConnectionError,
  errorCodeInfo,
  KafkaError,
  ProtocolError,
  TimeoutError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import type { Logger } from "../protocol/logger.ts";
import type {
  ProduceRequestPartitionProduceData,
  ProduceRequestTopicProduceData,
  ProduceResponse,
  ProduceResponsePartitionProduceResponse,
} from "../protocol/messages/produce.ts";
import { decodeRecordBatches } from "../protocol/record_batch_decoder.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import { incrementSequence, type PartitionState, ProducerBatch, type TopicState } from "./batch.ts";
import { Deliveries, SendDelivery } from "./delivery.ts";
import { ProducerFencedError, TransactionStateError } from "./errors.ts";
import { Fifo } from "./fifo.ts";
import { Accumulator } from "./accumulator.ts";
import { type IntakeEntry, recordTimestamp, toBytes, toHeaders } from "./intake.ts";
import { ProducerMetadata } from "./metadata.ts";
import { Idempotence } from "./idempotence.ts";
import { TransactionManager } from "./transaction_manager.ts";
import { Background, errorText } from "./background.ts";
import {
  type ProducerOptions,
  type ResolvedProducerOptions,
  resolveProducerOptions,
} from "./options.ts";
import { builtInPartitioner, javaPartitionForKey, type Partitioner } from "./partitioners.ts";
import type {
  ConsumerGroupMetadata,
  DeliveryReport,
  ProducerRecord,
  RecordMetadata,
  TransactionOffset,
} from "./record.ts";

// Error codes the producer treats specially.
const MESSAGE_TOO_LARGE = 10;
const DUPLICATE_SEQUENCE_NUMBER = 46;
const INVALID_PRODUCER_EPOCH = 47;
const PRODUCER_FENCED = 90;
/** The last Produce version without KIP-890 implicit partition adds (transactions v1). */
const PRODUCE_TXN_V1_MAX = 11;

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
  readonly #o: ResolvedProducerOptions;
  readonly #cluster: Cluster;
  readonly #ownsCluster: boolean;
  readonly #logger: Logger;
  readonly #partitioner: Partitioner | null;
  readonly #metadata: ProducerMetadata;
  readonly #accumulator: Accumulator;
  readonly #nodes = new Map<number, number>();
  readonly #intake = new Fifo<IntakeEntry>();
  readonly #background = new Background();
  readonly #track = this.#background.track;
  readonly #closeController = new AbortController();
  readonly #writable: WritableStream<ProducerRecord>;
  readonly #deliveries = new Deliveries();
  #flushing = 0;
  #state: "open" | "closing" | "closed" = "open";
  #closePromise: Promise<void> | undefined;
  #forced: Error | undefined;
  #wakeQueued = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  // Idempotence.
  readonly #idempotence: Idempotence;
  // Transactions.
  readonly #txn: TransactionManager | undefined;
  // Metrics.
  #recordsSent = 0;
  #recordsFailed = 0;
  #batchesSent = 0;
  #requestsSent = 0;
  #retries = 0;
  #splits = 0;
  #inFlight = 0;

  /** Creates a producer. Nothing connects until the first record (or `initTransactions`). */
  constructor(options: ProducerOptions) {
    this.#o = resolveProducerOptions(options);
    const p = options.partitioner ?? "default";
    if (typeof p === "function") this.#partitioner = p;
    else this.#partitioner = p === "default" ? null : builtInPartitioner(p);
    if (options.cluster) {
      this.#cluster = options.cluster;
      this.#ownsCluster = false;
    } else {
      this.#cluster = new Cluster(options);
      this.#ownsCluster = true;
    }
    this.#logger = this.#cluster.logger;
    this.#accumulator = new Accumulator(this.#o, compressionFromName(this.#o.compression), {
      wake: () => this.#wake(),
      opened: (_ps, lingerEndsAt) => {
        if (this.#o.lingerMs > 0) this.#scheduleAt(lingerEndsAt);
      },
    });
    this.#metadata = new ProducerMetadata(
      this.#cluster,
      this.#o,
      this.#closeController.signal,
      this.#track,
      {
        ready: () => {
          this.#pump();
          this.#wake();
        },
        failed: (t, error) => {
          const failed = this.#intake.removeWhere((e) =>
            (e.record.topic ?? this.#o.defaultTopic) === t.name
          );
          for (const e of failed) e.failed(error);
          this.#pump();
        },
        refreshed: () => this.#wake(),
      },
    );
    this.#idempotence = new Idempotence(
      this.#cluster,
      this.#o,
      this.#metadata,
      this.#closeController.signal,
      this.#track,
      {
        wake: () => this.#wake(),
        failUnsent: (error) => {
          for (const b of [...this.#accumulator.incomplete]) {
            if (!b.sending) this.#fail(b, error, { code: -1, adjustSequences: false });
          }
        },
        abortTransaction: (error) => this.#txn?.failed(error),
      },
    );
    this.#txn = this.#o.transactionalId === undefined ? undefined : new TransactionManager(
      this.#cluster,
      this.#o,
      this.#idempotence,
      this.#closeController.signal,
      this.#track,
      {
        wake: () => this.#wake(),
        drain: () => this.#drain(),
        flush: (signal) => this.#flushAll(signal),
        isOpen: () => this.#state === "open",
      },
    );
    this.#writable = new WritableStream<ProducerRecord>({
      start: (c) => this.#deliveries.bindStream(c),
      write: (record) => this.#streamWrite(record),
      close: async () => {
        await this.flush();
        const error = this.#deliveries.streamError;
        if (error) throw error;
      },
      // Aborting the stream (e.g. a pipe whose source failed) stops the stream only: records
      // already accepted are still delivered. `producer.abort()` discards them.
      abort: () => {},
    }, new CountQueuingStrategy({ highWaterMark: 1 }));
  }

  /**
   * The producer as a `WritableStream`: each write resolves once the record is in a batch, and
   * waits (backpressure) while `bufferedBytes` is at the budget. Closing it waits until every
   * record is acknowledged, and rejects if one failed. A record that fails errors the stream,
   * unless {@linkcode deliveryReports} is being read, where its error is reported instead.
   */
  get writable(): WritableStream<ProducerRecord> {
    return this.#writable;
  }

  /** Bytes of records accepted and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.#accumulator.bufferedBytes;
  }

  /** Counters and gauges. */
  metrics(): ProducerMetrics {
    return {
      bufferedBytes: this.#accumulator.bufferedBytes,
      maxBufferedBytes: this.#accumulator.maxBufferedBytes,
      bufferMemory: this.#o.bufferMemory,
      waitingRecords: this.#intake.length,
      incompleteBatches: this.#accumulator.incomplete.size,
      inFlightRequests: this.#inFlight,
      recordsSent: this.#recordsSent,
      recordsFailed: this.#recordsFailed,
      batchesSent: this.#batchesSent,
      requestsSent: this.#requestsSent,
      retries: this.#retries,
      splits: this.#splits,
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
    if (this.#state === "closed") throw new ClosedError("producer");
    return this.#deliveries.open();
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
      return Promise.all((input as readonly ProducerRecord[]).map((r) => this.#send(r, options)));
    }
    return this.#send(input as ProducerRecord, options);
  }

  #send(record: ProducerRecord, options: SendOptions): Promise<RecordMetadata> {
    const refused = this.#refuse();
    if (refused) return Promise.reject(refused);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const d = new SendDelivery();
    if (signal) d.watch(signal, () => this.#intake.removeWhere((e) => e.delivery === d));
    try {
      if (this.#intake.length === 0 && this.#tryAppend(record, d)) return d.promise;
    } catch (e) {
      d.reject(e as Error);
      return d.promise;
    }
    this.#intake.push({ record, delivery: d, accepted: null, failed: d.reject, signal });
    return d.promise;
  }

  #streamWrite(record: ProducerRecord): Promise<void> | undefined {
    const refused = this.#refuse();
    if (refused) throw refused;
    if (this.#intake.length === 0 && this.#tryAppend(record, null)) return undefined;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#intake.push({
      record,
      delivery: null,
      accepted: resolve,
      failed: reject,
      signal: undefined,
    });
    return promise;
  }

  /**
   * Why a record may not be appended now, if it may not. Records that waited in the intake
   * were sent inside the transaction: they still go in while it commits.
   */
  #refuse(fromIntake = false): Error | undefined {
    if (this.#state !== "open" && !(fromIntake && this.#state === "closing")) {
      return new ClosedError("producer");
    }
    return this.#txn?.refusal(fromIntake);
  }

  /**
   * Encodes a record into its partition's batch. Returns false when it must wait (topic
   * metadata unknown, or the buffer budget full); throws for a bad record.
   */
  #tryAppend(r: ProducerRecord, d: SendDelivery | null): boolean {
    if (r === null || typeof r !== "object") throw new TypeError("a record must be an object");
    const name = r.topic ?? this.#o.defaultTopic;
    if (typeof name !== "string" || name === "") {
      throw new TypeError("the record names no topic and the producer has no defaultTopic");
    }
    const t = this.#metadata.topic(name);
    if (!t.ready) return false;
    const key = toBytes(r.key, "key");
    const value = toBytes(r.value, "value");
    const headers = r.headers === undefined || r.headers.length === 0
      ? undefined
      : toHeaders(r.headers);
    const ts = recordTimestamp(r);
    const chosen = this.#partition(t, r.partition, key);
    const count = t.partitions.length;
    const p = chosen >= 0 ? chosen : t.sticky.current(count, t.available);
    const ps = t.partitions[p]!;
    const report = d === null && this.#deliveries.reporting ? r : null;
    const grew = this.#accumulator.append(ps, ts, key, value, headers, d, report);
    if (grew < 0) return false;
    if (chosen < 0) t.sticky.produced(grew, count, t.available);
    this.#txn?.appended(ps);
    return true;
  }

  /** The record's partition, or -1 for the uniform sticky choice (keyless records). */
  #partition(t: TopicState, explicit: number | undefined, key: Uint8Array | null): number {
    const count = t.partitions.length;
    if (explicit !== undefined) {
      if (!Number.isInteger(explicit) || explicit < 0 || explicit >= count) {
        throw new RangeError(
          `partition ${explicit} does not exist: topic "${t.name}" has ${count}`,
        );
      }
      return explicit;
    }
    if (this.#partitioner === null) return key === null ? -1 : javaPartitionForKey(key, count);
    const p = this.#partitioner({
      topic: t.name,
      key,
      partitionCount: count,
      available: t.available,
    });
    if (p !== -1 && (!Number.isInteger(p) || p < 0 || p >= count)) {
      throw new RangeError(`the partitioner chose partition ${p} of ${count} for "${t.name}"`);
    }
    return p;
  }

  /** Moves waiting records into batches, in order, as far as metadata and memory allow. */
  #pump(): void {
    while (this.#intake.length > 0) {
      const e = this.#intake.peek()!;
      if (e.signal?.aborted) {
        this.#intake.shift();
        e.failed(abortReason(e.signal));
        continue;
      }
      const refused = this.#refuse(true);
      let ok: boolean;
      try {
        if (refused) throw refused;
        ok = this.#tryAppend(e.record, e.delivery);
      } catch (err) {
        this.#intake.shift();
        e.failed(err as Error);
        continue;
      }
      if (!ok) return;
      this.#intake.shift();
      e.accepted?.();
    }
    this.#accumulator.memoryWait = false;
  }

  // ---------------------------------------------------------------------------------------
  // Sender

  #wake(): void {
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      this.#drain();
    });
  }

  #scheduleAt(at: number): void {
    if (at >= this.#timerAt || this.#state === "closed") return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#drain();
    }, Math.max(0, at - Date.now()));
  }

  #drain(): void {
    if (this.#state === "closed") return;
    try {
      this.#drainOnce();
    } catch (e) {
      // A bug here must not leave records hanging: fail everything loudly.
      this.#logger.error("producer sender failed", { error: errorText(e) });
      this.#failAll(e instanceof Error ? e : new KafkaError(String(e)));
    }
  }

  #drainOnce(): void {
    const now = Date.now();
    this.#metadata.sync();
    const o = this.#o;
    const txn = this.#txn;
    if (txn !== undefined) {
      const fatal = txn.fatal;
      const error = txn.unsentError();
      if (error !== undefined) this.#failUndrained(error);
      if (fatal) return;
    }
    if (o.idempotent) {
      if (!this.#idempotence.beforeDrain()) return;
    }
    const urgent = this.#flushing > 0 || this.#state !== "open" ||
      this.#accumulator.memoryWait;
    let nextAt = Infinity;
    let requests: Map<number, ProducerBatch[]> | undefined;
    let sizes: Map<number, number> | undefined;
    const acc = this.#accumulator;
    for (const ps of acc.active) {
      const b = ps.queue[0];
      if (b === undefined) {
        acc.deactivate(ps);
        continue;
      }
      if (now - b.createdMs >= o.deliveryTimeoutMs) {
        this.#expire(b);
        nextAt = now;
        continue;
      }
      const lingerEnd = acc.lingerEnd(ps, b, urgent);
      if (lingerEnd > now) {
        if (lingerEnd < nextAt) nextAt = lingerEnd;
        continue;
      }
      if (b.retryAtMs > now) {
        if (b.retryAtMs < nextAt) nextAt = b.retryAtMs;
        continue;
      }
      const leader = this.#cluster.leaderFor(ps.topic.name, ps.partition);
      if (leader < 0) {
        this.#metadata.refreshSoon();
        continue;
      }
      if ((this.#nodes.get(leader) ?? 0) >= o.maxInFlight) continue;
      if (!o.idempotent && ps.sending > 0) continue;
      if (o.idempotent && this.#idempotence.shouldStopDrain(ps, b)) continue;
      if (txn !== undefined && !txn.maySend(ps)) continue;
      requests ??= new Map();
      sizes ??= new Map();
      const size = sizes.get(leader) ?? 0;
      if (size > 0 && size + b.size > o.maxRequestSize) continue;
      acc.take(ps, b);
      this.#prepare(ps, b);
      sizes.set(leader, size + b.bytes!.length);
      const list = requests.get(leader);
      if (list) list.push(b);
      else requests.set(leader, [b]);
    }
    if (requests !== undefined) {
      for (const [node, batches] of requests) this.#sendProduce(node, batches);
      // Partitions may hold more ready batches; drain again once these are on their way.
      this.#wake();
    }
    if (nextAt < Infinity) this.#scheduleAt(nextAt);
  }

  /** Assigns the sequence (first drain only) and finishes the batch's bytes. */
  #prepare(ps: PartitionState, b: ProducerBatch): void {
    if (b.bytes !== null) return;
    if (this.#o.idempotent && b.baseSequence < 0) this.#idempotence.assignSequence(ps, b);
    b.finish();
  }

  #sendProduce(node: number, batches: ProducerBatch[]): void {
    this.#nodes.set(node, (this.#nodes.get(node) ?? 0) + 1);
    this.#inFlight++;
    for (const b of batches) {
      b.sending = true;
      b.attempts++;
      b.ps.sending++;
    }
    this.#requestsSent++;
    this.#batchesSent += batches.length;
    this.#track(
      this.#produce(node, batches).catch((e) => {
        this.#logger.error("produce response handling failed", { error: errorText(e) });
        this.#failAll(e instanceof Error ? e : new KafkaError(String(e)));
      }).finally(() => {
        this.#inFlight--;
        this.#nodes.set(node, (this.#nodes.get(node) ?? 1) - 1);
        this.#wake();
      }),
    );
  }

  async #produce(node: number, batches: ProducerBatch[]): Promise<void> {
    const o = this.#o;
    let res: ProduceResponse | undefined;
    let useIds = false;
    try {
      const conn = await this.#cluster.connectToNode(node, "produce");
      let version = conn.versionFor(Api.Produce as ApiDef<unknown, unknown>);
      if (this.#txn !== undefined) version = Math.min(version, PRODUCE_TXN_V1_MAX);
      if (version >= 13) {
        useIds = batches.every((b) =>
          b.ps.topic.topicId !== "" && b.ps.topic.topicId !== ZERO_UUID
        );
        if (!useIds) version = 12;
      }
      const byTopic = new Map<TopicState, ProduceRequestPartitionProduceData[]>();
      for (const b of batches) {
        const list = byTopic.get(b.ps.topic);
        const data = { index: b.ps.partition, records: b.bytes };
        if (list) list.push(data);
        else byTopic.set(b.ps.topic, [data]);
      }
      const topicData: ProduceRequestTopicProduceData[] = [];
      for (const [t, partitionData] of byTopic) {
        topicData.push(
          useIds ? { topicId: t.topicId, partitionData } : { name: t.name, partitionData },
        );
      }
      res = await conn.request(Api.Produce, {
        transactionalId: o.transactionalId ?? null,
        acks: o.acks,
        timeoutMs: o.requestTimeoutMs,
        topicData,
      }, { version, timeoutMs: o.requestTimeoutMs, expectResponse: o.acks !== 0 });
    } catch (e) {
      for (const b of batches) this.#onSendFailed(b, e);
      return;
    }
    if (o.acks === 0) {
      for (const b of batches) {
        this.#settleSending(b);
        this.#succeed(b, -1n, -1);
      }
      return;
    }
    const lookup = new Map<string, ProducerBatch>();
    for (const b of batches) {
      lookup.set(`${useIds ? b.ps.topic.topicId : b.ps.topic.name}\0${b.ps.partition}`, b);
    }
    for (const tr of res!.responses) {
      const tkey = useIds ? tr.topicId : tr.name;
      for (const pr of tr.partitionResponses) {
        const k = `${tkey}\0${pr.index}`;
        const b = lookup.get(k);
        if (b === undefined) continue;
        lookup.delete(k);
        this.#onPartitionResponse(b, pr);
      }
    }
    for (const b of lookup.values()) {
      this.#onSendFailed(
        b,
        new KafkaError(
          `the broker's Produce response left out ${b.ps.topic.name}-${b.ps.partition}`,
          { retriable: true },
        ),
      );
    }
  }

  #settleSending(b: ProducerBatch): void {
    b.sending = false;
    b.ps.sending--;
  }

  #onPartitionResponse(b: ProducerBatch, pr: ProduceResponsePartitionProduceResponse): void {
    this.#settleSending(b);
    if (b.done) return;
    const code = pr.errorCode;
    if (code === 0) {
      return this.#succeed(b, pr.baseOffset, Number(pr.logAppendTimeMs));
    }
    if (code === MESSAGE_TOO_LARGE && b.count > 1 && this.#forced === undefined) {
      return this.#split(b);
    }
    const info = errorCodeInfo(code);
    if (this.#canRetry(b, code, pr.logStartOffset)) {
      this.#logger.debug("retrying a batch", {
        partition: `${b.ps.topic.name}-${b.ps.partition}`,
        error: info.name,
        sequence: b.baseSequence,
        epoch: b.producerEpoch,
        attempts: b.attempts,
      });
      this.#reenqueue(b);
      if (info.refreshMetadata) this.#metadata.refreshSoon();
      return;
    }
    if (code === DUPLICATE_SEQUENCE_NUMBER) {
      // The broker has the batch but no longer its offset (as Java: success, offset unknown).
      return this.#succeed(b, -1n, -1);
    }
    let message = pr.errorMessage;
    if (pr.recordErrors.length > 0) {
      const first = pr.recordErrors[0]!;
      message = `${message ?? ""} (record ${first.batchIndex}: ${
        first.batchIndexErrorMessage ?? ""
      })`;
    }
    const error = (code === PRODUCER_FENCED || code === INVALID_PRODUCER_EPOCH)
      ? new ProducerFencedError(this.#o.transactionalId, {
        cause: new ProtocolError(code, `${b.ps.topic.name}-${b.ps.partition}`),
      })
      : new ProtocolError(code, `${b.ps.topic.name}-${b.ps.partition}`, message);
    this.#fail(b, error, { code, adjustSequences: true });
    if (info.refreshMetadata) this.#metadata.refreshSoon();
  }

  /** The request failed as a whole (connection lost, timeout...): the outcome is unknown. */
  #onSendFailed(b: ProducerBatch, e: unknown): void {
    this.#settleSending(b);
    if (b.done) return;
    const retriable = e instanceof KafkaError && e.retriable &&
      !(e instanceof UnsupportedVersionError);
    if (retriable && this.#canRetry(b, -1, -1n)) {
      this.#logger.debug("retrying a batch", {
        partition: `${b.ps.topic.name}-${b.ps.partition}`,
        error: errorText(e),
        sequence: b.baseSequence,
        attempts: b.attempts,
      });
      this.#reenqueue(b);
      if (e instanceof ConnectionError || e instanceof TimeoutError) this.#metadata.refreshSoon();
      return;
    }
    const error = e instanceof Error ? e : new KafkaError(String(e));
    this.#fail(b, error, { code: -1, adjustSequences: false });
  }

  #canRetry(b: ProducerBatch, code: number, logStartOffset: bigint): boolean {
    if (this.#state === "closed" || this.#forced !== undefined) return false;
    if (Date.now() - b.createdMs >= this.#o.deliveryTimeoutMs) return false;
    if (code === -1) return true;
    if (!this.#o.idempotent) return errorCodeInfo(code).retriable;
    return this.#idempotence.canRetry(b, code, logStartOffset);
  }

  #reenqueue(b: ProducerBatch): void {
    this.#retries++;
    b.retryAtMs = Date.now() + backoffMs(this.#cluster.retryPolicy, b.attempts);
    this.#accumulator.requeue(b.ps, [b], b.baseSequence);
    this.#scheduleAt(b.retryAtMs);
  }

  /** Java's splitAndReenqueue: re-batch the records of a batch the broker found too large. */
  #split(b: ProducerBatch): void {
    this.#splits++;
    const ps = b.ps;
    const decoded = decodeRecordBatches(b.bytes!).batches[0]!;
    const base = decoded.baseTimestamp;
    const parts: ProducerBatch[] = [];
    let cur: ProducerBatch | null = null;
    let offsetInOld = 0;
    // Halves: the topic's max.message.bytes (a per-batch limit) may be far below batchSize,
    // so repeated splits must converge on single records.
    const target = Math.max(1, Math.min(this.#o.batchSize, Math.floor(b.size / 2)));
    for (const rec of decoded.records) {
      const ts = base + rec.timestampDelta;
      if (
        cur !== null &&
        cur.builder!.estimatedSizeAfter(ts, rec.key, rec.value, rec.headers) > target
      ) cur = null;
      if (cur === null) {
        const builder = this.#accumulator.newBuilder(Math.min(b.size, this.#o.batchSize) + 128);
        cur = new ProducerBatch(ps, builder, b.createdMs);
        cur.attempts = b.attempts;
        parts.push(cur);
      }
      // Records copy out of the decoded view before it is dropped.
      cur.builder!.append(ts, rec.key, rec.value, rec.headers);
      const d = b.deliveries?.[offsetInOld];
      if (d !== undefined) (cur.deliveries ??= [])[cur.count] = d;
      else {
        cur.streamCount++;
        const r = b.reported?.[offsetInOld];
        if (r !== undefined) (cur.reported ??= [])[cur.count] = r;
      }
      cur.count++;
      offsetInOld++;
    }
    // The parts inherit the big batch's accounting and its place in sequence order.
    let seq = b.baseSequence;
    for (const p of parts) p.size = p.builder!.sizeInBytes;
    this.#accumulator.split(b, parts);
    for (const p of parts) {
      if (seq >= 0) {
        p.baseSequence = seq;
        p.producerId = b.producerId;
        p.producerEpoch = b.producerEpoch;
        p.builder!.setProducerState(b.producerId, b.producerEpoch, seq);
        seq = incrementSequence(seq, p.count);
      }
      p.finish();
    }
    this.#idempotence.replace(b, parts);
    this.#accumulator.requeue(ps, parts, b.baseSequence);
    b.done = true;
    const waiters = b.waiters;
    b.waiters = null;
    if (waiters) {
      // A flush waiting for the big batch now waits for its parts.
      Promise.all(parts.map((p) => this.#whenDone(p))).then(() => waiters.forEach((w) => w()));
    }
    this.#wake();
  }

  #expire(b: ProducerBatch): void {
    this.#accumulator.remove(b);
    const error = new TimeoutError(
      `${b.count} record(s) for ${b.ps.topic.name}-${b.ps.partition} expired: ` +
        `${Date.now() - b.createdMs} ms passed since the batch was created ` +
        `(deliveryTimeoutMs ${this.#o.deliveryTimeoutMs})`,
      { timeoutMs: this.#o.deliveryTimeoutMs },
    );
    this.#fail(b, error, { code: -1, adjustSequences: false });
  }

  #succeed(b: ProducerBatch, baseOffset: bigint, logAppendTime: number): void {
    if (this.#o.idempotent && b.baseSequence >= 0) this.#idempotence.acknowledged(b, baseOffset);
    this.#recordsSent += b.count;
    this.#complete(b, undefined, baseOffset, logAppendTime);
  }

  /** Java's Sender.failBatch + TransactionManager.handleFailedBatch. */
  #fail(b: ProducerBatch, error: Error, how: { code: number; adjustSequences: boolean }): void {
    this.#accumulator.remove(b);
    if (this.#o.idempotent && b.baseSequence >= 0) {
      this.#txn?.failed(error);
      this.#idempotence.failed(b, how.code, how.adjustSequences, this.#txn?.fatal ?? false);
    } else this.#txn?.failed(error);
    this.#recordsFailed += b.count;
    this.#complete(b, error, -1n, -1);
  }

  #complete(b: ProducerBatch, error: Error | undefined, baseOffset: bigint, logAppend: number) {
    if (b.done) return;
    b.done = true;
    this.#accumulator.release(b);
    this.#deliveries.settle(b, error, baseOffset, logAppend);
    const waiters = b.waiters;
    if (waiters !== null) {
      b.waiters = null;
      for (const w of waiters) w();
    }
    if (this.#intake.length > 0) this.#pump();
  }

  /** Fails every batch not yet drained (transaction aborting, or fatal). */
  #failUndrained(error: Error): void {
    for (const ps of [...this.#accumulator.active]) {
      for (const b of [...ps.queue]) {
        if (b.bytes === null) this.#fail(b, error, { code: -1, adjustSequences: false });
      }
    }
  }

  /** Fails everything: queued and waiting records (used on abort and on internal errors). */
  #failAll(error: Error): void {
    this.#forced ??= error;
    for (const e of this.#intake.removeWhere(() => true)) e.failed(error);
    for (const b of [...this.#accumulator.incomplete]) {
      if (!b.sending) this.#fail(b, error, { code: -1, adjustSequences: false });
    }
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
      if (this.#txn?.fatal !== true && this.#state === "open") {
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

  #whenDone(b: ProducerBatch): Promise<void> {
    if (b.done) return Promise.resolve();
    return new Promise((resolve) => (b.waiters ??= []).push(resolve));
  }

  async #flushAll(signal?: AbortSignal): Promise<void> {
    this.#flushing++;
    try {
      this.#drain();
      while (this.#intake.length > 0 || this.#accumulator.incomplete.size > 0) {
        if (signal?.aborted) throw abortReason(signal);
        if (this.#accumulator.incomplete.size === 0) {
          // Records wait for metadata: poll until they are in batches or failed.
          await sleep(5, signal);
          continue;
        }
        const pending = [...this.#accumulator.incomplete].map((b) => this.#whenDone(b));
        this.#drain();
        if (signal) {
          await Promise.race([
            Promise.all(pending),
            new Promise((_, reject) =>
              signal.addEventListener("abort", () => reject(abortReason(signal)), { once: true })
            ),
          ]);
        } else await Promise.all(pending);
      }
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Sends everything accepted so far without waiting for `lingerMs`, and resolves once all of
   * it is acknowledged or failed (failures are reported where the records came from).
   */
  async flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#flushAll(options.signal);
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
    if (this.#state === "open") this.#state = "closing";
    try {
      if (this.#txn?.open) {
        this.#state = "open";
        try {
          await this.abortTransaction();
        } catch { /* best effort: the coordinator times it out otherwise */ }
        this.#state = "closing";
      }
      const timeout = options.timeoutMs === undefined
        ? undefined
        : AbortSignal.timeout(options.timeoutMs);
      try {
        await this.#flushAll(timeout);
      } catch { /* timed out: fail the rest below */ }
    } finally {
      await this.#shutdown(new ClosedError("producer"));
    }
  }

  /**
   * Closes at once: records not yet acknowledged fail with ClosedError (whose cause is
   * `reason`), and open connections are dropped.
   */
  abort(reason?: unknown): Promise<void> {
    this.#closePromise ??= this.#shutdown(
      new ClosedError("producer", reason === undefined ? {} : { cause: reason }),
    );
    return this.#closePromise;
  }

  async #shutdown(error: ClosedError): Promise<void> {
    this.#state = "closing";
    this.#failAll(error);
    this.#state = "closed";
    this.#closeController.abort(error);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#ownsCluster) await this.#cluster.close();
    // In-flight requests now fail; their batches fail with them.
    await this.#background.settled();
    for (const b of [...this.#accumulator.incomplete]) {
      this.#fail(b, error, { code: -1, adjustSequences: false });
    }
    this.#deliveries.close(error);
  }

  /** `await using` support: {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
