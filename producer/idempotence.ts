/**
 * Idempotence, as the Java client's TransactionManager keeps it: the producer id and epoch,
 * one sequence number per partition, and the rules for OUT_OF_ORDER_SEQUENCE_NUMBER and
 * UNKNOWN_PRODUCER_ID (retry, renumber, or bump the epoch, KIP-360).
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs } from "../cluster/retry.ts";
import { unrefTimer } from "../net/runtime.ts";
import { Api } from "../protocol/apis.ts";
import { errorCodeInfo, KafkaError, ProtocolError } from "../protocol/errors.ts";
import type { Track } from "./background.ts";
import { incrementSequence, type PartitionState, type ProducerBatch } from "./batch.ts";
import type { ProducerMetadata } from "./metadata.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

const MAX_EPOCH = 32767;

/** What idempotence needs from the rest of the producer. */
export interface IdempotenceHooks {
  /** Something changed: the sender should look at its batches again. */
  wake(): void;
  /** No producer id could be had: batches not being sent fail with `error`. */
  failUnsent(error: Error): void;
  /** Records of the transaction were sent but never acknowledged: it must be aborted. */
  abortTransaction(error: Error): void;
}

/** The producer id, epoch and per-partition sequences of an idempotent producer. */
export class Idempotence {
  readonly #cluster: Cluster;
  readonly #options: ResolvedProducerOptions;
  readonly #transactional: boolean;
  readonly #metadata: ProducerMetadata;
  readonly #signal: AbortSignal;
  readonly #track: Track;
  readonly #hooks: IdempotenceHooks;
  #producerId = -1n;
  #producerEpoch = -1;
  #initializing: Promise<void> | undefined;
  /** After a failed InitProducerId: no new attempt before this time (epoch ms). */
  #initRetryAt = 0;
  #initFailures = 0;
  /** Set when the epoch must be bumped (non-transactional) or the transaction re-initialized. */
  epochBumpRequired = false;
  /** Partitions to renumber from 0 at the next epoch bump. */
  readonly #rewrite = new Set<PartitionState>();
  /** Partitions with a batch whose outcome is unknown. */
  readonly #unresolved = new Set<PartitionState>();

  constructor(
    cluster: Cluster,
    options: ResolvedProducerOptions,
    metadata: ProducerMetadata,
    signal: AbortSignal,
    track: Track,
    hooks: IdempotenceHooks,
  ) {
    this.#cluster = cluster;
    this.#options = options;
    this.#transactional = options.transactionalId !== undefined;
    this.#metadata = metadata;
    this.#signal = signal;
    this.#track = track;
    this.#hooks = hooks;
  }

  /** The producer id, or -1n before InitProducerId. */
  get producerId(): bigint {
    return this.#producerId;
  }

  /** The producer epoch, or -1. */
  get producerEpoch(): number {
    return this.#producerEpoch;
  }

  /**
   * Runs before each drain: settles partitions whose last outcome was unknown and bumps the
   * epoch when needed. False while there is no producer id (a non-transactional producer then
   * asks for one; a transactional one gets it from `initTransactions()`).
   */
  beforeDrain(): boolean {
    if (this.#unresolved.size > 0) this.#resolveSequences();
    if (this.epochBumpRequired && !this.#transactional) this.#bumpEpoch();
    if (this.#producerId < 0n) {
      if (!this.#transactional && Date.now() >= this.#initRetryAt) this.#init();
      return false;
    }
    return true;
  }

  /** Java's RecordAccumulator.shouldStopDrainBatchesForPartition, for idempotent producers. */
  shouldStopDrain(partition: PartitionState, batch: ProducerBatch): boolean {
    if (this.#producerId < 0n) return true;
    if (batch.baseSequence < 0) {
      const stale = partition.producerId !== this.#producerId ||
        partition.producerEpoch !== this.#producerEpoch;
      // A new epoch starts at sequence 0: not before the old epoch's batches are settled.
      if (partition.inflight.length > 0 && stale) return true;
      if (partition.unresolvedSequence >= 0) return true;
      // Until the broker acknowledged a first batch it has no state for this producer, and
      // then it accepts any first sequence: a later batch could land while an earlier one is
      // retried (say after NOT_LEADER_OR_FOLLOWER on a new topic), leaving a gap for good. So
      // one batch at a time until the first acknowledgement.
      if (partition.lastAckedSequence < 0 && partition.inflight.length > 0) return true;
    }
    // A retried batch goes only when it is the lowest outstanding sequence: during recovery
    // a partition has one request in flight, so the broker sees sequences in order.
    const first = partition.inflight.length > 0 ? partition.inflight[0]!.baseSequence : -1;
    return first !== -1 && batch.baseSequence >= 0 && batch.baseSequence !== first;
  }

  /** Gives a batch drained for the first time its sequence numbers. */
  assignSequence(partition: PartitionState, batch: ProducerBatch): void {
    if (
      (partition.producerId !== this.#producerId ||
        partition.producerEpoch !== this.#producerEpoch) &&
      partition.inflight.length === 0
    ) {
      partition.producerId = this.#producerId;
      partition.producerEpoch = this.#producerEpoch;
      partition.nextSequence = 0;
      partition.lastAckedSequence = -1;
    }
    batch.baseSequence = partition.nextSequence;
    batch.producerId = this.#producerId;
    batch.producerEpoch = this.#producerEpoch;
    partition.nextSequence = incrementSequence(partition.nextSequence, batch.count);
    partition.inflight.push(batch);
    batch.setProducerState(batch.producerId, batch.producerEpoch, batch.baseSequence);
  }

  /** Java's TransactionManager.canRetry: whether a batch the broker refused may be resent. */
  canRetry(batch: ProducerBatch, code: number, logStartOffset: bigint): boolean {
    const partition = batch.partition;
    const transactional = this.#transactional;
    if (code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      if (logStartOffset === -1n) return true;
      if (batch.sequenceReset) return true;
      if (partition.lastAckedOffset < logStartOffset) {
        // Retention removed the producer's state with the head of the log: expected.
        if (transactional) this.#startSequencesAtBeginning(partition);
        else this.#requestEpochBump(partition);
        return true;
      }
      if (!transactional) {
        this.#requestEpochBump(partition);
        return true;
      }
      return false;
    }
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
      const unresolved = partition.unresolvedSequence >= 0;
      if (
        !batch.sequenceReset && partition.lastAckedSequence >= 0 &&
        batch.baseSequence <= partition.lastAckedSequence
      ) {
        // Behind what the broker already has, yet not a duplicate: later records landed
        // without these. Retrying cannot help; fail the batch (and bump the epoch).
        return false;
      }
      if (
        !unresolved &&
        (batch.sequenceReset || batch.baseSequence - partition.lastAckedSequence !== 1)
      ) {
        // Not the next batch: an earlier one failed, this one is retried after it.
        return true;
      }
      if (!transactional) {
        if (!unresolved || batch.baseSequence === partition.unresolvedSequence) {
          this.#requestEpochBump(partition);
        }
        return true;
      }
      return false;
    }
    return errorCodeInfo(code).retriable;
  }

  /** A batch was acknowledged. */
  acknowledged(batch: ProducerBatch, baseOffset: bigint): void {
    const partition = batch.partition;
    const last = batch.lastSequence;
    if (last > partition.lastAckedSequence) partition.lastAckedSequence = last;
    if (baseOffset >= 0n) {
      const lastOffset = baseOffset + BigInt(batch.count - 1);
      if (lastOffset > partition.lastAckedOffset) partition.lastAckedOffset = lastOffset;
    }
    this.#forget(batch);
  }

  /**
   * Java's TransactionManager.handleFailedBatch, for a batch that had sequences. `code` is the
   * broker's error (a value outside int16 for none); `adjustSequences` says the broker surely does not have it.
   * `fatal`: the producer can do nothing more, so nothing is renumbered.
   */
  failed(batch: ProducerBatch, code: number, adjustSequences: boolean, fatal: boolean): void {
    const partition = batch.partition;
    this.#forget(batch);
    if (fatal) return;
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && !this.#transactional) {
      this.#requestEpochBump(partition);
    } else if (code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      // The broker has no state for us: it accepts sequence 0 next.
      partition.nextSequence = 0;
      partition.lastAckedSequence = -1;
      partition.unresolvedSequence = -1;
      this.#unresolved.delete(partition);
    } else if (adjustSequences) {
      if (!this.#transactional) this.#requestEpochBump(partition);
      else this.#adjustSequencesAfter(batch);
    } else {
      // Sent at least once with no answer: the broker may or may not have it.
      const next = incrementSequence(batch.lastSequence, 1);
      if (next > partition.unresolvedSequence) partition.unresolvedSequence = next;
      this.#unresolved.add(partition);
    }
  }

  /** Replaces a batch split after MESSAGE_TOO_LARGE by its parts, in sequence order. */
  replace(batch: ProducerBatch, parts: readonly ProducerBatch[]): void {
    const inflight = batch.partition.inflight;
    const at = inflight.indexOf(batch);
    if (at >= 0) inflight.splice(at, 1, ...parts);
  }

  #forget(batch: ProducerBatch): void {
    const i = batch.partition.inflight.indexOf(batch);
    if (i >= 0) batch.partition.inflight.splice(i, 1);
  }

  /**
   * Takes the id and epoch a transactional InitProducerId returned: every partition restarts
   * its sequence at 0.
   */
  reset(producerId: bigint, producerEpoch: number): void {
    this.#producerId = producerId;
    this.#producerEpoch = producerEpoch;
    this.epochBumpRequired = false;
    for (const t of this.#metadata.topics()) {
      for (const partition of t.partitions) {
        partition.producerId = -1n;
        partition.producerEpoch = -1;
        partition.nextSequence = 0;
        partition.lastAckedSequence = -1;
        partition.unresolvedSequence = -1;
      }
    }
    this.#unresolved.clear();
  }

  #requestEpochBump(partition: PartitionState): void {
    this.epochBumpRequired = true;
    this.#rewrite.add(partition);
  }

  /** An idempotent producer bumps its own epoch (KIP-360) and restarts the sequences. */
  #bumpEpoch(): void {
    this.epochBumpRequired = false;
    // Waiting for a new id: the partitions are renumbered under it when it arrives.
    if (this.#producerId < 0n) return;
    if (this.#producerEpoch >= MAX_EPOCH) {
      // Out of epochs: ask for a new producer id. Renumbering now would stamp the batches with
      // "no producer id", and a retried batch would then go out without idempotence.
      this.#producerId = -1n;
      this.#producerEpoch = -1;
      return;
    }
    this.#producerEpoch++;
    this.#cluster.logger.info("bumped the producer epoch", {
      producerId: String(this.#producerId),
      epoch: this.#producerEpoch,
    });
    this.#rewriteSequences();
  }

  /** Renumbers the partitions an epoch bump was asked for under the current id and epoch. */
  #rewriteSequences(): void {
    for (const partition of this.#rewrite) {
      this.#startSequencesAtBeginning(partition);
      partition.unresolvedSequence = -1;
      this.#unresolved.delete(partition);
    }
    this.#rewrite.clear();
  }

  /** Renumbers a partition's outstanding batches from 0 under the current id and epoch. */
  #startSequencesAtBeginning(partition: PartitionState): void {
    let seq = 0;
    for (const batch of partition.inflight) {
      batch.producerId = this.#producerId;
      batch.producerEpoch = this.#producerEpoch;
      batch.baseSequence = seq;
      batch.sequenceReset = true;
      if (batch.bytes !== null) batch.patchBytes(batch.producerId, batch.producerEpoch, seq);
      seq = incrementSequence(seq, batch.count);
    }
    partition.producerId = this.#producerId;
    partition.producerEpoch = this.#producerEpoch;
    partition.nextSequence = seq;
    partition.lastAckedSequence = -1;
  }

  /** A transactional batch failed for sure: later sequences move down to close the gap. */
  #adjustSequencesAfter(failed: ProducerBatch): void {
    const partition = failed.partition;
    partition.nextSequence = Math.max(0, partition.nextSequence - failed.count);
    for (const batch of partition.inflight) {
      if (batch.baseSequence < failed.baseSequence) continue;
      batch.baseSequence -= failed.count;
      if (batch.bytes !== null) {
        batch.patchBytes(batch.producerId, batch.producerEpoch, batch.baseSequence);
      }
    }
  }

  /** Java's maybeResolveSequences: once a partition with an unknown outcome is quiet. */
  #resolveSequences(): void {
    for (const partition of [...this.#unresolved]) {
      if (partition.inflight.length > 0) continue;
      this.#unresolved.delete(partition);
      if (partition.nextSequence === incrementSequence(partition.lastAckedSequence, 1)) {
        partition.unresolvedSequence = -1;
        continue;
      }
      partition.unresolvedSequence = -1;
      if (this.#transactional) {
        this.epochBumpRequired = true;
        this.#hooks.abortTransaction(
          new KafkaError(
            "some records were sent but never acknowledged; abort the transaction to continue",
          ),
        );
      } else this.#requestEpochBump(partition);
    }
  }

  /** InitProducerId without a transactional id, in the background. */
  #init(): void {
    if (this.#initializing) return;
    this.#initializing = this.#track((async () => {
      try {
        const res = await this.#cluster.retry(async (_attempt, signal) => {
          const conn = await this.#cluster.connectToAny(signal);
          const r = await conn.request(Api.InitProducerId, {
            transactionalId: null,
            transactionTimeoutMs: 2147483647,
          }, { signal });
          if (r.errorCode !== ErrorCode.NONE) {
            throw new ProtocolError(r.errorCode, "InitProducerId");
          }
          return r;
        }, {
          signal: this.#signal,
          deadlineMs: this.#options.deliveryTimeoutMs,
        });
        this.#producerId = res.producerId;
        this.#producerEpoch = res.producerEpoch;
        this.#cluster.logger.debug("idempotent producer id", {
          producerId: String(res.producerId),
          epoch: res.producerEpoch,
        });
        // After the epochs ran out: what was in flight starts again under the new id.
        this.#rewriteSequences();
        this.#initFailures = 0;
        this.#initRetryAt = 0;
      } catch (e) {
        if (this.#signal.aborted) return;
        // Without an id nothing can be sent: fail what waits, try again on the next record,
        // but not at once: a failure that comes back at once (a broker without
        // InitProducerId) would otherwise spin drain -> init -> wake without yielding.
        this.#initRetryAt = Date.now() +
          backoffMs(this.#cluster.retryPolicy, ++this.#initFailures);
        this.#hooks.failUnsent(e instanceof Error ? e : new KafkaError(String(e)));
      } finally {
        this.#initializing = undefined;
        this.#hooks.wake();
        const wait = this.#initRetryAt - Date.now();
        if (wait > 0 && !this.#signal.aborted) {
          // Look again once the backoff is over, for records that arrive meanwhile.
          const timer = setTimeout(() => this.#hooks.wake(), wait);
          unrefTimer(timer);
          this.#signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
        }
      }
    })());
  }
}
