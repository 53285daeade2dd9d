/**
 * The sender (Java's Sender): drains ready batches, at most one per partition, into one
 * Produce request per leader, keeps at most `maxInFlight` requests per broker, and settles
 * each batch from its partition's response: success, retry (in sequence order, with backoff,
 * until the delivery timeout), split (MESSAGE_TOO_LARGE) or failure.
 *
 * It runs as a microtask after something changed (`wake`) or on a timer (the next linger or
 * retry deadline): never on its own loop, so an idle producer costs nothing.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs } from "../cluster/retry.ts";
import { Api } from "../protocol/apis.ts";
import {
  ConnectionError,
  errorCodeInfo,
  KafkaError,
  ProtocolError,
  TimeoutError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import type {
  ProduceRequestPartitionProduceData,
  ProduceRequestTopicProduceData,
  ProduceResponse,
  ProduceResponsePartitionProduceResponse,
} from "../protocol/messages/produce.ts";
import { versionForTopicIds } from "../protocol/topic_id_version.ts";
import type { Accumulator } from "./accumulator.ts";
import { errorText, type Track } from "./background.ts";
import { type PartitionState, type ProducerBatch, splitBatch, type TopicState } from "./batch.ts";
import type { Deliveries } from "./delivery.ts";
import { ProducerFencedError } from "./errors.ts";
import type { Idempotence } from "./idempotence.ts";
import type { ProducerMetadata } from "./metadata.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import type { TransactionManager } from "./transaction_manager.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/** The last Produce version without KIP-890 implicit partition adds (transactions v1). */
const PRODUCE_TXN_V1_MAX = 11;
/** The first Produce version that names topics by id. */
const PRODUCE_TOPIC_IDS = 13;
/**
 * A failure that says nothing of the broker's state: no error code, sequences kept. Outside the
 * int16 range, so no broker code takes it (-1 is UNKNOWN_SERVER_ERROR, which is final).
 */
const NO_CODE = 0x10000;

/**
 * What the sender needs from the producer around it. Implemented by `ProducerWiring`
 * (producer/wiring.ts), which also holds every other call-back between the producer's parts.
 */
export interface SenderHooks {
  /**
   * Whether the producer is open. Read on every drain: once the producer closes, no batch
   * lingers any more.
   */
  isOpen(): boolean;
  /**
   * A batch completed (acknowledged or failed) and freed its bytes of the budget. Called once
   * per completed batch; the wiring then moves records waiting in the intake into batches.
   */
  released(): void;
  /**
   * Everything is being failed (`failAll`: abort, close, a fatal error). Called once; records
   * still waiting in the intake fail with `error` too.
   */
  failWaiting(error: Error): void;
}

/** The parts of the producer the sender works with. */
export interface SenderParts {
  readonly cluster: Cluster;
  readonly options: ResolvedProducerOptions;
  readonly accumulator: Accumulator;
  readonly metadata: ProducerMetadata;
  readonly idempotence: Idempotence;
  readonly transactions: TransactionManager | undefined;
  readonly deliveries: Deliveries;
  readonly track: Track;
  readonly hooks: SenderHooks;
  /**
   * Aborts when the producer closes for good (`abort()`, the end of `close()`): its Produce
   * requests are given up then. On a cluster the caller passed in (`ProducerOptions.cluster`)
   * the connections stay open, so nothing else would end a request the broker never answers,
   * or whose write never completes, before its timeout.
   */
  readonly signal: AbortSignal;
}

/** The sender's counters (see `ProducerMetrics`). */
export class SenderStats {
  recordsSent = 0;
  recordsFailed = 0;
  batchesSent = 0;
  requestsSent = 0;
  retries = 0;
  splits = 0;
  inFlight = 0;
  idleFlushes = 0;
}

/** Moves batches from the accumulator to the brokers and settles them. */
export class Sender {
  /** Counters and gauges. */
  readonly stats = new SenderStats();
  /** Flushes in progress: while any runs, no batch lingers. */
  flushing = 0;
  readonly #cluster: Cluster;
  readonly #options: ResolvedProducerOptions;
  readonly #accumulator: Accumulator;
  readonly #metadata: ProducerMetadata;
  readonly #idempotence: Idempotence;
  readonly #txn: TransactionManager | undefined;
  readonly #deliveries: Deliveries;
  readonly #track: Track;
  readonly #hooks: SenderHooks;
  readonly #signal: AbortSignal;
  /** Requests in flight per node id. */
  readonly #nodes = new Map<number, number>();
  #wakeQueued = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #closed = false;
  /** Set once everything is being failed (abort, internal error): no retries, no splits. */
  #forced: Error | undefined;

  constructor(parts: SenderParts) {
    this.#cluster = parts.cluster;
    this.#options = parts.options;
    this.#accumulator = parts.accumulator;
    this.#metadata = parts.metadata;
    this.#idempotence = parts.idempotence;
    this.#txn = parts.transactions;
    this.#deliveries = parts.deliveries;
    this.#track = parts.track;
    this.#hooks = parts.hooks;
    this.#signal = parts.signal;
  }

  // ---------------------------------------------------------------------------------------
  // Scheduling

  /** Drains at the next microtask (once, however often it is called before). */
  wake(): void {
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(this.#onWake);
  }

  // Bound once, not a closure per wake-up or timer (bench/PROFILE.md, Session 13 P4).
  readonly #onWake = () => {
    this.#wakeQueued = false;
    this.drain();
  };
  readonly #onTimer = () => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.drain();
  };

  /** Drains no later than `at` (ms since the epoch). */
  scheduleAt(at: number): void {
    if (at >= this.#timerAt || this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, at - Date.now()));
  }

  /**
   * A new batch was opened: drain when its linger ends, or at once when its leader is idle
   * (idle flush, unless `lingerWhenIdle`).
   */
  opened(partition: PartitionState, lingerEndsAt: number): void {
    if (this.#options.lingerMs <= 0) return;
    this.scheduleAt(lingerEndsAt);
    if (!this.#options.lingerWhenIdle && this.#leaderIdle(partition)) this.wake();
  }

  /** Whether the partition's leader is known and has no Produce request in flight. */
  #leaderIdle(partition: PartitionState): boolean {
    const leader = this.#cluster.leaderFor(partition.topic.name, partition.partition);
    return leader >= 0 && (this.#nodes.get(leader) ?? 0) === 0;
  }

  /** Stops for good (the producer is closed): no more drains or timers. */
  stop(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sends what is ready now. */
  drain(): void {
    if (this.#closed) return;
    try {
      this.#drainOnce();
    } catch (e) {
      // A bug here must not leave records hanging: fail everything loudly.
      this.#cluster.logger.error("producer sender failed", { error: errorText(e) });
      this.failAll(e instanceof Error ? e : new KafkaError(String(e)));
    }
  }

  // ---------------------------------------------------------------------------------------
  // Draining

  #drainOnce(): void {
    const now = Date.now();
    this.#metadata.sync();
    if (!this.#mayDrain()) return;
    const acc = this.#accumulator;
    const urgent = this.flushing > 0 || !this.#hooks.isOpen() || acc.memoryWait;
    const round = new DrainRound(now, urgent);
    for (const partition of acc.active) this.#drainPartition(partition, round);
    if (round.requests !== undefined) {
      for (const [node, batches] of round.requests) this.#send(node, batches);
      // Partitions may hold more ready batches; drain again once these are on their way.
      this.wake();
    }
    if (round.nextAt < Infinity) this.scheduleAt(round.nextAt);
  }

  /**
   * Whether anything may be drained: not after a fatal transaction error (an aborting one
   * fails what was not sent yet), and not before an idempotent producer has its id.
   */
  #mayDrain(): boolean {
    const txn = this.#txn;
    if (txn !== undefined) {
      const fatal = txn.fatal;
      const error = txn.unsentError();
      if (error !== undefined) this.#failUndrained(error);
      if (fatal) return false;
    }
    return !this.#options.idempotent || this.#idempotence.beforeDrain();
  }

  /** Adds the partition's head batch to the round's request for its leader, if it is ready. */
  #drainPartition(partition: PartitionState, round: DrainRound): void {
    const o = this.#options;
    const acc = this.#accumulator;
    const now = round.now;
    const batch = partition.queue[0];
    if (batch === undefined) return acc.deactivate(partition);
    if (now - batch.createdMs >= o.deliveryTimeoutMs) {
      this.#expire(batch);
      return round.lookAgainAt(now);
    }
    // With a compression worker: its return wakes the sender.
    if (batch.compressing) return;
    const lingerEnd = acc.lingerEnd(partition, batch, round.urgent);
    // Idle flush: an open batch whose leader has nothing in flight goes now; it lingers
    // (and fills) only while requests are in flight.
    const early = lingerEnd > now;
    if (early && (o.lingerWhenIdle || !this.#leaderIdle(partition))) {
      return round.lookAgainAt(lingerEnd);
    }
    if (batch.retryAtMs > now) return round.lookAgainAt(batch.retryAtMs);
    const leader = this.#cluster.leaderFor(partition.topic.name, partition.partition);
    if (leader < 0) return this.#metadata.refreshSoon();
    if (
      !this.#maySend(partition, batch, leader) || !round.fits(leader, batch.size, o.maxRequestSize)
    ) return;
    // A large batch still open goes to a compression worker first; it is sent once back.
    if (batch.builder !== null && acc.compressAhead(batch)) return;
    acc.take(partition, batch);
    if (early) this.stats.idleFlushes++;
    this.#prepare(partition, batch);
    round.add(leader, batch);
  }

  /** Whether the partition's head batch may go to its leader now. */
  #maySend(partition: PartitionState, batch: ProducerBatch, leader: number): boolean {
    const o = this.#options;
    if ((this.#nodes.get(leader) ?? 0) >= o.maxInFlight) return false;
    // Without idempotence, order holds only with one request per partition at a time.
    if (!o.idempotent && partition.sending > 0) return false;
    if (o.idempotent && this.#idempotence.shouldStopDrain(partition, batch)) return false;
    return this.#txn === undefined || this.#txn.maySend(partition);
  }

  /**
   * Assigns the sequence (first drain only) and finishes the batch's bytes (a batch a worker
   * compressed has them: its producer fields are patched).
   */
  #prepare(partition: PartitionState, batch: ProducerBatch): void {
    if (batch.drained) return;
    batch.drained = true;
    if (this.#options.idempotent && batch.baseSequence < 0) {
      this.#idempotence.assignSequence(partition, batch);
    }
    this.#accumulator.finish(batch);
  }

  // ---------------------------------------------------------------------------------------
  // Requests

  #send(node: number, batches: ProducerBatch[]): void {
    this.#nodes.set(node, (this.#nodes.get(node) ?? 0) + 1);
    this.stats.inFlight++;
    for (const batch of batches) {
      batch.sending = true;
      batch.attempts++;
      batch.partition.sending++;
    }
    this.stats.requestsSent++;
    this.stats.batchesSent += batches.length;
    this.#track(this.#produce(node, batches));
  }

  /**
   * Sends one Produce request and settles its batches. Never rejects: a failure in handling
   * the response fails everything. (Its own try/catch/finally rather than a `.catch().finally()`
   * chain on its promise: ~0.4 KB of promises and closures less per request, bench/PROFILE.md,
   * Session 13 P4.)
   */
  async #produce(node: number, batches: ProducerBatch[]): Promise<void> {
    try {
      const o = this.#options;
      let res: ProduceResponse | undefined;
      let useIds = false;
      try {
        const signal = this.#signal;
        const conn = this.#cluster.liveConnection(node, "produce") ??
          await this.#cluster.connectToNode(node, "produce", signal);
        let version = conn.versionFor(Api.Produce);
        if (this.#txn !== undefined) version = Math.min(version, PRODUCE_TXN_V1_MAX);
        version = versionForTopicIds(
          version,
          PRODUCE_TOPIC_IDS,
          batches.map((batch) => batch.partition.topic.topicId),
        );
        useIds = version >= PRODUCE_TOPIC_IDS;
        res = await conn.request(Api.Produce, {
          transactionalId: o.transactionalId ?? null,
          acks: o.acks,
          timeoutMs: o.requestTimeoutMs,
          topicData: topicData(batches, useIds),
          // The batches' bytes go to the socket from their own buffers (no copy into the frame):
          // they are not changed while a write may hold them (ProducerBatch.patchBytes), and
          // reused only once a request that was the batch's only one is answered
          // (Accumulator.release).
        }, {
          version,
          timeoutMs: o.requestTimeoutMs,
          expectResponse: o.acks !== 0,
          zeroCopy: true,
          signal,
        });
      } catch (e) {
        for (const batch of batches) this.#onSendFailed(batch, e);
        return;
      }
      if (o.acks === 0) {
        for (const batch of batches) {
          settleSending(batch);
          this.#succeed(batch, -1n, -1);
        }
        return;
      }
      this.#onResponse(res!, batches, useIds);
    } catch (e) {
      this.#cluster.logger.error("produce response handling failed", { error: errorText(e) });
      this.failAll(e instanceof Error ? e : new KafkaError(String(e)));
    } finally {
      this.stats.inFlight--;
      this.#nodes.set(node, (this.#nodes.get(node) ?? 1) - 1);
      this.wake();
    }
  }

  /** Settles each batch from its partition's part of the response. */
  #onResponse(res: ProduceResponse, batches: ProducerBatch[], useIds: boolean): void {
    if (batches.length === 1) return this.#onResponseOne(res, batches[0]!, useIds);
    const lookup = new Map<string, ProducerBatch>();
    for (const batch of batches) {
      lookup.set(
        `${
          useIds ? batch.partition.topic.topicId : batch.partition.topic.name
        }\0${batch.partition.partition}`,
        batch,
      );
    }
    for (const tr of res.responses) {
      const tkey = useIds ? tr.topicId : tr.name;
      for (const pr of tr.partitionResponses) {
        const k = `${tkey}\0${pr.index}`;
        const batch = lookup.get(k);
        if (batch === undefined) continue;
        lookup.delete(k);
        this.#onPartitionResponse(batch, pr);
      }
    }
    for (const batch of lookup.values()) this.#onSendFailed(batch, leftOut(batch));
  }

  /**
   * #onResponse for a request of one batch (every awaited send, and any produce to one
   * partition per leader), without the lookup Map and its string keys: ~0.8 KB of garbage per
   * awaited send (bench/PROFILE.md, Session 13 P4).
   */
  #onResponseOne(res: ProduceResponse, batch: ProducerBatch, useIds: boolean): void {
    const partition = batch.partition;
    const topic = useIds ? partition.topic.topicId : partition.topic.name;
    for (const tr of res.responses) {
      if ((useIds ? tr.topicId : tr.name) !== topic) continue;
      for (const pr of tr.partitionResponses) {
        if (pr.index === partition.partition) return this.#onPartitionResponse(batch, pr);
      }
    }
    this.#onSendFailed(batch, leftOut(batch));
  }

  #onPartitionResponse(batch: ProducerBatch, pr: ProduceResponsePartitionProduceResponse): void {
    settleSending(batch);
    if (batch.done) return;
    const code = pr.errorCode;
    if (code === ErrorCode.NONE) {
      return this.#succeed(batch, pr.baseOffset, Number(pr.logAppendTimeMs));
    }
    if (code === ErrorCode.MESSAGE_TOO_LARGE && batch.count > 1 && this.#forced === undefined) {
      return this.#split(batch);
    }
    const info = errorCodeInfo(code);
    if (this.#canRetry(batch, code, pr.logStartOffset)) {
      this.#cluster.logger.debug("retrying a batch", {
        partition: `${batch.partition.topic.name}-${batch.partition.partition}`,
        error: info.name,
        sequence: batch.baseSequence,
        epoch: batch.producerEpoch,
        attempts: batch.attempts,
      });
      this.#retry(batch);
      if (info.refreshMetadata) this.#metadata.refreshSoon();
      return;
    }
    if (code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      // The broker has the batch but no longer its offset (as Java: success, offset unknown).
      return this.#succeed(batch, -1n, -1);
    }
    this.#fail(batch, this.#partitionError(batch, pr), code, true);
    if (info.refreshMetadata) this.#metadata.refreshSoon();
  }

  /** The error a partition's response failed a batch with. */
  #partitionError(batch: ProducerBatch, pr: ProduceResponsePartitionProduceResponse): Error {
    const code = pr.errorCode;
    const where = `${batch.partition.topic.name}-${batch.partition.partition}`;
    if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH) {
      return new ProducerFencedError(this.#options.transactionalId, {
        cause: new ProtocolError(code, where),
      });
    }
    let message = pr.errorMessage;
    if (pr.recordErrors.length > 0) {
      const first = pr.recordErrors[0]!;
      message = `${message ?? ""} (record ${first.batchIndex}: ${
        first.batchIndexErrorMessage ?? ""
      })`;
    }
    return new ProtocolError(code, where, message);
  }

  /** The request failed as a whole (connection lost, timeout...): the outcome is unknown. */
  #onSendFailed(batch: ProducerBatch, e: unknown): void {
    settleSending(batch);
    if (batch.done) return;
    const retriable = e instanceof KafkaError && e.retriable &&
      !(e instanceof UnsupportedVersionError);
    if (retriable && this.#canRetry(batch, NO_CODE, -1n)) {
      this.#cluster.logger.debug("retrying a batch", {
        partition: `${batch.partition.topic.name}-${batch.partition.partition}`,
        error: errorText(e),
        sequence: batch.baseSequence,
        attempts: batch.attempts,
      });
      this.#retry(batch);
      if (e instanceof ConnectionError || e instanceof TimeoutError) this.#metadata.refreshSoon();
      return;
    }
    // Aborted: the request died with the connections the abort closed; report the abort.
    this.fail(batch, this.#forced ?? (e instanceof Error ? e : new KafkaError(String(e))));
  }

  // ---------------------------------------------------------------------------------------
  // Retries and splits

  #canRetry(batch: ProducerBatch, code: number, logStartOffset: bigint): boolean {
    if (this.#closed || this.#forced !== undefined) return false;
    if (Date.now() - batch.createdMs >= this.#options.deliveryTimeoutMs) return false;
    if (code === NO_CODE) return true;
    if (!this.#options.idempotent) return errorCodeInfo(code).retriable;
    return this.#idempotence.canRetry(batch, code, logStartOffset);
  }

  #retry(batch: ProducerBatch): void {
    this.stats.retries++;
    batch.retryAtMs = Date.now() + backoffMs(this.#cluster.retryPolicy, batch.attempts);
    this.#accumulator.requeue(batch.partition, [batch], batch.baseSequence);
    this.scheduleAt(batch.retryAtMs);
  }

  /** Java's splitAndReenqueue: re-batch the records of a batch the broker found too large. */
  #split(batch: ProducerBatch): void {
    this.stats.splits++;
    // Halves: the topic's max.message.bytes (a per-batch limit) may be far below batchSize,
    // so repeated splits must converge on single records.
    const target = Math.max(1, Math.min(this.#options.batchSize, Math.floor(batch.size / 2)));
    const capacity = Math.min(batch.size, this.#options.batchSize) + 128;
    const parts = splitBatch(batch, target, () => this.#accumulator.newBuilder(capacity));
    // The parts inherit the big batch's accounting and its place in sequence order.
    this.#accumulator.split(batch, parts);
    this.#idempotence.replace(batch, parts);
    this.#accumulator.requeue(batch.partition, parts, batch.baseSequence);
    batch.done = true;
    const waiters = batch.waiters;
    batch.waiters = null;
    if (waiters) {
      // A flush waiting for the big batch now waits for its parts.
      Promise.all(parts.map((p) => this.whenDone(p))).then(() => waiters.forEach((w) => w()));
    }
    this.wake();
  }

  // ---------------------------------------------------------------------------------------
  // Completion

  #expire(batch: ProducerBatch): void {
    this.#accumulator.remove(batch);
    const error = new TimeoutError(
      `${batch.count} record(s) for ${batch.partition.topic.name}-${batch.partition.partition} expired: ` +
        `${Date.now() - batch.createdMs} ms passed since the batch was created ` +
        `(deliveryTimeoutMs ${this.#options.deliveryTimeoutMs})`,
      { timeoutMs: this.#options.deliveryTimeoutMs },
    );
    this.fail(batch, error);
  }

  #succeed(batch: ProducerBatch, baseOffset: bigint, logAppendTime: number): void {
    if (this.#options.idempotent && batch.baseSequence >= 0) {
      this.#idempotence.acknowledged(batch, baseOffset);
    }
    this.stats.recordsSent += batch.count;
    this.#complete(batch, undefined, baseOffset, logAppendTime);
  }

  /** Fails a batch whose outcome at the broker is unknown (or that was never sent). */
  fail(batch: ProducerBatch, error: Error): void {
    this.#fail(batch, error, NO_CODE, false);
  }

  /**
   * Java's Sender.failBatch + TransactionManager.handleFailedBatch. `code` is the broker's
   * error; `adjustSequences` says the broker surely does not have the batch.
   */
  #fail(batch: ProducerBatch, error: Error, code: number, adjustSequences: boolean): void {
    this.#accumulator.remove(batch);
    this.#txn?.failed(error);
    if (this.#options.idempotent && batch.baseSequence >= 0) {
      this.#idempotence.failed(batch, code, adjustSequences, this.#txn?.fatal ?? false);
    }
    this.stats.recordsFailed += batch.count;
    this.#complete(batch, error, -1n, -1);
  }

  #complete(batch: ProducerBatch, error: Error | undefined, baseOffset: bigint, logAppend: number) {
    if (batch.done) return;
    batch.done = true;
    this.#accumulator.release(batch, error === undefined && this.#options.acks !== 0);
    this.#deliveries.settle(batch, error, baseOffset, logAppend);
    const waiters = batch.waiters;
    if (waiters !== null) {
      batch.waiters = null;
      for (const w of waiters) w();
    }
    this.#hooks.released();
  }

  /** Resolves once the batch has completed (or been split and its parts have). */
  whenDone(batch: ProducerBatch): Promise<void> {
    if (batch.done) return Promise.resolve();
    return new Promise((resolve) => (batch.waiters ??= []).push(resolve));
  }

  /** Fails every batch not yet drained (transaction aborting, or fatal). */
  #failUndrained(error: Error): void {
    for (const partition of [...this.#accumulator.active]) {
      for (const batch of [...partition.queue]) if (!batch.drained) this.fail(batch, error);
    }
  }

  /** Fails every batch not being sent right now. */
  failUnsent(error: Error): void {
    for (const batch of [...this.#accumulator.incomplete]) {
      if (!batch.sending) this.fail(batch, error);
    }
  }

  /** Fails everything: waiting records and unsent batches (abort, internal errors). */
  failAll(error: Error): void {
    this.#forced ??= error;
    this.#hooks.failWaiting(error);
    this.failUnsent(error);
  }
}

/** One pass over the active partitions: the requests it builds and when to look again. */
class DrainRound {
  readonly now: number;
  /** Flush, close or a full budget: nothing lingers. */
  readonly urgent: boolean;
  /** The earliest linger, retry or expiry deadline seen. */
  nextAt = Infinity;
  /** Batches per leader (created on the first). */
  requests: Map<number, ProducerBatch[]> | undefined;
  #sizes: Map<number, number> | undefined;

  constructor(now: number, urgent: boolean) {
    this.now = now;
    this.urgent = urgent;
  }

  /** Something is due at `at`: the sender must look again by then. */
  lookAgainAt(at: number): void {
    if (at < this.nextAt) this.nextAt = at;
  }

  /** Whether `bytes` more fit in the request to `node` (the first batch always does). */
  fits(node: number, bytes: number, maxRequestSize: number): boolean {
    const size = this.#sizes?.get(node) ?? 0;
    return size === 0 || size + bytes <= maxRequestSize;
  }

  /** Adds a prepared batch to the request for `node`. */
  add(node: number, batch: ProducerBatch): void {
    const sizes = this.#sizes ??= new Map();
    sizes.set(node, (sizes.get(node) ?? 0) + batch.bytes!.length);
    const requests = this.requests ??= new Map();
    const list = requests.get(node);
    if (list) list.push(batch);
    else requests.set(node, [batch]);
  }
}

function settleSending(batch: ProducerBatch): void {
  batch.sending = false;
  batch.partition.sending--;
}

/** The error of a batch whose partition the broker's Produce response did not answer. */
function leftOut(batch: ProducerBatch): KafkaError {
  return new KafkaError(
    `the broker's Produce response left out ${batch.partition.topic.name}-${batch.partition.partition}`,
    { retriable: true },
  );
}

/** The Produce request's topics: the batches grouped by topic, by name or by id (v13+). */
function topicData(batches: ProducerBatch[], useIds: boolean): ProduceRequestTopicProduceData[] {
  if (batches.length === 1) {
    // One batch (every awaited send): no grouping Map (bench/PROFILE.md, Session 13 P4).
    const batch = batches[0]!;
    const t = batch.partition.topic;
    const partitionData = [{ index: batch.partition.partition, records: batch.bytes }];
    return [useIds ? { topicId: t.topicId, partitionData } : { name: t.name, partitionData }];
  }
  const byTopic = new Map<TopicState, ProduceRequestPartitionProduceData[]>();
  for (const batch of batches) {
    const list = byTopic.get(batch.partition.topic);
    const data = { index: batch.partition.partition, records: batch.bytes };
    if (list) list.push(data);
    else byTopic.set(batch.partition.topic, [data]);
  }
  const out: ProduceRequestTopicProduceData[] = [];
  for (const [t, partitionData] of byTopic) {
    out.push(useIds ? { topicId: t.topicId, partitionData } : { name: t.name, partitionData });
  }
  return out;
}
