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

Deno.test("gc headroom: reserved address space is not resident memory", async () => {
  // V8 counts the reservation (the component's own accounting) in this process...
  const release = reserveGcHeadroom(512 * MiB);
  try {
    assert.equal(reservedGcHeadroom(), 512 * MiB);
    assert.ok(Deno.memoryUsage().external >= 512 * MiB, "V8 counts it");
  } finally {
    release();
  }
  // ...while the resident size is measured in a process of its own: RSS is process-wide, and
  // other test files run beside this one (--parallel) and allocate as they please.
  const module = new URL("../../consumer/gc_reserve.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { reserveGcHeadroom } from ${JSON.stringify(module)};
       const before = Deno.memoryUsage().rss;
       const release = reserveGcHeadroom(${512 * MiB});
       const after = Deno.memoryUsage();
       console.log(JSON.stringify({ grew: after.rss - before, external: after.external }));
       release();`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const { grew, external } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.ok(external >= 512 * MiB, "V8 counts it in the child too");
  assert.ok(grew < 64 * MiB, `rss grew by ${grew / MiB} MiB`);
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
