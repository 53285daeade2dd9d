/**
 * The typed errors of the client. Every failure the library reports is a {@linkcode KafkaError}
 * (or, for bad arguments, a `TypeError` / `RangeError`), never a bare `Error` with a string.
 *
 * @module
 */

import { ERROR_CODE_ROWS, ErrorCode } from "./error_codes.ts";

/** Facts about one Kafka error code. */
export interface ErrorCodeInfo {
  /** The numeric code on the wire. */
  readonly code: number;
  /** Kafka's name for it, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly name: string;
  /** Whether the same request may succeed if retried. */
  readonly retriable: boolean;
  /** Whether the client should refresh its metadata before retrying. */
  readonly refreshMetadata: boolean;
}

const BY_CODE = new Map<number, ErrorCodeInfo>();
const BY_NAME = new Map<string, ErrorCodeInfo>();
for (const [code, name, retriable, metadata] of ERROR_CODE_ROWS) {
  const info = { code, name, retriable: retriable === 1, refreshMetadata: metadata === 1 };
  BY_CODE.set(code, info);
  BY_NAME.set(name, info);
}

/**
 * Looks up an error code. Unknown codes (from a newer broker) are reported as non-retriable.
 *
 * @example
 * ```ts
 * import { errorCodeInfo } from "@denokafka/kafka/protocol";
 * console.log(errorCodeInfo(6).name); // NOT_LEADER_OR_FOLLOWER
 * ```
 */
export function errorCodeInfo(code: number): ErrorCodeInfo {
  return BY_CODE.get(code) ??
    { code, name: `UNKNOWN_ERROR_CODE_${code}`, retriable: false, refreshMetadata: false };
}

/**
 * The numeric code for a Kafka error name.
 *
 * @example
 * ```ts
 * import { errorCode } from "@denokafka/kafka/protocol";
 * console.log(errorCode("UNKNOWN_TOPIC_OR_PARTITION")); // 3
 * ```
 */
export function errorCode(name: string): number {
  const info = BY_NAME.get(name);
  if (info === undefined) throw new RangeError(`unknown Kafka error name: ${name}`);
  return info.code;
}

/** Options common to every {@linkcode KafkaError}. */
export interface KafkaErrorOptions extends ErrorOptions {
  /** Whether retrying the operation may succeed. */
  retriable?: boolean;
}

/**
 * The base class of every error this library raises for Kafka-related failures.
 *
 * @example
 * ```ts
 * import { KafkaError } from "@denokafka/kafka";
 * try {
 *   throw new KafkaError("boom");
 * } catch (e) {
 *   if (e instanceof KafkaError && e.retriable) console.log("retry");
 * }
 * ```
 */
export class KafkaError extends Error {
  /** Whether retrying the operation may succeed. */
  readonly retriable: boolean;

  /** Builds an error; `retriable` defaults to false. */
  constructor(message: string, options: KafkaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/**
 * An error code returned by a broker, with its name and retriability from Kafka's table.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@denokafka/kafka";
 * const e = new ProtocolError(3);
 * console.log(e.errorName, e.retriable); // UNKNOWN_TOPIC_OR_PARTITION true
 * ```
 */
export class ProtocolError extends KafkaError {
  /** The numeric Kafka error code. */
  readonly code: number;
  /** Kafka's name for the code, e.g. `UNKNOWN_TOPIC_OR_PARTITION`. */
  readonly errorName: string;
  /** Whether the client should refresh metadata before retrying. */
  readonly refreshMetadata: boolean;
  /** The broker's error message, when it sent one. */
  readonly brokerMessage: string | undefined;

  /**
   * Builds the error for `code`. `detail` names what failed (topic, group...); `brokerMessage`
   * is the free-text message some responses carry.
   */
  constructor(
    code: number,
    detail?: string,
    brokerMessage?: string | null,
    options: ErrorOptions = {},
  ) {
    const info = errorCodeInfo(code);
    const parts = [`${info.name} (${code})`];
    if (detail) parts.push(detail);
    if (brokerMessage) parts.push(brokerMessage);
    super(parts.join(": "), { ...options, retriable: info.retriable });
    this.code = code;
    this.errorName = info.name;
    this.refreshMetadata = info.refreshMetadata;
    this.brokerMessage = brokerMessage ?? undefined;
  }
}

/**
 * A socket could not be opened, was closed, or broke while requests were pending.
 * Retriable: another attempt (possibly to another broker) may succeed.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@denokafka/kafka";
 * const e = new ConnectionError("connect 127.0.0.1:1 refused", { broker: "127.0.0.1:1" });
 * console.log(e.broker, e.retriable); // 127.0.0.1:1 true
 * ```
 */
export class ConnectionError extends KafkaError {
  /** `host:port` of the peer, when known. */
  readonly broker: string | undefined;

  /** Builds the error; it is retriable unless told otherwise. */
  constructor(message: string, options: KafkaErrorOptions & { broker?: string } = {}) {
    super(message, { retriable: true, ...options });
    this.broker = options.broker;
  }
}

/**
 * A request or operation did not complete in time. Retriable.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@denokafka/kafka";
 * const e = new TimeoutError("Metadata v12 timed out after 30000 ms", { timeoutMs: 30000 });
 * console.log(e.timeoutMs); // 30000
 * ```
 */
export class TimeoutError extends KafkaError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number | undefined;

  /** Builds the error; it is retriable. */
  constructor(message: string, options: ErrorOptions & { timeoutMs?: number } = {}) {
    super(message, { ...options, retriable: true });
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * SASL or TLS authentication failed: wrong credentials, unsupported mechanism, or a server
 * that could not prove itself. Never retried automatically.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "@denokafka/kafka";
 * const e = new AuthenticationError("SCRAM-SHA-256: invalid credentials");
 * console.log(e.retriable); // false
 * ```
 */
export class AuthenticationError extends KafkaError {
  /** Builds the error; it is never retriable. */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retriable: false });
  }
}

/**
 * The broker and this client share no version of an API, or the broker does not know it.
 *
 * @example
 * ```ts
 * import { UnsupportedVersionError } from "@denokafka/kafka";
 * const e = new UnsupportedVersionError("Produce", { apiKey: 0 });
 * console.log(e.apiName); // Produce
 * ```
 */
export class UnsupportedVersionError extends KafkaError {
  /** The API's name, e.g. `Produce`. */
  readonly apiName: string;
  /** The API's key. */
  readonly apiKey: number | undefined;
  /** The version the caller asked for, when it asked for one the broker or client lacks. */
  readonly version: number | undefined;

  /**
   * Builds the error for the API named `apiName`; with `version`, for a request asked at that
   * version, which one side does not speak.
   */
  constructor(
    apiName: string,
    options: ErrorOptions & { apiKey?: number; detail?: string; version?: number } = {},
  ) {
    super(
      (options.version === undefined
        ? `the broker supports no version of ${apiName} that this client speaks`
        : `${apiName} v${options.version} is not supported`) +
        (options.detail ? ` (${options.detail})` : ""),
      { cause: options.cause },
    );
    this.apiName = apiName;
    this.apiKey = options.apiKey;
    this.version = options.version;
  }
}

/**
 * The broker lists an API but does not offer the feature behind it: a Kafka 3.x broker lists
 * ConsumerGroupHeartbeat and answers it with UNSUPPORTED_VERSION while its KIP-848 group
 * coordinator is off. Raised at once, naming the feature and what to do instead.
 *
 * @example
 * ```ts
 * import { UnsupportedFeatureError, UnsupportedVersionError } from "@denokafka/kafka";
 * const e = new UnsupportedFeatureError("ConsumerGroupHeartbeat", {
 *   feature: "the consumer group protocol (KIP-848)",
 *   hint: 'use groupProtocol: "classic"',
 * });
 * console.log(e instanceof UnsupportedVersionError, e.feature);
 * ```
 */
export class UnsupportedFeatureError extends UnsupportedVersionError {
  /** What the broker does not offer, e.g. `the consumer group protocol (KIP-848)`. */
  readonly feature: string;

  /** Builds the error for `feature`, reached through the API named `apiName`. */
  constructor(
    apiName: string,
    options: ErrorOptions & { apiKey?: number; feature: string; broker?: string; hint?: string },
  ) {
    super(apiName, options);
    this.feature = options.feature;
    this.message = `the broker${options.broker ? ` ${options.broker}` : ""} does not offer ` +
      `${options.feature}${options.hint ? `: ${options.hint}` : ""}`;
  }
}

/**
 * Bytes from the network could not be decoded: a truncated or garbage frame, a negative or
 * oversized length, a bad CRC. Raised instead of allocating what a length prefix merely claims.
 *
 * @example
 * ```ts
 * import { DecodeError } from "@denokafka/kafka";
 * const e = new DecodeError("string length 2147483647 exceeds the 12 bytes left");
 * console.log(e instanceof Error); // true
 * ```
 */
export class DecodeError extends KafkaError {
  /** Builds the error; decoding failures are not retriable. */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retriable: false });
  }
}

/**
 * A call was made on a client, producer, consumer or connection after it was closed.
 *
 * @example
 * ```ts
 * import { ClosedError } from "@denokafka/kafka";
 * const e = new ClosedError("producer");
 * console.log(e.message); // producer is closed
 * ```
 */
export class ClosedError extends KafkaError {
  /** Builds the error naming what was closed. */
  constructor(what: string, options: ErrorOptions = {}) {
    super(`${what} is closed`, { ...options, retriable: false });
  }
}

/**
 * Throws a {@linkcode ProtocolError} when `code` is not 0 (NONE).
 *
 * @example
 * ```ts
 * import { throwIfError } from "@denokafka/kafka/protocol";
 * throwIfError(0, "topic a"); // no-op
 * ```
 */
export function throwIfError(code: number, detail?: string, brokerMessage?: string | null): void {
  if (code !== ErrorCode.NONE) throw new ProtocolError(code, detail, brokerMessage);
}

/**
 * Turns an aborted signal's reason into an error to throw: the reason itself when it is an
 * Error, else a `DOMException` named `AbortError`, as `fetch` does.
 *
 * @example
 * ```ts
 * import { abortReason } from "@denokafka/kafka/protocol";
 * const c = new AbortController();
 * c.abort();
 * console.log(abortReason(c.signal).name); // AbortError
 * ```
 */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new DOMException(r === undefined ? "aborted" : String(r), "AbortError");
}
