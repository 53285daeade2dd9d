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
import { patchProducerState } from "../protocol/record_batch_builder.ts";
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
  readonly #o: ResolvedProducerOptions;
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
    this.#o = options;
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
  shouldStopDrain(ps: PartitionState, b: ProducerBatch): boolean {
    if (this.#producerId < 0n) return true;
    if (b.baseSequence < 0) {
      const stale = ps.producerId !== this.#producerId || ps.producerEpoch !== this.#producerEpoch;
      // A new epoch starts at sequence 0: not before the old epoch's batches are settled.
      if (ps.inflight.length > 0 && stale) return true;
      if (ps.unresolvedSequence >= 0) return true;
      // Until the broker acknowledged a first batch it has no state for this producer, and
      // then it accepts any first sequence: a later batch could land while an earlier one is
      // retried (say after NOT_LEADER_OR_FOLLOWER on a new topic), leaving a gap for good. So
      // one batch at a time until the first acknowledgement.
      if (ps.lastAckedSequence < 0 && ps.inflight.length > 0) return true;
    }
    // A retried batch goes only when it is the lowest outstanding sequence: during recovery
    // a partition has one request in flight, so the broker sees sequences in order.
    const first = ps.inflight.length > 0 ? ps.inflight[0]!.baseSequence : -1;
    return first !== -1 && b.baseSequence >= 0 && b.baseSequence !== first;
  }

  /** Gives a batch drained for the first time its sequence numbers. */
  assignSequence(ps: PartitionState, b: ProducerBatch): void {
    if (
      (ps.producerId !== this.#producerId || ps.producerEpoch !== this.#producerEpoch) &&
      ps.inflight.length === 0
    ) {
      ps.producerId = this.#producerId;
      ps.producerEpoch = this.#producerEpoch;
      ps.nextSequence = 0;
      ps.lastAckedSequence = -1;
    }
    b.baseSequence = ps.nextSequence;
    b.producerId = this.#producerId;
    b.producerEpoch = this.#producerEpoch;
    ps.nextSequence = incrementSequence(ps.nextSequence, b.count);
    ps.inflight.push(b);
    b.setProducerState(b.producerId, b.producerEpoch, b.baseSequence);
  }

  /** Java's TransactionManager.canRetry: whether a batch the broker refused may be resent. */
  canRetry(b: ProducerBatch, code: number, logStartOffset: bigint): boolean {
    const ps = b.ps;
    const transactional = this.#transactional;
    if (code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      if (logStartOffset === -1n) return true;
      if (b.sequenceReset) return true;
      if (ps.lastAckedOffset < logStartOffset) {
        // Retention removed the producer's state with the head of the log: expected.
        if (transactional) this.#startSequencesAtBeginning(ps);
        else this.#requestEpochBump(ps);
        return true;
      }
      if (!transactional) {
        this.#requestEpochBump(ps);
        return true;
      }
      return false;
    }
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
      const unresolved = ps.unresolvedSequence >= 0;
      if (
        !b.sequenceReset && ps.lastAckedSequence >= 0 && b.baseSequence <= ps.lastAckedSequence
      ) {
        // Behind what the broker already has, yet not a duplicate: later records landed
        // without these. Retrying cannot help; fail the batch (and bump the epoch).
        return false;
      }
      if (!unresolved && (b.sequenceReset || b.baseSequence - ps.lastAckedSequence !== 1)) {
        // Not the next batch: an earlier one failed, this one is retried after it.
        return true;
      }
      if (!transactional) {
        if (!unresolved || b.baseSequence === ps.unresolvedSequence) this.#requestEpochBump(ps);
        return true;
      }
      return false;
    }
    return errorCodeInfo(code).retriable;
  }

  /** A batch was acknowledged. */
  acknowledged(b: ProducerBatch, baseOffset: bigint): void {
    const ps = b.ps;
    const last = b.lastSequence;
    if (last > ps.lastAckedSequence) ps.lastAckedSequence = last;
    if (baseOffset >= 0n) {
      const lastOffset = baseOffset + BigInt(b.count - 1);
      if (lastOffset > ps.lastAckedOffset) ps.lastAckedOffset = lastOffset;
    }
    this.#forget(b);
  }

  /**
   * Java's TransactionManager.handleFailedBatch, for a batch that had sequences. `code` is the
   * broker's error (a value outside int16 for none); `adjustSequences` says the broker surely does not have it.
   * `fatal`: the producer can do nothing more, so nothing is renumbered.
   */
  failed(b: ProducerBatch, code: number, adjustSequences: boolean, fatal: boolean): void {
    const ps = b.ps;
    this.#forget(b);
    if (fatal) return;
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && !this.#transactional) {
      this.#requestEpochBump(ps);
    } else if (code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      // The broker has no state for us: it accepts sequence 0 next.
      ps.nextSequence = 0;
      ps.lastAckedSequence = -1;
      ps.unresolvedSequence = -1;
      this.#unresolved.delete(ps);
    } else if (adjustSequences) {
      if (!this.#transactional) this.#requestEpochBump(ps);
      else this.#adjustSequencesAfter(b);
    } else {
      // Sent at least once with no answer: the broker may or may not have it.
      const next = incrementSequence(b.lastSequence, 1);
      if (next > ps.unresolvedSequence) ps.unresolvedSequence = next;
      this.#unresolved.add(ps);
    }
  }

  /** Replaces a batch split after MESSAGE_TOO_LARGE by its parts, in sequence order. */
  replace(b: ProducerBatch, parts: readonly ProducerBatch[]): void {
    const inflight = b.ps.inflight;
    const at = inflight.indexOf(b);
    if (at >= 0) inflight.splice(at, 1, ...parts);
  }

  #forget(b: ProducerBatch): void {
    const i = b.ps.inflight.indexOf(b);
    if (i >= 0) b.ps.inflight.splice(i, 1);
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
      for (const ps of t.partitions) {
        ps.producerId = -1n;
        ps.producerEpoch = -1;
        ps.nextSequence = 0;
        ps.lastAckedSequence = -1;
        ps.unresolvedSequence = -1;
      }
    }
    this.#unresolved.clear();
  }

  #requestEpochBump(ps: PartitionState): void {
    this.epochBumpRequired = true;
    this.#rewrite.add(ps);
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
    for (const ps of this.#rewrite) {
      this.#startSequencesAtBeginning(ps);
      ps.unresolvedSequence = -1;
      this.#unresolved.delete(ps);
    }
    this.#rewrite.clear();
  }

  /** Renumbers a partition's outstanding batches from 0 under the current id and epoch. */
  #startSequencesAtBeginning(ps: PartitionState): void {
    let seq = 0;
    for (const b of ps.inflight) {
      b.producerId = this.#producerId;
      b.producerEpoch = this.#producerEpoch;
      b.baseSequence = seq;
      b.sequenceReset = true;
      if (b.bytes !== null) patchProducerState(b.bytes, b.producerId, b.producerEpoch, seq);
      seq = incrementSequence(seq, b.count);
    }
    ps.producerId = this.#producerId;
    ps.producerEpoch = this.#producerEpoch;
    ps.nextSequence = seq;
    ps.lastAckedSequence = -1;
  }

  /** A transactional batch failed for sure: later sequences move down to close the gap. */
  #adjustSequencesAfter(failed: ProducerBatch): void {
    const ps = failed.ps;
    ps.nextSequence = Math.max(0, ps.nextSequence - failed.count);
    for (const b of ps.inflight) {
      if (b.baseSequence < failed.baseSequence) continue;
      b.baseSequence -= failed.count;
      if (b.bytes !== null) {
        patchProducerState(b.bytes, b.producerId, b.producerEpoch, b.baseSequence);
      }
    }
  }

  /** Java's maybeResolveSequences: once a partition with an unknown outcome is quiet. */
  #resolveSequences(): void {
    for (const ps of [...this.#unresolved]) {
      if (ps.inflight.length > 0) continue;
      this.#unresolved.delete(ps);
      if (ps.nextSequence === incrementSequence(ps.lastAckedSequence, 1)) {
        ps.unresolvedSequence = -1;
        continue;
      }
      ps.unresolvedSequence = -1;
      if (this.#transactional) {
        this.epochBumpRequired = true;
        this.#hooks.abortTransaction(
          new KafkaError(
            "some records were sent but never acknowledged; abort the transaction to continue",
          ),
        );
      } else this.#requestEpochBump(ps);
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
          deadlineMs: this.#o.deliveryTimeoutMs,
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
