/**
 * The pluggable SASL mechanism interface: a {@linkcode SaslMechanism} is configured once per
 * client and starts one {@linkcode SaslSession} per (re-)authentication of a connection. The
 * connection layer only moves bytes: it sends what {@linkcode SaslSession.step} returns in
 * SaslAuthenticate requests and feeds the broker's `auth_bytes` back in.
 *
 * @module
 */

/** What a mechanism knows about the connection it authenticates. */
export interface SaslContext {
  /** The broker's host name, as dialled (GSSAPI-like mechanisms need it). */
  readonly host: string;
  /** The broker's port. */
  readonly port: number;
  /** Aborts a slow credential fetch (vault, token endpoint). */
  readonly signal?: AbortSignal;
}

/**
 * One authentication exchange. Sessions are single-use: a re-authentication (KIP-368) starts a
 * new one.
 *
 * @example
 * ```ts
 * import { plainMechanism } from "@denokafka/kafka/protocol";
 * const session = await plainMechanism({ username: "alice", password: "secret" })
 *   .start({ host: "localhost", port: 9092 });
 * const first = await session.step(undefined); // the bytes of the first SaslAuthenticate
 * console.log(first?.length, session.done); // 13 false
 * ```
 */
export interface SaslSession {
  /**
   * Returns the next client message given the server's last one (`undefined` before the first
   * message), or `null` when the client has nothing more to send. Throws
   * `AuthenticationError` when the server's message is invalid or unverifiable.
   */
  step(serverMessage: Uint8Array | undefined): Promise<Uint8Array | null> | Uint8Array | null;
  /** True once the exchange is complete and, where the mechanism can, the server verified. */
  readonly done: boolean;
  /**
   * How long the credential used stays valid, in milliseconds from when the session started
   * (e.g. an OAuth token's remaining lifetime), when known. Lets a connection schedule a
   * re-authentication (KIP-368) before it expires.
   */
  readonly lifetimeMs?: number | undefined;
  /**
   * A short, secret-free description of why the server rejected the client, when the
   * mechanism learned one from a server message (e.g. the OAUTHBEARER JSON `status`), so the
   * error raised on a failed SaslAuthenticate can carry it.
   */
  readonly serverError?: string | undefined;
}

/**
 * A SASL mechanism: PLAIN, SCRAM-SHA-256/512, OAUTHBEARER or your own (e.g. AWS_MSK_IAM).
 *
 * @example
 * ```ts
 * import type { SaslMechanism } from "@denokafka/kafka/protocol";
 * // A custom mechanism that sends one fixed message and accepts any reply.
 * const custom: SaslMechanism = {
 *   name: "X-DEMO",
 *   start() {
 *     let sent = false;
 *     return {
 *       get done() {
 *         return sent;
 *       },
 *       step() {
 *         if (sent) return null;
 *         sent = true;
 *         return new TextEncoder().encode("hello");
 *       },
 *     };
 *   },
 * };
 * console.log(custom.name); // X-DEMO
 * ```
 */
export interface SaslMechanism {
  /** The mechanism name sent in SaslHandshake, e.g. `SCRAM-SHA-256`. */
  readonly name: string;
  /** Starts a new exchange for one connection. */
  start(ctx: SaslContext): Promise<SaslSession> | SaslSession;
}

/**
 * A secret given directly or fetched lazily (from a vault, an environment variable...) each
 * time a connection authenticates.
 *
 * @example
 * ```ts
 * import type { SaslSecret } from "@denokafka/kafka/protocol";
 * const fromEnv: SaslSecret = () => Deno.env.get("KAFKA_PASSWORD") ?? "";
 * console.log(typeof fromEnv); // function
 * ```
 */
export type SaslSecret = string | ((signal?: AbortSignal) => string | Promise<string>);

/**
 * Escapes a name for a SCRAM/GS2 `saslname` (RFC 5802 section 5.1): `=` becomes `=3D` and `,`
 * becomes `=2C`, so the name cannot break out of its attribute.
 *
 * @example
 * ```ts
 * import { escapeSaslName } from "@denokafka/kafka/protocol";
 * console.log(escapeSaslName("a=b,c")); // a=3Db=2Cc
 * ```
 */
export function escapeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}
