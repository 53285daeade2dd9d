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
import { KafkaError, ProtocolError } from "../protocol/errors.ts";
import { lz4FrameBound } from "../protocol/compression/lz4.ts";
import {
  compressRecordBatch,
  maxRecordSize,
  RecordBatchBuilder,
} from "../protocol/record_batch_builder.ts";
import { RecordBatchLayout, type RecordHeader } from "../protocol/record_batch.ts";
import { type PartitionState, ProducerBatch } from "./batch.ts";
import type { Delivery } from "./delivery.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import type { ProducerRecord } from "./record.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

const HEADER = RecordBatchLayout.HeaderSize;
/** Builders start at most this large; bigger batches grow as records arrive. */
const MAX_INITIAL_CAPACITY = 1 << 20;
/** A partition's first builder starts at most this large. */
const FIRST_CAPACITY = 16_384;
/**
 * Batches smaller than this are compressed on the producer's thread when they are drained:
 * handing them to a worker would cost more latency than the compression itself.
 */
export const WORKER_MIN_BYTES = 65_536;

/** What the accumulator tells the sender. */
export interface AccumulatorHooks {
  /** A batch is ready now (full, `lingerMs` 0, or the budget is exhausted). */
  wake(): void;
  /** A new batch was opened; its linger ends at `lingerEndsAt`. */
  opened(ps: PartitionState, lingerEndsAt: number): void;
  /** A compression worker lost a batch (it died, or the producer closed): fail it. */
  lost(b: ProducerBatch, error: Error): void;
}

/** How the accumulator hands batches to compression workers (`CompressionPool`). */
export interface BatchCompressor {
  submit(
    batch: Uint8Array,
    level: number | undefined,
    output: Uint8Array | undefined,
    done: (bytes: Uint8Array | null, input: Uint8Array | null) => void,
  ): boolean;
}

/** The batches of every partition, and the byte budget they share. */
export class Accumulator {
  /** Partitions with queued batches (the sender's work list). */
  readonly active = new Set<PartitionState>();
  /** Batches not yet completed. */
  readonly incomplete = new Set<ProducerBatch>();
  /** Set when a record waits for budget: every batch is then ready (as in Java). */
  memoryWait = false;
  /** Batches a compression worker compressed. */
  workerCompressed = 0;
  readonly #o: ResolvedProducerOptions;
  readonly #codec: CompressionCodec;
  readonly #transactional: boolean;
  readonly #hooks: AccumulatorHooks;
  readonly #compressor: BatchCompressor | null;
  /** The capacity of a full-size builder buffer (the ones kept for reuse). */
  readonly #fullCapacity: number;
  /** Full-size builder buffers free for reuse. */
  readonly #spares: Uint8Array[] = [];
  /** The capacity of an output buffer a full batch is compressed into (the worst case). */
  readonly #outCapacity: number;
  /** Output buffers of acknowledged batches, free for reuse. */
  readonly #outSpares: Uint8Array[] = [];
  /**
   * How many spares are kept: a quarter of `bufferMemory` (outside the budget, as they hold
   * no records), at least 2, at most 16.
   */
  readonly #maxSpares: number;
  #buffered = 0;
  #maxBuffered = 0;

  constructor(
    options: ResolvedProducerOptions,
    codec: CompressionCodec,
    hooks: AccumulatorHooks,
    compressor: BatchCompressor | null = null,
  ) {
    this.#o = options;
    this.#codec = codec;
    this.#transactional = options.transactionalId !== undefined;
    this.#hooks = hooks;
    this.#compressor = codec === 0 ? null : compressor;
    this.#fullCapacity = Math.min(options.batchSize, MAX_INITIAL_CAPACITY);
    this.#maxSpares = Math.max(
      2,
      Math.min(16, Math.floor(options.bufferMemory / 4 / this.#fullCapacity)),
    );
    // lz4's worst case; zstd and gzip fit too, snappy's worst case may not (it then allocates).
    this.#outCapacity = HEADER + lz4FrameBound(this.#fullCapacity - HEADER);
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
        this.#close(ps, b);
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
      this.#close(ps, b);
      this.#hooks.wake();
    } else if (this.#o.lingerMs === 0) this.#hooks.wake();
    return grew;
  }

  /** The partition's open batch takes no more records (full). */
  #close(ps: PartitionState, b: ProducerBatch): void {
    ps.open = null;
    ps.capacityHint = Math.max(b.size, ps.capacityHint >>> 1);
    this.compressAhead(b);
  }

  /**
   * Hands a closed batch large enough to a compression worker, so it is compressed while
   * this thread batches and sends; it is drainable once it is back. Returns whether it went.
   * Its sequence is assigned at drain as for any batch (the bytes are patched then).
   */
  compressAhead(b: ProducerBatch): boolean {
    const compressor = this.#compressor;
    if (compressor === null || b.size < WORKER_MIN_BYTES || b.builder === null) return false;
    const builder = b.builder;
    if (b === b.ps.open) b.ps.open = null;
    const batch = builder.finishUncompressed();
    const level = this.#o.compressionLevel;
    const output = this.#outSpares.pop();
    const done = (bytes: Uint8Array | null, input: Uint8Array | null) =>
      this.#compressed(b, bytes, input);
    if (!compressor.submit(batch, level, output, done)) {
      // No worker ready: compress here, now (as a drain would have).
      b.bytes = compressRecordBatch(batch, level, output);
      b.builder = null;
      this.recycle(batch);
      return false;
    }
    b.builder = null;
    b.compressing = true;
    return true;
  }

  #compressed(b: ProducerBatch, bytes: Uint8Array | null, input: Uint8Array | null): void {
    b.compressing = false;
    if (b.done) {
      // Failed or expired meanwhile: nothing to send.
      if (input !== null) this.recycle(input);
      return;
    }
    if (input === null) {
      this.#hooks.lost(b, new KafkaError("the batch was lost with its compression worker"));
      return;
    }
    if (bytes === null) {
      bytes = compressRecordBatch(input.subarray(0, b.size), this.#o.compressionLevel);
    } else this.workerCompressed++;
    b.bytes = bytes;
    this.recycle(input);
    this.#hooks.wake();
  }

  /**
   * Takes back a buffer no batch needs any more: a full-size builder buffer, for a later
   * batch, or a full-size output buffer, for a later compression.
   */
  recycle(buffer: Uint8Array | null): void {
    if (buffer === null) return;
    const size = buffer.buffer.byteLength;
    if (size === this.#fullCapacity) {
      if (this.#spares.length < this.#maxSpares) {
        this.#spares.push(new Uint8Array(buffer.buffer, 0, size));
      }
    } else if (size === this.#outCapacity && this.#compressor !== null) {
      if (this.#outSpares.length < this.#maxSpares) {
        this.#outSpares.push(new Uint8Array(buffer.buffer, 0, size));
      }
    }
  }

  /** Finishes a batch at its first drain (compressing it here, if no worker did). */
  finish(b: ProducerBatch): void {
    this.recycle(b.finish());
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
        ErrorCode.MESSAGE_TOO_LARGE,
        `a record of ${need} bytes (in its batch) for "${ps.topic.name}" exceeds ` +
          (limit === this.#o.maxRequestSize ? `maxRequestSize ${limit}` : `bufferMemory ${limit}`),
      );
    }
    return need;
  }

  /**
   * A record builder with the producer's codec, sized for `capacity` bytes, or built in
   * `buffer`.
   */
  newBuilder(capacity: number, buffer?: Uint8Array): RecordBatchBuilder {
    return new RecordBatchBuilder({
      compression: this.#codec,
      ...this.#o.compressionLevel !== undefined && { level: this.#o.compressionLevel },
      transactional: this.#transactional,
      initialCapacity: capacity,
      maxCapacity: this.#o.batchSize,
      ...buffer !== undefined && { buffer },
    });
  }

  #open(ps: PartitionState, need: number): ProducerBatch {
    // Start where the partition's last batches ended: a quiet partition (awaited sends, idle
    // flush) does not allocate a whole batchSize, up to 1 MiB, per record. A busy one (one of
    // its last two batches at least half full) gets a full-size buffer, so it never regrows and copies
    // batch after batch; so does any batch when a finished one left its buffer for reuse
    // (Java pools its batch buffers).
    const full = this.#fullCapacity;
    const hint = ps.capacityHint > 0 ? ps.capacityHint : FIRST_CAPACITY;
    const builder = (hint > full / 4 || this.#spares.length > 0) && need <= full
      ? this.newBuilder(full, this.#spares.pop() ?? new Uint8Array(full))
      : this.newBuilder(Math.max(need, Math.min(full, hint)));
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
    if (!b.drained) ps.capacityHint = Math.max(b.size, ps.capacityHint >>> 1);
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

  /**
   * A batch completed: its bytes leave the budget. `acknowledged`: the broker answered the
   * request that carried it, so that request was written out in full and nothing reads the
   * bytes any more; their buffer is reused. (After a failure a write may still be queued:
   * those buffers are left to the garbage collector.)
   */
  release(b: ProducerBatch, acknowledged = false): void {
    this.#buffered -= b.size;
    b.ps.buffered -= b.size;
    this.incomplete.delete(b);
    if (acknowledged && b.bytes !== null) {
      this.recycle(b.bytes);
      b.bytes = null;
    }
  }
}
