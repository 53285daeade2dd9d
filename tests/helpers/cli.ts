/**
 * Runs the command-line tool (cli/main.ts) in a child process, as a user would.
 *
 * ```ts
 * import { runCli } from "./cli.ts";
 * const r = await runCli(["topics", "list", "-b", "127.0.0.1:9092"]);
 * console.log(r.code, r.stdout);
 * ```
 *
 * @module
 */

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/** What a run printed and returned. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** stdout as text. */
  stdout: string;
  /** stdout as bytes. */
  stdoutBytes: Uint8Array;
  /** stderr as text. */
  stderr: string;
}

/** Options of {@linkcode runCli}. */
export interface CliOptions {
  /** Bytes or text for stdin (default: none). */
  stdin?: Uint8Array | string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill after this long (default 120 s). */
  timeoutMs?: number;
}

/** Runs `deno run -A cli/main.ts ...args` with piped stdio. */
export async function runCli(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  const td = new TextDecoder();
  return {
    code: out.code,
    stdout: td.decode(out.stdout),
    stdoutBytes: out.stdout,
    stderr: td.decode(out.stderr),
  };
}
