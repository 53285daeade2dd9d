/**
 * The shapes and constants of Kafka's RecordBatch (magic 2, KIP-98), shared by the builder
 * (`RecordBatchBuilder`) and the decoder (`decodeRecordBatches`).
 *
 * Layout of a v2 batch (big-endian), with the CRC-32C covering `attributes` to the end:
 *
 * ```text
 *  0 baseOffset int64        27 baseTimestamp int64     53 baseSequence int32
 *  8 batchLength int32       35 maxTimestamp int64      57 recordCount int32
 * 12 partitionLeaderEpoch    43 producerId int64        61 records...
 * 16 magic int8              51 producerEpoch int16
 * 17 crc uint32
 * 21 attributes int16
 * 23 lastOffsetDelta int32
 * ```
 *
 * @module
 */

import type { CompressionCodec } from "./compression/mod.ts";

/**
 * Byte offsets of the v2 batch header fields, and its total size (61 bytes).
 *
 * @example
 * ```ts
 * import { RecordBatchLayout } from "@denokafka/kafka/protocol";
 * console.log(RecordBatchLayout.HeaderSize); // 61
 * ```
 */
export const RecordBatchLayout = {
  BaseOffset: 0,
  BatchLength: 8,
  PartitionLeaderEpoch: 12,
  Magic: 16,
  Crc: 17,
  Attributes: 21,
  LastOffsetDelta: 23,
  BaseTimestamp: 27,
  MaxTimestamp: 35,
  ProducerId: 43,
  ProducerEpoch: 51,
  BaseSequence: 53,
  RecordCount: 57,
  HeaderSize: 61,
  /** baseOffset + batchLength: the bytes not counted by batchLength. */
  LogOverhead: 12,
} as const;

/**
 * Bits of a v2 batch's int16 attributes.
 *
 * @example
 * ```ts
 * import { BatchAttributes } from "@denokafka/kafka/protocol";
 * const attrs = 0x0014;
 * console.log((attrs & BatchAttributes.Transactional) !== 0); // true
 * ```
 */
export const BatchAttributes = {
  /** Bits 0-2: the compression codec id. */
  CompressionMask: 0x07,
  /** Bit 3: set for LogAppendTime. */
  LogAppendTime: 0x08,
  /** Bit 4: the batch belongs to a transaction (KIP-98). */
  Transactional: 0x10,
  /** Bit 5: the batch holds a control record (a transaction marker). */
  Control: 0x20,
  /** Bit 6: baseTimestamp holds the delete horizon of a compacted batch (KIP-534). */
  DeleteHorizon: 0x40,
} as const;

/**
 * Timestamp types: CreateTime (set by the producer) or LogAppendTime (set by the broker).
 *
 * @example
 * ```ts
 * import { TimestampType } from "@denokafka/kafka/protocol";
 * console.log(TimestampType.LogAppendTime); // 1
 * ```
 */
export const TimestampType = {
  CreateTime: 0,
  LogAppendTime: 1,
} as const;

/** A timestamp type id: 0 CreateTime, 1 LogAppendTime. */
export type TimestampTypeId = typeof TimestampType[keyof typeof TimestampType];

/**
 * Sentinels for the producer fields of a non-idempotent batch, and for an unknown leader epoch.
 *
 * @example
 * ```ts
 * import { NO_PRODUCER_ID } from "@denokafka/kafka/protocol";
 * console.log(NO_PRODUCER_ID); // -1n
 * ```
 */
export const NO_PRODUCER_ID: bigint = -1n;
/**
 * The producer epoch of a non-idempotent batch.
 *
 * @example
 * ```ts
 * import { NO_PRODUCER_EPOCH } from "@denokafka/kafka/protocol";
 * console.log(NO_PRODUCER_EPOCH); // -1
 * ```
 */
export const NO_PRODUCER_EPOCH: number = -1;
/**
 * The base sequence of a non-idempotent batch.
 *
 * @example
 * ```ts
 * import { NO_SEQUENCE } from "@denokafka/kafka/protocol";
 * console.log(NO_SEQUENCE); // -1
 * ```
 */
export const NO_SEQUENCE: number = -1;
/**
 * The partition leader epoch a producer writes (the broker fills in the real one).
 *
 * @example
 * ```ts
 * import { NO_PARTITION_LEADER_EPOCH } from "@denokafka/kafka/protocol";
 * console.log(NO_PARTITION_LEADER_EPOCH); // -1
 * ```
 */
export const NO_PARTITION_LEADER_EPOCH: number = -1;

/**
 * One record header. Headers are ordered and keys may repeat.
 *
 * @example
 * ```ts
 * import type { RecordHeader } from "@denokafka/kafka/protocol";
 * const h: RecordHeader = { key: "trace-id", value: new TextEncoder().encode("abc") };
 * console.log(h.key); // trace-id
 * ```
 */
export interface RecordHeader {
  /** The header name (UTF-8 on the wire). */
  readonly key: string;
  /** The header value; `null` is encoded as length -1. */
  readonly value: Uint8Array | null;
}

/**
 * One decoded record. `key` and `value` are views into the fetched (or decompressed) bytes:
 * copy them if you keep them longer than the response buffer.
 *
 * The absolute offset and timestamp are derived from the batch: see {@linkcode recordOffset}
 * and {@linkcode recordTimestamp}. Keeping deltas avoids a bigint per record.
 *
 * @example
 * ```ts
 * import type { BatchRecord } from "@denokafka/kafka/protocol";
 * const r: BatchRecord = { offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [] };
 * console.log(r.offsetDelta); // 0
 * ```
 */
export interface BatchRecord {
  /** Offset relative to the batch's baseOffset. */
  readonly offsetDelta: number;
  /** Timestamp relative to the batch's baseTimestamp, in milliseconds. */
  readonly timestampDelta: number;
  /** The key, or `null`. */
  readonly key: Uint8Array | null;
  /** The value, or `null` (a tombstone). */
  readonly value: Uint8Array | null;
  /** The headers, in wire order (a shared frozen empty array when there are none). */
  readonly headers: readonly RecordHeader[];
}

/**
 * The marker carried by a control batch: the end of a transaction (commit or abort), or, on
 * KRaft's internal logs, one of the other {@linkcode ControlRecordType}s.
 *
 * @example
 * ```ts
 * import { type ControlRecord, ControlRecordType } from "@denokafka/kafka/protocol";
 * const c: ControlRecord = { version: 0, type: ControlRecordType.Commit, coordinatorEpoch: 5 };
 * console.log(c.type === ControlRecordType.Commit); // true
 * ```
 */
export interface ControlRecord {
  /** The version of the control record key. */
  readonly version: number;
  /** The control type: 0 abort, 1 commit, others see {@linkcode ControlRecordType}. */
  readonly type: number;
  /** The transaction coordinator's epoch, for commit and abort markers; otherwise `null`. */
  readonly coordinatorEpoch: number | null;
}

/**
 * Control record types (the int16 after the version in a control record's key).
 *
 * @example
 * ```ts
 * import { ControlRecordType } from "@denokafka/kafka/protocol";
 * console.log(ControlRecordType.Abort, ControlRecordType.Commit); // 0 1
 * ```
 */
export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
  LeaderChange: 2,
  SnapshotHeader: 3,
  SnapshotFooter: 4,
  KRaftVersion: 5,
  KRaftVoters: 6,
} as const;

/**
 * A decoded batch: every header field, the attributes split out, and its records.
 * Legacy message sets (magic 0 and 1) are presented in the same shape, one batch per
 * outer message, with the producer fields at their "none" values.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: new Uint8Array(1) }]);
 * const [batch] = decodeRecordBatches(bytes).batches;
 * console.log(batch!.count, batch!.compression); // 1 0
 * ```
 */
export interface RecordBatch {
  /** The format: 2 for a RecordBatch, 0 or 1 for a legacy message set. */
  readonly magic: 0 | 1 | 2;
  /** The offset of the first record (as the batch was written, for v2). */
  readonly baseOffset: bigint;
  /** lastOffset - baseOffset. */
  readonly lastOffsetDelta: number;
  /** Bytes after the batchLength field (v2); the message size for legacy messages. */
  readonly batchLength: number;
  /** The partition leader epoch stamped by the broker (-1 from a producer). */
  readonly partitionLeaderEpoch: number;
  /** The stored checksum (CRC-32C for v2, CRC-32 for legacy messages), unsigned. */
  readonly crc: number;
  /** The raw attributes. */
  readonly attributes: number;
  /** The compression codec id (attribute bits 0-2). */
  readonly compression: CompressionCodec;
  /** CreateTime (0) or LogAppendTime (1). */
  readonly timestampType: TimestampTypeId;
  /** Whether the batch is part of a transaction. */
  readonly isTransactional: boolean;
  /** Whether the batch is a control batch (its records are markers, not data). */
  readonly isControl: boolean;
  /** Whether baseTimestamp is a delete horizon (KIP-534). */
  readonly hasDeleteHorizon: boolean;
  /** The first record's timestamp (or the delete horizon), ms; -1 when none. */
  readonly baseTimestamp: number;
  /** The largest timestamp in the batch (the append time for LogAppendTime), ms. */
  readonly maxTimestamp: number;
  /** The idempotent producer id, or -1n. */
  readonly producerId: bigint;
  /** The producer epoch, or -1. */
  readonly producerEpoch: number;
  /** The sequence number of the first record, or -1. */
  readonly baseSequence: number;
  /** The number of records the header declares (equal to `records.length`). */
  readonly count: number;
  /** The records, in offset order. */
  readonly records: BatchRecord[];
  /** For a control batch, its decoded marker; otherwise `null`. */
  readonly control: ControlRecord | null;
}

/**
 * The absolute offset of a record: `baseOffset + offsetDelta`.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch, recordOffset } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: null }], { baseOffset: 42n });
 * const [batch] = decodeRecordBatches(bytes).batches;
 * console.log(recordOffset(batch!, batch!.records[0]!)); // 42n
 * ```
 */
export function recordOffset(batch: RecordBatch, record: BatchRecord): bigint {
  return batch.baseOffset + BigInt(record.offsetDelta);
}

/**
 * The timestamp of a record in ms: the batch's maxTimestamp under LogAppendTime (the broker
 * stamps the whole batch), else `baseTimestamp + timestampDelta`.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch, recordTimestamp } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1000, key: null, value: null }]);
 * const [batch] = decodeRecordBatches(bytes).batches;
 * console.log(recordTimestamp(batch!, batch!.records[0]!)); // 1000
 * ```
 */
export function recordTimestamp(batch: RecordBatch, record: BatchRecord): number {
  if (batch.timestampType === 1) return batch.maxTimestamp;
  return batch.baseTimestamp + record.timestampDelta;
}

/**
 * The offset after the batch's last record (`baseOffset + lastOffsetDelta + 1`): where the
 * next fetch starts, even when compaction removed the batch's last records.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch, nextOffset } from "@denokafka/kafka/protocol";
 * const bytes = encodeRecordBatch([{ timestamp: 1, key: null, value: null }], { baseOffset: 9n });
 * console.log(nextOffset(decodeRecordBatches(bytes).batches[0]!)); // 10n
 * ```
 */
export function nextOffset(batch: RecordBatch): bigint {
  return batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
}
