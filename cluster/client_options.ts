/**
 * The option types every client shares, in one list: where the cluster is and how to reach it
 * (`ClientOptions`, retries, TLS, SASL, the transport) and where to log. The root and every
 * client's entry point (`./producer`, `./consumer`, `./admin`, `./cluster`) re-export this
 * module, so the lists cannot drift apart. Types only: no code.
 *
 * @example
 * ```ts
 * import type { ClientOptions, SaslOptions } from "@denokafka/kafka";
 * const sasl: SaslOptions = { mechanism: "scram-sha-512", username: "alice", password: "s3cret" };
 * const options: ClientOptions = { brokers: ["127.0.0.1:9093"], tls: true, sasl };
 * console.log(options.brokers.length); // 1
 * ```
 *
 * @module
 */

export type { ClientOptions, RetryOptions } from "./options.ts";
export type { TlsOptions } from "../net/connection.ts";
export type { Transport, TransportConnectOptions, TransportSocket } from "../net/transport.ts";
export type {
  OAuthBearerOptions,
  OAuthBearerToken,
  OAuthBearerTokenProvider,
  PlainOptions,
  SaslContext,
  SaslMechanism,
  SaslOptions,
  SaslSecret,
  SaslSession,
  ScramMechanismName,
  ScramOptions,
} from "../protocol/sasl/mod.ts";
export type { LogFields, Logger, LogLevel } from "../protocol/logger.ts";
