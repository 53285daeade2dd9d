/**
 * The accumulator's state: one batch of records bound for one partition, and the per-topic and
 * per-partition bookkeeping (queues, sequence numbers) the sender works from.
 *
 * @module
 */

import { patchProducerState, type RecordBatchBuilder } from "../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../protocol/record_batch_decoder.ts";
import type { Delivery } from "./delivery.ts";
import type { ProducerRecord } from "./record.ts";
import { StickyPartition } from "./partitioners.ts";

/** A topic's partitions as the producer uses them. */
export class TopicState {
  readonly name: string;
  /** Base64url topic id (Produce v13 addresses topics by id), or the zero UUID. */
  topicId = "";
  partitions: PartitionState[] = [];
  /** Partitions that have a leader now, for the keyless partitioners. */
  available: number[] = [];
  readonly sticky: StickyPartition;
  /**
   * The topic's last batch compressed on this thread went out uncompressed (its records did
   * not compress): its next builders checksum their records as they append them, so the
   * next such batch needs no checksum pass (bench/PROFILE.md, Session 14).
   */
  recordsPlain = false;
  /** Metadata is known. */
  ready = false;
  /** Metadata could not be had: records for the topic fail with this. */
  error: Error | undefined;
  /** When the wait for metadata started. */
  readonly since = Date.now();
  /** Bytes accepted and not yet completed, per partition (`PartitionerInput.bufferedBytes`). */
  readonly bufferedBytes = (partition: number): number => this.partitions[partition]?.buffered ?? 0;

  constructor(name: string, batchSize: number) {
    this.name = name;
    this.sticky = new StickyPartition(batchSize);
  }
}

/** One partition's queue of batches and its idempotence bookkeeping (Java's TxnPartitionEntry). */
export class PartitionState {
  readonly topic: TopicState;
  readonly partition: number;
  /** Batches waiting to be sent, oldest first; the last may still be open for appends. */
  readonly queue: ProducerBatch[] = [];
  /** The batch records are appended to, if any (it is also the queue's last element). */
  open: ProducerBatch | null = null;
  /** Requests outstanding for this partition (for ordering without idempotence). */
  sending = 0;
  /** Whether the partition is in the active set the sender scans. */
  active = false;
  /** Bytes of this partition's batches accepted and not yet completed. */
  buffered = 0;
  /**
   * What the next builder's buffer starts at (0 before the first batch): the size of the last
   * batch closed or drained, or half the previous hint if that was more, so one small batch (a flush, a
   * full budget making every batch ready) does not make the next busy batch regrow from it.
   */
  capacityHint = 0;

  // Idempotence, as Java's TransactionManager keeps it per partition.
  /** Drained, not yet completed batches (sequence order): sent, or queued for a retry. */
  readonly inflight: ProducerBatch[] = [];
  /** Producer id/epoch the sequences below belong to (`-1n` until the first drain). */
  producerId = -1n;
  producerEpoch = -1;
  nextSequence = 0;
  lastAckedSequence = -1;
  lastAckedOffset = -1n;
  /** Sequence after a batch whose fate is unknown (expired after a send), or -1. */
  unresolvedSequence = -1;

  // Transactions (v1): the partition was added to the ongoing transaction.
  inTransaction = false;
  pendingAdd = false;

  constructor(topic: TopicState, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
}

/** Records bound for one partition, encoded once into a RecordBatch v2 buffer. */
export class ProducerBatch {
  readonly partition: PartitionState;
  /** Appends go here until the batch is drained. */
  builder: RecordBatchBuilder | null;
  /**
   * The finished batch (after the first drain, or once a worker compressed it); retries
   * resend these bytes.
   */
  bytes: Uint8Array | null = null;
  /** Drained at least once: its sequence (if any) is assigned and its bytes are final. */
  drained = false;
  /** A compression worker has the batch: it may be drained once it is back. */
  compressing = false;
  count = 0;
  /** Bytes counted against the producer's buffer budget. */
  size = 0;
  readonly createdMs: number;
  attempts = 0;
  retryAtMs = 0;
  /** A request carrying this batch is outstanding. */
  sending = false;
  done = false;
  /** Idempotence fields once assigned at the first drain. */
  baseSequence = -1;
  producerId = -1n;
  producerEpoch = -1;
  /** Sequences were rewritten after an epoch bump (Java's sequenceHasBeenReset). */
  sequenceReset = false;
  /** `send()` callbacks by record index (sparse; null when every record came from the stream). */
  deliveries: (Delivery | undefined)[] | null = null;
  /** Records written through the stream, kept only while a delivery-report reader exists. */
  reported: (ProducerRecord | undefined)[] | null = null;
  /** Records in this batch that came from the stream. */
  streamCount = 0;
  /** Resolvers waiting for this batch to complete (flush). */
  waiters: (() => void)[] | null = null;

  constructor(partition: PartitionState, builder: RecordBatchBuilder, now: number) {
    this.partition = partition;
    this.builder = builder;
    this.createdMs = now;
  }

  /**
   * Encodes the batch for good (its first drain; a batch a worker compressed already is).
   * Returns the builder's buffer when the bytes no longer need it (compressed), for reuse.
   */
  finish(): Uint8Array | null {
    const builder = this.builder;
    if (builder === null) return null;
    this.bytes = builder.finish();
    this.builder = null;
    return builder.releaseBuffer();
  }

  /** Sets the idempotence fields, in the builder or, once finished, in the bytes. */
  setProducerState(producerId: bigint, producerEpoch: number, baseSequence: number): void {
    if (this.builder !== null) {
      this.builder.setProducerState(producerId, producerEpoch, baseSequence);
    } else this.patchBytes(producerId, producerEpoch, baseSequence);
  }

  /**
   * Rewrites the producer fields of the finished bytes. Once the batch was sent, a write of
   * its bytes may still be queued on some connection (requests write the batch's own buffer,
   * `zeroCopy`), so the new fields go into a copy.
   */
  patchBytes(producerId: bigint, producerEpoch: number, baseSequence: number): void {
    if (this.attempts > 0) this.bytes = this.bytes!.slice();
    patchProducerState(this.bytes!, producerId, producerEpoch, baseSequence);
  }

  /** The sequence of the batch's last record. */
  get lastSequence(): number {
    return incrementSequence(this.baseSequence, this.count - 1);
  }
}

/** Adds to a sequence number, wrapping past int32 max to 0 as Kafka does. */
export function incrementSequence(sequence: number, increment: number): number {
  const next = sequence + increment;
  return next > 0x7fffffff ? next - 0x80000000 : next;
}

/**
 * Re-batches the records of a finished batch the broker found too large (Java's
 * splitAndReenqueue) into parts of at most `target` bytes, each built by `newBuilder`. Every
 * record keeps its `send()` delivery or stream report; when the batch had sequence numbers,
 * the parts take them over, consecutively from its base sequence.
 */
export function splitBatch(
  batch: ProducerBatch,
  target: number,
  newBuilder: () => RecordBatchBuilder,
): ProducerBatch[] {
  const decoded = decodeRecordBatches(batch.bytes!).batches[0]!;
  const base = decoded.baseTimestamp;
  const parts: ProducerBatch[] = [];
  let cur: ProducerBatch | null = null;
  let offsetInOld = 0;
  for (const rec of decoded.records) {
    const ts = base + rec.timestampDelta;
    if (
      cur !== null &&
      cur.builder!.estimatedSizeAfter(ts, rec.key, rec.value, rec.headers) > target
    ) cur = null;
    if (cur === null) {
      cur = new ProducerBatch(batch.partition, newBuilder(), batch.createdMs);
      cur.attempts = batch.attempts;
      parts.push(cur);
    }
    // Records copy out of the decoded view before it is dropped.
    cur.builder!.append(ts, rec.key, rec.value, rec.headers);
    const delivery = batch.deliveries?.[offsetInOld];
    if (delivery !== undefined) (cur.deliveries ??= [])[cur.count] = delivery;
    else {
      cur.streamCount++;
      const r = batch.reported?.[offsetInOld];
      if (r !== undefined) (cur.reported ??= [])[cur.count] = r;
    }
    cur.count++;
    offsetInOld++;
  }
  let seq = batch.baseSequence;
  for (const p of parts) {
    p.size = p.builder!.sizeInBytes;
    if (seq >= 0) {
      p.baseSequence = seq;
      p.producerId = batch.producerId;
      p.producerEpoch = batch.producerEpoch;
      p.builder!.setProducerState(batch.producerId, batch.producerEpoch, seq);
      seq = incrementSequence(seq, p.count);
    }
    p.finish();
    p.drained = true;
  }
  return parts;
}
