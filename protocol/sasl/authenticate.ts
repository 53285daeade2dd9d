/**
 * Drives a {@linkcode SaslMechanism} over SaslHandshake / SaslAuthenticate round trips. It
 * holds no socket: the connection passes a function that sends one SaslAuthenticate request
 * and returns the decoded response.
 *
 * @module
 */

import { AuthenticationError, KafkaError, ProtocolError } from "../errors.ts";
import type { SaslContext, SaslMechanism } from "./mechanism.ts";
import { ErrorCode } from "../error_codes.ts";

/** The fields of a SaslAuthenticate response the exchange needs. */
export interface SaslAuthenticateReply {
  /** The Kafka error code; 0 on success. */
  readonly errorCode: number;
  /** The broker's error message, if any. */
  readonly errorMessage?: string | null;
  /** The server's SASL message. */
  readonly authBytes: Uint8Array;
  /** `session_lifetime_ms` (v1+, KIP-368): 0 or absent when the broker does not expire it. */
  readonly sessionLifetimeMs?: number | bigint;
}

/** Sends one SaslAuthenticate request carrying `authBytes` and resolves with its response. */
export type SaslAuthenticateFn = (authBytes: Uint8Array) => Promise<SaslAuthenticateReply>;

/** What a completed authentication tells the connection. */
export interface SaslOutcome {
  /** The mechanism's name. */
  readonly mechanism: string;
  /** The broker's `session_lifetime_ms` from the last response; 0 means no expiry. */
  readonly sessionLifetimeMs: number;
  /**
   * When to re-authenticate (KIP-368), in ms after this outcome: a random point between 85%
   * and 95% of `sessionLifetimeMs` as the Java client does, so connections opened together do
   * not all re-authenticate at once; `undefined` when the broker set no lifetime.
   */
  readonly reauthenticateAfterMs: number | undefined;
  /** The credential's own lifetime as the mechanism knows it (OAUTHBEARER token), if any. */
  readonly credentialLifetimeMs: number | undefined;
}

/** SaslAuthenticate round trips allowed before an exchange is deemed to loop forever. */
const MAX_ROUND_TRIPS = 16;

/**
 * Checks a SaslHandshake response for the mechanism the client asked for, turning a refusal
 * into an {@linkcode AuthenticationError} that lists what the broker offers.
 *
 * @example
 * ```ts
 * import { checkSaslHandshake } from "@denokafka/kafka/protocol";
 * checkSaslHandshake("PLAIN", 0, ["PLAIN", "SCRAM-SHA-512"]); // ok
 * try {
 *   checkSaslHandshake("PLAIN", 33, ["SCRAM-SHA-512"]);
 * } catch (e) {
 *   console.log((e as Error).message);
 *   // SASL mechanism PLAIN is not enabled on the broker; it offers: SCRAM-SHA-512
 * }
 * ```
 */
export function checkSaslHandshake(
  mechanism: string,
  errorCode: number,
  enabledMechanisms: readonly string[],
): void {
  if (errorCode === ErrorCode.NONE) return;
  const cause = new ProtocolError(errorCode);
  if (errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    const offered = enabledMechanisms.length === 0 ? "none" : enabledMechanisms.join(", ");
    throw new AuthenticationError(
      `SASL mechanism ${mechanism} is not enabled on the broker; it offers: ${offered}`,
      { cause },
    );
  }
  if (errorCode === ErrorCode.ILLEGAL_SASL_STATE) {
    throw new AuthenticationError(`SaslHandshake for ${mechanism}: illegal SASL state`, {
      cause,
    });
  }
  throw cause;
}

/**
 * Runs one authentication exchange: starts a session, then alternates `session.step` and
 * SaslAuthenticate round trips until the mechanism has nothing more to send. Call it after a
 * successful SaslHandshake (v1) naming `mechanism.name`, and again for each KIP-368
 * re-authentication.
 *
 * Failures: a broker error code or a mechanism failure is an {@linkcode AuthenticationError}
 * (a broker code is its `cause` as a ProtocolError); errors from `authenticate` itself (a
 * broken connection, a timeout) and aborts propagate unchanged.
 *
 * @example
 * ```ts
 * import { authenticateSasl, plainMechanism } from "@denokafka/kafka/protocol";
 * const outcome = await authenticateSasl(
 *   plainMechanism({ username: "alice", password: "secret" }),
 *   { host: "localhost", port: 9092 },
 *   // A real connection sends a SaslAuthenticate request here.
 *   async (_bytes) => ({ errorCode: 0, authBytes: new Uint8Array(0), sessionLifetimeMs: 0 }),
 * );
 * console.log(outcome.mechanism, outcome.reauthenticateAfterMs); // PLAIN undefined
 * ```
 */
export async function authenticateSasl(
  mechanism: SaslMechanism,
  ctx: SaslContext,
  authenticate: SaslAuthenticateFn,
): Promise<SaslOutcome> {
  const name = mechanism.name;
  const signal = ctx.signal;
  const session = await guard(name, signal, () => mechanism.start(ctx));
  let out = await guard(name, signal, () => session.step(undefined));
  let lifetime = 0;
  let trips = 0;
  while (out !== null) {
    if (++trips > MAX_ROUND_TRIPS) {
      throw new AuthenticationError(`${name}: no result after ${MAX_ROUND_TRIPS} round trips`);
    }
    signal?.throwIfAborted();
    const reply = await authenticate(out);
    if (reply.errorCode !== ErrorCode.NONE) {
      const brokerMessage = reply.errorMessage ?? null;
      const cause = new ProtocolError(reply.errorCode, undefined, brokerMessage);
      const parts = [`${name}: authentication failed`];
      if (session.serverError !== undefined) parts.push(session.serverError);
      parts.push(brokerMessage ?? cause.errorName);
      throw new AuthenticationError(parts.join(": "), { cause });
    }
    const l = reply.sessionLifetimeMs;
    lifetime = l === undefined ? 0 : Number(l);
    const server = reply.authBytes;
    out = await guard(name, signal, () => session.step(server));
  }
  if (!session.done) {
    throw new AuthenticationError(`${name}: the mechanism stopped before completing`);
  }
  return {
    mechanism: name,
    sessionLifetimeMs: lifetime,
    reauthenticateAfterMs: lifetime > 0
      ? Math.floor(lifetime * (0.85 + Math.random() * 0.1))
      : undefined,
    credentialLifetimeMs: session.lifetimeMs,
  };
}

/**
 * Runs a mechanism callback, wrapping unexpected errors (a custom mechanism's TypeError, a
 * WebCrypto failure) in an AuthenticationError. KafkaErrors and aborts pass through.
 */
async function guard<T>(
  name: string,
  signal: AbortSignal | undefined,
  fn: () => T | Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof KafkaError || signal?.aborted) throw e;
    throw new AuthenticationError(`${name}: the mechanism failed`, { cause: e });
  }
}
