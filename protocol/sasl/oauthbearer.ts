/**
 * SASL OAUTHBEARER (RFC 7628) as Kafka speaks it (KIP-255), with SASL extensions (KIP-342).
 * The token comes from a callback, called once per authentication, so it can be cached and
 * refreshed by the application (or a token-endpoint helper) as it sees fit.
 *
 * @module
 */

import { AuthenticationError } from "../errors.ts";
import { escapeSaslName, type SaslMechanism, type SaslSession } from "./mechanism.ts";
import { decodeServerMessage, utf8 } from "./util.ts";

/** A bearer token as returned by an {@linkcode OAuthBearerTokenProvider}. */
export interface OAuthBearerToken {
  /** The token itself (typically a JWT), an RFC 6750 `b64token`. */
  readonly value: string;
  /** SASL extensions (KIP-342) to send with it, e.g. `{ logicalCluster: "lkc-123" }`. */
  readonly extensions?: Readonly<Record<string, string>>;
  /**
   * How long the token remains valid from now, in milliseconds (e.g. `expires_in * 1000` of
   * an OAuth token response). Exposed as the session's `lifetimeMs` so the connection can
   * re-authenticate (KIP-368) before the token expires.
   */
  readonly lifetimeMs?: number;
}

/**
 * Returns the token to authenticate with; a plain string is a token without extensions or a
 * known lifetime.
 *
 * @example
 * ```ts
 * import type { OAuthBearerTokenProvider } from "@denokafka/kafka/protocol";
 * const provider: OAuthBearerTokenProvider = async (signal) => {
 *   const res = await fetch("https://idp.example/token", { method: "POST", signal: signal ?? null });
 *   const body = await res.json();
 *   return { value: body.access_token, lifetimeMs: body.expires_in * 1000 };
 * };
 * console.log(typeof provider); // function
 * ```
 */
export type OAuthBearerTokenProvider = (
  signal?: AbortSignal,
) => OAuthBearerToken | string | Promise<OAuthBearerToken | string>;

/** Options of {@linkcode oauthBearerMechanism}. */
export interface OAuthBearerOptions {
  /** Fetches the token for each authentication. */
  readonly token: OAuthBearerTokenProvider;
  /** Extensions sent with every token; the token's own extensions override these keys. */
  readonly extensions?: Readonly<Record<string, string>>;
  /** The identity to act as (the GS2 `a=` field); empty by default. */
  readonly authzid?: string;
}

const NAME = "OAUTHBEARER";
const SEP = "\x01";
/** RFC 6750 section 2.1 b64token: what may follow "Bearer " without breaking the framing. */
const B64TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;
/** RFC 7628 section 3.1 key and value grammar, as Kafka's broker enforces it. */
const EXT_KEY_RE = /^[A-Za-z]+$/;
const EXT_VALUE_RE = /^[\x21-\x7e \t\r\n]+$/;

function checkExtensions(extensions: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(extensions)) {
    if (!EXT_KEY_RE.test(key) || key === "auth") {
      throw new AuthenticationError(
        `${NAME}: invalid extension name ${JSON.stringify(key.slice(0, 40))} ` +
          `(letters only, and not "auth")`,
      );
    }
    // The value is not echoed: some deployments put credentials-like ids in extensions.
    if (typeof value !== "string" || !EXT_VALUE_RE.test(value)) {
      throw new AuthenticationError(`${NAME}: invalid value for extension ${key}`);
    }
  }
}

/**
 * The OAUTHBEARER mechanism. The client-first message is
 * `n,[a=authzid],\x01auth=Bearer <token>\x01[key=value\x01]*\x01`. A broker that rejects the
 * token answers with a JSON error; the session then sends the `\x01` acknowledgement RFC 7628
 * requires, and the failure is reported as an AuthenticationError carrying the JSON `status`.
 *
 * @example
 * ```ts
 * import { oauthBearerMechanism } from "@denokafka/kafka/protocol";
 * const mech = oauthBearerMechanism({ token: () => ({ value: "eyJ.x.y", lifetimeMs: 60_000 }) });
 * const session = await mech.start({ host: "localhost", port: 9092 });
 * const first = new TextDecoder().decode((await session.step(undefined))!);
 * console.log(JSON.stringify(first), session.lifetimeMs); // "n,,\u0001auth=Bearer eyJ.x.y\u0001\u0001" 60000
 * ```
 */
export function oauthBearerMechanism(options: OAuthBearerOptions): SaslMechanism {
  const provider = options.token;
  if (typeof provider !== "function") throw new TypeError(`${NAME}: token must be a function`);
  const authzid = options.authzid ?? "";
  const gs2 = authzid === "" ? "n,," : `n,a=${escapeSaslName(authzid)},`;
  const base = options.extensions ?? {};
  checkExtensions(base);
  return {
    name: NAME,
    async start(ctx): Promise<SaslSession> {
      ctx.signal?.throwIfAborted();
      let got: unknown;
      try {
        got = await provider(ctx.signal);
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        throw new AuthenticationError(`${NAME}: the token callback failed`, { cause: e });
      }
      ctx.signal?.throwIfAborted();
      const token: OAuthBearerToken = typeof got === "string"
        ? { value: got }
        : got as OAuthBearerToken;
      if (token === null || typeof token !== "object" || typeof token.value !== "string") {
        throw new AuthenticationError(`${NAME}: the token callback returned no token`);
      }
      // The token is never echoed in messages, valid or not.
      if (!B64TOKEN_RE.test(token.value)) {
        throw new AuthenticationError(
          `${NAME}: the token is not a valid bearer token (RFC 6750 b64token)`,
        );
      }
      const lifetimeMs = token.lifetimeMs;
      if (lifetimeMs !== undefined) {
        if (typeof lifetimeMs !== "number" || Number.isNaN(lifetimeMs)) {
          throw new AuthenticationError(`${NAME}: the token's lifetimeMs is not a number`);
        }
        if (lifetimeMs <= 0) throw new AuthenticationError(`${NAME}: the token has expired`);
      }
      const extensions = { ...base, ...token.extensions };
      checkExtensions(extensions);
      let kv = "";
      for (const [key, value] of Object.entries(extensions)) kv += `${key}=${value}${SEP}`;
      const message = utf8(`${gs2}${SEP}auth=Bearer ${token.value}${SEP}${kv}${SEP}`);
      return new OAuthBearerSession(message, lifetimeMs);
    },
  };
}

/** Extracts a short, printable description from the server's RFC 7628 JSON error. */
function describeServerError(json: string): string {
  let status = "unknown";
  let scope: string | undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    if (parsed !== null && typeof parsed === "object") {
      const o = parsed as Record<string, unknown>;
      if (typeof o.status === "string") status = o.status;
      if (typeof o.scope === "string") scope = o.scope;
    }
  } catch {
    status = "unparsable server error";
  }
  const clean = (s: string) => {
    const t = s.replace(/[^\x20-\x7e]/g, "?");
    return t.length > 120 ? `${t.slice(0, 120)}...` : t;
  };
  return `status ${clean(status)}` + (scope === undefined ? "" : `, scope ${clean(scope)}`);
}

class OAuthBearerSession implements SaslSession {
  #message: Uint8Array | undefined;
  #state: "initial" | "sent" | "acknowledged-error" | "done" = "initial";
  #serverError: string | undefined;
  readonly lifetimeMs: number | undefined;

  constructor(message: Uint8Array, lifetimeMs: number | undefined) {
    this.#message = message;
    this.lifetimeMs = lifetimeMs;
  }

  get done(): boolean {
    return this.#state === "done";
  }

  get serverError(): string | undefined {
    return this.#serverError;
  }

  step(serverMessage: Uint8Array | undefined): Uint8Array | null {
    switch (this.#state) {
      case "initial": {
        if (serverMessage !== undefined && serverMessage.length > 0) {
          throw new AuthenticationError(`${NAME}: unexpected server message before the client's`);
        }
        const message = this.#message!;
        this.#message = undefined;
        this.#state = "sent";
        return message;
      }
      case "sent":
        if (serverMessage === undefined || serverMessage.length === 0) {
          this.#state = "done";
          return null;
        }
        // RFC 7628 section 3.2.2: on error the server sends JSON and expects a lone %x01
        // before it fails the exchange; Kafka then answers with SASL_AUTHENTICATION_FAILED.
        this.#serverError = describeServerError(decodeServerMessage(NAME, serverMessage));
        this.#state = "acknowledged-error";
        return new Uint8Array([1]);
      case "acknowledged-error":
        throw new AuthenticationError(
          `${NAME}: the server rejected the token: ${this.#serverError}`,
        );
      case "done":
        throw new AuthenticationError(
          `${NAME}: unexpected server message after the exchange completed`,
        );
    }
  }
}
