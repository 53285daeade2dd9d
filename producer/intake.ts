/**
 * The intake: records accepted from `send()` or the writable that cannot be batched yet (their
 * topic's metadata is unknown, or the byte budget is full), waiting in order, and the checks
 * and conversions every record goes through on its way into a batch.
 *
 * @module
 */

import { abortReason } from "../protocol/errors.ts";
import type { RecordHeader } from "../protocol/record_batch.ts";
import { type Accumulator, NEW_BATCH } from "./accumulator.ts";
import type { TopicState } from "./batch.ts";
import { type Deliveries, type Delivery, SendDelivery } from "./delivery.ts";
import { RecordClock } from "./clock.ts";
import { Fifo } from "./fifo.ts";
import type { ProducerMetadata } from "./metadata.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import { javaPartitionForKey, type Partitioner } from "./partitioners.ts";
import type { ProducerRecord, RecordMetadata } from "./record.ts";
import type { TransactionManager } from "./transaction_manager.ts";

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

/** What the intake asks of the producer around it (implemented by `ProducerWiring`). */
export interface IntakeHost {
  /**
   * Why a record may not be appended now, if it may not (the producer is closing or closed,
   * or the transaction refuses records). Called once per record on its way into a batch;
   * `fromIntake` is true for a record that waited in the intake: records sent inside a
   * transaction still go in while it commits.
   */
  refusal(fromIntake: boolean): Error | undefined;
}

/** The parts of the producer the intake works with. */
export interface IntakeParts {
  readonly options: ResolvedProducerOptions;
  readonly metadata: ProducerMetadata;
  readonly accumulator: Accumulator;
  readonly deliveries: Deliveries;
  /** The user's partitioner, or null for the default (murmur2 of the key, else sticky). */
  readonly partitioner: Partitioner | null;
  readonly transactions: TransactionManager | undefined;
  readonly host: IntakeHost;
}

/** Records on their way into batches, and those waiting for metadata or budget. */
export class Intake {
  readonly #options: ResolvedProducerOptions;
  readonly #metadata: ProducerMetadata;
  readonly #accumulator: Accumulator;
  readonly #deliveries: Deliveries;
  readonly #partitioner: Partitioner | null;
  readonly #txn: TransactionManager | undefined;
  readonly #host: IntakeHost;
  readonly #waiting = new Fifo<IntakeEntry>();
  /** Stamps records that bring no timestamp of their own. */
  readonly #clock = new RecordClock();

  constructor(parts: IntakeParts) {
    this.#options = parts.options;
    this.#metadata = parts.metadata;
    this.#accumulator = parts.accumulator;
    this.#deliveries = parts.deliveries;
    this.#partitioner = parts.partitioner;
    this.#txn = parts.transactions;
    this.#host = parts.host;
  }

  /** Records waiting for metadata or buffer space. */
  get length(): number {
    return this.#waiting.length;
  }

  /** `producer.send()` of one record: resolves once the broker acknowledged it. */
  send(record: ProducerRecord, signal: AbortSignal | undefined): Promise<RecordMetadata> {
    const refused = this.#host.refusal(false);
    if (refused) return Promise.reject(refused);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const delivery = new SendDelivery();
    if (signal) {
      delivery.watch(signal, () => this.#waiting.removeWhere((e) => e.delivery === delivery));
    }
    try {
      if (this.#waiting.length === 0 && this.#tryAppend(record, delivery)) {
        return delivery.promise;
      }
    } catch (e) {
      delivery.reject(e as Error);
      return delivery.promise;
    }
    this.#waiting.push({ record, delivery, accepted: null, failed: delivery.reject, signal });
    return delivery.promise;
  }

  /**
   * A stream write: resolves (or returns undefined) once the record is in a batch. `delivery`
   * (a pipeline sink's) learns the acknowledgement; null reports to the stream.
   */
  write(record: ProducerRecord, delivery: Delivery | null = null): Promise<void> | undefined {
    const refused = this.#host.refusal(false);
    if (refused) throw refused;
    if (this.#waiting.length === 0 && this.#tryAppend(record, delivery)) return undefined;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiting.push({ record, delivery, accepted: resolve, failed: reject, signal: undefined });
    return promise;
  }

  /**
   * A stream write handed over by the writable's writer while the stream is idle (see
   * `DirectWriter`): true once the record is in a batch; false when it would have to wait
   * (it was not kept: the writer writes it through the stream, whose sink calls
   * {@linkcode write}); throws for a bad record or a refusal, as {@linkcode write} does.
   */
  offer(record: ProducerRecord): boolean {
    if (this.#waiting.length !== 0) return false;
    const refused = this.#host.refusal(false);
    if (refused) throw refused;
    return this.#tryAppend(record, null);
  }

  /**
   * Encodes a record into its partition's batch. Returns false when it must wait (topic
   * metadata unknown, or the buffer budget full); throws for a bad record.
   */
  #tryAppend(record: ProducerRecord, delivery: Delivery | null): boolean {
    if (record === null || typeof record !== "object") {
      throw new TypeError("a record must be an object");
    }
    const name = record.topic ?? this.#options.defaultTopic;
    if (typeof name !== "string" || name === "") {
      throw new TypeError("the record names no topic and the producer has no defaultTopic");
    }
    const topic = this.#metadata.topic(name);
    if (!topic.ready) return false;
    const key = toBytes(record.key, "key");
    const value = toBytes(record.value, "value");
    const headers = record.headers === undefined || record.headers.length === 0
      ? undefined
      : toHeaders(record.headers);
    const own = record.timestamp;
    const timestamp = own === undefined ? this.#clock.now() : recordTimestamp(own);
    const chosen = this.#partition(topic, record.partition, key, value);
    const count = topic.partitions.length;
    const sticky = topic.sticky;
    let index = chosen >= 0 ? chosen : sticky.current(count, topic.available);
    let partition = topic.partitions[index]!;
    const report = delivery === null && this.#deliveries.reporting ? record : null;
    let grew = this.#accumulator.append(
      partition,
      timestamp,
      key,
      value,
      headers,
      delivery,
      report,
      // A stay that has produced records moves on when its batch is full (not for a fresh one).
      chosen < 0 && sticky.producedBytes > 0,
    );
    if (grew === NEW_BATCH) {
      index = sticky.next(count, topic.available);
      partition = topic.partitions[index]!;
      grew = this.#accumulator.append(partition, timestamp, key, value, headers, delivery, report);
    }
    if (grew < 0) return false;
    if (chosen < 0) sticky.produced(grew, count, topic.available, partition.open === null);
    this.#txn?.appended(partition);
    return true;
  }

  /** The record's partition, or -1 for the uniform sticky choice (keyless records). */
  #partition(
    topic: TopicState,
    explicit: number | undefined,
    key: Uint8Array | null,
    value: Uint8Array | null,
  ): number {
    const count = topic.partitions.length;
    if (explicit !== undefined) {
      if (!Number.isInteger(explicit) || explicit < 0 || explicit >= count) {
        throw new RangeError(
          `partition ${explicit} does not exist: topic "${topic.name}" has ${count}`,
        );
      }
      return explicit;
    }
    if (this.#partitioner === null) return key === null ? -1 : javaPartitionForKey(key, count);
    const chosen = this.#partitioner({
      topic: topic.name,
      key,
      value,
      partitionCount: count,
      available: topic.available,
      bufferedBytes: topic.bufferedBytes,
    });
    if (chosen !== -1 && (!Number.isInteger(chosen) || chosen < 0 || chosen >= count)) {
      throw new RangeError(
        `the partitioner chose partition ${chosen} of ${count} for "${topic.name}"`,
      );
    }
    return chosen;
  }

  /** Moves waiting records into batches, in order, as far as metadata and memory allow. */
  pump(): void {
    while (this.#waiting.length > 0) {
      const entry = this.#waiting.peek()!;
      if (entry.signal?.aborted) {
        this.#waiting.shift();
        entry.failed(abortReason(entry.signal));
        continue;
      }
      const refused = this.#host.refusal(true);
      let appended: boolean;
      try {
        if (refused) throw refused;
        appended = this.#tryAppend(entry.record, entry.delivery);
      } catch (err) {
        this.#waiting.shift();
        entry.failed(err as Error);
        continue;
      }
      if (!appended) return;
      this.#waiting.shift();
      entry.accepted?.();
    }
    this.#accumulator.memoryWait = false;
  }

  /** Stops the record clock's timer (the producer closed). */
  stop(): void {
    this.#clock.stop();
  }

  /** Fails the records waiting to be batched (for one topic, or all). */
  failWaiting(error: Error, topic?: string): void {
    const failed = this.#waiting.removeWhere((e) =>
      topic === undefined || (e.record.topic ?? this.#options.defaultTopic) === topic
    );
    for (const e of failed) e.failed(error);
    if (topic !== undefined) this.pump();
  }
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

/** A record's own timestamp in ms, checked. */
export function recordTimestamp(timestamp: number | Date): number {
  const ts = typeof timestamp === "number" ? timestamp : timestamp.getTime();
  if (!Number.isSafeInteger(ts) || ts < 0) {
    throw new RangeError(`record timestamp must be a non-negative integer ms, got ${ts}`);
  }
  return ts;
}
