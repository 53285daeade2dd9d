/**
 * Generates protocol/crc32c_wasm.ts: the WebAssembly half of CRC-32C for large inputs.
 *
 * Run: `deno run -A --lock=scripts/gen_crc32c_wasm.lock --frozen scripts/gen_crc32c_wasm.ts`
 * (dev only: it compiles the WAT below with `npm:wabt`; the package itself carries only the
 * bytes). The lock pins wabt's tarball for this script alone: deno.json has `"lock": false`,
 * because `deno task` installs every npm package of the project's lockfile before any task
 * (denoland/deno#29816), and no task should need the npm registry for a dev tool.
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

/** A sparse multiple of P, checked: S with Σ x^(128 s) ≡ 0 mod P. */
function multiple(w: number, k: number): number[] {
  const S = sparseMultiple(w, k);
  if (!S) throw new Error(`no weight-${w} multiple below ${k} blocks`);
  const r = powers(S.at(-1)! + 1);
  if (S.reduce((x, s) => x ^ r[s]!, 0) !== 0) throw new Error("not a multiple of P");
  return S;
}

/** Weight 8 (7 loads a block, 79 blocks left) for mid sizes, weight 6 (5 loads, 209 left) for large. */
const S8 = multiple(8, 100);
const S6 = multiple(6, 260);
/** Where the data starts: the zeros in front cover the larger multiple's degree. */
const DATA = 16 * Math.max(S8.at(-1)!, S6.at(-1)!);
/** The largest chunk the TS side passes. */
const CHUNK = 256 * 1024;
const PAGES = Math.ceil((DATA + CHUNK) / 65536);

/**
 * The WAT of one reduction function for S: block q (q = its byte offset in the data, at
 * DATA + q in memory) takes the XOR of the blocks m - s before it, for each s < m in S.
 */
function kernel(name: string, S: number[]): string {
  const M = S.at(-1)!;
  const pad = 16 * M;
  /** Memory offsets (from q) of the sources: block q - (m - s) is at q + DATA - pad + 16 s. */
  const sources = S.slice(0, -1).map((s) => DATA - pad + 16 * s);
  /** One 16-byte XOR per source, the source closest behind (largest s) last. */
  const xorAll = sources.reduce(
    (acc, o) => `(v128.xor ${acc}\n          (v128.load offset=${o} (local.get $q)))`,
    `(v128.load offset=${DATA} (local.get $q))`,
  );
  const behind = S.slice(0, -1).map((s) => M - s).join(", ");
  return `
  ;; S = {${S.join(", ")}}: block q takes the blocks ${behind} before it.
  (func (export "${name}") (param $n i32)
    (local $q i32) (local $end i32) (local $lim i32) (local $stop i32) (local $v v128)
    ;; Blocks [0, n - ${M}) move: their sources are all before them (or in the zeros), so in
    ;; place and in order is right.
    (local.set $end (i32.shl (i32.sub (local.get $n) (i32.const ${M})) (i32.const 4)))
    (block $done (loop $main
      (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
      (v128.store offset=${DATA} (local.get $q)
        ${xorAll})
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (br $main)))
    ;; The last ${M} blocks stay (the table code checksums them); they take only the sources
    ;; that moved, i.e. before $end.
    (local.set $lim (i32.add (local.get $end) (i32.const ${pad})))
    (local.set $stop (i32.shl (local.get $n) (i32.const 4)))
    (block $tdone (loop $tail
      (br_if $tdone (i32.ge_u (local.get $q) (local.get $stop)))
      (local.set $v (v128.load offset=${DATA} (local.get $q)))
${
    S.slice(0, -1).map((s, j) =>
      `      (if (i32.lt_u (i32.add (local.get $q) (i32.const ${16 * s})) (local.get $lim))
        (then (local.set $v (v128.xor (local.get $v)
          (v128.load offset=${sources[j]} (local.get $q))))))`
    ).join("\n")
  }
      (v128.store offset=${DATA} (local.get $q) (local.get $v))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (br $tail)))
  )`;
}

const wat =
  `;; CRC-32C block reduction (Chorba), see scripts/gen_crc32c_wasm.ts. The sum of x^(128 s)
;; over each S is a multiple of the Castagnoli polynomial. Memory: [0, ${DATA}) zeros, then the
;; data, n blocks of 16 bytes, reduced in place.
(module
  (memory (export "memory") ${PAGES})${kernel("reduce8", S8)}${kernel("reduce6", S6)})
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
// Regenerate: deno run -A --lock=scripts/gen_crc32c_wasm.lock --frozen scripts/gen_crc32c_wasm.ts
//   && deno fmt protocol/crc32c_wasm.ts
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

/** Blocks \`reduce8\` leaves for the table code (its multiple's degree in 16-byte blocks). */
export const REDUCE8_BLOCKS = ${S8.at(-1)};
/** Blocks \`reduce6\` leaves for the table code. */
export const REDUCE6_BLOCKS = ${S6.at(-1)};
/** Where the data goes in the module's memory (zeros before it). */
export const REDUCE_AT = ${DATA};
/** The most bytes one call may reduce (the memory holds \`REDUCE_AT\` plus this). */
export const REDUCE_CHUNK = ${CHUNK};

/** The module (${bytes.length} bytes): exports \`memory\`, \`reduce8(blocks)\` and \`reduce6(blocks)\`. */
export const CRC32C_WASM: Uint8Array = new Uint8Array([
${rows.join("\n")}
]);
`;
const target = new URL("../protocol/crc32c_wasm.ts", import.meta.url);
await Deno.writeTextFile(target, out);
console.error(
  `gen_crc32c_wasm: {${S8.join(", ")}} and {${
    S6.join(", ")
  }}, ${bytes.length} bytes -> ${target.pathname}`,
);
