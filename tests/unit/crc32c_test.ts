import assert from "node:assert/strict";
import { Crc32c, crc32c, crc32cCombine, crc32cUpdate } from "../../protocol/crc32c.ts";
import { REDUCE_CHUNK } from "../../protocol/crc32c_wasm.ts";

/** Bit-at-a-time reference, independent of the table code. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

Deno.test("crc32c: RFC 3720 B.4 and check vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("crc32c: every length 0..300 and unaligned offsets match the bitwise reference", () => {
  const data = new Uint8Array(400);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  for (let start = 0; start < 17; start++) {
    for (let len = 0; len <= 300; len += start === 0 ? 1 : 7) {
      const want = reference(data.subarray(start, start + len));
      assert.equal(crc32c(data, start, start + len), want, `start ${start} len ${len}`);
      assert.equal(crc32c(data.subarray(start, start + len)), want);
    }
  }
});

Deno.test("crc32c: the braided path (64 B and more) matches the reference at every alignment", () => {
  const data = new Uint8Array(5000);
  let x = 987654321;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  // Lengths around the braid threshold and its round/unroll boundaries, then larger ones.
  const lengths = [...Array.from({ length: 200 }, (_, i) => 40 + i), 1000, 1024, 1100, 4093, 4960];
  for (const len of lengths) {
    for (let start = 0; start < 8; start++) {
      const want = reference(data.subarray(start, start + len));
      assert.equal(crc32c(data, start, start + len), want, `start ${start} len ${len}`);
      // A fresh copy puts the bytes at another alignment of the underlying buffer.
      assert.equal(crc32c(data.slice(start, start + len)), want, `copy start ${start} len ${len}`);
    }
  }
  // Flipping any one bit of a braided input changes the CRC.
  const base = crc32c(data, 3, 1003);
  for (const at of [3, 4, 18, 500, 1001, 1002]) {
    data[at]! ^= 0x10;
    assert.notEqual(crc32c(data, 3, 1003), base, `bit flip at ${at}`);
    data[at]! ^= 0x10;
  }
});

Deno.test("crc32c: around 32 KiB (the wide braid, or the weight-6 reduction) matches the reference at every alignment", () => {
  const data = new Uint8Array(70_000);
  let x = 55555;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  // A reference for every prefix of data[start..] at once: the bitwise CRC, extended a byte
  // at a time (independent of the table code).
  const prefixes = (start: number, max: number): Uint32Array => {
    const out = new Uint32Array(max + 1);
    let c = 0xffffffff;
    out[0] = 0;
    for (let i = 0; i < max; i++) {
      c ^= data[start + i]!;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      out[i + 1] = (c ^ 0xffffffff) >>> 0;
    }
    return out;
  };
  // Around the threshold (32 KiB, where the four-lane braid hands over to the eight-lane one,
  // or the weight-8 reduction to the weight-6 one), across a few 32-byte rounds, then larger.
  const WIDE = 32 * 1024;
  const lengths = [
    ...Array.from({ length: 100 }, (_, i) => WIDE - 40 + i),
    WIDE + 1000,
    65_536,
    69_000,
  ];
  for (let start = 0; start < 8; start++) {
    const want = prefixes(start, 69_000);
    for (const len of lengths) {
      assert.equal(crc32c(data, start, start + len), want[len], `start ${start} len ${len}`);
    }
    // A fresh copy puts the bytes at another alignment of the underlying buffer.
    const copy = data.slice(start, start + 65_536);
    assert.equal(crc32c(copy), want[65_536], `copy start ${start}`);
  }
  // Flipping any one bit of a wide input changes the CRC.
  const base = crc32c(data, 3, 60_003);
  for (const at of [3, 4, 35, 36, 30_000, 60_001, 60_002]) {
    data[at]! ^= 0x10;
    assert.notEqual(crc32c(data, 3, 60_003), base, `bit flip at ${at}`);
    data[at]! ^= 0x10;
  }
});

Deno.test("crc32c: incremental forms equal the one-shot CRC", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 15, 16, 17, 500, 999, 1000]) {
    assert.equal(crc32cUpdate(crc32c(data, 0, cut), data, cut), whole, `cut ${cut}`);
    const c = new Crc32c().update(data.subarray(0, cut)).update(data, cut);
    assert.equal(c.value, whole);
  }
  assert.equal(crc32cUpdate(0, data), whole);
  const c = new Crc32c().update(data);
  assert.equal(c.reset().value, 0);
});

Deno.test("crc32c: bad ranges are RangeErrors", () => {
  const d = new Uint8Array(4);
  assert.throws(() => crc32c(d, 0, 5), RangeError);
  assert.throws(() => crc32c(d, -1), RangeError);
  assert.throws(() => crc32c(d, 3, 2), RangeError);
  assert.throws(() => new Crc32c().update(d, 2, 9), RangeError);
});

Deno.test("crc32c: random views, ranges and chunkings, across both braids, match the bitwise reference", () => {
  // A seeded generator: a failure names its seed and case.
  let s = 0x9e3779b9;
  const rand = (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
  const bitwise = (d: Uint8Array, c = 0xffffffff): number => {
    for (let i = 0; i < d.length; i++) {
      c ^= d[i]!;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return c;
  };
  const buffer = new ArrayBuffer(300_000);
  const all = new Uint8Array(buffer);
  for (let i = 0; i < all.length; i++) all[i] = rand(256);
  const WIDE = 32 * 1024;
  for (let round = 0; round < 60; round++) {
    // A view at any byte offset of the buffer (so its words are aligned anyhow), then a range
    // of it: lengths near the wide threshold, near multiples of 32, or anything up to 250 kB.
    const offset = rand(64);
    const view = new Uint8Array(buffer, offset, all.length - offset - rand(64));
    const kind = round % 3;
    const len = Math.min(
      view.length,
      kind === 0
        ? WIDE - 64 + rand(160)
        : kind === 1
        ? (1 + rand(7000)) * 32 + rand(5) - 2
        : rand(250_000),
    );
    const start = rand(view.length - len + 1);
    const end = start + len;
    const want = ~bitwise(view.subarray(start, end)) >>> 0;
    const label = `round ${round}: offset ${offset} [${start}, ${end})`;
    assert.equal(crc32c(view, start, end), want, label);
    assert.equal(crc32c(view.subarray(start, end)), want, `${label} subarray`);
    // The same bytes fed in three chunks cut anywhere (each may or may not take a braid).
    const a = start + rand(len + 1);
    const b = a + rand(end - a + 1);
    const inc = new Crc32c().update(view, start, a).update(view, a, b).update(view, b, end);
    assert.equal(inc.value, want, `${label} cut at ${a}, ${b}`);
    assert.equal(crc32cUpdate(crc32c(view, start, a), view, a, end), want, `${label} update`);
  }
});

Deno.test("crc32c: a 24 MiB input matches the bitwise reference", () => {
  const data = new Uint8Array(24 << 20);
  let x = 777;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  assert.equal(crc32c(data), reference(data));
  assert.equal(crc32c(data, 5, data.length - 3), reference(data.subarray(5, data.length - 3)));
});

Deno.test("crc32c: crc32cCombine joins the CRCs of two parts at any split", () => {
  const data = new Uint8Array(70_000);
  let x = 777;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  const whole = reference(data);
  for (const split of [0, 1, 3, 4, 61, 100, 16_384, 32_768, 65_535, 69_999, 70_000]) {
    const a = crc32c(data, 0, split);
    const b = crc32c(data, split);
    assert.equal(crc32cCombine(a, b, data.length - split), whole, `split at ${split}`);
  }
  // An empty second part leaves the first CRC as it is.
  assert.equal(crc32cCombine(0x12345678, 0, 0), 0x12345678);
  assert.throws(() => crc32cCombine(1, 2, -1), RangeError);
  assert.throws(() => crc32cCombine(1, 2, 0.5), RangeError);
});

Deno.test("crc32c: the WebAssembly reduction (3 KiB and more) matches the reference at every length, alignment and chunk edge", () => {
  const data = new Uint8Array(1_100_000);
  let x = 424242;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  const CHUNK = REDUCE_CHUNK;
  const MIN = 3 * 1024;
  // Every prefix of data[start..], bitwise (independent of the table and wasm code).
  const prefixes = (start: number, max: number): Uint32Array => {
    const out = new Uint32Array(max + 1);
    let c = 0xffffffff;
    for (let i = 0; i < max; i++) {
      c ^= data[start + i]!;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      out[i + 1] = (c ^ 0xffffffff) >>> 0;
    }
    return out;
  };
  const lengths = [
    // Around the switch, every length (all 16 remainders on either side).
    ...Array.from({ length: 120 }, (_, i) => MIN - 60 + i),
    // The 1264-byte tail the braid takes, as a share of small and large inputs.
    4096,
    16_000,
    16_384,
    // The weight-6 reduction (from 32 KiB) and its 3344-byte tail.
    32 * 1024,
    40_000,
    // One chunk, just over (the last chunk is never shorter than MIN), two, and 1 MiB.
    ...Array.from({ length: 40 }, (_, i) => CHUNK - 20 + i),
    CHUNK + MIN - 16,
    CHUNK + MIN,
    CHUNK + MIN + 16,
    2 * CHUNK + 7,
    1 << 20,
    (1 << 20) + 15,
  ];
  for (const start of [0, 1, 2, 3, 5, 8, 13, 16]) {
    const want = prefixes(start, (1 << 20) + 15);
    for (const len of lengths) {
      assert.equal(crc32c(data, start, start + len), want[len], `start ${start} len ${len}`);
    }
    // A fresh copy puts the bytes at another alignment of the underlying buffer.
    const copy = data.slice(start, start + 5000);
    assert.equal(crc32c(copy), want[5000], `copy start ${start}`);
    // A running CRC goes into the reduction through the first four bytes.
    for (const cut of [1, 4, 100, 3000]) {
      const end = start + cut + 70_000;
      assert.equal(
        crc32cUpdate(crc32c(data, start, start + cut), data, start + cut, end),
        want[cut + 70_000],
        `start ${start} update after ${cut}`,
      );
    }
  }
  // Flipping any one bit changes the CRC: in the running register's four bytes, in the blocks
  // the reduction moves, in the last 1264 bytes, and in the leading (length mod 16) bytes.
  const base = crc32c(data, 3, 3 + 20_007);
  for (const at of [3, 9, 10, 11, 13, 14, 1000, 18_000, 18_750, 20_000, 20_009]) {
    data[at]! ^= 0x01;
    assert.notEqual(crc32c(data, 3, 3 + 20_007), base, `bit flip at ${at}`);
    data[at]! ^= 0x01;
  }
});

Deno.test("crc32c: without WebAssembly, or where compiling it throws, the braids alone match the reference", async () => {
  // A runtime without WebAssembly (or its SIMD) takes the TypeScript braids for every length;
  // so does one that has WebAssembly but forbids compiling bytes at run time (Cloudflare
  // Workers: "Wasm code generation disallowed by embedder"; a CSP without
  // 'wasm-unsafe-eval'; a SIMD-less engine throws the same CompileError), or cannot allocate
  // the module's memory (a RangeError under a virtual memory limit): importing must not throw.
  const setups = {
    "no WebAssembly": "delete globalThis.WebAssembly;",
    "Module throws": `WebAssembly.Module = function () {
      throw new WebAssembly.CompileError("Wasm code generation disallowed by embedder");
    };`,
    "Instance throws": `WebAssembly.Instance = function () {
      throw new RangeError("WebAssembly.Instance(): Out of memory: Cannot allocate Wasm memory");
    };`,
  };
  for (const [what, setup] of Object.entries(setups)) {
    const script = `
    ${setup}
    const { crc32c, crc32cUpdate } = await import(${
      JSON.stringify(new URL("../../protocol/crc32c.ts", import.meta.url).href)
    });
    const data = new Uint8Array(200_000);
    let x = 99;
    for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) >>> 0; data[i] = x >>> 24; }
    let c = 0xffffffff, bad = 0;
    const want = [0];
    for (let i = 0; i < data.length - 1; i++) {
      c ^= data[i + 1];
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      want.push((c ^ 0xffffffff) >>> 0);
    }
    for (const len of [0, 3, 63, 64, 1000, 3072, 5000, 32_767, 32_768, 65_536, 199_999]) {
      if (crc32c(data, 1, 1 + len) !== want[len]) bad++;
      if (len >= 7 && crc32cUpdate(crc32c(data, 1, 8), data, 8, 1 + len) !== want[len]) bad++;
    }
    console.log(typeof WebAssembly, bad);
  `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0, what);
    const kind = what === "no WebAssembly" ? "undefined" : "object";
    assert.equal(new TextDecoder().decode(out.stdout).trim(), `${kind} 0`, what);
  }
});
