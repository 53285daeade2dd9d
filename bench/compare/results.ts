/**
 * The results file (bench/results/latest.json): its shape, aggregation of rounds into medians,
 * and read-merge-write so `deno task bench` ("micro") and `bench:compare` ("e2e") each keep
 * the other's part.
 *
 * @module
 */

import type { ClientName } from "./config.ts";
import type { RunOutcome } from "./runner.ts";

/**
 * One micro benchmark figure.
 *
 * @example
 * ```ts
 * import type { MicroResult } from "./results.ts";
 * const m: MicroResult = { name: "crc32c_gbps", value: 1.9, unit: "GB/s" };
 * console.log(m.name);
 * ```
 */
export interface MicroResult {
  /** Stable name, e.g. `crc32c_gbps`. */
  name: string;
  /** The figure. */
  value: number;
  /** Its unit. */
  unit: string;
  /** The `deno bench` case it comes from. */
  bench?: string;
}

/**
 * One client on one workload: medians over the rounds.
 *
 * @example
 * ```ts
 * import type { E2eResult } from "./results.ts";
 * const r: E2eResult = {
 *   client: "java", workload: "P1", status: "ok", runs: 3, records_per_s: 500000,
 *   mb_per_s: 50, cpu_s_per_million: 2, broker_cpu_s_per_million: 1.5, peak_rss_mb: 300,
 *   p50_us: null, p99_us: null, p999_us: null,
 * };
 * console.log(r.records_per_s);
 * ```
 */
export interface E2eResult {
  /** Client name. */
  client: ClientName;
  /** Workload id. */
  workload: string;
  /** ok: measured in at least one round; unavailable: not installed / not supported; failed. */
  status: "ok" | "unavailable" | "failed";
  /** Why not ok (or what went wrong in some rounds). */
  note?: string;
  /** Rounds measured. */
  runs: number;
  /** Records per second. */
  records_per_s: number | null;
  /** Value bytes per second / 10^6. */
  mb_per_s: number | null;
  /** Client CPU seconds (utime+stime of its process tree) per million records. */
  cpu_s_per_million: number | null;
  /** Broker CPU seconds per million records, over the same window. */
  broker_cpu_s_per_million: number | null;
  /** Peak resident set of the client process tree, MiB. */
  peak_rss_mb: number | null;
  /** P4 only: median, 99th and 99.9th percentile of one awaited send over all rounds, µs. */
  p50_us: number | null;
  /** See p50_us. */
  p99_us: number | null;
  /** See p50_us. */
  p999_us: number | null;
}

/**
 * The whole results file.
 *
 * @example
 * ```ts
 * import type { ResultsFile } from "./results.ts";
 * const f: ResultsFile = { date: new Date().toISOString(), machine: {}, versions: {} };
 * console.log(Object.keys(f));
 * ```
 */
export interface ResultsFile {
  /** ISO time of the last write. */
  date: string;
  /** CPU, cores, memory, OS. */
  machine: Record<string, unknown>;
  /** Versions of everything measured. */
  versions: Record<string, string>;
  /** When and how the micro benchmarks ran. */
  micro_meta?: Record<string, unknown>;
  /** Micro benchmark figures (`deno task bench`). */
  micro?: MicroResult[];
  /** When and how the side-by-side run went. */
  e2e_meta?: Record<string, unknown>;
  /** Peers that could not be installed, with the reason. */
  unavailable?: { client: ClientName; reason: string }[];
  /** Side-by-side results (`deno task bench:compare`). */
  e2e?: E2eResult[];
}

/**
 * Nearest-rank percentile of a sorted array (q in 0..1).
 *
 * @example
 * ```ts
 * import { percentile } from "./results.ts";
 * console.log(percentile([1, 2, 3, 4], 0.5)); // 2
 * ```
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * Median of the finite values; null when there are none.
 *
 * @example
 * ```ts
 * import { median } from "./results.ts";
 * console.log(median([3, 1, 2]), median([1, 2, 3, 4]), median([])); // 2 2.5 null
 * ```
 */
export function median(values: readonly (number | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function round(v: number | null, digits = 3): number | null {
  if (v === null) return null;
  const f = 10 ** Math.max(0, digits - Math.floor(Math.log10(Math.abs(v) || 1)) - 1);
  return Math.round(v * f) / f;
}

/**
 * Folds the rounds of one client on one workload into a result row (medians of each figure).
 *
 * @example
 * ```ts
 * import { aggregate } from "./results.ts";
 * const row = aggregate("java", "P1", 100, [
 *   { status: "ok", records: 1000, elapsedS: 0.5, cpuS: 1, brokerCpuS: 0.5, peakRssMiB: 200 },
 * ]);
 * console.log(row.records_per_s, row.cpu_s_per_million); // 2000 1000
 * ```
 */
export function aggregate(
  client: ClientName,
  workload: string,
  size: number,
  runs: readonly RunOutcome[],
): E2eResult {
  const ok = runs.filter((r) => r.status === "ok" && r.records && r.elapsedS);
  const row: E2eResult = {
    client,
    workload,
    status: ok.length > 0
      ? "ok"
      : runs.some((r) => r.status === "unavailable")
      ? "unavailable"
      : "failed",
    runs: ok.length,
    records_per_s: null,
    mb_per_s: null,
    cpu_s_per_million: null,
    broker_cpu_s_per_million: null,
    peak_rss_mb: null,
    p50_us: null,
    p99_us: null,
    p999_us: null,
  };
  const notes = [...new Set(runs.filter((r) => r.status !== "ok").map((r) => r.note ?? r.status))];
  if (notes.length > 0) {
    row.note =
      (ok.length > 0 ? `${runs.length - ok.length} of ${runs.length} rounds failed: ` : "") +
      notes.join("; ");
  }
  if (ok.length === 0) return row;
  const perM = (v: number | undefined, r: RunOutcome) =>
    v === undefined ? undefined : (v / r.records!) * 1e6;
  row.records_per_s = round(median(ok.map((r) => r.records! / r.elapsedS!)), 4);
  row.mb_per_s = round(median(ok.map((r) => (r.records! * size) / r.elapsedS! / 1e6)), 4);
  row.cpu_s_per_million = round(median(ok.map((r) => perM(r.cpuS, r))));
  row.broker_cpu_s_per_million = round(median(ok.map((r) => perM(r.brokerCpuS, r))));
  row.peak_rss_mb = round(median(ok.map((r) => r.peakRssMiB)));
  // Latency percentiles come from the samples of all rounds pooled (P4 splits its sends over
  // the rounds), so p99.9 rests on the whole sample rather than on a third of it.
  const lat = ok.flatMap((r) => r.latenciesUs ?? []).sort((a, b) => a - b);
  if (lat.length > 0) {
    row.p50_us = round(percentile(lat, 0.5));
    row.p99_us = round(percentile(lat, 0.99));
    row.p999_us = round(percentile(lat, 0.999));
  }
  return row;
}

/**
 * Reads the results file, or an empty one.
 *
 * @example
 * ```ts ignore
 * import { readResults } from "./results.ts";
 * console.log((await readResults("bench/results/latest.json")).e2e?.length);
 * ```
 */
export async function readResults(path: string): Promise<ResultsFile> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as ResultsFile;
  } catch {
    return { date: new Date().toISOString(), machine: {}, versions: {} };
  }
}

/**
 * Writes the results file atomically (temp file + rename).
 *
 * @example
 * ```ts ignore
 * import { readResults, writeResults } from "./results.ts";
 * const f = await readResults("bench/results/latest.json");
 * await writeResults("bench/results/latest.json", f);
 * ```
 */
export async function writeResults(path: string, file: ResultsFile): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(file, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

/**
 * Facts about this machine for the results file.
 *
 * @example
 * ```ts
 * import { machineInfo } from "./results.ts";
 * console.log((await machineInfo()).cores);
 * ```
 */
export async function machineInfo(): Promise<Record<string, unknown>> {
  const read = async (p: string) => {
    try {
      return await Deno.readTextFile(p);
    } catch {
      return "";
    }
  };
  const cpu = /model name\s*:\s*(.+)/.exec(await read("/proc/cpuinfo"))?.[1]?.trim() ?? "?";
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(await read("/proc/meminfo"))?.[1] ?? 0);
  const os = /PRETTY_NAME="([^"]+)"/.exec(await read("/etc/os-release"))?.[1] ?? Deno.build.os;
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memory_gib: Math.round((memKb / 1048576) * 10) / 10,
    os,
    kernel: Deno.osRelease(),
    arch: Deno.build.arch,
  };
}
