/**
 * The accumulator (Java's RecordAccumulator): each record is encoded once, straight into its
 * partition's open batch; batches queue per partition until the sender drains them; every
 * byte counts against the `bufferMemory` budget until its batch completes.
 *
 * A batch is ready when it is full (`batchSize`), when it has lingered `lingerMs`, or when
 * something hurries it (flush, close, a full budget); the sender also sends an open batch
 * early when its leader is idle (see `lingerWhenIdle`).
 *
 * @module
 */

import type { CompressionCodec } from "../protocol/compression/mod.ts";
import { errorCode, ProtocolError } from "../protocol/errors.ts";
import { maxRecordSize, RecordBatchBuilder } from "../protocol/record_batch_builder.ts";
import { RecordBatchLayout, type RecordHeader } from "../protocol/record_batch.ts";
import { type PartitionState, ProducerBatch } from "./batch.ts";
import type { Delivery } from "./delivery.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import type { ProducerRecord } from "./record.ts";

const HEADER = RecordBatchLayout.HeaderSize;
const MESSAGE_TOO_LARGE = errorCode("MESSAGE_TOO_LARGE");
/** Builders start at most this large; bigger batches grow as records arrive. */
const MAX_INITIAL_CAPACITY = 1 << 20;
/** A partition's first builder starts at most this large. */
const FIRST_CAPACITY = 16_384;

/** What the accumulator tells the sender. */
export interface AccumulatorHooks {
  /** A batch is ready now (full, `lingerMs` 0, or the budget is exhausted). */
  wake(): void;
  /** A new batch was opened; its linger ends at `lingerEndsAt`. */
  opened(ps: PartitionState, lingerEndsAt: number): void;
}

/** The batches of every partition, and the byte budget they share. */
export class Accumulator {
  /** Partitions with queued batches (the sender's work list). */
  readonly active = new Set<PartitionState>();
  /** Batches not yet completed. */
  readonly incomplete = new Set<ProducerBatch>();
  /** Set when a record waits for budget: every batch is then ready (as in Java). */
  memoryWait = false;
  readonly #o: ResolvedProducerOptions;
  readonly #codec: CompressionCodec;
  readonly #transactional: boolean;
  readonly #hooks: AccumulatorHooks;
  #buffered = 0;
  #maxBuffered = 0;

  constructor(options: ResolvedProducerOptions, codec: CompressionCodec, hooks: AccumulatorHooks) {
    this.#o = options;
    this.#codec = codec;
    this.#transactional = options.transactionalId !== undefined;
    this.#hooks = hooks;
  }

  /** Bytes of records accepted and not yet completed. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The most {@linkcode bufferedBytes} has ever been. */
  get maxBufferedBytes(): number {
    return this.#maxBuffered;
  }

  /**
   * Encodes a record into the partition's open batch (opening one when there is none or it is
   * full). `d` is a `send()`'s delivery; a stream write passes null, and `report` when its
   * outcome is to be reported. Returns the bytes the batch grew by, or -1 when the budget is
   * full (the record must wait). Throws when the record can never fit.
   */
  append(
    ps: PartitionState,
    ts: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
    d: Delivery | null,
    report: ProducerRecord | null,
  ): number {
    let b = ps.open;
    let need = 0;
    if (b !== null) {
      const after = b.builder!.estimatedSizeAfter(ts, key, value, headers);
      if (after > this.#o.batchSize) {
        ps.open = null;
        b = null;
      } else need = after - b.size;
    }
    if (b === null) need = this.#firstRecordSize(ps, key, value, headers);
    if (this.#buffered + need > this.#o.bufferMemory && this.#buffered > 0) {
      // Full: every batch becomes ready (as Java does when memory is exhausted).
      this.memoryWait = true;
      this.#hooks.wake();
      return -1;
    }
    if (b === null) b = this.#open(ps, need);
    const builder = b.builder!;
    builder.append(ts, key, value, headers);
    const idx = b.count++;
    const size = builder.sizeInBytes;
    const grew = size - b.size;
    this.#buffered += grew;
    if (this.#buffered > this.#maxBuffered) this.#maxBuffered = this.#buffered;
    ps.buffered += grew;
    b.size = size;
    if (d !== null) {
      d.timestamp = ts;
      (b.deliveries ??= [])[idx] = d;
    } else {
      b.streamCount++;
      if (report !== null) (b.reported ??= [])[idx] = report;
    }
    if (size >= this.#o.batchSize) {
      ps.open = null;
      this.#hooks.wake();
    } else if (this.#o.lingerMs === 0) this.#hooks.wake();
    return grew;
  }

  /** The size of a batch holding only this record; throws when that can never be sent. */
  #firstRecordSize(
    ps: PartitionState,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
  ): number {
    const need = HEADER + maxRecordSize(key?.length ?? -1, value?.length ?? -1, headers);
    const limit = Math.min(this.#o.maxRequestSize, this.#o.bufferMemory);
    if (need > limit) {
      throw new ProtocolError(
        MESSAGE_TOO_LARGE,
        `a record of ${need} bytes (in its batch) for "${ps.topic.name}" exceeds ` +
          (limit === this.#o.maxRequestSize ? `maxRequestSize ${limit}` : `bufferMemory ${limit}`),
      );
    }
    return need;
  }

  /** A record builder with the producer's codec, sized for `capacity` bytes. */
  newBuilder(capacity: number): RecordBatchBuilder {
    return new RecordBatchBuilder({
      compression: this.#codec,
      ...this.#o.compressionLevel !== undefined && { level: this.#o.compressionLevel },
      transactional: this.#transactional,
      initialCapacity: capacity,
    });
  }

  #open(ps: PartitionState, need: number): ProducerBatch {
    // Start where the partition's last batch ended: a busy partition does not regrow its
    // buffer batch after batch, and a quiet one (awaited sends, idle flush) does not allocate
    // a whole batchSize, up to 1 MiB, per record (Java pools its batch buffers instead).
    const hint = ps.lastBatchSize > 0 ? ps.lastBatchSize : FIRST_CAPACITY;
    const builder = this.newBuilder(
      Math.max(need, Math.min(this.#o.batchSize, MAX_INITIAL_CAPACITY, hint)),
    );
    const now = Date.now();
    const b = new ProducerBatch(ps, builder, now);
    ps.queue.push(b);
    ps.open = b;
    this.activate(ps);
    this.incomplete.add(b);
    this.#hooks.opened(ps, now + this.#o.lingerMs);
    return b;
  }

  /** Puts a partition on the sender's work list. */
  activate(ps: PartitionState): void {
    if (!ps.active) {
      ps.active = true;
      this.active.add(ps);
    }
  }

  /** Takes a partition with an empty queue off the work list. */
  deactivate(ps: PartitionState): void {
    ps.active = false;
    this.active.delete(ps);
  }

  /**
   * When the partition's head batch `b` may be sent as far as lingering goes: at once (0) when
   * it is closed (full, or a newer batch exists) or `urgent`, else when its linger ends.
   */
  lingerEnd(ps: PartitionState, b: ProducerBatch, urgent: boolean): number {
    return b === ps.open && !urgent ? b.createdMs + this.#o.lingerMs : 0;
  }

  /** Takes the head batch off its queue for sending. */
  take(ps: PartitionState, b: ProducerBatch): void {
    if (b === ps.open) ps.open = null;
    ps.queue.shift();
    if (b.bytes === null) ps.lastBatchSize = b.size;
  }

  /** Takes a batch off its queue wherever it is (it expired or failed). */
  remove(b: ProducerBatch): void {
    const q = b.ps.queue;
    const i = q.indexOf(b);
    if (i >= 0) q.splice(i, 1);
    if (b.ps.open === b) b.ps.open = null;
  }

  /**
   * Puts batches back at the front of their partition's queue for a retry: ahead of newer
   * batches, behind any with a lower sequence (so sequences go out in order).
   */
  requeue(ps: PartitionState, batches: readonly ProducerBatch[], baseSequence: number): void {
    const q = ps.queue;
    let i = 0;
    if (baseSequence >= 0) {
      while (i < q.length && q[i]!.baseSequence >= 0 && q[i]!.baseSequence < baseSequence) i++;
    }
    q.splice(i, 0, ...batches);
    this.activate(ps);
  }

  /** Replaces a batch split after MESSAGE_TOO_LARGE by its parts, in the budget too. */
  split(b: ProducerBatch, parts: readonly ProducerBatch[]): void {
    let total = 0;
    for (const p of parts) {
      total += p.size;
      this.incomplete.add(p);
    }
    this.#buffered += total - b.size;
    b.ps.buffered += total - b.size;
    this.incomplete.delete(b);
  }

  /** A batch completed: its bytes leave the budget. */
  release(b: ProducerBatch): void {
    this.#buffered -= b.size;
    b.ps.buffered -= b.size;
    this.incomplete.delete(b);
  }
}
