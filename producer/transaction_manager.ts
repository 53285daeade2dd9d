/**
 * Transactions (v1, as the Java client runs them against any broker): InitProducerId with the
 * transactional id, AddPartitionsToTxn before a partition's first batch, AddOffsetsToTxn and
 * TxnOffsetCommit for consumed offsets, EndTxn, and the state machine that says what may be
 * called when (Java's TransactionManager states, KIP-98 and KIP-360).
 *
 * @module
 */

import { anySignal } from "../protocol/deadline.ts";
import type { Cluster } from "../cluster/cluster.ts";
import { sleep } from "../cluster/retry.ts";
import { Api, type ApiDef } from "../protocol/apis.ts";
import {
  ClosedError,
  KafkaError,
  ProtocolError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import type { Track } from "./background.ts";
import type { PartitionState } from "./batch.ts";
import { ProducerFencedError, TransactionStateError } from "./errors.ts";
import type { Idempotence } from "./idempotence.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import type { ConsumerGroupMetadata, TransactionOffset } from "./record.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/** AddPartitionsToTxn v3 is the last version a client sends (v4+ are broker to broker). */
const ADD_PARTITIONS_CLIENT_MAX = 3;
/** EndTxn v5+ belongs to transactions v2 (KIP-890, a new epoch per transaction); this is v1. */
const END_TXN_V1_MAX = 4;

/** Where a transactional producer stands (Java's TransactionManager.State). */
export type TransactionState =
  | "uninitialized"
  | "initializing"
  | "ready"
  | "in_transaction"
  | "committing"
  | "aborting"
  | "abortable_error"
  | "fatal_error";

/** What the transaction manager needs from the rest of the producer. */
export interface TransactionHooks {
  /** Something changed: the sender should look at its batches again. */
  wake(): void;
  /** Runs the sender now (an abort fails at once what was not sent). */
  drain(): void;
  /** Waits until every record accepted so far is acknowledged or failed. */
  flush(signal: AbortSignal | undefined): Promise<void>;
  /** Whether the producer still accepts calls (not closing or closed). */
  isOpen(): boolean;
}

function mustAbort(cause: Error | undefined): TransactionStateError {
  return new TransactionStateError("the transaction failed and must be aborted", {
    abortable: true,
    cause,
  });
}

function isFatal(error: Error): boolean {
  return error instanceof ProducerFencedError || error instanceof UnsupportedVersionError ||
    (error instanceof ProtocolError &&
      (error.code === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
        error.code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED));
}

function byTopic<T>(items: Iterable<T>, topic: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const name = topic(item);
    const list = map.get(name);
    if (list) list.push(item);
    else map.set(name, [item]);
  }
  return map;
}

/** One transactional id's transactions. */
export class TransactionManager {
  /** The transactional id. */
  readonly id: string;
  readonly #cluster: Cluster;
  readonly #options: ResolvedProducerOptions;
  readonly #idempotence: Idempotence;
  readonly #signal: AbortSignal;
  readonly #track: Track;
  readonly #hooks: TransactionHooks;
  #state: TransactionState = "uninitialized";
  #error: Error | undefined;
  /** Something (a partition or offsets) was added: EndTxn is needed. */
  #started = false;
  readonly #partitions: PartitionState[] = [];
  readonly #toAdd = new Set<PartitionState>();
  #adding: Promise<void> | undefined;
  /** #addPartitions is running (set and cleared synchronously with its loop). */
  #addLoop = false;

  constructor(
    cluster: Cluster,
    options: ResolvedProducerOptions,
    idempotence: Idempotence,
    signal: AbortSignal,
    track: Track,
    hooks: TransactionHooks,
  ) {
    this.id = options.transactionalId!;
    this.#cluster = cluster;
    this.#options = options;
    this.#idempotence = idempotence;
    this.#signal = signal;
    this.#track = track;
    this.#hooks = hooks;
  }

  /** The current state. */
  get state(): TransactionState {
    return this.#state;
  }

  /** The producer can do nothing more (fenced, not authorized...). */
  get fatal(): boolean {
    return this.#state === "fatal_error";
  }

  /** A transaction is open (close() aborts it). */
  get open(): boolean {
    return this.#state === "in_transaction" || this.#state === "abortable_error";
  }

  /**
   * Why a record may not be appended now, if it may not. Records that waited in the intake
   * (`fromIntake`) were sent inside the transaction: they still go in while it commits.
   */
  refusal(fromIntake: boolean): Error | undefined {
    const state = this.#state;
    if (state === "fatal_error") return this.#error;
    if (fromIntake && state === "committing") return undefined;
    if (state === "abortable_error") return mustAbort(this.#error);
    if (state === "in_transaction") return undefined;
    return new TransactionStateError(
      state === "uninitialized"
        ? "call initTransactions() before sending"
        : "call beginTransaction() before sending",
    );
  }

  /** The error batches not yet sent must fail with now, if any (fatal, or aborting). */
  unsentError(): Error | undefined {
    if (this.#state === "fatal_error") return this.#error!;
    if (this.#state === "abortable_error" || this.#state === "aborting") {
      return new TransactionStateError("the transaction is being aborted", {
        abortable: true,
        cause: this.#error,
      });
    }
    return undefined;
  }

  /** Whether a partition's batches may be sent: once it is in the transaction. */
  maySend(partition: PartitionState): boolean {
    if (partition.inTransaction) return true;
    if (!partition.pendingAdd) this.#add(partition);
    return false;
  }

  /** A record was appended for the partition: it joins the transaction. */
  appended(partition: PartitionState): void {
    if (!partition.inTransaction && !partition.pendingAdd) this.#add(partition);
  }

  /** Moves the transaction to an error state after a failed batch or request. */
  failed(error: Error): void {
    if (isFatal(error)) {
      if (this.#state !== "fatal_error") this.#enterFatal(error);
      return;
    }
    if (this.#state === "in_transaction" || this.#state === "committing") {
      this.#state = "abortable_error";
      this.#error = error;
      this.#idempotence.epochBumpRequired = true;
      this.#hooks.wake();
    }
  }

  #enterFatal(error: Error): void {
    this.#state = "fatal_error";
    this.#error = error;
    this.#hooks.wake();
  }

  /** Throws unless the producer is open and not fatally failed. */
  #require(): void {
    if (!this.#hooks.isOpen()) throw new ClosedError("producer");
    if (this.#state === "fatal_error") throw this.#error!;
  }

  /** See `Producer.initTransactions`. */
  async init(signal: AbortSignal | undefined): Promise<void> {
    this.#require();
    if (this.#state !== "uninitialized") {
      throw new TransactionStateError(
        `initTransactions() was already called (state ${this.#state})`,
      );
    }
    this.#state = "initializing";
    try {
      await this.#initProducerId(-1n, -1, signal);
      this.#state = "ready";
    } catch (e) {
      if (this.#state === "initializing") this.#state = "uninitialized";
      if (e instanceof ProducerFencedError) this.#enterFatal(e);
      throw e;
    }
  }

  async #initProducerId(producerId: bigint, epoch: number, signal: AbortSignal | undefined) {
    const res = await this.#coordinatorRequest(
      Api.InitProducerId,
      {
        transactionalId: this.id,
        transactionTimeoutMs: this.#options.transactionTimeoutMs,
        producerId,
        producerEpoch: epoch,
      },
      "InitProducerId",
      { signal },
    );
    // A new id or epoch: every partition restarts its sequence at 0.
    this.#idempotence.reset(res.producerId, res.producerEpoch);
    this.#hooks.wake();
  }

  /** See `Producer.beginTransaction`. */
  begin(): void {
    this.#require();
    if (this.#state !== "ready") {
      throw new TransactionStateError(
        this.#state === "uninitialized"
          ? "call initTransactions() first"
          : `cannot begin a transaction in state ${this.#state}`,
      );
    }
    this.#state = "in_transaction";
    this.#started = false;
    this.#error = undefined;
  }

  #add(partition: PartitionState): void {
    partition.pendingAdd = true;
    this.#toAdd.add(partition);
    // Not `this.#adding`: it is cleared a promise job after the loop ended, and a partition
    // queued in between (a pipe appends records in every job) would wait for nothing.
    if (this.#addLoop) return;
    this.#addLoop = true;
    const adding: Promise<void> = this.#track(
      this.#addPartitions().finally(() => {
        if (this.#adding === adding) this.#adding = undefined;
        this.#hooks.wake();
      }),
    );
    this.#adding = adding;
  }

  /** Adds the queued partitions, in rounds, while the transaction is open. */
  async #addPartitions(): Promise<void> {
    try {
      while (
        this.#toAdd.size > 0 && (this.#state === "in_transaction" || this.#state === "committing")
      ) {
        const batch = [...this.#toAdd];
        this.#toAdd.clear();
        try {
          await this.#cluster.retry((_attempt, signal) => this.#addPartitionsSoon(batch, signal), {
            coordinator: ["transaction", this.id],
            signal: this.#signal,
            deadlineMs: this.#options.maxBlockMs,
          });
          for (const partition of batch) {
            partition.pendingAdd = false;
            partition.inTransaction = true;
            this.#partitions.push(partition);
          }
          this.#started = true;
        } catch (e) {
          for (const partition of batch) partition.pendingAdd = false;
          if (this.#signal.aborted) return;
          // Fenced is fatal; anything else makes the transaction abortable (Java's
          // abortableError).
          this.failed(e instanceof Error ? e : new KafkaError(String(e)));
          return;
        }
      }
      // Partitions queued while the transaction left in_transaction are dropped with it.
      for (const partition of this.#toAdd) partition.pendingAdd = false;
      this.#toAdd.clear();
    } finally {
      // In the same job as the loop's last look at #toAdd: nothing can be queued unseen.
      this.#addLoop = false;
    }
  }

  /**
   * AddPartitionsToTxn, retried every 20 ms (up to 25 times) while the coordinator answers
   * CONCURRENT_TRANSACTIONS: right after a commit it does until the previous transaction's
   * markers are written, and the retry policy's backoff (100 ms, doubling) would hold the
   * next transaction's records that long. Java does the same (KAFKA-5477, 20 ms).
   */
  async #addPartitionsSoon(batch: PartitionState[], signal: AbortSignal): Promise<void> {
    for (let i = 0;; i++) {
      try {
        return await this.#addPartitionsOnce(batch, signal);
      } catch (e) {
        if (
          i >= 25 || !(e instanceof ProtocolError) || e.code !== ErrorCode.CONCURRENT_TRANSACTIONS
        ) throw e;
        await sleep(20, signal);
      }
    }
  }

  /** One AddPartitionsToTxn (v3 and below: the client form of transactions v1). */
  async #addPartitionsOnce(batch: PartitionState[], signal: AbortSignal): Promise<void> {
    const txnId = this.id;
    const broker = await this.#cluster.coordinator("transaction", txnId, signal);
    const conn = await this.#cluster.connectTo(broker, "default", signal);
    const version = Math.min(
      conn.versionFor(Api.AddPartitionsToTxn),
      ADD_PARTITIONS_CLIENT_MAX,
    );
    const topics = [...byTopic(batch, (partition) => partition.topic.name)].map(([name, list]) => ({
      name,
      partitions: list.map((partition) => partition.partition),
    }));
    const res = await conn.request(Api.AddPartitionsToTxn, {
      v3AndBelowTransactionalId: txnId,
      v3AndBelowProducerId: this.#idempotence.producerId,
      v3AndBelowProducerEpoch: this.#idempotence.producerEpoch,
      v3AndBelowTopics: topics,
    }, { signal, version });
    let retriable: ProtocolError | undefined;
    let failed: ProtocolError | undefined;
    for (const tr of res.resultsByTopicV3AndBelow) {
      for (const pr of tr.resultsByPartition) {
        const code = pr.partitionErrorCode;
        if (code === ErrorCode.NONE) continue;
        const e = new ProtocolError(code, `AddPartitionsToTxn ${tr.name}-${pr.partitionIndex}`);
        if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH) {
          throw new ProducerFencedError(txnId, { cause: e });
        }
        if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
          this.#cluster.forgetCoordinator("transaction", txnId);
          retriable = e;
        } else if (
          code === ErrorCode.CONCURRENT_TRANSACTIONS ||
          code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
          code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        ) retriable = e;
        // OPERATION_NOT_ATTEMPTED is collateral: another partition's error stopped the batch.
        else if (code !== ErrorCode.OPERATION_NOT_ATTEMPTED) failed ??= e;
      }
    }
    if (failed) throw new TransactionStateError(failed.message, { abortable: true, cause: failed });
    if (retriable) throw retriable;
  }

  /** See `Producer.sendOffsetsToTransaction`. */
  async sendOffsets(
    offsets: readonly TransactionOffset[],
    group: ConsumerGroupMetadata,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.#require();
    if (this.#state !== "in_transaction") {
      throw this.#state === "abortable_error"
        ? mustAbort(this.#error)
        : new TransactionStateError("sendOffsetsToTransaction() needs an open transaction");
    }
    if (typeof group?.groupId !== "string") throw new TypeError("group.groupId must be a string");
    try {
      await this.#coordinatorRequest(
        Api.AddOffsetsToTxn,
        {
          transactionalId: this.id,
          producerId: this.#idempotence.producerId,
          producerEpoch: this.#idempotence.producerEpoch,
          groupId: group.groupId,
        },
        "AddOffsetsToTxn",
        { signal },
      );
      this.#started = true;
      await this.#cluster.retry((_attempt, s) => this.#commitOffsetsOnce(offsets, group, s), {
        coordinator: ["group", group.groupId],
        signal: this.#withClose(signal),
        deadlineMs: this.#options.maxBlockMs,
      });
    } catch (e) {
      const error = e instanceof Error ? e : new KafkaError(String(e));
      if (!(error instanceof DOMException)) this.failed(error);
      throw e;
    }
  }

  /** One TxnOffsetCommit to the group coordinator. */
  async #commitOffsetsOnce(
    offsets: readonly TransactionOffset[],
    group: ConsumerGroupMetadata,
    signal: AbortSignal,
  ): Promise<void> {
    const topics = [...byTopic(offsets, (o) => o.topic)].map(([name, list]) => ({
      name,
      partitions: list.map((o) => ({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch ?? -1,
        committedMetadata: o.metadata ?? "",
      })),
    }));
    const res = await this.#cluster.sendToCoordinator("group", group.groupId, Api.TxnOffsetCommit, {
      transactionalId: this.id,
      groupId: group.groupId,
      producerId: this.#idempotence.producerId,
      producerEpoch: this.#idempotence.producerEpoch,
      generationId: group.generationId,
      memberId: group.memberId,
      groupInstanceId: group.groupInstanceId,
      topics,
    }, { signal });
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) continue;
        const e = new ProtocolError(p.errorCode, `TxnOffsetCommit ${t.name}-${p.partitionIndex}`);
        if (
          p.errorCode === ErrorCode.PRODUCER_FENCED ||
          p.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH
        ) {
          throw new ProducerFencedError(this.id, { cause: e });
        }
        if (
          p.errorCode === ErrorCode.NOT_COORDINATOR ||
          p.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE
        ) {
          this.#cluster.forgetCoordinator("group", group.groupId);
        }
        throw e;
      }
    }
  }

  /** See `Producer.commitTransaction`. */
  async commit(signal: AbortSignal | undefined): Promise<void> {
    this.#require();
    if (this.#state === "abortable_error") throw mustAbort(this.#error);
    if (this.#state !== "in_transaction") {
      throw new TransactionStateError(`no transaction to commit (state ${this.#state})`);
    }
    this.#state = "committing";
    await this.#hooks.flush(signal);
    while (this.#adding) await this.#adding;
    if (this.#state !== "committing") {
      if (this.#state === "fatal_error") throw this.#error!;
      throw mustAbort(this.#error);
    }
    await this.#end(true, signal);
  }

  /** See `Producer.abortTransaction`. */
  async abort(signal: AbortSignal | undefined): Promise<void> {
    this.#require();
    if (
      this.#state !== "in_transaction" && this.#state !== "abortable_error" &&
      this.#state !== "committing"
    ) {
      throw new TransactionStateError(`no transaction to abort (state ${this.#state})`);
    }
    this.#state = "aborting";
    this.#hooks.drain();
    await this.#hooks.flush(signal);
    while (this.#adding) await this.#adding;
    if ((this.#state as TransactionState) === "fatal_error") throw this.#error!;
    await this.#end(false, signal);
  }

  /** EndTxn (when something was added), then an epoch bump if a failure asked for one. */
  async #end(commit: boolean, signal: AbortSignal | undefined): Promise<void> {
    try {
      if (this.#started) {
        await this.#coordinatorRequest(
          Api.EndTxn,
          {
            transactionalId: this.id,
            producerId: this.#idempotence.producerId,
            producerEpoch: this.#idempotence.producerEpoch,
            committed: commit,
          },
          commit ? "EndTxn(commit)" : "EndTxn(abort)",
          { signal, maxVersion: END_TXN_V1_MAX },
        );
      }
      if (this.#idempotence.epochBumpRequired) {
        // KIP-360: after an aborted failure, bump the epoch instead of re-initializing.
        await this.#initProducerId(
          this.#idempotence.producerId,
          this.#idempotence.producerEpoch,
          signal,
        );
      }
    } catch (e) {
      if (e instanceof ProducerFencedError) this.#enterFatal(e);
      else if (!(e instanceof DOMException)) {
        if (commit) this.#state = "abortable_error";
        this.#error ??= e as Error;
      }
      throw e;
    }
    for (const partition of this.#partitions) partition.inTransaction = false;
    this.#partitions.length = 0;
    this.#started = false;
    this.#error = undefined;
    this.#state = "ready";
  }

  #withClose(signal: AbortSignal | undefined): AbortSignal {
    return anySignal(signal, this.#signal); // keeps the caller's deadline (close({ timeoutMs }))
  }

  /** Runs a request against the transaction coordinator with Java's retry rules. */
  async #coordinatorRequest<Req, Res extends { errorCode: number }>(
    api: ApiDef<Req, Res>,
    body: Req,
    what: string,
    options: { signal?: AbortSignal | undefined; maxVersion?: number } = {},
  ): Promise<Res> {
    const txnId = this.id;
    return await this.#cluster.retry(async (_attempt, signal) => {
      const broker = await this.#cluster.coordinator("transaction", txnId, signal);
      const conn = await this.#cluster.connectTo(broker, "default", signal);
      let version = conn.versionFor(api);
      if (options.maxVersion !== undefined) version = Math.min(version, options.maxVersion);
      const res = await conn.request(api, body, { signal, version });
      const code = res.errorCode;
      if (code === ErrorCode.NONE) return res;
      if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH) {
        throw new ProducerFencedError(txnId, { cause: new ProtocolError(code, what) });
      }
      if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
        this.#cluster.forgetCoordinator("transaction", txnId);
      }
      throw new ProtocolError(code, `${what} for transactional id "${txnId}"`);
    }, {
      coordinator: ["transaction", txnId],
      signal: this.#withClose(options.signal),
      deadlineMs: this.#options.maxBlockMs,
    });
  }
}
