/**
 * How records learn their fate: the promise behind each `send()`, and, for records written
 * through `producer.writable`, the delivery-report stream or the stream's error.
 *
 * @module
 */

import { abortReason } from "../protocol/errors.ts";
import type { ProducerBatch } from "./batch.ts";
import type { DeliveryReport, RecordMetadata } from "./record.ts";

/** How one `send()` learns its record's fate. Nothing of the sort exists for stream writes. */
export interface Delivery {
  /** The record's timestamp (set when it is batched), reported unless the topic uses LogAppendTime. */
  timestamp: number;
  /** Called once with the record's metadata. */
  resolve(md: RecordMetadata): void;
  /** Called once with the error that failed the record. */
  reject(error: Error): void;
}

/** The promise of one `send()` and the callbacks that settle it. */
export class SendDelivery implements Delivery {
  timestamp = 0;
  readonly promise: Promise<RecordMetadata>;
  resolve: (md: RecordMetadata) => void;
  reject: (e: Error) => void;

  constructor() {
    const { promise, resolve, reject } = Promise.withResolvers<RecordMetadata>();
    this.promise = promise;
    this.resolve = resolve;
    this.reject = reject;
  }

  /**
   * Rejects with the signal's reason as soon as it aborts, after `onAbort` (which drops the
   * record if it still waits to be batched); settling first detaches the listener.
   */
  watch(signal: AbortSignal, onAbort: () => void): void {
    const resolve = this.resolve;
    const reject = this.reject;
    const aborted = () => {
      onAbort();
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", aborted, { once: true });
    this.resolve = (md) => {
      signal.removeEventListener("abort", aborted);
      resolve(md);
    };
    this.reject = (e) => {
      signal.removeEventListener("abort", aborted);
      reject(e);
    };
  }
}

/**
 * Settles what a completed batch carried: the `send()` promises, and for stream writes either
 * a delivery report each (while {@linkcode open} is being read) or the stream's error.
 */
export class Deliveries {
  #reports: ReadableStreamDefaultController<DeliveryReport> | null = null;
  #stream: WritableStreamDefaultController | undefined;
  #streamEnded: (() => void) | undefined;
  #streamError: Error | undefined;

  /** Whether a delivery-report reader exists (stream records are then kept for it). */
  get reporting(): boolean {
    return this.#reports !== null;
  }

  /** The error that failed the writable, if one did. */
  get streamError(): Error | undefined {
    return this.#streamError;
  }

  /**
   * Binds the writable whose failures this reports (a new one replaces the last, whose
   * error is forgotten); `ended` is called when this errors it.
   */
  bindStream(controller: WritableStreamDefaultController, ended?: () => void): void {
    this.#stream = controller;
    this.#streamEnded = ended;
    this.#streamError = undefined;
  }

  /** The delivery-report stream; one reader at a time. */
  open(): ReadableStream<DeliveryReport> {
    if (this.#reports !== null) {
      throw new TypeError("deliveryReports() is already being read; cancel it first");
    }
    return new ReadableStream<DeliveryReport>({
      start: (c) => {
        this.#reports = c;
      },
      cancel: () => {
        this.#reports = null;
      },
    }, { highWaterMark: 0 });
  }

  /** Resolves or rejects every record of a completed batch. */
  settle(
    batch: ProducerBatch,
    error: Error | undefined,
    baseOffset: bigint,
    logAppend: number,
  ): void {
    const topic = batch.partition.topic.name;
    const partition = batch.partition.partition;
    const ds = batch.deliveries;
    if (ds !== null) {
      for (let i = 0; i < ds.length; i++) {
        const delivery = ds[i];
        if (delivery === undefined) continue;
        if (error !== undefined) delivery.reject(error);
        else {
          delivery.resolve({
            topic,
            partition,
            offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
            timestamp: logAppend >= 0 ? logAppend : delivery.timestamp,
          });
        }
      }
    }
    if (batch.streamCount === 0) return;
    const reports = this.#reports;
    const recs = batch.reported;
    if (reports !== null && recs !== null) {
      for (let i = 0; i < recs.length; i++) {
        const record = recs[i];
        if (record === undefined) continue;
        const rt = record.timestamp;
        const own = rt === undefined ? -1 : typeof rt === "number" ? rt : rt.getTime();
        reports.enqueue({
          topic,
          partition,
          offset: error !== undefined || baseOffset < 0n ? -1n : baseOffset + BigInt(i),
          timestamp: logAppend >= 0 ? logAppend : own,
          record,
          ...error !== undefined && { error },
        });
      }
    } else if (error !== undefined) this.failStream(error);
  }

  /** Errors the writable (once): a stream record failed and nobody reads the reports. */
  failStream(error: Error): void {
    if (this.#streamError !== undefined) return;
    this.#streamError = error;
    try {
      this.#stream?.error(error);
    } catch { /* already closed */ }
    this.#streamEnded?.();
  }

  /** At shutdown: ends the report stream and errors the writable. */
  close(error: Error): void {
    try {
      this.#reports?.close();
    } catch { /* cancelled */ }
    this.#reports = null;
    try {
      this.#stream?.error(error);
    } catch { /* closed */ }
    this.#streamEnded?.();
  }
}
