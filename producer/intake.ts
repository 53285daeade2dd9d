/**
 * The intake: records accepted from `send()` or the writable that cannot be batched yet (their
 * topic's metadata is unknown, or the byte budget is full), waiting in order, and the checks
 * and conversions every record goes through on its way into a batch.
 *
 * @module
 */

import type { RecordHeader } from "../protocol/record_batch.ts";
import type { Delivery } from "./delivery.ts";
import type { ProducerRecord } from "./record.ts";

const encoder = new TextEncoder();

/** A record waiting to be batched. */
export interface IntakeEntry {
  readonly record: ProducerRecord;
  /** The `send()` (or pipeline sink) it came from, or null for a stream write. */
  readonly delivery: Delivery | null;
  /** Resolves the stream write once the record is batched (null for `send()`). */
  readonly accepted: (() => void) | null;
  /** Fails the record before it was batched. */
  readonly failed: (e: Error) => void;
  readonly signal: AbortSignal | undefined;
}

/** A key, value or header value as bytes (strings as UTF-8). */
export function toBytes(
  v: Uint8Array | string | null | undefined,
  what: string,
): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return encoder.encode(v);
  throw new TypeError(`record ${what} must be a Uint8Array, a string or null`);
}

/** Headers as bytes; the same array when it holds bytes already (the common case: no copy). */
export function toHeaders(
  headers: readonly { key: string; value: Uint8Array | string | null }[],
): readonly RecordHeader[] {
  if (!Array.isArray(headers)) throw new TypeError("record headers must be an array");
  let ok = true;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (typeof h?.key !== "string") throw new TypeError("a header key must be a string");
    if (h.value !== null && !(h.value instanceof Uint8Array)) ok = false;
  }
  if (ok) return headers as readonly RecordHeader[];
  return headers.map((h) => ({ key: h.key, value: toBytes(h.value, "header value") }));
}

/** The record's timestamp in ms: its own, or now. */
export function recordTimestamp(r: ProducerRecord): number {
  const rt = r.timestamp;
  const ts = rt === undefined ? Date.now() : typeof rt === "number" ? rt : rt.getTime();
  if (!Number.isSafeInteger(ts) || ts < 0) {
    throw new RangeError(`record timestamp must be a non-negative integer ms, got ${ts}`);
  }
  return ts;
}
