/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on WebCrypto, as Kafka speaks them
 * (KIP-84), including delegation tokens (KIP-48: the `tokenauth=true` extension).
 *
 * The exchange is three messages: client-first, client-final (after the server's salt,
 * iteration count and nonce), then verification of the server's signature, which proves the
 * server knows the password's salted form and is not an impostor.
 *
 * @module
 */

import { AuthenticationError } from "../errors.ts";
import {
  escapeSaslName,
  type SaslMechanism,
  type SaslSecret,
  type SaslSession,
} from "./mechanism.ts";
import {
  checkSecret,
  constantTimeEqual,
  decodeServerMessage,
  fromBase64,
  resolveSecret,
  toBase64,
  utf8,
} from "./util.ts";

/** The SCRAM variants Kafka supports. */
export type ScramMechanismName = "SCRAM-SHA-256" | "SCRAM-SHA-512";

/** Options of {@linkcode scramMechanism}. */
export interface ScramOptions {
  /** The user name (or, with `delegationToken`, the token id). */
  readonly username: string;
  /** The password (or the token's HMAC), or a callback fetching it for each authentication. */
  readonly password: SaslSecret;
  /**
   * Authenticate with a delegation token (KIP-48): `username` is the token id, `password` its
   * base64 HMAC, and the client-first message carries the `tokenauth=true` extension.
   */
  readonly delegationToken?: boolean;
}

/** Kafka refuses fewer iterations (ScramMechanism.minIterations), and so do we: a server
 * asking for fewer is either misconfigured or trying to make the proof cheap to brute-force. */
const MIN_ITERATIONS = 4096;
/** Kafka stores at most 16384; the cap is far above that but bounds the CPU a hostile server
 * can make us burn in PBKDF2 (about a second at this count). */
const MAX_ITERATIONS = 1_000_000;

const HASHES: Record<ScramMechanismName, { hash: "SHA-256" | "SHA-512"; bits: number }> = {
  "SCRAM-SHA-256": { hash: "SHA-256", bits: 256 },
  "SCRAM-SHA-512": { hash: "SHA-512", bits: 512 },
};

/** base64("n,,"): no channel binding, no authzid (Kafka rejects an authzid unlike the user). */
const GS2_HEADER = "n,,";
const CHANNEL_BINDING = "biws";

const NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const NONCE_LENGTH = 32; // 32 * log2(62) ≈ 190 bits of entropy

/** A random printable nonce (no `,`), by rejection sampling so every character is uniform. */
function randomNonce(): string {
  let out = "";
  const buf = new Uint8Array(64);
  while (out.length < NONCE_LENGTH) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      // 248 = 4 * 62: bytes at or above it would bias the first characters.
      if (b < 248 && out.length < NONCE_LENGTH) out += NONCE_ALPHABET[b % 62];
    }
  }
  return out;
}

/** Printable ASCII except `,` (RFC 5802 "printable"). */
const PRINTABLE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;

/**
 * A SCRAM mechanism for Kafka. The password is fetched (when a callback) once per
 * authentication and, as Kafka does, used as raw UTF-8 (no SASLprep).
 *
 * @example
 * ```ts
 * import { scramMechanism } from "@denokafka/kafka/protocol";
 * const scram = scramMechanism("SCRAM-SHA-512", { username: "alice", password: "secret" });
 * const session = await scram.start({ host: "localhost", port: 9092 });
 * const first = new TextDecoder().decode((await session.step(undefined))!);
 * console.log(first.startsWith("n,,n=alice,r=")); // true
 * ```
 */
export function scramMechanism(name: ScramMechanismName, options: ScramOptions): SaslMechanism {
  return makeScram(name, options, undefined);
}

/**
 * Test hook, NOT part of the public API (protocol/sasl/mod.ts does not export it): starts a
 * SCRAM session with a fixed client nonce so the RFC 7677 test vector can be replayed.
 * A fixed nonce in production would allow replay attacks.
 *
 * @example
 * ```ts
 * import { startScramWithNonceForTesting } from "./scram.ts";
 * const s = await startScramWithNonceForTesting("SCRAM-SHA-256", {
 *   username: "user",
 *   password: "pencil",
 * }, "rOprNGfwEbeRWgbNEkqO");
 * console.log(new TextDecoder().decode((await s.step(undefined))!)); // n,,n=user,r=rOprNGfwEbeRWgbNEkqO
 * ```
 */
export function startScramWithNonceForTesting(
  name: ScramMechanismName,
  options: ScramOptions,
  nonce: string,
): Promise<SaslSession> {
  if (!PRINTABLE_RE.test(nonce)) throw new TypeError("nonce must be printable without ','");
  return Promise.resolve(makeScram(name, options, nonce).start({ host: "test", port: 0 }));
}

function makeScram(
  name: ScramMechanismName,
  options: ScramOptions,
  fixedNonce: string | undefined,
): SaslMechanism {
  const params = HASHES[name];
  if (params === undefined) {
    throw new TypeError(`unknown SCRAM mechanism ${String(name)}; use SCRAM-SHA-256 or -512`);
  }
  if (typeof options.username !== "string" || options.username === "") {
    throw new TypeError(`${name}: username must be a non-empty string`);
  }
  // Kafka's own client and server hash the raw UTF-8 of the name and password, without
  // SASLprep (ScramFormatter.normalize only encodes). Doing SASLprep here would make
  // credentials created with Kafka's tools fail whenever NFKC changes them, so we match Kafka.
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(options.username)) {
    throw new RangeError(`${name}: username contains a control character`);
  }
  const saslName = escapeSaslName(options.username);
  const extensions = options.delegationToken === true ? ",tokenauth=true" : "";
  const password = options.password;
  checkSecret(name, "password", password);
  return {
    name,
    async start(ctx): Promise<SaslSession> {
      const prepared = await resolveSecret(name, "password", password, ctx.signal);
      const nonce = fixedNonce ?? randomNonce();
      return new ScramSession(
        name,
        params,
        utf8(prepared),
        `n=${saslName},r=${nonce}${extensions}`,
        nonce,
        ctx.signal,
      );
    },
  };
}

/** Keeps only printable ASCII of a server-provided string and bounds its length, so a hostile
 * server cannot inject control characters or megabytes into our error messages and logs. */
function sanitizeServerText(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 120 ? `${clean.slice(0, 120)}...` : clean;
}

/** Splits `a=1,b=2` into [key, value] pairs; a part without `=` yields an empty key. */
function attributes(message: string): Array<[string, string]> {
  return message.split(",").map((part) => {
    const eq = part.indexOf("=");
    return eq <= 0 ? ["", part] : [part.slice(0, eq), part.slice(eq + 1)];
  });
}

async function hmac(
  hash: string,
  key: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

type State = "client-first" | "client-final" | "verify" | "done" | "failed";

class ScramSession implements SaslSession {
  readonly #name: ScramMechanismName;
  readonly #hash: "SHA-256" | "SHA-512";
  readonly #bits: number;
  readonly #clientFirstBare: string;
  readonly #nonce: string;
  readonly #signal: AbortSignal | undefined;
  #password: Uint8Array<ArrayBuffer> | undefined;
  #expectedServerSignature: Uint8Array | undefined;
  #state: State = "client-first";

  constructor(
    name: ScramMechanismName,
    params: { hash: "SHA-256" | "SHA-512"; bits: number },
    password: Uint8Array<ArrayBuffer>,
    clientFirstBare: string,
    nonce: string,
    signal: AbortSignal | undefined,
  ) {
    this.#name = name;
    this.#hash = params.hash;
    this.#bits = params.bits;
    this.#password = password;
    this.#clientFirstBare = clientFirstBare;
    this.#nonce = nonce;
    this.#signal = signal;
  }

  get done(): boolean {
    return this.#state === "done";
  }

  async step(serverMessage: Uint8Array | undefined): Promise<Uint8Array | null> {
    try {
      switch (this.#state) {
        case "client-first":
          if (serverMessage !== undefined && serverMessage.length > 0) {
            throw this.#error("unexpected server message before the client-first message");
          }
          this.#state = "client-final";
          return utf8(GS2_HEADER + this.#clientFirstBare);
        case "client-final": {
          const out = await this.#clientFinal(this.#require(serverMessage, "server-first"));
          this.#state = "verify";
          return out;
        }
        case "verify":
          this.#verify(this.#require(serverMessage, "server-final"));
          this.#state = "done";
          return null;
        case "done":
          throw this.#error("unexpected server message after the exchange completed");
        case "failed":
          throw this.#error("the exchange already failed");
      }
    } catch (e) {
      this.#state = "failed";
      this.#wipe();
      throw e;
    }
  }

  #error(detail: string): AuthenticationError {
    return new AuthenticationError(`${this.#name}: ${detail}`);
  }

  #require(message: Uint8Array | undefined, what: string): string {
    if (message === undefined || message.length === 0) throw this.#error(`empty ${what} message`);
    return decodeServerMessage(this.#name, message);
  }

  /** Throws the server's `e=` error, if the message is one. */
  #serverError(attrs: Array<[string, string]>, stage: string): void {
    const first = attrs[0];
    if (first !== undefined && first[0] === "e") {
      throw this.#error(
        `the server rejected the authentication at ${stage}: ${sanitizeServerText(first[1])}`,
      );
    }
  }

  async #clientFinal(serverFirst: string): Promise<Uint8Array> {
    const attrs = attributes(serverFirst);
    this.#serverError(attrs, "server-first");
    if (attrs[0]?.[0] === "m") {
      throw this.#error("the server requires an unsupported mandatory extension (m=)");
    }
    const [r, s, i] = attrs;
    if (r?.[0] !== "r" || s?.[0] !== "s" || i?.[0] !== "i") {
      throw this.#error("malformed server-first message: expected r=, s=, i=");
    }
    const serverNonce = r[1];
    if (!PRINTABLE_RE.test(serverNonce)) throw this.#error("malformed server nonce");
    // The server must extend our nonce: otherwise this reply belongs to another exchange
    // (a replay) or the server ignores the protocol.
    if (!serverNonce.startsWith(this.#nonce) || serverNonce.length === this.#nonce.length) {
      throw this.#error("the server nonce does not extend the client nonce");
    }
    const salt = fromBase64(s[1]);
    if (salt === undefined || salt.length === 0) throw this.#error("malformed salt");
    if (!/^[0-9]{1,10}$/.test(i[1])) throw this.#error("malformed iteration count");
    const iterations = Number(i[1]);
    if (iterations < MIN_ITERATIONS) {
      throw this.#error(
        `the server asks for ${iterations} iterations, fewer than the minimum ${MIN_ITERATIONS}`,
      );
    }
    if (iterations > MAX_ITERATIONS) {
      throw this.#error(
        `the server asks for ${iterations} iterations, more than the maximum ${MAX_ITERATIONS}`,
      );
    }
    // Further attributes are extensions the server may add; RFC 5802 says to ignore unknown
    // optional ones (only m= is mandatory, handled above).

    this.#signal?.throwIfAborted();
    const password = this.#password;
    if (password === undefined) throw this.#error("the exchange already used its password");
    const pbkdf2Key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, [
      "deriveBits",
    ]);
    const saltedPassword = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: this.#hash, salt, iterations },
        pbkdf2Key,
        this.#bits,
      ),
    );
    this.#wipe();
    const clientFinalWithoutProof = `c=${CHANNEL_BINDING},r=${serverNonce}`;
    const authMessage = utf8(`${this.#clientFirstBare},${serverFirst},${clientFinalWithoutProof}`);
    const clientKey = await hmac(this.#hash, saltedPassword, utf8("Client Key"));
    const storedKey = new Uint8Array(await crypto.subtle.digest(this.#hash, clientKey));
    const clientSignature = await hmac(this.#hash, storedKey, authMessage);
    const serverKey = await hmac(this.#hash, saltedPassword, utf8("Server Key"));
    this.#expectedServerSignature = await hmac(this.#hash, serverKey, authMessage);
    const proof = new Uint8Array(clientKey.length);
    for (let k = 0; k < proof.length; k++) proof[k] = clientKey[k]! ^ clientSignature[k]!;
    const message = utf8(`${clientFinalWithoutProof},p=${toBase64(proof)}`);
    // Best-effort hygiene: the runtime may have copies, but ours need not linger.
    for (const b of [saltedPassword, clientKey, storedKey, clientSignature, serverKey, proof]) {
      b.fill(0);
    }
    return message;
  }

  #verify(serverFinal: string): void {
    const attrs = attributes(serverFinal);
    this.#serverError(attrs, "server-final");
    const v = attrs[0];
    if (v?.[0] !== "v") throw this.#error("malformed server-final message: expected v= or e=");
    const signature = fromBase64(v[1]);
    const expected = this.#expectedServerSignature;
    this.#expectedServerSignature = undefined;
    if (
      signature === undefined || expected === undefined || !constantTimeEqual(signature, expected)
    ) {
      throw this.#error(
        "the server signature is invalid: the server does not know the credentials " +
          "(misconfiguration or impersonation)",
      );
    }
  }

  #wipe(): void {
    this.#password?.fill(0);
    this.#password = undefined;
  }
}
