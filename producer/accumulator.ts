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

import { Compression, type CompressionCodec } from "../protocol/compression/mod.ts";
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

/**
 * How many bytes a batch of `n` record bytes can grow by when its codec finds nothing to
 * compress and stores them raw, as these compressors then do: lz4 frame header, end mark and
 * a size word per 64 KiB block; a zstd frame header and 3 bytes per 128 KiB block; gzip's
 * header and trailer and a stored block every 16 KiB or less (zlib's `deflateBound`); xerial
 * snappy's header, and per 32 KiB block its size word, length varint and literal tags.
 * Batches of a compressing producer close that much below `batchSize`, so a batch of
 * incompressible records never comes out larger than `batchSize`: with `batchSize` at the
 * broker's `message.max.bytes` (1 MiB + 12 by default) it would otherwise be refused as too
 * large and split (it was, for half the batches of 100-byte random letters with lz4).
 */
function rawGrowth(codec: CompressionCodec, n: number): number {
  switch (codec) {
    case Compression.Gzip:
      return 31 + (n >>> 12) + (n >>> 14) + (n >>> 25);
    case Compression.Snappy:
      return 16 + 12 * Math.ceil(n / 32_768);
    case Compression.Lz4:
      return 11 + 4 * Math.ceil(n / 65_536);
    case Compression.Zstd:
      return 18 + 3 * Math.ceil(n / 131_072);
    default:
      return 0;
  }
}
/** Builders start at most this large; bigger batches grow as records arrive. */
const MAX_INITIAL_CAPACITY = 1 << 20;
/** A partition's first builder starts at most this large. */
const FIRST_CAPACITY = 16_384;
/**
 * Batches smaller than this are compressed on the producer's thread when they are drained:
 * handing them to a worker would cost more latency than the compression itself.
 */
export const WORKER_MIN_BYTES = 65_536;
/** How many batches each compression worker may have away at once (see `compressAhead`). */
const WORKER_QUEUE = 2;

/**
 * What {@linkcode Accumulator.append} returns, with `moveOnFull`, when the record did not fit
 * the partition's full batch: the batch is closed and the record was not appended.
 */
export const NEW_BATCH = -2;

/** What the accumulator tells the sender. */
export interface AccumulatorHooks {
  /** A batch is ready now (full, `lingerMs` 0, or the budget is exhausted). */
  wake(): void;
  /** A new batch was opened; its linger ends at `lingerEndsAt`. */
  opened(partition: PartitionState, lingerEndsAt: number): void;
  /** A compression worker lost a batch (it died, or the producer closed): fail it. */
  lost(batch: ProducerBatch, error: Error): void;
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
  readonly #options: ResolvedProducerOptions;
  readonly #codec: CompressionCodec;
  readonly #transactional: boolean;
  readonly #hooks: AccumulatorHooks;
  readonly #compressor: BatchCompressor | null;
  /** The capacity a full batch is built in (larger batches grow past it). */
  readonly #fullCapacity: number;
  /**
   * The size of the buffers kept for reuse: `#fullCapacity`, or with compression the worst
   * case of a full batch compressed (lz4's; zstd and gzip fit too, snappy's worst case may
   * not, and then allocates). A compressing producer builds batches in buffers of that size
   * too, so one pool serves both: the builder buffer a drain frees is the next drain's
   * output buffer.
   */
  readonly #poolCapacity: number;
  /** Buffers of `#poolCapacity` bytes free for reuse: builder and compression output buffers. */
  readonly #spares: Uint8Array[] = [];
  /** Batches away with a compression worker: each holds two buffers (input and output). */
  #compressing = 0;
  /**
   * How many batches may be away with compression workers at once (`WORKER_QUEUE` a worker).
   * Each holds a second buffer, its output, so the pool keeps as many spares beyond the
   * budget's free part.
   */
  readonly #awayLimit: number;
  /** Where a batch is full: `batchSize`, less what its codec may add (see `rawGrowth`). */
  readonly #batchLimit: number;
  #buffered = 0;
  #maxBuffered = 0;
  /** The size of the last batch that filled up (0 before any did). */
  #lastFull = 0;

  constructor(
    options: ResolvedProducerOptions,
    codec: CompressionCodec,
    hooks: AccumulatorHooks,
    compressor: BatchCompressor | null = null,
  ) {
    this.#options = options;
    this.#codec = codec;
    this.#transactional = options.transactionalId !== undefined;
    this.#hooks = hooks;
    this.#compressor = codec === Compression.None ? null : compressor;
    this.#awayLimit = this.#compressor === null
      ? 0
      : WORKER_QUEUE * Math.max(1, options.compressionWorkers);
    this.#fullCapacity = Math.min(options.batchSize, MAX_INITIAL_CAPACITY);
    this.#batchLimit = Math.max(1, options.batchSize - rawGrowth(codec, options.batchSize));
    this.#poolCapacity = codec === Compression.None
      ? this.#fullCapacity
      : HEADER + lz4FrameBound(this.#fullCapacity - HEADER);
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
   * full). `delivery` is a `send()`'s delivery; a stream write passes null, and `report` when its
   * outcome is to be reported. Returns the bytes the batch grew by, or -1 when the budget is
   * full (the record must wait). With `moveOnFull` (a keyless record on its sticky partition),
   * a record that does not fit the open batch closes it and returns {@linkcode NEW_BATCH}
   * instead of opening the next batch on the same partition. Throws when the record can never
   * fit.
   */
  append(
    partition: PartitionState,
    ts: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
    delivery: Delivery | null,
    report: ProducerRecord | null,
    moveOnFull = false,
  ): number {
    let batch = partition.open;
    let size = -1;
    if (batch !== null) {
      // One sizing for both limits (see RecordBatchBuilder.appendWithin): the batch's, and
      // the budget's (the batch may grow by what bufferMemory has left).
      const batchSize = this.#batchLimit;
      const room = this.#buffered > 0
        ? this.#options.bufferMemory - this.#buffered + batch.size
        : Infinity;
      size = batch.builder!.appendWithin(
        ts,
        key,
        value,
        headers,
        batchSize < room ? batchSize : room,
      );
      if (size < 0) {
        if (-size <= batchSize) return this.#full();
        this.#close(partition, batch);
        // The uniform sticky choice moves on rather than open a batch for the overflow.
        if (moveOnFull) return NEW_BATCH;
        batch = null;
      }
    }
    if (batch === null) {
      const need = this.#firstRecordSize(partition, key, value, headers);
      if (this.#buffered + need > this.#options.bufferMemory && this.#buffered > 0) {
        return this.#full();
      }
      batch = this.#open(partition, need);
      const builder = batch.builder!;
      builder.append(ts, key, value, headers);
      size = builder.sizeInBytes;
    }
    const idx = batch.count++;
    const grew = size - batch.size;
    this.#buffered += grew;
    if (this.#buffered > this.#maxBuffered) this.#maxBuffered = this.#buffered;
    partition.buffered += grew;
    batch.size = size;
    if (delivery !== null) {
      delivery.timestamp = ts;
      (batch.deliveries ??= [])[idx] = delivery;
    } else {
      batch.streamCount++;
      if (report !== null) (batch.reported ??= [])[idx] = report;
    }
    if (size >= this.#batchLimit) {
      this.#close(partition, batch);
      this.#hooks.wake();
    } else if (this.#options.lingerMs === 0) this.#hooks.wake();
    return grew;
  }

  /** The budget is full: every batch becomes ready (as Java does when memory is exhausted). */
  #full(): number {
    this.memoryWait = true;
    this.#hooks.wake();
    return -1;
  }

  /** The partition's open batch takes no more records (full). */
  #close(partition: PartitionState, batch: ProducerBatch): void {
    partition.open = null;
    this.#lastFull = batch.size;
    partition.capacityHint = Math.max(batch.size, partition.capacityHint >>> 1);
    this.compressAhead(batch);
  }

  /**
   * Hands a closed batch large enough to a compression worker, so it is compressed while
   * this thread batches and sends; it is drainable once it is back. Returns whether it went.
   * Its sequence is assigned at drain as for any batch (the bytes are patched then).
   */
  compressAhead(batch: ProducerBatch): boolean {
    const compressor = this.#compressor;
    if (compressor === null || batch.size < WORKER_MIN_BYTES || batch.builder === null) {
      return false;
    }
    // At most two batches a worker away (one compressing, one queued behind it): a batch away
    // holds two buffers (its records and the output) for one batch of budget, and a worker
    // slower than the writes had the whole budget queued, twice over (P3-lz4-1KiB with one
    // worker: 209 MiB peak RSS, against 122 without). A batch past that waits in its queue
    // and is compressed at its drain, here, as without workers.
    if (this.#compressing >= this.#awayLimit) return false;
    const builder = batch.builder;
    if (batch === batch.partition.open) batch.partition.open = null;
    const uncompressed = builder.finishUncompressed();
    const level = this.#options.compressionLevel;
    // With no spare, a full-size output from here (as `finish` makes one): one a worker made
    // would have the compressed batch's size, fit no later batch, and be garbage at its ack.
    const output = this.#spare() ??
      (batch.size >= this.#fullCapacity >>> 1 ? new Uint8Array(this.#poolCapacity) : undefined);
    const done = (bytes: Uint8Array | null, input: Uint8Array | null) =>
      this.#compressed(batch, bytes, input);
    if (!compressor.submit(uncompressed, level, output, done)) {
      // No worker ready: compress here, now (as a drain would have).
      this.#compressHere(batch, uncompressed, output, builder.recordsCrc());
      return false;
    }
    batch.builder = null;
    batch.compressing = true;
    this.#compressing++;
    return true;
  }

  #compressed(batch: ProducerBatch, bytes: Uint8Array | null, input: Uint8Array | null): void {
    batch.compressing = false;
    this.#compressing--;
    if (batch.done) {
      // Failed or expired meanwhile: nothing to send.
      if (input !== null) this.recycle(input);
      return;
    }
    if (input === null) {
      this.#hooks.lost(batch, new KafkaError("the batch was lost with its compression worker"));
      return;
    }
    if (bytes === null) {
      bytes = compressRecordBatch(input.subarray(0, batch.size), this.#options.compressionLevel);
    } else this.workerCompressed++;
    batch.bytes = bytes;
    this.recycle(input);
    this.#hooks.wake();
  }

  /**
   * Takes back a buffer no batch needs any more (a builder or compression output buffer of
   * the pool's size), for a later batch or compression.
   */
  recycle(buffer: Uint8Array | null): void {
    if (buffer === null) return;
    const size = buffer.buffer.byteLength;
    if (size !== this.#poolCapacity) return;
    // The spares count inside `bufferMemory`, as the free list of Java's BufferPool does: a
    // buffer is kept while the budget's free part, plus two buffers, can hold it, and always
    // when the pool is empty. The two buffers: an open batch holds a whole buffer while the
    // budget counts only its records so far, and a compressed batch's builder buffer comes
    // back at drain while its bytes still count (it is the next drain's output buffer). A
    // fixed count of spares (it was a quarter of the budget) dropped most buffers at every
    // flush, when the whole budget comes back at once, and the next batches allocated new ones
    // while the dropped ones waited, promoted to the old generation, for a full GC: ~24 dead
    // MiB on top of the budget, the largest part of the producer's peak RSS (bench/PROFILE.md,
    // Session 13). Counted in whole batches, the free part rounded up: a full batch is a little
    // smaller than its buffer (and with compression the buffer a little larger than
    // `batchSize`), and counted in bytes the pool came out one buffer short of what a full
    // budget cycles through, so every ack dropped a buffer and the next batch allocated one.
    // Each batch away with a compression worker holds a second buffer (its output) for one
    // batch of budget: one more spare for each a worker may have away, fixed (a bound that
    // followed how many were away at the moment dropped the buffers that came back with them,
    // and they were allocated again when the next went away). (With one worker the old bound
    // dropped 121 buffers in 330 batches and allocated as many: 195-209 MiB peak RSS on
    // P3-lz4-1KiB, 145 now; bench/PROFILE.md, Session 16.)
    const free = Math.ceil(
      Math.max(0, this.#options.bufferMemory - this.#buffered) / this.#fullCapacity,
    ) + 2 + this.#awayLimit;
    if (this.#spares.length > 0 && this.#spares.length >= free) return;
    this.#spares.push(new Uint8Array(buffer.buffer, 0, size));
  }

  /** A spare buffer, if the pool has one. */
  #spare(): Uint8Array | undefined {
    return this.#spares.pop();
  }

  /** Bytes of spare buffers held for reuse (builder and compression output buffers). */
  get pooledBytes(): number {
    // Every spare is a whole buffer of the pool's size (`recycle` keeps no other).
    return this.#spares.length * this.#poolCapacity;
  }

  /** Finishes a batch at its first drain (compressing it here, if no worker did). */
  finish(batch: ProducerBatch): void {
    const builder = batch.builder;
    if (builder !== null && this.#codec !== Compression.None && batch.size >= WORKER_MIN_BYTES) {
      // A large batch no worker took is compressed here into a full-size output buffer that
      // comes back on acknowledgement (`release`), as the workers' outputs do: a fresh ~1 MiB
      // buffer per batch cost its zeroing, page faults and GC work. Only a batch at least
      // half full starts a new one; the builder's buffer is reused at once.
      const output = this.#spare() ??
        (batch.size >= this.#fullCapacity >>> 1 ? new Uint8Array(this.#poolCapacity) : undefined);
      this.#compressHere(batch, builder.finishUncompressed(), output, builder.recordsCrc());
      return;
    }
    this.recycle(batch.finish());
  }

  /**
   * Compresses a finished batch's records on this thread into `output` (a reusable buffer,
   * or a fresh one when undefined); the builder's buffer goes back for the next batch.
   */
  #compressHere(
    batch: ProducerBatch,
    uncompressed: Uint8Array,
    output: Uint8Array | undefined,
    recordsCrc: number | undefined,
  ): void {
    // In place: records that do not compress at all go out from the builder's buffer,
    // uncompressed, not copied (bench/PROFILE.md, Session 14); `output` then comes back. The
    // topic's next large builders then checksum their records as they append them (in the
    // cache, as an uncompressed batch's), which such a batch then needs no pass for; a batch
    // that compresses again turns that off.
    const level = this.#options.compressionLevel;
    const bytes = compressRecordBatch(uncompressed, level, output, true, recordsCrc);
    batch.bytes = bytes;
    batch.builder = null;
    const plain = bytes === uncompressed;
    batch.partition.topic.recordsPlain = plain;
    this.recycle(plain ? output ?? null : uncompressed);
  }

  /** The size of a batch holding only this record; throws when that can never be sent. */
  #firstRecordSize(
    partition: PartitionState,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
  ): number {
    const need = HEADER + maxRecordSize(key?.length ?? -1, value?.length ?? -1, headers);
    const limit = Math.min(this.#options.maxRequestSize, this.#options.bufferMemory);
    if (need > limit) {
      throw new ProtocolError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `a record of ${need} bytes (in its batch) for "${partition.topic.name}" exceeds ` +
          (limit === this.#options.maxRequestSize
            ? `maxRequestSize ${limit}`
            : `bufferMemory ${limit}`),
      );
    }
    return need;
  }

  /**
   * A record builder with the producer's codec, sized for `capacity` bytes, or built in
   * `buffer`.
   */
  newBuilder(capacity: number, buffer?: Uint8Array, checksumRecords = false): RecordBatchBuilder {
    return new RecordBatchBuilder({
      compression: this.#codec,
      checksumRecords,
      ...this.#options.compressionLevel !== undefined && { level: this.#options.compressionLevel },
      transactional: this.#transactional,
      initialCapacity: capacity,
      maxCapacity: this.#options.batchSize,
      ...buffer !== undefined && { buffer },
    });
  }

  #open(partition: PartitionState, need: number): ProducerBatch {
    // Start where the partition's last batches ended: a quiet partition (awaited sends, idle
    // flush) does not allocate a whole batchSize, up to 1 MiB, per record. A busy one (one of
    // its last two batches at least half full) gets a full-size buffer, so it never regrows and copies
    // batch after batch; so does any batch when a finished one left its buffer for reuse
    // (Java pools its batch buffers).
    const full = this.#fullCapacity;
    // A partition's first batch starts like the last batch that filled up, if one did: the
    // sticky partitioner fills a batch on each partition it moves to, and over 256 partitions
    // (P6) nearly every batch was its partition's first, doubling from 16 KiB to 1 MiB: six
    // copies and 2 MiB allocated for each 1 MiB batch (bench/PROFILE.md, Session 13). Only
    // once per partition: after that its own batches set its hint.
    const hint = partition.capacityHint > 0 ? partition.capacityHint : this.#firstHint();
    const builder = (hint > full / 4 || this.#spares.length > 0) && need <= full
      ? this.newBuilder(
        full,
        this.#spare() ?? new Uint8Array(this.#poolCapacity),
        partition.topic.recordsPlain,
      )
      : this.newBuilder(Math.max(need, Math.min(full, hint)));
    const now = Date.now();
    const batch = new ProducerBatch(partition, builder, now);
    partition.queue.push(batch);
    partition.open = batch;
    this.activate(partition);
    this.incomplete.add(batch);
    this.#hooks.opened(partition, now + this.#options.lingerMs);
    return batch;
  }

  /**
   * Where a partition's first batch starts: like the last batch that filled up, while the open
   * batches started that way fit in half of `bufferMemory`, else small. A buffer that size
   * holds a whole batchSize for perhaps one record, and the budget counts only the records: a
   * keyed producer over many partitions (one of them hot) would otherwise take a batchSize for
   * each partition's first record, 200 MiB for 200 partitions under a 32 MiB budget. The
   * sticky partitioner keeps one batch open per topic, so it still starts at full size. The
   * open batches are counted here, once per partition (its later batches follow its own hint).
   */
  #firstHint(): number {
    const last = this.#lastFull;
    if (last <= FIRST_CAPACITY) return FIRST_CAPACITY;
    let open = 1;
    for (const p of this.active) if (p.open !== null) open++;
    return open * last <= this.#options.bufferMemory / 2 ? last : FIRST_CAPACITY;
  }

  /** Puts a partition on the sender's work list. */
  activate(partition: PartitionState): void {
    if (!partition.active) {
      partition.active = true;
      this.active.add(partition);
    }
  }

  /** Takes a partition with an empty queue off the work list. */
  deactivate(partition: PartitionState): void {
    partition.active = false;
    this.active.delete(partition);
  }

  /**
   * When the partition's head batch `batch` may be sent as far as lingering goes: at once (0) when
   * it is closed (full, or a newer batch exists) or `urgent`, else when its linger ends.
   */
  lingerEnd(partition: PartitionState, batch: ProducerBatch, urgent: boolean): number {
    return batch === partition.open && !urgent ? batch.createdMs + this.#options.lingerMs : 0;
  }

  /** Takes the head batch off its queue for sending. */
  take(partition: PartitionState, batch: ProducerBatch): void {
    if (batch === partition.open) partition.open = null;
    partition.queue.shift();
    if (!batch.drained) partition.capacityHint = Math.max(batch.size, partition.capacityHint >>> 1);
  }

  /** Takes a batch off its queue wherever it is (it expired or failed). */
  remove(batch: ProducerBatch): void {
    const q = batch.partition.queue;
    const i = q.indexOf(batch);
    if (i >= 0) q.splice(i, 1);
    if (batch.partition.open === batch) batch.partition.open = null;
  }

  /**
   * Puts batches back at the front of their partition's queue for a retry: ahead of newer
   * batches, behind any with a lower sequence (so sequences go out in order).
   */
  requeue(
    partition: PartitionState,
    batches: readonly ProducerBatch[],
    baseSequence: number,
  ): void {
    const q = partition.queue;
    let i = 0;
    if (baseSequence >= 0) {
      while (i < q.length && q[i]!.baseSequence >= 0 && q[i]!.baseSequence < baseSequence) i++;
    }
    q.splice(i, 0, ...batches);
    this.activate(partition);
  }

  /** Replaces a batch split after MESSAGE_TOO_LARGE by its parts, in the budget too. */
  split(batch: ProducerBatch, parts: readonly ProducerBatch[]): void {
    let total = 0;
    for (const p of parts) {
      total += p.size;
      this.incomplete.add(p);
    }
    this.#buffered += total - batch.size;
    batch.partition.buffered += total - batch.size;
    this.incomplete.delete(batch);
  }

  /**
   * A batch completed: its bytes leave the budget. `acknowledged`: the broker answered the
   * request that carried it, so that request was written out in full; when it was the
   * batch's only request, nothing reads the bytes any more and their buffer is reused.
   * (Requests write the batch's own buffer, `zeroCopy`: after a failure, or an earlier attempt
   * of a retried batch, a write may still be queued somewhere, so those buffers are left to
   * the garbage collector.)
   */
  release(batch: ProducerBatch, acknowledged = false): void {
    this.#buffered -= batch.size;
    batch.partition.buffered -= batch.size;
    this.incomplete.delete(batch);
    if (acknowledged && batch.attempts === 1 && batch.bytes !== null) {
      this.recycle(batch.bytes);
      batch.bytes = null;
    }
  }
}
