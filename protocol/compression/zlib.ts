/**
 * `node:zlib`, loaded at the first gzip or zstd call instead of at import. Loading it costs a
 * Deno process that has no `node:` module yet ~11.5 MiB of RSS (+2.5 MB of V8 heap), and a
 * compression worker 3-4 MiB, which a client that never sees gzip or zstd paid for nothing
 * (bench/PROFILE.md, Session 16: import footprint). `process.getBuiltinModule` (Node 22.3+,
 * Deno, Bun) loads it synchronously, so the codecs stay synchronous and no top-level `await`
 * reaches the npm build.
 *
 * @module
 */

import type * as NodeZlib from "node:zlib";
import { KafkaError } from "../errors.ts";

/** The `node:zlib` module's type, for the codecs that use it. */
export type Zlib = typeof NodeZlib;

let loaded: Zlib | undefined;

type ProcessLike = { getBuiltinModule?: (id: string) => unknown } | undefined;

// Where no `process.getBuiltinModule` is there to load it synchronously at first use (a Node
// before 22.3, a Worker runtime's Node compatibility layer), the module is started loading now,
// as the static import it replaces did, so gzip and zstd work there as before. Deno has it, and
// is not asked: there the first touch of `globalThis.process` alone costs ~10 MiB of RSS.
if (
  !("Deno" in globalThis) &&
  typeof (globalThis as { process?: ProcessLike }).process?.getBuiltinModule !== "function"
) {
  import("node:zlib").then((m) => loaded ??= m as unknown as Zlib, () => {});
}

/**
 * `node:zlib`, loaded on the first call. Throws a {@linkcode KafkaError} naming `codec` where
 * the runtime has no `node:zlib` (or no `process.getBuiltinModule` to reach it), as a
 * Cloudflare Worker without `nodejs_compat`.
 */
export function zlib(codec: string): Zlib {
  if (loaded !== undefined) return loaded;
  const process = (globalThis as { process?: ProcessLike }).process;
  let m: unknown;
  try {
    m = process?.getBuiltinModule?.("node:zlib");
  } catch (e) {
    throw new KafkaError(`${codec} needs node:zlib, which this runtime cannot load`, { cause: e });
  }
  if (m === undefined || m === null) {
    throw new KafkaError(`${codec} needs node:zlib, which this runtime does not provide`);
  }
  return loaded = m as Zlib;
}
