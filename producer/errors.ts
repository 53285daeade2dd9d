/**
 * Errors only the producer raises: fencing, transaction state, and unknown topics.
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";
import { KafkaError, ProtocolError } from "../protocol/errors.ts";

/**
 * Another producer with the same `transactionalId` (or a newer epoch of this one) took over:
 * this producer can do nothing more and must be closed. Raised for the broker's
 * `PRODUCER_FENCED` and `INVALID_PRODUCER_EPOCH`.
 *
 * @example
 * ```ts
 * import { ProducerFencedError } from "@denokafka/kafka/producer";
 * const e = new ProducerFencedError("payments-1");
 * console.log(e.transactionalId, e.retriable); // payments-1 false
 * ```
 */
export class ProducerFencedError extends KafkaError {
  /** The fenced transactional id, when the producer has one. */
  readonly transactionalId: string | undefined;

  /** Builds the error; it is never retriable. */
  constructor(transactionalId?: string, options: ErrorOptions = {}) {
    super(
      `producer${
        transactionalId === undefined ? "" : ` "${transactionalId}"`
      } was fenced by a newer instance with the same transactional id`,
      { ...options, retriable: false },
    );
    this.transactionalId = transactionalId;
  }
}

/**
 * A transactional method was called in the wrong state (e.g. `send` outside a transaction,
 * `commitTransaction` after a failed send), or the transaction hit an error that only
 * `abortTransaction()` can clear. `abortable` tells which.
 *
 * @example
 * ```ts
 * import { TransactionStateError } from "@denokafka/kafka/producer";
 * const e = new TransactionStateError("no transaction in progress");
 * console.log(e.abortable); // false
 * ```
 */
export class TransactionStateError extends KafkaError {
  /** Whether aborting the transaction clears the error (false: the producer is unusable). */
  readonly abortable: boolean;

  /** Builds the error. */
  constructor(message: string, options: ErrorOptions & { abortable?: boolean } = {}) {
    super(message, { cause: options.cause, retriable: false });
    this.abortable = options.abortable ?? false;
  }
}

/**
 * A topic does not exist (and could not, or may not, be created automatically) after the
 * producer waited `maxBlockMs` for it. A `ProtocolError` with the code
 * `UNKNOWN_TOPIC_OR_PARTITION`, naming the topic.
 *
 * @example
 * ```ts
 * import { UnknownTopicError } from "@denokafka/kafka/producer";
 * const e = new UnknownTopicError("orders", 5000);
 * console.log(e.topic, e.errorName); // orders UNKNOWN_TOPIC_OR_PARTITION
 * ```
 */
export class UnknownTopicError extends ProtocolError {
  /** The missing topic. */
  readonly topic: string;

  /** Builds the error for `topic`, after waiting `waitedMs`. */
  constructor(topic: string, waitedMs: number, options: ErrorOptions = {}) {
    super(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `topic "${topic}" does not exist (waited ${waitedMs} ms for it to appear in metadata)`,
      undefined,
      options,
    );
    this.topic = topic;
  }
}
