/**
 * Kafka UUIDs (topic ids, directory ids) in the string form Kafka itself prints: the 16 bytes in
 * URL-safe base64 without padding, 22 characters (`Uuid.toString()` in the Java client).
 *
 * @module
 */

import type { Writer } from "./writer.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const CHAR_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) CHAR_VALUE[ALPHABET.charCodeAt(i)] = i;

/**
 * The all-zero UUID, which Kafka uses for "no id" (e.g. a topic id a broker does not know).
 *
 * @example
 * ```ts
 * import { ZERO_UUID } from "@denokafka/kafka/protocol";
 * console.log(ZERO_UUID.length); // 22
 * ```
 */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

/**
 * Formats 16 bytes as a Kafka UUID string.
 *
 * @example
 * ```ts
 * import { uuidFromBytes } from "@denokafka/kafka/protocol";
 * console.log(uuidFromBytes(new Uint8Array(16))); // AAAAAAAAAAAAAAAAAAAAAA
 * ```
 */
export function uuidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError("a UUID is 16 bytes");
  let s = "";
  let i = 0;
  for (; i < 15; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! +
      ALPHABET[n & 63]!;
  }
  const last = bytes[15]!;
  return s + ALPHABET[last >>> 2]! + ALPHABET[(last & 3) << 4]!;
}

/** How many recently decoded UUIDs {@linkcode uuidAt} keeps (a producer's topics, mostly). */
const RECENT = 8;
const recentBytes = new Uint8Array(16 * RECENT);
const recentStrings: string[] = [];
let recentNext = 0;

/**
 * The UUID in the 16 bytes of `buf` at `offset`, as a string. The same id decoded again (a
 * topic's id in every Produce and Fetch response) is the same string, not a new one: the last
 * few ids are kept with their bytes (bench/PROFILE.md, Session 13 P4: 0.6 KB of garbage per
 * awaited send).
 *
 * @example
 * ```ts
 * import { uuidAt } from "@denokafka/kafka/protocol";
 * const buf = new Uint8Array(17);
 * buf[16] = 1;
 * console.log(uuidAt(buf, 1)); // AAAAAAAAAAAAAAAAAAAAAQ
 * ```
 */
export function uuidAt(buf: Uint8Array, offset: number): string {
  if (offset < 0 || offset + 16 > buf.length) throw new RangeError("a UUID is 16 bytes");
  for (let e = 0; e < recentStrings.length; e++) {
    const base = e * 16;
    let i = 0;
    while (i < 16 && recentBytes[base + i] === buf[offset + i]) i++;
    if (i === 16) return recentStrings[e]!;
  }
  const bytes = buf.subarray(offset, offset + 16);
  const s = uuidFromBytes(bytes);
  recentBytes.set(bytes, recentNext * 16);
  recentStrings[recentNext] = s;
  recentNext = (recentNext + 1) % RECENT;
  return s;
}

/**
 * Parses a Kafka UUID string into 16 bytes (into `out` when given, to avoid an allocation).
 * Throws `TypeError` for anything that is not the canonical 22-character form.
 *
 * @example
 * ```ts
 * import { uuidToBytes } from "@denokafka/kafka/protocol";
 * console.log(uuidToBytes("AAAAAAAAAAAAAAAAAAAAAQ")[15]); // 1
 * ```
 */
export function uuidToBytes(uuid: string, out: Uint8Array = new Uint8Array(16)): Uint8Array {
  if (typeof uuid !== "string" || uuid.length !== 22) {
    throw new TypeError(`not a Kafka UUID (22 base64url characters): ${String(uuid)}`);
  }
  let o = 0;
  for (let i = 0; i < 20; i += 4) {
    const n = (sextet(uuid, i) << 18) | (sextet(uuid, i + 1) << 12) |
      (sextet(uuid, i + 2) << 6) | sextet(uuid, i + 3);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  const a = sextet(uuid, 20);
  const b = sextet(uuid, 21);
  // 22 characters carry 132 bits; the last 4 must be zero or two strings would name one UUID.
  if ((b & 15) !== 0) throw new TypeError(`not a canonical Kafka UUID: ${uuid}`);
  out[15] = (a << 2) | (b >>> 4);
  return out;
}

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const v = c < 128 ? CHAR_VALUE[c]! : -1;
  if (v < 0) throw new TypeError(`not a Kafka UUID (bad character at ${i}): ${s}`);
  return v;
}

const scratch = new Uint8Array(16);

/**
 * Writes a Kafka UUID string as its 16 raw bytes, without allocating.
 *
 * @example
 * ```ts
 * import { Writer, writeUuid, ZERO_UUID } from "@denokafka/kafka/protocol";
 * const w = new Writer();
 * writeUuid(w, ZERO_UUID);
 * console.log(w.length); // 16
 * ```
 */
export function writeUuid(w: Writer, uuid: string): void {
  w.raw(uuidToBytes(uuid, scratch));
}

/**
 * A random UUID as Kafka's `Uuid.randomUuid()` makes them: never one of the reserved ids
 * (zero, and the metadata topic's id 1) and never starting with `-` (it would read as a
 * command-line flag).
 *
 * @example
 * ```ts
 * import { randomUuid } from "@denokafka/kafka/protocol";
 * console.log(randomUuid().length); // 22
 * ```
 */
export function randomUuid(): string {
  const bytes = new Uint8Array(16);
  while (true) {
    crypto.getRandomValues(bytes);
    const s = uuidFromBytes(bytes);
    if (s !== ZERO_UUID && s !== "AAAAAAAAAAAAAAAAAAAAAQ" && s[0] !== "-") return s;
  }
}
