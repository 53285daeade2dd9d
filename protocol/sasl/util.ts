/**
 * Small helpers shared by the SASL mechanisms. Not part of the public API (protocol/sasl/mod.ts
 * does not re-export them).
 *
 * @module
 */

import { AuthenticationError } from "../errors.ts";
import type { SaslSecret } from "./mechanism.ts";

/**
 * Resolves a {@linkcode SaslSecret}. A failing callback becomes an AuthenticationError whose
 * cause is the original error (the callback's own error, never the secret); an abort is passed
 * through untouched so callers see the usual AbortError.
 *
 * @example
 * ```ts
 * import { resolveSecret } from "./util.ts";
 * console.log(await resolveSecret("PLAIN", "password", () => "pw", undefined)); // pw
 * ```
 */
export async function resolveSecret(
  mechanism: string,
  what: string,
  secret: SaslSecret,
  signal: AbortSignal | undefined,
): Promise<string> {
  signal?.throwIfAborted();
  if (typeof secret === "string") return secret;
  let value: unknown;
  try {
    value = await secret(signal);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new AuthenticationError(`${mechanism}: the ${what} callback failed`, { cause: e });
  }
  signal?.throwIfAborted();
  if (typeof value !== "string") {
    throw new AuthenticationError(`${mechanism}: the ${what} callback did not return a string`);
  }
  return value;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * UTF-8 bytes of a string.
 *
 * @example
 * ```ts
 * import { utf8 } from "./util.ts";
 * console.log(utf8("é").length); // 2
 * ```
 */
export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/**
 * Decodes a server message as strict UTF-8; invalid bytes are an AuthenticationError.
 *
 * @example
 * ```ts
 * import { decodeServerMessage } from "./util.ts";
 * console.log(decodeServerMessage("PLAIN", new Uint8Array([0x6f, 0x6b]))); // ok
 * ```
 */
export function decodeServerMessage(mechanism: string, bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (e) {
    throw new AuthenticationError(`${mechanism}: the server message is not valid UTF-8`, {
      cause: e,
    });
  }
}

/**
 * Compares two byte arrays in time that depends only on their lengths, so a forged server
 * signature cannot be found byte by byte through timing.
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from "./util.ts";
 * console.log(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))); // true
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Lengths are public (the digest size), so an early return on them leaks nothing.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Standard base64 (with padding) of bytes.
 *
 * @example
 * ```ts
 * import { toBase64 } from "./util.ts";
 * console.log(toBase64(new TextEncoder().encode("n,,"))); // biws
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/**
 * Decodes strict, padded standard base64; returns `undefined` for anything else (atob alone
 * accepts whitespace and missing padding).
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./util.ts";
 * console.log(fromBase64("biws")?.length, fromBase64("b!ws")); // 3 undefined
 * ```
 */
export function fromBase64(s: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64_RE.test(s)) return undefined;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Checks at configuration time that a secret option is a string or a function, so a missing
 * password fails when the client is built rather than at the first connection.
 *
 * @example
 * ```ts
 * import { checkSecret } from "./util.ts";
 * checkSecret("PLAIN", "password", "pw"); // ok
 * ```
 */
export function checkSecret(mechanism: string, what: string, secret: unknown): void {
  if (typeof secret !== "string" && typeof secret !== "function") {
    throw new TypeError(`${mechanism}: ${what} must be a string or a function returning one`);
  }
}
