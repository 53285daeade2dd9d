/**
 * A partition's share of one fetch response (internal), decoded lazily, one record batch at a
 * time, so that at most one decompressed batch exists per read; and the conversion of a batch
 * into the records the reader gets.
 *
 * @module
 */

import {
  type BatchOf,
  beginRecordSlices,
  decodeRecordBatches,
  decodeRecordBatchWith,
  readRecordSlice,
  type RecordMaker,
  type RecordSlices,
} from "../protocol/record_batch_decoder.ts";
import { type RecordBatch, RecordBatchLayout as L } from "../protocol/record_batch.ts";
import type { PartitionState } from "./partition_state.ts";
import type { ConsumerRecord } from "./types.ts";

/**
 * One fetch response's memory: charged to the budget once, released when every chunk cut
 * from it has been handed out (or dropped).
 */
export interface FrameRef {
  /** Bytes charged. */
  bytes: number;
  /** Chunks still using it. */
  refs: number;
  /** The fetch lane's own count of held bytes, decremented with the frame's release. */
  lane?: { held: number };
}

/** What the header walk of a partition's records found. */
export interface BatchScan {
  /** Bytes taken by complete batches. */
  used: number;
  /** Complete batches. */
  count: number;
  /** The offset after the last complete batch. */
  nextOffset: bigint;
  /** The partition leader epoch of the last complete batch (-1 for legacy messages). */
  lastEpoch: number;
}

/**
 * Walks the batch headers of a Fetch partition's `records` (no decoding, no CRC) to find where
 * the complete batches end and the next fetch must start.
 *
 * @example
 * ```ts ignore
 * const s = scanBatches(records);
 * if (s.count > 0) fetchOffset = s.nextOffset;
 * ```
 */
export function scanBatches(bytes: Uint8Array): BatchScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let count = 0;
  let nextOffset = -1n;
  let lastEpoch = -1;
  while (bytes.length - pos >= L.Magic + 1) {
    const length = view.getInt32(pos + L.BatchLength);
    const end = pos + L.LogOverhead + length;
    if (length < 0 || end > bytes.length) break;
    const magic = bytes[pos + L.Magic];
    if (magic === 2) {
      if (length < L.HeaderSize - L.LogOverhead) break;
      nextOffset = view.getBigInt64(pos) + BigInt(view.getInt32(pos + L.LastOffsetDelta)) + 1n;
      lastEpoch = view.getInt32(pos + L.PartitionLeaderEpoch);
    } else {
      // Legacy message sets: the outer offset is the last inner offset.
      nextOffset = view.getBigInt64(pos) + 1n;
      lastEpoch = -1;
    }
    count++;
    pos = end;
  }
  return { used: pos, count, nextOffset, lastEpoch };
}

/**
 * The most records of an uncompressed batch decoded at once (a slice: see
 * {@linkcode Chunk.nextRecords}). A whole 1 MiB batch of 100 B records is ~9,000 records alive
 * until the reader took them, which every young-generation collection meanwhile copies
 * (bench/PROFILE.md, session 13, C6: the same decode costs ~28 ns a record more with 9,000-record
 * batches than with 140-record ones).
 */
export const SLICE_RECORDS = 512;

/** An aborted transaction from a Fetch response (KIP-98). */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
}

/**
 * A partition's records from one fetch response.
 *
 * @example
 * ```ts ignore
 * const chunk = new Chunk(ps, records, null, frame, 0n, -1, 10n, 0);
 * for (let b = chunk.nextBatch(true, 1 << 20); b; b = chunk.nextBatch(true, 1 << 20)) {}
 * ```
 */
export class Chunk {
  readonly ps: PartitionState;
  readonly gen: number;
  readonly bytes: Uint8Array;
  readonly frame: FrameRef;
  /** The fetch offset that produced it, and the epoch before it. */
  readonly startOffset: bigint;
  readonly startEpoch: number;
  /** The offset after it, and its last batch's epoch. */
  readonly endOffset: bigint;
  readonly endEpoch: number;
  #pos = 0;
  readonly #aborted: AbortedTxn[];
  readonly #abortedProducers = new Set<bigint>();

  /** A chunk of `bytes` (complete batches only) for `ps`. */
  constructor(
    ps: PartitionState,
    bytes: Uint8Array,
    aborted: AbortedTxn[] | null,
    frame: FrameRef,
    startOffset: bigint,
    startEpoch: number,
    endOffset: bigint,
    endEpoch: number,
  ) {
    this.ps = ps;
    this.gen = ps.gen;
    this.bytes = bytes;
    this.frame = frame;
    this.startOffset = startOffset;
    this.startEpoch = startEpoch;
    this.endOffset = endOffset;
    this.endEpoch = endEpoch;
    this.#aborted = aborted
      ? [...aborted].sort((a, b) => a.firstOffset < b.firstOffset ? -1 : 1)
      : [];
  }

  /** Whether every batch was decoded. */
  get exhausted(): boolean {
    return this.#pos >= this.bytes.length && this.#slices === undefined;
  }

  /**
   * Whether the last {@linkcode nextRecords} returned a slice of a batch with records left:
   * the position after it is its last record's offset + 1, not the batch's end.
   */
  get slicing(): boolean {
    return this.#slices !== undefined;
  }

  /**
   * Decodes the next batch, decompressing at most `maxDecompressed` bytes; undefined at the
   * end. On failure the position stays, so the caller can free memory and retry.
   */
  nextBatch(checkCrc: boolean, maxDecompressed: number): RecordBatch | undefined {
    const b = this.bytes;
    const pos = this.#pos;
    if (b.length - pos < L.Magic + 1) {
      this.#pos = b.length;
      return undefined;
    }
    const length = (b[pos + 8]! << 24) | (b[pos + 9]! << 16) | (b[pos + 10]! << 8) | b[pos + 11]!;
    const end = pos + L.LogOverhead + length;
    const { batches } = decodeRecordBatches(b.subarray(pos, end), {
      checkCrc,
      maxDecompressedBytes: Math.max(0, maxDecompressed),
    });
    this.#pos = end;
    return batches[0];
  }

  /**
   * Decodes the next batch into reader records (built straight from the bytes: see
   * {@linkcode recordMaker}), decompressing at most `maxDecompressed` bytes; undefined at the
   * end. Every record of the batch is there, including those before the fetch offset (the
   * caller cuts them). On failure the position stays, so the caller can free memory and retry.
   */
  nextRecords(checkCrc: boolean, maxDecompressed: number): BatchOf<ConsumerRecord> | undefined {
    if (this.#slices !== undefined) return this.#nextSlice(this.#slices);
    const b = this.bytes;
    const pos = this.#pos;
    if (b.length - pos < L.Magic + 1) {
      this.#pos = b.length;
      return undefined;
    }
    if (b[pos + L.Magic] !== 2) {
      // Legacy message sets (magic 0/1, rare): decoded as before, then converted.
      const batch = this.nextBatch(checkCrc, maxDecompressed);
      if (batch === undefined) return undefined;
      const out: ConsumerRecord[] = [];
      batchRecords(batch, this.ps.topic, this.ps.partition, -1n, -1n, out);
      return { ...batch, records: out };
    }
    const length = (b[pos + 8]! << 24) | (b[pos + 9]! << 16) | (b[pos + 10]! << 8) | b[pos + 11]!;
    const end = pos + L.LogOverhead + length;
    if (end > b.length) {
      // A truncated tail (never cut into a chunk, but the decoder would skip it too).
      this.#pos = b.length;
      return undefined;
    }
    // A large uncompressed batch is read a slice at a time (SLICE_RECORDS): checked (CRC)
    // and its header decoded now, its records as the reader gets to them.
    const slices = beginRecordSlices<ConsumerRecord>(
      b.subarray(pos, end),
      checkCrc,
      SLICE_RECORDS,
    );
    if (slices !== undefined) {
      this.#pos = end;
      this.#slices = slices;
      return this.#nextSlice(slices);
    }
    const maker = this.#maker ??= recordMaker(this.ps.topic, this.ps.partition);
    try {
      const batch = decodeRecordBatchWith(
        b.subarray(pos, end),
        checkCrc,
        Math.max(0, maxDecompressed),
        maker.make,
      );
      this.#pos = end;
      return batch;
    } finally {
      // Or a partition waiting for its turn would keep its last batch's records alive.
      maker.forget();
    }
  }

  #maker: ReturnType<typeof recordMaker> | undefined;
  /** The batch being read a slice at a time, while it has records left. */
  #slices: RecordSlices<ConsumerRecord> | undefined;

  /** The next slice of `s` (its batch, with the slice as `records`). */
  #nextSlice(s: RecordSlices<ConsumerRecord>): BatchOf<ConsumerRecord> {
    const maker = this.#maker ??= recordMaker(this.ps.topic, this.ps.partition);
    try {
      readRecordSlice(s, SLICE_RECORDS, maker.make);
    } finally {
      maker.forget();
    }
    if (s.left === 0) this.#slices = undefined;
    return s.batch;
  }

  /**
   * read_committed filtering (Java's algorithm): transactional batches of a producer whose
   * transaction was aborted are skipped, from the aborted transaction's first offset until
   * its abort marker. Call for every batch in order; control batches return true (never
   * delivered).
   */
  skip(batch: Omit<RecordBatch, "records">, readCommitted: boolean): boolean {
    if (batch.isControl) {
      if (readCommitted && batch.control?.type === 0) {
        this.#abortedProducers.delete(batch.producerId);
      }
      return true;
    }
    if (!readCommitted || !batch.isTransactional) return false;
    const last = batch.baseOffset + BigInt(batch.lastOffsetDelta);
    while (this.#aborted.length > 0 && this.#aborted[0]!.firstOffset <= last) {
      this.#abortedProducers.add(this.#aborted.shift()!.producerId);
    }
    return this.#abortedProducers.has(batch.producerId);
  }
}

/**
 * A record as handed to the reader: a plain class, so V8 keeps one fast shape. The fields are
 * the constructor's parameter properties (assigned in this order), typed by
 * {@linkcode ConsumerRecord}: the one list of record fields is the interface.
 */
class Record implements ConsumerRecord {
  constructor(
    public topic: ConsumerRecord["topic"],
    public partition: ConsumerRecord["partition"],
    public offset: ConsumerRecord["offset"],
    public key: ConsumerRecord["key"],
    public value: ConsumerRecord["value"],
    public headers: ConsumerRecord["headers"],
    public timestamp: ConsumerRecord["timestamp"],
    public timestampType: ConsumerRecord["timestampType"],
    public leaderEpoch: ConsumerRecord["leaderEpoch"],
  ) {}
}

const MAX_SAFE_BASE = BigInt(Number.MAX_SAFE_INTEGER) - (1n << 32n);

/**
 * Builds reader records of `topic`/`partition` straight from the decoder's fields (see
 * `decodeRecordBatchWith`): no intermediate record per record. The batch-level values are
 * worked out once per batch. An offset is `baseOffset + BigInt(offsetDelta)`: V8's optimizing
 * compiler turns that into a 64-bit add and one allocation, where `BigInt(number)` is a call
 * into the runtime (deno bench, 1000 offsets: ~14 -> ~6 us at best).
 *
 * @example
 * ```ts ignore
 * const maker = recordMaker("t", 0);
 * const batch = decodeRecordBatchWith(bytes, true, 1 << 20, maker.make);
 * maker.forget();
 * ```
 */
export function recordMaker(
  topic: string,
  partition: number,
): { make: RecordMaker<ConsumerRecord>; forget: () => void } {
  let last: object | undefined;
  let baseOffset = 0n;
  let logAppend = false;
  let tsType: "create" | "log-append" = "create";
  let baseTs = 0;
  let epoch = -1;
  const make: RecordMaker<ConsumerRecord> = (
    batch,
    offsetDelta,
    timestampDelta,
    key,
    value,
    headers,
  ) => {
    if (batch !== last) {
      last = batch;
      baseOffset = batch.baseOffset;
      logAppend = batch.timestampType === 1;
      tsType = logAppend ? "log-append" : "create";
      baseTs = logAppend ? batch.maxTimestamp : batch.baseTimestamp;
      epoch = batch.partitionLeaderEpoch;
    }
    return new Record(
      topic,
      partition,
      baseOffset + BigInt(offsetDelta),
      key,
      value,
      // Records without headers share the decoder's frozen empty array (no allocation).
      headers as { key: string; value: Uint8Array | null }[],
      logAppend ? baseTs : baseTs + timestampDelta,
      tsType,
      epoch,
    );
  };
  // The batch must not outlive its decoding here: it holds every record of it.
  return { make, forget: () => last = undefined };
}

/**
 * The records of `batch` at or after `from` and before `end` (exclusive, -1 for none), as
 * reader records. Offsets are compared as numbers while they are safe integers, which real
 * offsets are; each record's bigint is `baseOffset + BigInt(offsetDelta)` (see
 * {@linkcode recordMaker}).
 *
 * @example
 * ```ts ignore
 * const out: ConsumerRecord[] = [];
 * batchRecords(batch, "t", 0, 0n, -1n, out);
 * ```
 */
export function batchRecords(
  batch: RecordBatch,
  topic: string,
  partition: number,
  from: bigint,
  end: bigint,
  out: ConsumerRecord[],
): void {
  const records = batch.records;
  const n = records.length;
  const logAppend = batch.timestampType === 1;
  const tsType = logAppend ? "log-append" : "create";
  const baseTs = logAppend ? batch.maxTimestamp : batch.baseTimestamp;
  const epoch = batch.partitionLeaderEpoch;
  if (batch.baseOffset <= MAX_SAFE_BASE && from <= MAX_SAFE_BASE + 1n) {
    const base = Number(batch.baseOffset);
    const min = Number(from);
    const max = end < 0n ? Infinity : Number(end);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      const off = base + r.offsetDelta;
      if (off < min) continue;
      if (off >= max) break;
      const h = r.headers;
      out.push(
        new Record(
          topic,
          partition,
          batch.baseOffset + BigInt(r.offsetDelta),
          r.key,
          r.value,
          // Records without headers share the decoder's frozen empty array (no allocation).
          h as { key: string; value: Uint8Array | null }[],
          logAppend ? baseTs : baseTs + r.timestampDelta,
          tsType,
          epoch,
        ),
      );
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const off = batch.baseOffset + BigInt(r.offsetDelta);
    if (off < from) continue;
    if (end >= 0n && off >= end) break;
    out.push(
      new Record(
        topic,
        partition,
        off,
        r.key,
        r.value,
        r.headers as { key: string; value: Uint8Array | null }[],
        logAppend ? baseTs : baseTs + r.timestampDelta,
        tsType,
        epoch,
      ),
    );
  }
}
