/**
 * A TLS handshake the peer broke off without a word of TLS: it hung up, reset, or answered
 * with bytes that are no TLS record. A plaintext Kafka listener does exactly that on a
 * ClientHello (it reads the record header as an absurd frame size and closes), so the
 * connection asks the port in plaintext before it decides what to tell the user.
 *
 * @module
 */

import { ConnectionError } from "../protocol/errors.ts";

/**
 * Thrown by a transport when a TLS handshake was broken off (not refused, and not a
 * certificate problem). `reset` tells a reset (a network failure, retriable) from a peer that
 * ended the stream or spoke something else.
 *
 * @example
 * ```ts
 * import { TlsHandshakeError } from "@denokafka/kafka";
 * const e = new TlsHandshakeError("127.0.0.1:9092", new Error("eof"), { reset: false });
 * console.log(e.reset); // false
 * ```
 */
export class TlsHandshakeError extends ConnectionError {
  /** The peer reset the connection (a network failure) rather than ending it. */
  readonly reset: boolean;

  /** Builds the error for `broker`, wrapping the transport's own failure. */
  constructor(broker: string, cause: unknown, options: { reset: boolean }) {
    super(`TLS handshake with ${broker} was broken off: ${errorText(cause)}`, {
      broker,
      cause,
      retriable: options.reset,
    });
    this.reset = options.reset;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
