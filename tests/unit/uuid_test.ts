// Kafka UUIDs decoded straight from a response buffer (uuidAt, Reader.uuidString), which keep
// the last few ids they decoded.
import assert from "node:assert/strict";
import { randomUuid, uuidAt, uuidFromBytes, uuidToBytes } from "../../protocol/uuid.ts";
import { Reader } from "../../protocol/reader.ts";
import { DecodeError } from "../../protocol/errors.ts";

Deno.test("uuidAt decodes the id at an offset, whichever ids it has seen before", () => {
  const ids = Array.from({ length: 20 }, () => randomUuid());
  const buf = new Uint8Array(3 + 16);
  // More ids than it keeps, each again soon (kept) and again late (gone): always the right one.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < ids.length; i++) {
      for (const id of [ids[i]!, ids[Math.max(0, i - 2)]!, ids[i]!]) {
        uuidToBytes(id, buf.subarray(3));
        assert.equal(uuidAt(buf, 3), id);
      }
    }
  }
  // Ids that differ in one byte only, in the last byte and in the first.
  const a = uuidToBytes(ids[0]!);
  for (const at of [0, 7, 15]) {
    const b = a.slice();
    b[at] = b[at]! ^ 0x40;
    assert.equal(uuidAt(a, 0), ids[0]);
    assert.equal(uuidAt(b, 0), uuidFromBytes(b));
    assert.notEqual(uuidAt(b, 0), ids[0]);
  }
  // A buffer changed after decoding does not change what it decodes to next.
  const c = uuidToBytes(ids[1]!);
  assert.equal(uuidAt(c, 0), ids[1]);
  c.fill(0);
  assert.equal(uuidAt(c, 0), "AAAAAAAAAAAAAAAAAAAAAA");
  assert.throws(() => uuidAt(new Uint8Array(20), 5), RangeError);
  assert.throws(() => uuidAt(new Uint8Array(20), -1), RangeError);
});

Deno.test("Reader.uuidString reads 16 bytes as the id's string, and rejects a short one", () => {
  const id = randomUuid();
  const buf = new Uint8Array(1 + 16 + 1);
  uuidToBytes(id, buf.subarray(1, 17));
  buf[17] = 9;
  const r = new Reader(buf, 1);
  assert.equal(r.uuidString(), id);
  assert.equal(r.int8(), 9);
  assert.throws(() => new Reader(new Uint8Array(15)).uuidString(), DecodeError);
});
