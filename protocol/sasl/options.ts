/**
 * Builds a {@linkcode SaslMechanism} from plain client options.
 *
 * @module
 */

import type { SaslMechanism } from "./mechanism.ts";
import { oauthBearerMechanism, type OAuthBearerOptions } from "./oauthbearer.ts";
import { plainMechanism, type PlainOptions } from "./plain.ts";
import { scramMechanism, type ScramOptions } from "./scram.ts";

/**
 * The `sasl` option of a client: a built-in mechanism by name with its credentials, or any
 * {@linkcode SaslMechanism} object (e.g. AWS_MSK_IAM, GSSAPI from another package).
 * Mechanism names are case-insensitive.
 *
 * @example
 * ```ts
 * import type { SaslOptions } from "@denokafka/kafka/protocol";
 * const sasl: SaslOptions = {
 *   mechanism: "scram-sha-512",
 *   username: "alice",
 *   password: () => Deno.env.get("KAFKA_PASSWORD") ?? "",
 * };
 * console.log(sasl.mechanism); // scram-sha-512
 * ```
 */
export type SaslOptions =
  | ({ readonly mechanism: "plain" | "PLAIN" } & PlainOptions)
  | (
    & {
      readonly mechanism: "scram-sha-256" | "SCRAM-SHA-256" | "scram-sha-512" | "SCRAM-SHA-512";
    }
    & ScramOptions
  )
  | ({ readonly mechanism: "oauthbearer" | "OAUTHBEARER" } & OAuthBearerOptions)
  | SaslMechanism;

/**
 * Turns {@linkcode SaslOptions} into a mechanism; a {@linkcode SaslMechanism} object is
 * returned as is. Throws a `TypeError` for an unknown mechanism or missing credentials.
 *
 * @example
 * ```ts
 * import { saslMechanism } from "@denokafka/kafka/protocol";
 * const m = saslMechanism({ mechanism: "scram-sha-256", username: "alice", password: "pw" });
 * console.log(m.name); // SCRAM-SHA-256
 * ```
 */
export function saslMechanism(options: SaslOptions): SaslMechanism {
  if (options === null || typeof options !== "object") {
    throw new TypeError("sasl options must be an object");
  }
  if ("start" in options && typeof options.start === "function") {
    if (typeof options.name !== "string" || options.name === "") {
      throw new TypeError("a custom SASL mechanism needs a non-empty name");
    }
    return options;
  }
  const o = options as Exclude<SaslOptions, SaslMechanism>;
  const name = typeof o.mechanism === "string" ? o.mechanism.toUpperCase() : "";
  switch (name) {
    case "PLAIN":
      return plainMechanism(o as PlainOptions);
    case "SCRAM-SHA-256":
    case "SCRAM-SHA-512":
      return scramMechanism(name, o as ScramOptions);
    case "OAUTHBEARER":
      return oauthBearerMechanism(o as OAuthBearerOptions);
    default:
      throw new TypeError(
        `unknown SASL mechanism ${JSON.stringify(String(o.mechanism))}; use plain, ` +
          "scram-sha-256, scram-sha-512, oauthbearer, or pass a SaslMechanism object",
      );
  }
}
