/**
 * SASL PLAIN (RFC 4616). It sends the password in clear, so use it only over TLS.
 *
 * @module
 */

import { AuthenticationError } from "../errors.ts";
import type { SaslMechanism, SaslSecret, SaslSession } from "./mechanism.ts";
import { checkSecret, resolveSecret, utf8 } from "./util.ts";

/** Options of {@linkcode plainMechanism}. */
export interface PlainOptions {
  /** The authentication identity. */
  readonly username: string;
  /** The password, or a callback that fetches it for each authentication. */
  readonly password: SaslSecret;
  /** The identity to act as; empty (the default) means the username itself. */
  readonly authzid?: string;
}

const NAME = "PLAIN";

function checkNoNul(value: string, what: string): void {
  // A NUL would shift the fields: the server would read a different user or password.
  if (value.includes("\0")) throw new TypeError(`${NAME}: the ${what} must not contain NUL`);
}

/**
 * The PLAIN mechanism: one message `authzid NUL username NUL password`, to which a Kafka broker
 * answers with empty bytes (success) or a SaslAuthenticate error.
 *
 * @example
 * ```ts
 * import { plainMechanism } from "@denokafka/kafka/protocol";
 * const session = await plainMechanism({ username: "alice", password: "secret" })
 *   .start({ host: "localhost", port: 9092 });
 * console.log(await session.step(undefined)); // Uint8Array(13) [0, 97, 108, ...]
 * ```
 */
export function plainMechanism(options: PlainOptions): SaslMechanism {
  const { username, password } = options;
  const authzid = options.authzid ?? "";
  if (typeof username !== "string" || username === "") {
    throw new TypeError(`${NAME}: username must be a non-empty string`);
  }
  checkNoNul(username, "username");
  checkSecret(NAME, "password", password);
  checkNoNul(authzid, "authzid");
  return {
    name: NAME,
    async start(ctx): Promise<SaslSession> {
      const secret = await resolveSecret(NAME, "password", password, ctx.signal);
      // Checked per authentication since a callback may return a different password each time.
      if (secret.includes("\0")) {
        throw new AuthenticationError(`${NAME}: the password must not contain NUL`);
      }
      return new PlainSession(utf8(`${authzid}\0${username}\0${secret}`));
    },
  };
}

class PlainSession implements SaslSession {
  #message: Uint8Array | undefined;
  #state: "initial" | "sent" | "done" = "initial";

  constructor(message: Uint8Array) {
    this.#message = message;
  }

  get done(): boolean {
    return this.#state === "done";
  }

  step(serverMessage: Uint8Array | undefined): Uint8Array | null {
    if (this.#state === "initial") {
      if (serverMessage !== undefined && serverMessage.length > 0) {
        throw new AuthenticationError(`${NAME}: unexpected server message before the client's`);
      }
      const message = this.#message!;
      // Drop our reference: the password should live no longer than needed.
      this.#message = undefined;
      this.#state = "sent";
      return message;
    }
    if (this.#state === "sent") {
      // RFC 4616 has no server data; Kafka answers success with empty auth bytes.
      if (serverMessage !== undefined && serverMessage.length > 0) {
        throw new AuthenticationError(`${NAME}: unexpected data in the server's reply`);
      }
      this.#state = "done";
      return null;
    }
    throw new AuthenticationError(`${NAME}: the exchange is already complete`);
  }
}
