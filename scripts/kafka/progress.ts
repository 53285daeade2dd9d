/**
 * How the launcher reports what it is doing: one line at a time to a callback, stderr by
 * default, so a caller inside `deno test` or a CLI can redirect or silence it.
 *
 * @module
 */

/**
 * Where progress lines go (defaults to stderr).
 *
 * @example
 * ```ts
 * import type { Progress } from "./progress.ts";
 * const p: Progress = (line) => console.error(line);
 * p("hello");
 * ```
 */
export type Progress = (line: string) => void;

/**
 * Writes a progress line to stderr.
 *
 * @example
 * ```ts
 * import { stderrProgress } from "./progress.ts";
 * stderrProgress("kafka: starting");
 * ```
 */
export const stderrProgress: Progress = (line) => {
  // Synchronous: a Progress returns nothing, so an async write would be a promise nobody awaits.
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
};
