/**
 * SASL authentication for Kafka connections: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and
 * OAUTHBEARER, plus the {@linkcode SaslMechanism} interface for your own mechanisms. Pure
 * logic: the connection layer carries the bytes in SaslAuthenticate requests, usually through
 * {@linkcode authenticateSasl}.
 *
 * @example
 * ```ts
 * import { authenticateSasl, checkSaslHandshake, saslMechanism } from "@denokafka/kafka/protocol";
 * const mechanism = saslMechanism({ mechanism: "plain", username: "alice", password: "secret" });
 * // After SaslHandshake v1 { mechanism: mechanism.name } answered { errorCode, mechanisms }:
 * checkSaslHandshake(mechanism.name, 0, ["PLAIN"]);
 * const outcome = await authenticateSasl(mechanism, { host: "localhost", port: 9092 }, async () => ({
 *   errorCode: 0,
 *   authBytes: new Uint8Array(0),
 * }));
 * console.log(outcome.mechanism); // PLAIN
 * ```
 *
 * @module
 */

export type { SaslContext, SaslMechanism, SaslSecret, SaslSession } from "./mechanism.ts";
export { escapeSaslName } from "./mechanism.ts";
export { saslprep } from "./saslprep.ts";
export { plainMechanism, type PlainOptions } from "./plain.ts";
export { scramMechanism, type ScramMechanismName, type ScramOptions } from "./scram.ts";
export {
  oauthBearerMechanism,
  type OAuthBearerOptions,
  type OAuthBearerToken,
  type OAuthBearerTokenProvider,
} from "./oauthbearer.ts";
export { saslMechanism, type SaslOptions } from "./options.ts";
export {
  authenticateSasl,
  checkSaslHandshake,
  type SaslAuthenticateFn,
  type SaslAuthenticateReply,
  type SaslOutcome,
} from "./authenticate.ts";
