/**
 * The shared payload pools: for each value size, one file of seeded random upper-case letters,
 * one payload per line (the format ProducerPerformance's `--payload-file` reads). Every peer
 * reads the same file and cycles through it, so all clients send the same bytes; letters
 * compress about as well as ProducerPerformance's own random payloads.
 *
 * @module
 */

/**
 * A deterministic 32-bit generator (mulberry32): same seed, same payloads, on every machine.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./payloads.ts";
 * const next = mulberry32(1);
 * console.log(next() === mulberry32(1)()); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * The bytes of a payload pool: `floor(poolBytes / (size + 1))` lines of `size` letters.
 *
 * @example
 * ```ts
 * import { payloadPool } from "./payloads.ts";
 * const pool = payloadPool(10, 110, 7);
 * console.log(pool.length, pool[10]); // 110 10
 * ```
 */
export function payloadPool(size: number, poolBytes: number, seed: number): Uint8Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`bad payload size ${size}`);
  const lines = Math.max(1, Math.floor(poolBytes / (size + 1)));
  const out = new Uint8Array(lines * (size + 1));
  const next = mulberry32(seed ^ size);
  let o = 0;
  for (let l = 0; l < lines; l++) {
    for (let i = 0; i < size; i++) out[o++] = 65 + (next() % 26);
    out[o++] = 10;
  }
  return out;
}

/**
 * Writes the pool for `size` into `dir` unless it is already there; returns its path.
 *
 * @example
 * ```ts
 * import { ensurePayloadFile } from "./payloads.ts";
 * const dir = await Deno.makeTempDir();
 * console.log(await ensurePayloadFile(dir, 100, 1 << 20, 1));
 * ```
 */
export async function ensurePayloadFile(
  dir: string,
  size: number,
  poolBytes: number,
  seed: number,
): Promise<string> {
  const path = `${dir}/payloads-${size}B-${poolBytes}-${seed}.txt`;
  try {
    if ((await Deno.stat(path)).size > 0) return path;
  } catch {
    // not there yet
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeFile(tmp, payloadPool(size, poolBytes, seed));
  await Deno.rename(tmp, path);
  return path;
}
