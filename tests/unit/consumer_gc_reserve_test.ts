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

Deno.test({
  name: "gc headroom: freed fetch-sized buffers keep their pages (glibc does not trim them)",
  // glibc's malloc (Linux): elsewhere the allocator decides on its own, and nothing is asserted.
  ignore: Deno.build.os !== "linux" || Deno.build.env === "musl",
  fn: async () => {
    // In a process of its own: the allocator's thresholds are process-wide. Each round holds
    // 16 MiB of 2 MiB "responses", filled as a socket read fills them, then drops them. The
    // minor faults of rounds 2-6 count the pages the kernel had to hand out again.
    const module = new URL("../../consumer/gc_reserve.ts", import.meta.url).href;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--v8-flags=--expose-gc",
        `import { reserveGcHeadroom } from ${JSON.stringify(module)};
         const gc = globalThis.gc;
         const release = reserveGcHeadroom(${64 * MiB});
         gc();
         const minflt = () => Number(Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ")[7]);
         const round = () => {
           let held = [];
           for (let i = 0; i < 8; i++) held.push(new Uint8Array(${2 * MiB} + i * 4096).fill(i + 1));
           held = [];
           gc();
         };
         round();
         await new Promise((r) => setTimeout(r, 50));
         const before = minflt();
         for (let r = 0; r < 5; r++) { round(); await new Promise((r) => setTimeout(r, 20)); }
         console.log(JSON.stringify({ faults: minflt() - before }));
         release();`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const { faults } = JSON.parse(new TextDecoder().decode(out.stdout));
    // 5 rounds of 16 MiB in fresh pages would be ~20,000 faults; pages kept are ~0.
    assert.ok(faults < 4096, `${faults} minor faults in 5 rounds of 16 MiB`);
  },
});
