/**
 * CPU time and peak memory of a process tree, read from /proc (Linux only).
 *
 * CPU is utime + stime + cutime + cstime of every live process in the tree: a process's own
 * threads (live or exited) are in its utime/stime, and children it has reaped are in its
 * cutime/cstime, so nothing is counted twice. Peak memory is the sum of VmHWM (peak resident
 * set) over the tree.
 *
 * @module
 */

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
let ticksPerSecond = 100;
try {
  const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
    .outputSync();
  const v = Number(new TextDecoder().decode(out.stdout).trim());
  if (out.success && Number.isFinite(v) && v > 0) ticksPerSecond = v;
} catch {
  // getconf missing: keep Linux's fixed USER_HZ.
}

/**
 * The fields of /proc/<pid>/stat the harness needs.
 *
 * @example
 * ```ts
 * import { readStat } from "./procfs.ts";
 * const s = readStat(Deno.pid);
 * console.log(s !== undefined && s.cpuSeconds >= 0);
 * ```
 */
export interface ProcStat {
  /** Parent pid. */
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  cpuSeconds: number;
}

/**
 * Reads /proc/<pid>/stat, or undefined when the process is gone.
 *
 * @example
 * ```ts
 * import { readStat } from "./procfs.ts";
 * console.log(readStat(Deno.pid)?.ppid);
 * ```
 */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after its end.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const num = (field: number) => Number(rest[field - 3]);
  const ticks = num(14) + num(15) + num(16) + num(17);
  return { ppid: num(4), cpuSeconds: ticks / ticksPerSecond };
}

/**
 * The pids of `root` and all its descendants that are alive now.
 *
 * @example
 * ```ts
 * import { processTree } from "./procfs.ts";
 * console.log(processTree(Deno.pid).includes(Deno.pid)); // true
 * ```
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (!s) continue;
    const list = children.get(s.ppid);
    if (list) list.push(pid);
    else children.set(s.ppid, [pid]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (!readStat(pid)) continue;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds used so far by a process tree (see the module doc).
 *
 * @example
 * ```ts
 * import { treeCpuSeconds } from "./procfs.ts";
 * console.log(treeCpuSeconds(Deno.pid) > 0);
 * ```
 */
export function treeCpuSeconds(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) sum += readStat(pid)?.cpuSeconds ?? 0;
  return sum;
}

/**
 * Sum of the peak resident set sizes (VmHWM) of a process tree, in MiB.
 *
 * @example
 * ```ts
 * import { treePeakRssMiB } from "./procfs.ts";
 * console.log(treePeakRssMiB(Deno.pid) > 1);
 * ```
 */
export function treePeakRssMiB(root: number): number {
  let kib = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
      if (m) kib += Number(m[1]);
    } catch {
      // exited between the scan and the read
    }
  }
  return kib / 1024;
}
