/**
 * SASLprep (RFC 4013), the string preparation SCRAM applies to user names and passwords.
 *
 * What is implemented, and what is not (a documented minimal profile):
 * - mapping (RFC 3454 B.1 "mapped to nothing" is removed; C.1.2 non-ASCII spaces become
 *   U+0020; when a character is in both tables, B.1 wins, as in Python's and pymongo's
 *   implementations),
 * - normalization form KC (`String.prototype.normalize("NFKC")`),
 * - the prohibited tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5 (lone surrogates), C.6, C.7,
 *   C.8 and C.9,
 * - unassigned code points are allowed, as RFC 5802 section 5.1 asks ("query strings"),
 * - NOT the bidirectional check of RFC 3454 section 6: JavaScript regular expressions cannot
 *   query the Bidi_Class property without shipping Unicode tables. That check protects the
 *   display of mixed-direction strings, which does not matter for a secret.
 *
 * Kafka's own Java client does not apply SASLprep at all (it hashes the raw UTF-8 bytes), so
 * for ASCII credentials, which SASLprep leaves untouched unless they contain control
 * characters, both agree.
 *
 * @module
 */

/** Code point ranges, inclusive, as flat [from, to, from, to...] lists. */
const MAPPED_TO_NOTHING = [
  0x00ad,
  0x00ad,
  0x034f,
  0x034f,
  0x1806,
  0x1806,
  0x180b,
  0x180d,
  0x200b,
  0x200d,
  0x2060,
  0x2060,
  0xfe00,
  0xfe0f,
  0xfeff,
  0xfeff,
];

const NON_ASCII_SPACE = [
  0x00a0,
  0x00a0,
  0x1680,
  0x1680,
  0x2000,
  0x200b,
  0x202f,
  0x202f,
  0x205f,
  0x205f,
  0x3000,
  0x3000,
];

/** Each prohibited table with a name for the error message (never the character itself). */
const PROHIBITED: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["a non-ASCII space (RFC 3454 C.1.2)", NON_ASCII_SPACE],
  ["an ASCII control character (RFC 3454 C.2.1)", [0x0000, 0x001f, 0x007f, 0x007f]],
  ["a non-ASCII control character (RFC 3454 C.2.2)", [
    0x0080,
    0x009f,
    0x06dd,
    0x06dd,
    0x070f,
    0x070f,
    0x180e,
    0x180e,
    0x200c,
    0x200d,
    0x2028,
    0x2029,
    0x2060,
    0x2063,
    0x206a,
    0x206f,
    0xfeff,
    0xfeff,
    0xfff9,
    0xfffc,
    0x1d173,
    0x1d17a,
  ]],
  ["a private use character (RFC 3454 C.3)", [
    0xe000,
    0xf8ff,
    0xf0000,
    0xffffd,
    0x100000,
    0x10fffd,
  ]],
  ["a non-character code point (RFC 3454 C.4)", [0xfdd0, 0xfdef]],
  ["a lone surrogate (RFC 3454 C.5)", [0xd800, 0xdfff]],
  ["a character inappropriate for plain text (RFC 3454 C.6)", [0xfff9, 0xfffd]],
  ["an ideographic description character (RFC 3454 C.7)", [0x2ff0, 0x2ffb]],
  ["a display-changing or deprecated character (RFC 3454 C.8)", [
    0x0340,
    0x0341,
    0x200e,
    0x200f,
    0x202a,
    0x202e,
    0x206a,
    0x206f,
  ]],
  ["a tagging character (RFC 3454 C.9)", [0xe0001, 0xe0001, 0xe0020, 0xe007f]],
];

function inRanges(cp: number, ranges: readonly number[]): boolean {
  for (let i = 0; i < ranges.length; i += 2) {
    if (cp >= ranges[i]! && cp <= ranges[i + 1]!) return true;
  }
  return false;
}

/** Names the prohibited class `cp` falls in, or returns undefined when it is allowed. */
function prohibitedClass(cp: number): string | undefined {
  // C.4 also holds the last two code points of every plane (U+xFFFE, U+xFFFF).
  if ((cp & 0xfffe) === 0xfffe) return "a non-character code point (RFC 3454 C.4)";
  for (const [name, ranges] of PROHIBITED) if (inRanges(cp, ranges)) return name;
  return undefined;
}

/**
 * Prepares a user name or password with SASLprep (RFC 4013, as profiled in this module's
 * notes). Throws a `RangeError` naming the class of a prohibited character, never the
 * character or its position, so a password cannot leak through the message.
 *
 * @example
 * ```ts
 * import { saslprep } from "@denokafka/kafka/protocol";
 * console.log(saslprep("I\u00ADX")); // IX (soft hyphen is mapped to nothing)
 * console.log(saslprep("\u2168")); // IX (NFKC of the Roman numeral nine)
 * console.log(saslprep("a\u00A0b")); // "a b"
 * ```
 */
export function saslprep(input: string, what = "string"): string {
  let mapped = "";
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(cp, MAPPED_TO_NOTHING)) continue;
    mapped += inRanges(cp, NON_ASCII_SPACE) ? " " : ch;
  }
  // normalize() leaves lone surrogates alone, so they still reach the prohibition check.
  const normalized = mapped.normalize("NFKC");
  for (const ch of normalized) {
    const found = prohibitedClass(ch.codePointAt(0)!);
    if (found !== undefined) {
      throw new RangeError(`the ${what} contains ${found}, which SASLprep prohibits`);
    }
  }
  return normalized;
}
