/**
 * What differs between the runtimes this client runs on (Deno, Node, Bun, Cloudflare's
 * workerd), in one place: which runtime this is, timers that must not keep the process alive,
 * whether Web Workers can run our compression module, and how a missing network permission
 * shows. Everything else in the library is plain web platform plus `node:zlib`.
 *
 * @module
 */

/**
 * A runtime the client knows.
 *
 * @example
 * ```ts
 * import type { RuntimeName } from "@denokafka/kafka";
 * const r: RuntimeName = "workerd";
 * console.log(r);
 * ```
 */
export type RuntimeName = "deno" | "node" | "bun" | "workerd" | "unknown";

interface Globals {
  Deno?: {
    version?: { deno?: string };
    unrefTimer?: (id: number) => void;
    errors?: Record<string, new (...args: never[]) => Error>;
  };
  Bun?: unknown;
  process?: { versions?: { node?: string } };
  navigator?: { userAgent?: string };
  Worker?: unknown;
}

const g = globalThis as unknown as Globals;
let detected: RuntimeName | undefined;

/**
 * The runtime this code runs on, detected from its globals (workerd before Node, as
 * `nodejs_compat` gives Workers a `process`; Bun before Node, as Bun has `process` too).
 *
 * @example
 * ```ts
 * import { runtime } from "@denokafka/kafka";
 * console.log(runtime()); // "deno" under Deno
 * ```
 */
export function runtime(): RuntimeName {
  if (detected !== undefined) return detected;
  if (typeof g.Deno?.version?.deno === "string") detected = "deno";
  else if (g.navigator?.userAgent === "Cloudflare-Workers") detected = "workerd";
  else if (g.Bun !== undefined) detected = "bun";
  else if (typeof g.process?.versions?.node === "string") detected = "node";
  else detected = "unknown";
  return detected;
}

/**
 * Lets the process exit while `timer` is pending (a periodic metadata refresh, a
 * re-authentication due in an hour): `Deno.unrefTimer` under Deno, `unref()` under Node and
 * Bun; nothing where timers cannot keep anything alive (workerd).
 *
 * @example
 * ```ts
 * import { unrefTimer } from "./runtime.ts";
 * const t = setInterval(() => {}, 60_000);
 * unrefTimer(t);
 * clearInterval(t);
 * ```
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout> | number): void {
  if (typeof timer === "number") {
    g.Deno?.unrefTimer?.(timer);
    return;
  }
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

/**
 * Whether Web Workers can run our compression module here: Deno and Bun have module Workers;
 * Node has only `worker_threads` (no global `Worker`), workerd has none. Where they cannot,
 * the producer compresses on its own thread.
 *
 * @example
 * ```ts
 * import { moduleWorkersAvailable } from "./runtime.ts";
 * console.log(moduleWorkersAvailable()); // true under Deno
 * ```
 */
export function moduleWorkersAvailable(): boolean {
  const rt = runtime();
  return (rt === "deno" || rt === "bun") && typeof g.Worker === "function";
}

/**
 * Whether `e` is the runtime refusing network access for lack of a permission (Deno without
 * `--allow-net`: `NotCapable`, or `PermissionDenied` before Deno 2), not the network failing.
 *
 * @example
 * ```ts
 * import { isPermissionError } from "./runtime.ts";
 * console.log(isPermissionError(new Error("refused"))); // false
 * ```
 */
export function isPermissionError(e: unknown): boolean {
  const errors = g.Deno?.errors;
  if (errors === undefined) return false;
  for (const name of ["NotCapable", "PermissionDenied"]) {
    const cls = errors[name];
    if (cls !== undefined && e instanceof cls) return true;
  }
  return false;
}

/**
 * Whether a large, never-written ArrayBuffer costs no physical memory here (the consumer's GC
 * headroom relies on it). True where V8 gets zeroed pages from the operating system lazily
 * (Deno, Node, Bun); false in workerd, which fills a new buffer up front (measured: ~1.5-3 s
 * for 512 MiB) and holds a Worker to 128 MB of memory.
 *
 * @example
 * ```ts
 * import { untouchedBuffersAreFree } from "./runtime.ts";
 * console.log(untouchedBuffersAreFree()); // true under Deno
 * ```
 */
export function untouchedBuffersAreFree(): boolean {
  return runtime() !== "workerd";
}
