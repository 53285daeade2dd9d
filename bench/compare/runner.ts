/**
 * Runs one peer process and measures it. The protocol every peer follows: flags in; on stdout
 * `BEGIN` when the measured phase starts and `END {json}` when it ends (json: records, bytes,
 * elapsed_s, optional latencies_us); then it waits for stdin to close. The harness reads
 * /proc at BEGIN and at END (the process is still alive at END, so its peak RSS and CPU are
 * complete), then closes stdin. A peer may instead print `UNAVAILABLE <reason>` and exit.
 *
 * @module
 */

import { readStat, treeCpuSeconds, treePeakRssMiB } from "./procfs.ts";

/**
 * What one peer run produced.
 *
 * @example
 * ```ts
 * import type { RunOutcome } from "./runner.ts";
 * const o: RunOutcome = { status: "unavailable", note: "not built" };
 * console.log(o.status);
 * ```
 */
export interface RunOutcome {
  /** ok: measured; unavailable: the peer said it cannot run this; failed: it broke. */
  status: "ok" | "unavailable" | "failed";
  /** Why it is unavailable or failed (last lines of its stderr). */
  note?: string;
  /** Records in the measured phase. */
  records?: number;
  /** Seconds of the measured phase, as the peer timed it. */
  elapsedS?: number;
  /** Per-send latencies of a latency run, microseconds. */
  latenciesUs?: number[];
  /** CPU seconds of the peer's process tree between BEGIN and END. */
  cpuS?: number;
  /** CPU seconds of the broker between BEGIN and END (undefined without a broker pid). */
  brokerCpuS?: number;
  /** Sum of VmHWM over the peer's process tree at END, MiB. */
  peakRssMiB?: number;
  /** Wall seconds of the whole process, start to exit. */
  wallS?: number;
}

/**
 * Options of {@linkcode runPeer}.
 *
 * @example
 * ```ts
 * import type { RunOptions } from "./runner.ts";
 * const o: RunOptions = { cmd: ["true"], timeoutMs: 1000 };
 * console.log(o.cmd[0]);
 * ```
 */
export interface RunOptions {
  /** Program and arguments. */
  cmd: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** The broker's pid, for its CPU time; 0 or undefined to skip. */
  brokerPid?: number;
  /** Kill the peer after this long. */
  timeoutMs: number;
  /** Where the peer's stderr (and stdout other than the protocol lines) is appended. */
  logFile?: string;
}

interface EndLine {
  records: number;
  bytes?: number;
  elapsed_s: number;
  latencies_us?: number[];
}

/**
 * Spawns a peer, follows its protocol and returns the measurements.
 *
 * @example
 * ```ts ignore
 * import { runPeer } from "./runner.ts";
 * const o = await runPeer({ cmd: ["./peer", "--mode", "produce"], timeoutMs: 60_000 });
 * console.log(o.status, o.records);
 * ```
 */
export async function runPeer(options: RunOptions): Promise<RunOutcome> {
  const started = performance.now();
  const child = new Deno.Command(options.cmd[0]!, {
    args: options.cmd.slice(1),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    env: options.env ?? {},
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = child.pid;
  const log = options.logFile
    ? await Deno.open(options.logFile, { create: true, append: true })
    : undefined;
  const enc = new TextEncoder();
  let tail = "";
  const keep = (text: string) => {
    tail = (tail + text).slice(-4000);
    log?.writeSync(enc.encode(text));
  };
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) keep(chunk);
  })();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs);

  const brokerCpu = () => options.brokerPid ? readStat(options.brokerPid)?.cpuSeconds : undefined;
  let begin: { cpu: number; broker: number | undefined } | undefined;
  const outcome: RunOutcome = { status: "failed" };
  const stdin = child.stdin.getWriter();
  let buffered = "";
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === "BEGIN") {
          begin = { cpu: treeCpuSeconds(pid), broker: brokerCpu() };
        } else if (line.startsWith("END ")) {
          const cpu = treeCpuSeconds(pid);
          const broker = brokerCpu();
          const rss = treePeakRssMiB(pid);
          const end = JSON.parse(line.slice(4)) as EndLine;
          outcome.status = "ok";
          outcome.records = end.records;
          outcome.elapsedS = end.elapsed_s;
          if (end.latencies_us) outcome.latenciesUs = end.latencies_us;
          if (begin) {
            outcome.cpuS = cpu - begin.cpu;
            if (broker !== undefined && begin.broker !== undefined) {
              outcome.brokerCpuS = broker - begin.broker;
            }
          }
          outcome.peakRssMiB = rss;
          await stdin.close().catch(() => {});
        } else if (line.startsWith("UNAVAILABLE")) {
          outcome.status = "unavailable";
          outcome.note = line.slice("UNAVAILABLE".length).trim();
        } else {
          keep(line + "\n");
        }
      }
    }
  } finally {
    await stdin.close().catch(() => {});
    const status = await child.status;
    clearTimeout(timer);
    await stderrDone.catch(() => {});
    log?.close();
    outcome.wallS = (performance.now() - started) / 1000;
    if (timedOut) {
      outcome.status = "failed";
      outcome.note = `killed after ${options.timeoutMs / 1000} s. ${lastLines(tail)}`;
    } else if (outcome.status === "ok" && !status.success) {
      outcome.status = "failed";
      outcome.note = `exit ${status.code} after END. ${lastLines(tail)}`;
    } else if (outcome.status === "failed") {
      outcome.note = `exit ${status.code}${begin ? " after BEGIN" : ""}. ${lastLines(tail)}`;
    }
  }
  return outcome;
}

function lastLines(text: string, n = 6): string {
  return text.trim().split("\n").slice(-n).join(" | ").slice(-800);
}
