/**
 * Legacy message sets (magic 0 and 1, before KIP-98), which brokers still return for old
 * segments. Each message: offset int64, size int32, crc uint32 (CRC-32 IEEE over the rest),
 * magic int8, attributes int8, [timestamp int64 if magic 1], key and value as int32-length
 * bytes. A compressed message is a wrapper whose value is an inner message set.
 *
 * @module
 */

import { type CompressionCodec, decompress } from "./compression/mod.ts";
import { DecodeError } from "./errors.ts";
import type { BatchRecord, RecordBatch, RecordHeader, TimestampTypeId } from "./record_batch.ts";

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/** CRC-32 (IEEE, reflected 0xEDB88320): legacy messages only, so one table is enough. */
const IEEE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** The CRC-32 (IEEE 802.3, as in zlib and legacy Kafka messages) of `data[start, end)`. */
function crc32(data: Uint8Array, start = 0, end: number = data.length): number {
  if (!(start >= 0 && end <= data.length && start <= end)) {
    throw new RangeError(`crc32 range [${start}, ${end}) outside a ${data.length}-byte array`);
  }
  let c = -1;
  for (let i = start; i < end; i++) c = (c >>> 8) ^ IEEE[(c ^ data[i]!) & 0xff]!;
  return ~c >>> 0;
}

interface LegacyMessage {
  offset: bigint;
  crc: number;
  magic: 0 | 1;
  attributes: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

function bad(what: string, at: number): never {
  throw new DecodeError(`invalid legacy message: ${what} at offset ${at}`);
}

/** Parses the message at `b[s, e)`, whose size field was already checked against the bytes. */
function parseMessage(
  b: Uint8Array,
  v: DataView,
  s: number,
  e: number,
  checkCrc: boolean,
): LegacyMessage {
  const crc = v.getUint32(s + 12);
  if (checkCrc) {
    const actual = crc32(b, s + 16, e);
    if (actual !== crc) {
      throw new DecodeError(
        `legacy message at offset ${s}: CRC-32 mismatch (stored ${crc.toString(16)}, ` +
          `computed ${actual.toString(16)})`,
      );
    }
  }
  const magic = b[s + 16]!;
  if (magic !== 0 && magic !== 1) bad(`magic ${magic}`, s + 16);
  const attributes = b[s + 17]!;
  let p = s + 18;
  let timestamp = -1;
  if (magic === 1) {
    if (p + 8 > e) bad("truncated timestamp", p);
    timestamp = v.getInt32(p) * 0x100000000 + v.getUint32(p + 4);
    p += 8;
  }
  const fields: (Uint8Array | null)[] = [];
  for (let i = 0; i < 2; i++) {
    if (p + 4 > e) bad("truncated length", p);
    const n = v.getInt32(p);
    p += 4;
    if (n === -1) fields.push(null);
    else {
      if (n < 0 || n > e - p) bad(`length ${n}`, p - 4);
      fields.push(b.subarray(p, p + n));
      p += n;
    }
  }
  if (p !== e) bad(`${e - p} bytes after the value`, p);
  return {
    offset: v.getBigInt64(s),
    crc,
    magic,
    attributes,
    timestamp,
    key: fields[0]!,
    value: fields[1]!,
  };
}

/** Splits an inner (decompressed) message set into messages; it must be whole. */
function parseInner(b: Uint8Array, checkCrc: boolean, wrapperMagic: number): LegacyMessage[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: LegacyMessage[] = [];
  let p = 0;
  while (p < b.length) {
    if (b.length - p < 12) bad("truncated inner message", p);
    const size = v.getInt32(p + 8);
    if (size < 14 || size > b.length - p - 12) bad(`inner message size ${size}`, p);
    const m = parseMessage(b, v, p, p + 12 + size, checkCrc);
    if (m.attributes & 0x07) bad("nested compression", p);
    if (m.magic !== wrapperMagic) bad(`inner magic ${m.magic} in a v${wrapperMagic} wrapper`, p);
    out.push(m);
    p += 12 + size;
  }
  return out;
}

/**
 * Decodes the legacy message at `b[s, e)` (v0 or v1, possibly a compressed wrapper) into the
 * common {@linkcode RecordBatch} shape. Used by `decodeRecordBatches`; exported for it only.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches } from "@denokafka/kafka/protocol";
 * // decodeRecordBatches dispatches on the magic byte; legacy input needs no special call.
 * console.log(decodeRecordBatches(new Uint8Array(0)).batches.length); // 0
 * ```
 */
export function decodeLegacyMessage(
  b: Uint8Array,
  v: DataView,
  s: number,
  e: number,
  checkCrc: boolean,
  maxDecompressedBytes: number,
): RecordBatch {
  const outer = parseMessage(b, v, s, e, checkCrc);
  const codec = outer.attributes & 0x07;
  const logAppend = outer.magic === 1 && (outer.attributes & 0x08) !== 0;
  let messages: LegacyMessage[];
  let baseOffset: bigint;
  if (codec === 0) {
    messages = [outer];
    baseOffset = outer.offset;
  } else {
    if (codec > 3) bad(`compression codec ${codec} in a v${outer.magic} message`, s + 17);
    if (outer.value === null) bad("compressed wrapper without a value", s);
    const inner = decompress(codec as CompressionCodec, outer.value, maxDecompressedBytes);
    messages = parseInner(inner, checkCrc, outer.magic);
    if (messages.length === 0) bad("empty compressed wrapper", s);
    if (outer.magic === 1) {
      // v1 inner offsets are relative; the wrapper carries the absolute offset of the last.
      baseOffset = outer.offset - messages[messages.length - 1]!.offset + messages[0]!.offset;
    } else {
      baseOffset = messages[0]!.offset;
    }
  }
  const first = messages[0]!.offset;
  const baseTimestamp = logAppend ? outer.timestamp : messages[0]!.timestamp;
  let maxTimestamp = logAppend ? outer.timestamp : -1;
  const records: BatchRecord[] = [];
  for (const m of messages) {
    const delta = Number(m.offset - first);
    if (!logAppend && m.timestamp > maxTimestamp) maxTimestamp = m.timestamp;
    records.push({
      offsetDelta: delta,
      timestampDelta: logAppend ? 0 : m.timestamp - baseTimestamp,
      key: m.key,
      value: m.value,
      headers: NO_HEADERS,
    });
  }
  return {
    magic: outer.magic,
    baseOffset,
    lastOffsetDelta: records[records.length - 1]!.offsetDelta,
    batchLength: e - s - 12,
    partitionLeaderEpoch: -1,
    crc: outer.crc,
    attributes: outer.attributes,
    compression: codec as CompressionCodec,
    timestampType: (logAppend ? 1 : 0) as TimestampTypeId,
    isTransactional: false,
    isControl: false,
    hasDeleteHorizon: false,
    baseTimestamp,
    maxTimestamp,
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    count: records.length,
    records,
    control: null,
  };
}
