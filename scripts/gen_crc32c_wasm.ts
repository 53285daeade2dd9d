/**
 * Generates protocol/crc32c_wasm.ts: the WebAssembly half of CRC-32C for large inputs.
 *
 * Run: `deno run -A scripts/gen_crc32c_wasm.ts` (dev only: it compiles the WAT below with
 * `npm:wabt`; the package itself carries only the bytes).
 *
 * The method is Chorba's (Sam Russell, 2024, "Chorba: A novel CRC32 implementation", used in
 * zlib-ng), adapted to WebAssembly SIMD. CRC-32C is linear over GF(2) and depends on the message
 * only modulo P, the Castagnoli polynomial. If `M(y) = Σ_{s∈S} y^s`, with `y = x^128` (one
 * 16-byte block), is a multiple of P, then a block `m = max S` blocks or more before the end of
 * the message can be replaced by copies of itself XORed into the blocks `m - s` later, for every
 * other `s` in S, without changing the CRC. Doing that for every block from the first on leaves
 * only the last `m` blocks, which the table code then checksums. Each block costs |S| - 1 loads
 * and XORs of 16 bytes and no table lookups at all; WebAssembly has no CRC or carry-less multiply
 * instruction, but it has 16-byte XORs. The offsets are whole blocks, so every load that reads a
 * block stored a few iterations earlier matches that store exactly (store-to-load forwarding).
 *
 * The script finds the S of weight 8 with the smallest `m` (a search over `x^(128 s) mod P`;
 * weights 4 to 7 need more than 160 blocks, odd weights none since x + 1 divides P), then emits
 * the WAT and the module.
 *
 * @module
 */
import wabt from "npm:wabt@1.0.39";

const POLY = 0x82f63b78;
const TABLE = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[i] = c;
}

/** `r[s] = x^(128 s) mod P`, reflected as the CRC's register (bit 31 is x^0). */
function powers(k: number): Int32Array {
  const r = new Int32Array(k);
  let c = 0x80000000 | 0;
  for (let s = 0; s < k; s++) {
    r[s] = c;
    for (let i = 0; i < 16; i++) c = (c >>> 8) ^ TABLE[c & 0xff]!; // times x^8, 16 times
  }
  return r;
}

/**
 * The weight-`w` set S containing 0 with the smallest maximum below `k` and Σ r[s] = 0
 * (meet in the middle over the inner elements), or undefined.
 */
function sparseMultiple(w: number, k: number): number[] | undefined {
  const r = powers(k);
  const combos = (n: number, m: number, lo: number, f: (xs: number[], v: number) => void) => {
    const xs: number[] = [];
    const go = (n: number, lo: number, v: number) => {
      if (n === 0) return f(xs, v);
      for (let i = lo; i < m; i++) {
        xs.push(i);
        go(n - 1, i + 1, v ^ r[i]!);
        xs.pop();
      }
    };
    go(n, lo, 0);
  };
  for (let m = 2; m < k; m++) {
    const target = r[0]! ^ r[m]!;
    const half = (w - 2) >> 1;
    const seen = new Map<number, number[][]>();
    combos(half, m, 1, (xs, v) => {
      const list = seen.get(v) ?? [];
      list.push([...xs]);
      seen.set(v, list);
    });
    let found: number[] | undefined;
    combos(w - 2 - half, m, 1, (xs, v) => {
      if (found) return;
      for (const ys of seen.get(v ^ target) ?? []) {
        const inner = new Set([...xs, ...ys]);
        if (inner.size === w - 2) {
          found = [0, ...[...inner].sort((a, b) => a - b), m];
          return;
        }
      }
    });
    if (found) return found;
  }
  return undefined;
}

const S = sparseMultiple(8, 100);
if (!S) throw new Error("no weight-8 multiple below 100 blocks");
const r = powers(S.at(-1)! + 1);
if (S.reduce((x, s) => x ^ r[s]!, 0) !== 0) throw new Error("not a multiple of P");
const M = S.at(-1)!;
/** Bytes of zeros in front of the data: the sources before the first block read them. */
const PAD = 16 * M;
/** The sources of block `q` (byte offset in the data) are at `q + 16 s` (s < m) in memory. */
const sources = S.slice(0, -1).map((s) => 16 * s);
/** One 16-byte XOR per source, the source closest behind (largest s) last. */
const xorAll = (first: string) =>
  sources.reduce(
    (acc, o) => `(v128.xor ${acc}\n          (v128.load offset=${o} (local.get $q)))`,
    first,
  );
/** Pages for `PAD` plus the largest chunk the TS side passes (`CHUNK`). */
const CHUNK = 256 * 1024;
const PAGES = Math.ceil((PAD + CHUNK) / 65536);

const wat = `;; CRC-32C block reduction (Chorba), see scripts/gen_crc32c_wasm.ts.
;; S = {${S.join(", ")}}: the sum of x^(128 s) over S is a multiple of the Castagnoli polynomial.
;; Memory: [0, ${PAD}) zeros, then the data, n blocks of 16 bytes, reduced in place.
(module
  (memory (export "memory") ${PAGES})
  (func (export "reduce") (param $n i32)
    (local $q i32) (local $end i32) (local $lim i32) (local $stop i32) (local $v v128)
    ;; Block q (q = its byte offset in the data; it lives at q + ${PAD}) takes the XOR of
    ;; the blocks ${
  sources.map((o) => PAD / 16 - o / 16).join(", ")
} before it. Blocks [0, n - ${M}):
    ;; their sources are all before them, so in place and in order is right.
    (local.set $end (i32.shl (i32.sub (local.get $n) (i32.const ${M})) (i32.const 4)))
    (block $done (loop $main
      (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
      (v128.store offset=${PAD} (local.get $q)
        ${xorAll(`(v128.load offset=${PAD} (local.get $q))`)})
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (br $main)))
    ;; The last ${M} blocks stay (the table code checksums them); they take only sources
    ;; that were themselves moved, i.e. before $end.
    (local.set $lim (i32.add (local.get $end) (i32.const ${PAD})))
    (local.set $stop (i32.shl (local.get $n) (i32.const 4)))
    (block $tdone (loop $tail
      (br_if $tdone (i32.ge_u (local.get $q) (local.get $stop)))
      (local.set $v (v128.load offset=${PAD} (local.get $q)))
${
  sources.map((o) =>
    `      (if (i32.lt_u (i32.add (local.get $q) (i32.const ${o})) (local.get $lim))
        (then (local.set $v (v128.xor (local.get $v) (v128.load offset=${o} (local.get $q))))))`
  ).join("\n")
}
      (v128.store offset=${PAD} (local.get $q) (local.get $v))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (br $tail)))))
`;

const tools = await wabt();
const parsed = tools.parseWat("crc32c.wat", wat, { simd: true });
parsed.validate();
const bytes = parsed.toBinary({}).buffer;
parsed.destroy();

const rows: string[] = [];
for (let i = 0; i < bytes.length; i += 20) {
  rows.push(`  ${[...bytes.subarray(i, i + 20)].join(", ")},`);
}
const out = `// Generated by scripts/gen_crc32c_wasm.ts; do not edit.
// Regenerate: deno run -A scripts/gen_crc32c_wasm.ts && deno fmt protocol/crc32c_wasm.ts
/**
 * The WebAssembly block reduction behind CRC-32C of large inputs (see protocol/crc32c.ts and
 * the generator for the method). Its source:
 *
 * \`\`\`wat
${wat.trimEnd().split("\n").map((l) => ` * ${l}`.trimEnd()).join("\n")}
 * \`\`\`
 *
 * @module
 */

/** The sparse multiple's degree in 16-byte blocks: the blocks left for the table code. */
export const REDUCE_BLOCKS = ${M};
/** Where the data goes in the module's memory (zeros before it). */
export const REDUCE_AT = ${PAD};
/** The most bytes one call may reduce (the memory holds \`REDUCE_AT\` plus this). */
export const REDUCE_CHUNK = ${CHUNK};

/** The module (${bytes.length} bytes): exports \`memory\` and \`reduce(blocks)\`. */
export const CRC32C_WASM: Uint8Array = new Uint8Array([
${rows.join("\n")}
]);
`;
const target = new URL("../protocol/crc32c_wasm.ts", import.meta.url);
await Deno.writeTextFile(target, out);
console.error(
  `gen_crc32c_wasm: S = {${S.join(", ")}}, ${bytes.length} bytes -> ${target.pathname}`,
);
