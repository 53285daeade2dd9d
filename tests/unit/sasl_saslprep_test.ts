import assert from "node:assert/strict";
import { saslprep } from "../../protocol/sasl/saslprep.ts";

Deno.test("SASLprep: RFC 4013 section 3 examples", () => {
  assert.equal(saslprep("I\u00ADX"), "IX"); // soft hyphen mapped to nothing
  assert.equal(saslprep("user"), "user");
  assert.equal(saslprep("USER"), "USER"); // case is preserved
  assert.equal(saslprep("\u00AA"), "a"); // NFKC
  assert.equal(saslprep("\u2168"), "IX"); // NFKC
  assert.throws(() => saslprep("\u0007"), RangeError); // prohibited control character
});

Deno.test("SASLprep: mapping", () => {
  assert.equal(saslprep("a\u00A0b\u3000c\u2003d"), "a b c d"); // non-ASCII spaces -> U+0020
  assert.equal(saslprep("a\u200Bb\uFEFFc\uFE0Fd\u034Fe"), "abcde"); // mapped to nothing
  assert.equal(saslprep("e\u0301"), "\u00E9"); // composed by NFKC
  assert.equal(saslprep("ﬁ"), "fi");
  assert.equal(saslprep(""), "");
  assert.equal(saslprep("pass word!~"), "pass word!~"); // ASCII is untouched
});

Deno.test("SASLprep: prohibited classes, reported without the character", () => {
  const bad: Array<[string, RegExp]> = [
    ["\u0000", /ASCII control/],
    ["\u007F", /ASCII control/],
    ["\u0085", /non-ASCII control/],
    ["\u2028", /non-ASCII control/],
    ["\uE000", /private use/],
    ["\u{F0000}", /private use/],
    ["\u{10FFFD}", /private use/],
    ["\uFDD0", /non-character/],
    ["\uFFFE", /non-character/],
    ["\u{1FFFF}", /non-character/],
    ["\uD800", /surrogate/],
    ["x\uDC00y", /surrogate/],
    ["\uFFFD", /plain text/],
    ["\u2FF0", /ideographic description/],
    ["\u200E", /display-changing/],
    ["\u202E", /display-changing/],
    ["\u{E0001}", /tagging/],
    ["\u{E0041}", /tagging/],
  ];
  for (const [input, pattern] of bad) {
    assert.throws(
      () => saslprep(`secret${input}`, "password"),
      (e: unknown) =>
        e instanceof RangeError && pattern.test(e.message) && /password/.test(e.message) &&
        !e.message.includes("secret"),
      JSON.stringify(input),
    );
  }
});

Deno.test("SASLprep: unassigned code points are allowed and bidi is not checked", () => {
  // RFC 5802 prepares names and passwords as "query strings": unassigned code points pass.
  assert.equal(saslprep("a\u{2FFFD}"), "a\u{2FFFD}".normalize("NFKC"));
  // Documented limitation: RFC 3454 section 6 would reject this mixed RTL/LTR string.
  assert.equal(saslprep("\u0627\u0031"), "\u0627\u0031");
});
