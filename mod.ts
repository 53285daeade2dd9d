/**
 * A Deno-native Apache Kafka client in pure TypeScript, built on Web Streams.
 *
 * @example
 * ```ts
 * import { KafkaError } from "@denokafka/kafka";
 * console.log(new KafkaError("x") instanceof Error); // true
 * ```
 *
 * @module
 */

export {
  AuthenticationError,
  ClosedError,
  ConnectionError,
  DecodeError,
  KafkaError,
  ProtocolError,
  TimeoutError,
  UnsupportedVersionError,
} from "./protocol/errors.ts";
export * from "./cluster/mod.ts";
export type { LogFields, Logger, LogLevel } from "./protocol/logger.ts";
export { consoleLogger, silentLogger } from "./protocol/logger.ts";
export type { TlsOptions } from "./protocol/connection.ts";
export type { SaslOptions } from "./protocol/sasl_flow.ts";
export * from "./admin/mod.ts";
export type {
  OAuthBearerOptions,
  OAuthBearerToken,
  OAuthBearerTokenProvider,
  PlainOptions,
  SaslContext,
  SaslMechanism,
  SaslSecret,
  SaslSession,
  ScramOptions,
} from "./protocol/sasl/mod.ts";
