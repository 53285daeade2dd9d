/**
 * Control records: the markers a transaction coordinator writes to end a transaction (KIP-98).
 * Key: int16 version (0), int16 type. Value of a commit/abort marker (EndTxnMarker): int16
 * version (0), int32 coordinator epoch.
 *
 * @module
 */

import { DecodeError } from "./errors.ts";
import type { ControlRecord } from "./record_batch.ts";

/**
 * The 4-byte key of a control record of `type`.
 *
 * @example
 * ```ts
 * import { ControlRecordType, encodeControlRecordKey } from "@denokafka/kafka/protocol";
 * console.log(encodeControlRecordKey(ControlRecordType.Commit)); // Uint8Array(4) [ 0, 0, 0, 1 ]
 * ```
 */
export function encodeControlRecordKey(type: number, version = 0): Uint8Array {
  const b = new Uint8Array(4);
  const v = new DataView(b.buffer);
  v.setInt16(0, version);
  v.setInt16(2, type);
  return b;
}

/**
 * The 6-byte value of a commit or abort marker.
 *
 * @example
 * ```ts
 * import { encodeEndTxnMarkerValue } from "@denokafka/kafka/protocol";
 * console.log(encodeEndTxnMarkerValue(3)); // Uint8Array(6) [ 0, 0, 0, 0, 0, 3 ]
 * ```
 */
export function encodeEndTxnMarkerValue(coordinatorEpoch: number, version = 0): Uint8Array {
  const b = new Uint8Array(6);
  const v = new DataView(b.buffer);
  v.setInt16(0, version);
  v.setInt32(2, coordinatorEpoch);
  return b;
}

/**
 * Decodes a control record from its key and value. Commit and abort markers carry their
 * coordinator epoch; other types (KRaft's internal records) report `null` for it.
 *
 * @example
 * ```ts
 * import {
 *   decodeControlRecord, encodeControlRecordKey, encodeEndTxnMarkerValue,
 * } from "@denokafka/kafka/protocol";
 * const c = decodeControlRecord(encodeControlRecordKey(0), encodeEndTxnMarkerValue(7));
 * console.log(c.type, c.coordinatorEpoch); // 0 7
 * ```
 */
export function decodeControlRecord(
  key: Uint8Array | null,
  value: Uint8Array | null,
): ControlRecord {
  if (key === null || key.length < 4) {
    throw new DecodeError(`control record key of ${key?.length ?? "null"} bytes, needs 4`);
  }
  const kv = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const version = kv.getInt16(0);
  const type = kv.getInt16(2);
  if (version < 0) throw new DecodeError(`invalid control record key version ${version}`);
  if (type !== 0 && type !== 1) return { version, type, coordinatorEpoch: null };
  if (value === null || value.length < 6) {
    throw new DecodeError(`end transaction marker value of ${value?.length ?? "null"} bytes`);
  }
  const vv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (vv.getInt16(0) < 0) throw new DecodeError(`invalid end transaction marker version`);
  return { version, type, coordinatorEpoch: vv.getInt32(2) };
}
