/**
 * The consumer's reservation of collector headroom (consumer/gc_reserve.ts): one per process,
 * the largest any live consumer asks for, gone when the last one releases, never physical
 * memory.
 */

import assert from "node:assert/strict";
import { reservedGcHeadroom, reserveGcHeadroom } from "../../consumer/gc_reserve.ts";
import { resolveConsumerOptions } from "../../consumer/options.ts";

const MiB = 1024 * 1024;

Deno.test("gc headroom: the largest live request is reserved, released with the last", () => {
  assert.equal(reservedGcHeadroom(), 0);
  const a = reserveGcHeadroom(64 * MiB);
  assert.equal(reservedGcHeadroom(), 64 * MiB);
  const b = reserveGcHeadroom(256 * MiB);
  assert.equal(reservedGcHeadroom(), 256 * MiB);
  const none = reserveGcHeadroom(0);
  assert.equal(reservedGcHeadroom(), 256 * MiB);
  b();
  b(); // idempotent
  assert.equal(reservedGcHeadroom(), 64 * MiB);
  none();
  a();
  assert.equal(reservedGcHeadroom(), 0);
});

Deno.test("gc headroom: reserved address space is not resident memory", () => {
  const before = Deno.memoryUsage();
  const release = reserveGcHeadroom(512 * MiB);
  try {
    const after = Deno.memoryUsage();
    // Absolute, not a difference: the allocation may itself trigger a collection that frees
    // earlier garbage (other tests' buffers).
    assert.ok(after.external >= 512 * MiB, "V8 counts it");
    assert.ok(
      after.rss - before.rss < 64 * MiB,
      `rss grew by ${(after.rss - before.rss) / MiB} MiB`,
    );
  } finally {
    release();
  }
});

Deno.test("gc headroom: defaults to 8 x the budget, 0 turns it off, negatives are refused", () => {
  const o = (extra: Record<string, unknown>) =>
    resolveConsumerOptions({ brokers: ["localhost:9092"], ...extra });
  assert.equal(o({}).gcHeadroomBytes, 8 * 64 * MiB);
  assert.equal(o({ maxBufferedBytes: 8 * MiB }).gcHeadroomBytes, 64 * MiB);
  assert.equal(o({ gcHeadroomBytes: 0 }).gcHeadroomBytes, 0);
  assert.throws(() => o({ gcHeadroomBytes: -1 }), RangeError);
  assert.throws(() => o({ gcHeadroomBytes: Infinity }), RangeError);
});
