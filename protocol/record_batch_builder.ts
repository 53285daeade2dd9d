/**
 * Encoding of RecordBatch v2 (magic 2): an incremental builder for the producer's accumulator,
 * a one-shot encoder, control (transaction marker) batches, and in-place rewriting of the
 * producer fields of a finished batch.
 *
 * @module
 */

import { compressBatchRecords, type CompressionCodec } from "./compression/mod.ts";
import { RecordsCrc } from "./compression/records_crc.ts";
import { encodeControlRecordKey, encodeEndTxnMarkerValue } from "./control_record.ts";
import { crc32c, crc32cCombine, crc32cUpdate } from "./crc32c.ts";
import { ClosedError } from "./errors.ts";
import { putVarint, putVarlong } from "./varint_put.ts";
import {
  BatchAttributes,
  ControlRecordType,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_SEQUENCE,
  RecordBatchLayout as L,
  type RecordHeader,
  type TimestampTypeId,
} from "./record_batch.ts";

const HEADER: number = L.HeaderSize;
/**
 * An uncompressed batch's records are checksummed as they are appended, in runs of this many
 * bytes, while they are still in the cache; `finish` then combines the header's CRC with
 * theirs. Checksumming a whole 1 MiB batch at the end reads it back from further away (Session
 * 13 P2 in bench/PROFILE.md). The runs were 16 KiB for the old table CRC (its tables in L1
 * beside the run); crc32c's WebAssembly path costs a copy, a call and a ~3 KiB tail per call,
 * so runs of 128 KiB (still in L2 when checksummed) cost less: 1 MiB batches of 1 KiB records
 * ~10 % faster to build (bench/PROFILE.md, Session 15: producer CRC runs).
 */
const CRC_RUN = 128 * 1024;
const encoder = new TextEncoder();

/** Options of a {@linkcode RecordBatchBuilder}. */
export interface RecordBatchBuilderOptions {
  /** Compression codec id (see `Compression`); default 0, none. */
  compression?: CompressionCodec;
  /** Codec level, passed to `compress`. */
  level?: number;
  /** Idempotent producer id; default -1 (none). May be set later by `setProducerState`. */
  producerId?: bigint | number;
  /** Producer epoch; default -1. */
  producerEpoch?: number;
  /** Sequence number of the first record; default -1. */
  baseSequence?: number;
  /** Whether the batch belongs to a transaction; default false. */
  transactional?: boolean;
  /** Whether this is a control batch; default false (use {@linkcode encodeControlBatch}). */
  isControl?: boolean;
  /** Partition leader epoch; default -1 (the broker sets it). */
  partitionLeaderEpoch?: number;
  /** 0 CreateTime (default) or 1 LogAppendTime. */
  timestampType?: TimestampTypeId;
  /** The base offset written in the header; default 0 (a producer's batches start at 0). */
  baseOffset?: bigint | number;
  /** Marks the batch with a delete horizon (KIP-534): baseTimestamp becomes this value. */
  deleteHorizonMs?: number;
  /** Starting size of the buffer in bytes (e.g. the producer's batch.size); default 1024. */
  initialCapacity?: number;
  /**
   * A buffer to build in instead of allocating one (`initialCapacity` is then ignored): a
   * producer reuses the buffers of its finished batches this way. Its bytes are overwritten;
   * it is replaced if the batch outgrows it.
   */
  buffer?: Uint8Array;
  /**
   * The size the buffer should not grow beyond by doubling (e.g. the producer's batch.size):
   * growth stops there unless a record needs more. Default: none.
   */
  maxCapacity?: number;
  /**
   * With a codec, checksum the records as they are appended anyway, as an uncompressed batch
   * does, for a batch likely to go out uncompressed (its records incompressible): see
   * {@linkcode RecordBatchBuilder.recordsCrc}. Default false.
   */
  checksumRecords?: boolean;
}

/** The varint size of a zigzag int32 (inlined by hand where it is hot). */
function varintSize(v: number): number {
  const z = ((v << 1) ^ (v >> 31)) >>> 0;
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

/** The varint size of a zigzag varlong held in a safe-integer number. */
function varlongSize(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintSize(v);
  let u = Math.floor((v < 0 ? -v - 1 : v) / 64);
  let n = 1;
  while (u > 0) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/**
 * UTF-8 lengths of the header keys measured by the last {@linkcode headersSize} call, so
 * `append` encodes each key without measuring it twice (JS is single-threaded; `append` reads
 * them right after sizing).
 */
let keyLengths = new Int32Array(16);

/** Bytes of the headers section: count varint, then each key and value with its length. */
function headersSize(headers: readonly RecordHeader[] | undefined): number {
  if (headers === undefined || headers.length === 0) return 1;
  if (headers.length > keyLengths.length) keyLengths = new Int32Array(headers.length * 2);
  let n = varintSize(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const k = utf8Len(h.key);
    keyLengths[i] = k;
    n += (k < 64 ? 1 : varintSize(k)) + k;
    const v = h.value;
    n += v === null ? 1 : (v.length < 64 ? 1 : varintSize(v.length)) + v.length;
  }
  return n;
}

/** UTF-8 length, with the ASCII case in one pass (header keys are nearly always ASCII). */
function utf8Len(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++; // a pair: 4 bytes for 2 units
      n += 2;
    } else n += 2;
  }
  return n;
}

/** Writes a safe-integer number as a big-endian int64. */
function setInt64n(v: DataView, at: number, n: number): void {
  const hi = Math.floor(n / 0x100000000);
  v.setInt32(at, hi);
  v.setUint32(at + 4, n - hi * 0x100000000);
}

function setInt64(v: DataView, at: number, n: bigint | number): void {
  if (typeof n === "bigint") v.setBigInt64(at, n);
  else setInt64n(v, at, n);
}

function checkTimestamp(ts: number): void {
  if (!Number.isSafeInteger(ts)) throw new RangeError(`timestamp ${ts} is not a safe integer`);
}

/**
 * Builds one RecordBatch v2 record by record, writing each record's bytes straight into one
 * growing buffer (no per-record object is kept). `finish()` patches the header, compresses
 * the records section when a codec is set, and computes the CRC-32C.
 *
 * The producer checks the size before appending with {@linkcode estimatedSizeAfter}, and may
 * set the producer id, epoch and base sequence only at drain time with
 * {@linkcode setProducerState}, as Java does.
 *
 * @example
 * ```ts
 * import { RecordBatchBuilder, decodeRecordBatches } from "@denokafka/kafka/protocol";
 * const b = new RecordBatchBuilder({ compression: 0 });
 * const enc = new TextEncoder();
 * b.append(Date.now(), enc.encode("k"), enc.encode("v"), [{ key: "h", value: null }]);
 * b.append(Date.now(), null, enc.encode("w"));
 * const bytes = b.finish();
 * console.log(decodeRecordBatches(bytes).batches[0]!.count); // 2
 * ```
 */
export class RecordBatchBuilder {
  #buf: Uint8Array;
  #pos = HEADER;
  #count = 0;
  #baseTimestamp = 0;
  #maxTimestamp = -1;
  #finished = false;
  readonly #compression: CompressionCodec;
  readonly #level: number | undefined;
  #producerId: bigint | number;
  #producerEpoch: number;
  #baseSequence: number;
  readonly #attributes: number;
  readonly #partitionLeaderEpoch: number;
  readonly #baseOffset: bigint | number;
  readonly #deleteHorizonMs: number | undefined;
  readonly #maxCapacity: number;
  /** Whether the finished batch's bytes live in `#buf` (uncompressed, or not finished). */
  #ownsBytes = true;
  /** Records bytes `[HEADER, #crcAt)` are checksummed into `#crc` (uncompressed batches). */
  #crcAt = HEADER;
  #crc = 0;
  /** Where the next checksum run starts: `#crcAt + CRC_RUN`, or never with a codec. */
  #crcNext: number;

  /** Starts an empty batch. */
  constructor(options: RecordBatchBuilderOptions = {}) {
    const codec = options.compression ?? 0;
    if (!(codec >= 0 && codec <= 4)) throw new RangeError(`unknown compression codec ${codec}`);
    this.#compression = codec;
    this.#level = options.level;
    this.#producerId = options.producerId ?? -1n;
    this.#producerEpoch = options.producerEpoch ?? NO_PRODUCER_EPOCH;
    this.#baseSequence = options.baseSequence ?? NO_SEQUENCE;
    this.#partitionLeaderEpoch = options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
    this.#baseOffset = options.baseOffset ?? 0;
    this.#deleteHorizonMs = options.deleteHorizonMs;
    if (this.#deleteHorizonMs !== undefined) checkTimestamp(this.#deleteHorizonMs);
    let attrs: number = codec;
    if (options.timestampType === 1) attrs |= BatchAttributes.LogAppendTime;
    if (options.transactional) attrs |= BatchAttributes.Transactional;
    if (options.isControl) attrs |= BatchAttributes.Control;
    if (this.#deleteHorizonMs !== undefined) attrs |= BatchAttributes.DeleteHorizon;
    this.#attributes = attrs;
    this.#maxCapacity = options.maxCapacity ?? Infinity;
    // With a codec the CRC covers the compressed bytes: nothing to do while appending, unless
    // the batch is expected to go out uncompressed after all (`checksumRecords`).
    this.#crcNext = codec === 0 || options.checksumRecords === true ? HEADER + CRC_RUN : Infinity;
    const given = options.buffer;
    this.#buf = given !== undefined && given.length >= HEADER + 64
      ? given
      : new Uint8Array(Math.max(HEADER + 64, options.initialCapacity ?? 1024));
  }

  /** Records appended so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * The size in bytes the batch has now if finished without compression (header included).
   * With a codec the final batch is usually smaller: this is the figure to hold against
   * batch.size, as it only grows.
   */
  get sizeInBytes(): number {
    return this.#pos;
  }

  /** Whether `finish()` was called. */
  get isFinished(): boolean {
    return this.#finished;
  }

  /** The compression codec id. */
  get compression(): CompressionCodec {
    return this.#compression;
  }

  /**
   * The exact uncompressed size the batch would have after appending this record, so the
   * producer can enforce batch.size / max.request.size before appending.
   */
  estimatedSizeAfter(
    timestampMs: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers?: readonly RecordHeader[],
  ): number {
    const delta = this.#count === 0 ? 0 : timestampMs - this.#baseTimestamp;
    const body = 1 + varlongSize(delta) + varintSize(this.#count) +
      (key === null ? 1 : varintSize(key.length) + key.length) +
      (value === null ? 1 : varintSize(value.length) + value.length) +
      headersSize(headers);
    return this.#pos + varintSize(body) + body;
  }

  /**
   * Sets the idempotence fields; the producer calls this when it drains the batch and knows
   * the sequence (it may also pass them to the constructor).
   */
  setProducerState(producerId: bigint | number, producerEpoch: number, baseSequence: number): this {
    if (this.#finished) throw new ClosedError("record batch builder");
    this.#producerId = producerId;
    this.#producerEpoch = producerEpoch;
    this.#baseSequence = baseSequence;
    return this;
  }

  /**
   * Appends one record. The first record's timestamp becomes the batch's baseTimestamp;
   * offsets are consecutive from 0.
   */
  append(
    timestampMs: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers?: readonly RecordHeader[],
  ): void {
    this.appendWithin(timestampMs, key, value, headers, Infinity);
  }

  /**
   * Appends one record if the batch is then at most `limit` bytes (uncompressed, as
   * {@linkcode sizeInBytes}), and returns its new size; otherwise appends nothing and returns
   * minus the size it would have had (what {@linkcode estimatedSizeAfter} says). One sizing
   * of the record serves the check and the write.
   *
   * @example
   * ```ts
   * import { RecordBatchBuilder } from "@denokafka/kafka/protocol";
   * const b = new RecordBatchBuilder();
   * const size = b.appendWithin(Date.now(), null, new Uint8Array(10), undefined, 16_384);
   * console.log(size === b.sizeInBytes); // true
   * ```
   */
  appendWithin(
    timestampMs: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
    limit: number,
  ): number {
    if (this.#finished) throw new ClosedError("record batch builder");
    const count = this.#count;
    if (count === 0) checkTimestamp(timestampMs);
    const base = count === 0 ? timestampMs : this.#baseTimestamp;
    const tsDelta = timestampMs - base;
    // One check covers NaN, fractions and deltas a double could not encode exactly.
    if (!Number.isSafeInteger(tsDelta)) checkTimestamp(tsDelta);
    const keyLen = key === null ? -1 : key.length;
    const valueLen = value === null ? -1 : value.length;
    // Size of the record body (everything after its own length varint). The common small
    // values are sized inline: a one-byte varint covers deltas and lengths below 64.
    let body = 1 +
      (tsDelta >= -64 && tsDelta < 64 ? 1 : varlongSize(tsDelta)) +
      (count < 64 ? 1 : varintSize(count)) +
      (keyLen < 64 ? 1 : varintSize(keyLen) + keyLen) +
      (valueLen < 64 ? 1 : varintSize(valueLen) + valueLen);
    if (keyLen > 0 && keyLen < 64) body += keyLen;
    if (valueLen > 0 && valueLen < 64) body += valueLen;
    const hasHeaders = headers !== undefined && headers.length > 0;
    body += hasHeaders ? headersSize(headers) : 1;
    const total = body + (body < 64 ? 1 : varintSize(body));
    const after = this.#pos + total;
    if (after > limit) return -after;
    if (count === 0) {
      this.#baseTimestamp = timestampMs;
      this.#maxTimestamp = timestampMs;
    } else if (timestampMs > this.#maxTimestamp) this.#maxTimestamp = timestampMs;
    if (after > this.#buf.length) this.#grow(total);
    const b = this.#buf;
    let p = this.#pos;
    p = body < 64 ? (b[p] = body << 1, p + 1) : putVarint(b, p, body);
    b[p++] = 0; // record attributes: unused
    p = tsDelta >= -64 && tsDelta < 64
      ? (b[p] = (tsDelta << 1) ^ (tsDelta >> 31), p + 1)
      : putVarlong(b, p, tsDelta);
    p = count < 64 ? (b[p] = count << 1, p + 1) : putVarint(b, p, count);
    if (key === null) b[p++] = 1;
    else {
      p = keyLen < 64 ? (b[p] = keyLen << 1, p + 1) : putVarint(b, p, keyLen);
      // TypedArray#set has a fixed cost that dominates for short keys: copy those by hand.
      if (keyLen < 16) { for (let j = 0; j < keyLen; j++) b[p + j] = key[j]!; }
      else b.set(key, p);
      p += keyLen;
    }
    if (value === null) b[p++] = 1;
    else {
      p = valueLen < 64 ? (b[p] = valueLen << 1, p + 1) : putVarint(b, p, valueLen);
      if (valueLen < 16) { for (let j = 0; j < valueLen; j++) b[p + j] = value[j]!; }
      else b.set(value, p);
      p += valueLen;
    }
    if (hasHeaders) p = this.#putHeaders(b, p, headers);
    else b[p++] = 0;
    this.#pos = p;
    this.#count = count + 1;
    if (p >= this.#crcNext) {
      this.#crc = crc32cUpdate(this.#crc, b, this.#crcAt, p);
      this.#crcAt = p;
      this.#crcNext = p + CRC_RUN;
    }
    return p;
  }

  /** Writes the headers; `headersSize(headers)` must have just run (it measured the keys). */
  #putHeaders(b: Uint8Array, p: number, headers: readonly RecordHeader[]): number {
    p = putVarint(b, p, headers.length);
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const k = h.key;
      const kLen = keyLengths[i]!;
      p = kLen < 64 ? (b[p] = kLen << 1, p + 1) : putVarint(b, p, kLen);
      if (kLen === k.length) {
        for (let j = 0; j < kLen; j++) b[p + j] = k.charCodeAt(j);
      } else {
        encoder.encodeInto(k, b.subarray(p, p + kLen));
      }
      p += kLen;
      const v = h.value;
      if (v === null) b[p++] = 1;
      else {
        const vLen = v.length;
        p = vLen < 64 ? (b[p] = vLen << 1, p + 1) : putVarint(b, p, vLen);
        if (vLen < 16) { for (let j = 0; j < vLen; j++) b[p + j] = v[j]!; }
        else b.set(v, p);
        p += vLen;
      }
    }
    return p;
  }

  #grow(extra: number): void {
    const need = this.#pos + extra;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    // Doubling past the batch limit would allocate (and copy into) up to twice what the
    // batch can ever hold.
    if (cap > this.#maxCapacity) cap = Math.max(need, this.#maxCapacity);
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /**
   * Completes the batch and returns its bytes. Without compression the result is a view of
   * the builder's buffer (no copy); the builder accepts no more records afterwards.
   */
  finish(): Uint8Array {
    if (this.#compression !== 0) {
      // Compressed into a new buffer, straight after room for the header.
      const out = compressRecordBatch(this.finishUncompressed(), this.#level);
      this.#ownsBytes = false;
      return out;
    }
    this.#complete();
    const out = this.#buf.subarray(0, this.#pos);
    this.#writeHeader(out);
    // The header's fields from the attributes on, then the records, the last run checksummed
    // now.
    const records = crc32cUpdate(this.#crc, out, this.#crcAt, out.length);
    const crc = crc32cCombine(crc32c(out, L.Attributes, HEADER), records, out.length - HEADER);
    v32(out).setUint32(L.Crc, crc);
    return out;
  }

  /**
   * Completes the batch but leaves its records uncompressed, for {@linkcode compressRecordBatch}
   * to compress later, possibly in another thread: the header is written (its attributes name
   * the codec; the CRC is not computed), and the result is a view of the builder's buffer.
   * `compressRecordBatch(b.finishUncompressed(), level)` has the same bytes as `b.finish()`.
   */
  finishUncompressed(): Uint8Array {
    this.#complete();
    const out = this.#buf.subarray(0, this.#pos);
    this.#writeHeader(out);
    return out;
  }

  /**
   * The CRC-32C of the records section (the bytes after the header) when the builder
   * checksummed them as they were appended (no codec, or `checksumRecords`), else undefined.
   * For {@linkcode compressRecordBatch}: a batch that goes out uncompressed in place needs no
   * second pass over its records.
   */
  recordsCrc(): number | undefined {
    if (this.#crcNext === Infinity) return undefined;
    if (this.#crcAt < this.#pos) {
      this.#crc = crc32cUpdate(this.#crc, this.#buf, this.#crcAt, this.#pos);
      this.#crcAt = this.#pos;
    }
    return this.#crc;
  }

  /**
   * Hands over the builder's buffer for reuse once the finished batch's bytes are elsewhere
   * (`finish()` with a codec); null while they are in it (uncompressed, not finished, or
   * `finishUncompressed()`, whose caller owns the buffer through the returned view).
   */
  releaseBuffer(): Uint8Array | null {
    if (!this.#finished || this.#ownsBytes) return null;
    const b = this.#buf;
    this.#ownsBytes = true;
    return b;
  }

  #complete(): void {
    if (this.#finished) throw new ClosedError("record batch builder");
    if (this.#count === 0) throw new RangeError("a record batch needs at least one record");
    this.#finished = true;
  }

  /** Writes every header field but the CRC; `out` holds the whole batch. */
  #writeHeader(out: Uint8Array): void {
    const v = v32(out);
    setInt64(v, L.BaseOffset, this.#baseOffset);
    v.setInt32(L.BatchLength, out.length - L.LogOverhead);
    v.setInt32(L.PartitionLeaderEpoch, this.#partitionLeaderEpoch);
    v.setInt8(L.Magic, 2);
    v.setInt16(L.Attributes, this.#attributes);
    v.setInt32(L.LastOffsetDelta, this.#count - 1);
    setInt64n(v, L.BaseTimestamp, this.#deleteHorizonMs ?? this.#baseTimestamp);
    setInt64n(v, L.MaxTimestamp, this.#maxTimestamp);
    setInt64(v, L.ProducerId, this.#producerId);
    v.setInt16(L.ProducerEpoch, this.#producerEpoch);
    v.setInt32(L.BaseSequence, this.#baseSequence);
    v.setInt32(L.RecordCount, this.#count);
  }
}

/**
 * compressRecordBatch's scratch: `[0]` a CRC-32C, `[1]` a {@linkcode RecordsCrc} state that
 * says what `[0]` is and whether the batch still goes out compressed (records_crc.ts lists who
 * sets which).
 */
const RECORDS_CRC = new Uint32Array(2);

function v32(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Compresses the records of a batch that {@linkcode RecordBatchBuilder.finishUncompressed}
 * returned, with the codec its attributes name, and completes it: header copied, batch length
 * set, CRC computed. Returns a view of `out` when it has room enough (see `compressWithHeadroom`),
 * else of a new buffer; the input is left as it was (its owner may reuse it). Pure and
 * self-contained, so a worker can run it. Records the codec does not shrink (for lz4: every
 * block would be stored raw) go out uncompressed: the result's attributes then name no codec.
 * With `inPlace` such a batch is not copied: the result is `batch` itself, its attributes and
 * CRC set (the caller then keeps `batch`'s buffer for it, and `out` is left unused).
 * `recordsCrc`, the CRC-32C of `batch`'s records if known ({@linkcode RecordBatchBuilder.recordsCrc}),
 * spares such a batch its checksum pass.
 *
 * @example
 * ```ts
 * import { Compression, compressRecordBatch, decodeRecordBatches, RecordBatchBuilder } from "@denokafka/kafka/protocol";
 * const b = new RecordBatchBuilder({ compression: Compression.Lz4 });
 * b.append(1, null, new TextEncoder().encode("hello"));
 * const bytes = compressRecordBatch(b.finishUncompressed());
 * console.log(decodeRecordBatches(bytes).batches[0]!.count); // 1
 * ```
 */
export function compressRecordBatch(
  batch: Uint8Array,
  level?: number,
  out?: Uint8Array,
  inPlace = false,
  recordsCrc?: number,
): Uint8Array {
  if (batch.length < HEADER || batch[L.Magic] !== 2) {
    throw new RangeError("not a v2 record batch");
  }
  const codec = (batch[L.Attributes + 1]! & 7) as CompressionCodec;
  if (codec === 0) throw new RangeError("the batch's attributes name no compression codec");
  const records = batch.subarray(HEADER);
  const packed = compressBatchRecords(
    codec,
    records,
    HEADER,
    level,
    out,
    RECORDS_CRC,
    inPlace,
    recordsCrc,
  );
  // In place and incompressible: the batch is sent from where it is, uncompressed.
  let result = packed === records ? batch : packed;
  if (RECORDS_CRC[1] !== RecordsCrc.PlainKnown && result.length >= batch.length) {
    // Compressing did not shrink the records (any codec; lz4 says so itself, with PlainKnown,
    // before copying anything): they go out as they are, uncompressed, their CRC the builder's
    // or computed below.
    if (inPlace) {
      result = batch;
    } else {
      result = result.subarray(0, batch.length);
      result.set(records, HEADER);
    }
    RECORDS_CRC[1] = RecordsCrc.PlainUnknown;
    if (recordsCrc !== undefined) {
      RECORDS_CRC[0] = recordsCrc;
      RECORDS_CRC[1] = RecordsCrc.PlainKnown;
    }
  }
  if (result !== batch) result.set(batch.subarray(0, HEADER));
  const v = v32(result);
  v.setInt32(L.BatchLength, result.length - L.LogOverhead);
  // Uncompressed (PlainKnown or PlainUnknown): the batch goes out without a codec, as franz-go
  // sends a batch that compression did not shrink. The broker then validates it in place
  // instead of streaming it through its decompressor, and consumers read it as it is
  // (bench/PROFILE.md, Session 14).
  const state = RECORDS_CRC[1]!;
  if (state === RecordsCrc.PlainKnown || state === RecordsCrc.PlainUnknown) {
    result[L.Attributes + 1]! &= ~7;
  }
  // The records' CRC is known (lz4 checksums what it writes: Compressed; the records as they
  // are: PlainKnown): only the header's fields after the CRC are left to add in front. Else
  // (zstd, gzip, snappy) one pass over the whole result: with crc32c's WebAssembly path that
  // beats runs even when the codec left the bytes out of cache (640 KB evicted: 83 us, 106 in
  // 16 KiB runs; bench/PROFILE.md, Session 15: producer CRC runs).
  const crc = state === RecordsCrc.Compressed || state === RecordsCrc.PlainKnown
    ? crc32cCombine(crc32c(result, L.Attributes, HEADER), RECORDS_CRC[0]!, result.length - HEADER)
    : crc32c(result, L.Attributes, result.length);
  v.setUint32(L.Crc, crc);
  return result;
}

/**
 * The largest size one record can take inside a batch (its timestamp and offset deltas at
 * their widest). With {@linkcode RecordBatchLayout}.HeaderSize added it bounds a batch holding
 * only this record: the check for max.request.size before a record is accepted.
 *
 * @example
 * ```ts
 * import { maxRecordSize, RecordBatchLayout } from "@denokafka/kafka/protocol";
 * console.log(RecordBatchLayout.HeaderSize + maxRecordSize(0, 100) < 200); // true
 * ```
 */
export function maxRecordSize(
  keyLength: number,
  valueLength: number,
  headers?: readonly RecordHeader[],
): number {
  const body = 1 + 10 + 5 +
    (keyLength < 0 ? 1 : varintSize(keyLength) + keyLength) +
    (valueLength < 0 ? 1 : varintSize(valueLength) + valueLength) + headersSize(headers);
  return varintSize(body) + body;
}

/** A record for {@linkcode encodeRecordBatch}. */
export interface RecordInput {
  /** Timestamp in ms since the epoch. */
  timestamp: number;
  /** Key bytes or `null`. */
  key: Uint8Array | null;
  /** Value bytes or `null`. */
  value: Uint8Array | null;
  /** Headers, in order; duplicates are kept. */
  headers?: readonly RecordHeader[];
}

/**
 * Encodes a whole batch in one call.
 *
 * @example
 * ```ts
 * import { encodeRecordBatch, Compression } from "@denokafka/kafka/protocol";
 * const v = new TextEncoder().encode("hello");
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: v }], {
 *   compression: Compression.Gzip,
 * });
 * console.log(bytes[16]); // 2 (the magic byte)
 * ```
 */
export function encodeRecordBatch(
  records: readonly RecordInput[],
  options: RecordBatchBuilderOptions = {},
): Uint8Array {
  let size = HEADER;
  for (const r of records) {
    size += maxRecordSize(r.key?.length ?? -1, r.value?.length ?? -1, r.headers);
  }
  const b = new RecordBatchBuilder({ initialCapacity: size, ...options });
  for (const r of records) b.append(r.timestamp, r.key, r.value, r.headers);
  return b.finish();
}

/** Options of {@linkcode encodeControlBatch}. */
export interface ControlBatchOptions {
  /** `"commit"`, `"abort"`, or a {@linkcode ControlRecordType} id. */
  type: "commit" | "abort" | number;
  /** The transaction coordinator's epoch. */
  coordinatorEpoch: number;
  /** The transactional producer's id. */
  producerId: bigint | number;
  /** The transactional producer's epoch. */
  producerEpoch: number;
  /** The marker's timestamp, ms; default now. */
  timestamp?: number;
  /** Base offset; default 0. */
  baseOffset?: bigint | number;
  /** Partition leader epoch; default -1. */
  partitionLeaderEpoch?: number;
}

/**
 * Encodes a control batch holding one end-transaction marker (commit or abort), as a
 * transaction coordinator writes it: transactional and control bits set, uncompressed.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeControlBatch } from "@denokafka/kafka/protocol";
 * const bytes = encodeControlBatch({
 *   type: "commit", coordinatorEpoch: 3, producerId: 1000n, producerEpoch: 0, timestamp: 1,
 * });
 * console.log(decodeRecordBatches(bytes).batches[0]!.control); // { version: 0, type: 1, coordinatorEpoch: 3 }
 * ```
 */
export function encodeControlBatch(options: ControlBatchOptions): Uint8Array {
  const type = options.type === "commit"
    ? ControlRecordType.Commit
    : options.type === "abort"
    ? ControlRecordType.Abort
    : options.type;
  const b = new RecordBatchBuilder({
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: NO_SEQUENCE,
    transactional: true,
    isControl: true,
    baseOffset: options.baseOffset ?? 0,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    initialCapacity: 128,
  });
  b.append(
    options.timestamp ?? Date.now(),
    encodeControlRecordKey(type),
    encodeEndTxnMarkerValue(options.coordinatorEpoch),
  );
  return b.finish();
}

/**
 * Rewrites the producer id, epoch and base sequence of a finished v2 batch in place and
 * recomputes its CRC: what a producer needs when it must resend a drained batch under a new
 * epoch (KIP-360), without re-encoding (or re-compressing) the records.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch, rewriteProducerState } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: null }]);
 * rewriteProducerState(bytes, 7n, 1, 100);
 * console.log(decodeRecordBatches(bytes).batches[0]!.baseSequence); // 100
 * ```
 */
export function rewriteProducerState(
  batch: Uint8Array,
  producerId: bigint | number,
  producerEpoch: number,
  baseSequence: number,
): void {
  const v = writeProducerState(batch, producerId, producerEpoch, baseSequence);
  v.setUint32(L.Crc, crc32c(batch, L.Attributes, batch.length));
}

/**
 * Rewrites the producer id, epoch and base sequence of a finished v2 batch in place, like
 * {@linkcode rewriteProducerState}, but updates its CRC from the change alone instead of
 * reading the whole batch again (CRC-32C is linear: the CRC of the difference, carried over
 * the bytes that follow, is the CRC's difference). The batch's CRC must be right beforehand;
 * use `rewriteProducerState` to repair one. What a producer does when it drains a batch that
 * was compressed before its sequence was known.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch, patchProducerState } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: null }]);
 * patchProducerState(bytes, 7n, 1, 100);
 * console.log(decodeRecordBatches(bytes, { checkCrc: true }).batches[0]!.baseSequence); // 100
 * ```
 */
export function patchProducerState(
  batch: Uint8Array,
  producerId: bigint | number,
  producerEpoch: number,
  baseSequence: number,
): void {
  const at = L.ProducerId;
  const old = PATCH_OLD;
  // The old bytes, saved before the write (writeProducerState throws for a short or non-v2
  // batch before it writes anything).
  for (let i = 0; i < PRODUCER_FIELDS; i++) old[i] = batch[at + i] ?? 0;
  const v = writeProducerState(batch, producerId, producerEpoch, baseSequence);
  // The CRC register of (old XOR new) over the changed bytes alone, from zero...
  let c = 0;
  for (let i = 0; i < PRODUCER_FIELDS; i++) {
    c ^= old[i]! ^ batch[at + i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
  }
  // ...carried over the bytes after them, flips exactly the bits of the CRC that change.
  const after = batch.length - (at + PRODUCER_FIELDS);
  const delta = crc32cCombine(c >>> 0, 0, after);
  v.setUint32(L.Crc, (v.getUint32(L.Crc) ^ delta) >>> 0);
}

/** Producer id (8), epoch (2) and base sequence (4): contiguous in the header. */
/**
 * Writes the producer id, epoch and base sequence into a v2 batch's header (not its CRC):
 * the part {@linkcode rewriteProducerState} and {@linkcode patchProducerState} share. Returns
 * the batch's view for the CRC write that follows.
 */
function writeProducerState(
  batch: Uint8Array,
  producerId: bigint | number,
  producerEpoch: number,
  baseSequence: number,
): DataView {
  if (batch.length < HEADER || batch[L.Magic] !== 2) {
    throw new RangeError("not a v2 record batch");
  }
  const v = v32(batch);
  setInt64(v, L.ProducerId, producerId);
  v.setInt16(L.ProducerEpoch, producerEpoch);
  v.setInt32(L.BaseSequence, baseSequence);
  return v;
}

const PRODUCER_FIELDS = 14;
const PATCH_OLD = new Uint8Array(PRODUCER_FIELDS);
/** CRC-32C's polynomial, bit-reflected (bit 31 is x^0). */
const CRC32C_POLY = 0x82f63b78;

/**
 * Rewrites the base offset of a finished v2 batch in place (outside the CRC, so no
 * recomputation): what a broker, or a test standing in for one, does when it assigns offsets.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch, setBaseOffset } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: null }]);
 * setBaseOffset(bytes, 500n);
 * console.log(decodeRecordBatches(bytes).batches[0]!.baseOffset); // 500n
 * ```
 */
export function setBaseOffset(batch: Uint8Array, baseOffset: bigint | number): void {
  if (batch.length < HEADER || batch[L.Magic] !== 2) {
    throw new RangeError("not a v2 record batch");
  }
  setInt64(new DataView(batch.buffer, batch.byteOffset, batch.byteLength), 0, baseOffset);
}
