/**
 * `deno task bench`: runs the micro benchmarks (every bench/*_bench.ts with
 * `deno bench --json`), turns the per-iteration times into rates with the known sizes, and
 * writes them to bench/results/latest.json under "micro" (keeping "e2e"), then refreshes the
 * tables in bench/README.md.
 *
 * Rates come from the 75th-percentile iteration time rather than the mean: on a shared machine
 * a few preempted iterations drag the mean far from what the code does (`deno bench` prints
 * the mean; both are in its JSON).
 *
 * ```
 * deno run -A bench/run_micro.ts [--filter TEXT] [--no-write]
 * ```
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import { updateReadme } from "./compare/readme.ts";
import { machineInfo, type MicroResult, readResults, writeResults } from "./compare/results.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const RESULTS = `${ROOT}/bench/results/latest.json`;

/** One case of `deno bench --json` output (times in nanoseconds). */
interface BenchCase {
  origin: string;
  group: string | null;
  name: string;
  results: { ok?: { n: number; avg: number; min: number; p75: number; p99: number } }[];
}

/**
 * Turns one bench case into named figures: known cases get rates from their sizes, every
 * other case its time per iteration in µs.
 *
 * @example
 * ```ts
 * import { derive } from "./run_micro.ts";
 * console.log(derive("crc32c 1 MiB", 524288)); // [{ name: "crc32c_gbps", value: 2, unit: "GB/s", ... }]
 * ```
 */
export function derive(name: string, ns: number): MicroResult[] {
  const out = (n: string, value: number, unit: string): MicroResult[] => [
    { name: n, value: Number(value.toPrecision(4)), unit, bench: name },
  ];
  const size = (label: string) => (label === "100 B" ? "100b" : "1kib");
  let m: RegExpExecArray | null;
  if (name === "crc32c 1 MiB") return out("crc32c_gbps", 1_048_576 / ns, "GB/s");
  if (name === "crc32c 110 kB unaligned") return out("crc32c_110kb_gbps", 110_000 / ns, "GB/s");
  if (name === "crc32c 64 B") return out("crc32c_64b_ns", ns, "ns");
  if (
    (m = /^(encode|decode) 1000 x (100 B|1 KiB)(, no CRC check|, key \+ 1 header)?$/.exec(name))
  ) {
    const variant = m[3] === undefined ? "" : m[3].includes("CRC") ? "_nocrc" : "_keyed";
    return out(`${m[1]}_records_per_s_${size(m[2]!)}${variant}`, 1000 / (ns / 1e9), "records/s");
  }
  if ((m = /^(varint|varlongn) (encode|decode) 1000 x (\S+)/.exec(name))) {
    return out(`${m[1]}_${m[2]}_${m[3]!.replace(/\W+/g, "")}_ns_per_value`, ns / 1000, "ns");
  }
  if ((m = /^(encode|decode) (\w+) v(\d+) (?:frame|response)/.exec(name))) {
    return out(`${m[2]!.toLowerCase()}_v${m[3]}_${m[1]}_us`, ns / 1000, "µs");
  }
  if ((m = /^(\w+) (compress|decompress) 1 MiB/.exec(name))) {
    return out(`${m[1]}_${m[2]}_mb_per_s`, (1_048_576 / ns) * 1000, "MB/s");
  }
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
  return out(`${slug}_us`, ns / 1000, "µs/iter");
}

async function benchFiles(filter: string | undefined): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/bench`)) {
    if (e.isFile && e.name.endsWith("_bench.ts") && (!filter || e.name.includes(filter))) {
      files.push(`bench/${e.name}`);
    }
  }
  return files.sort();
}

async function runBench(file: string): Promise<BenchCase[]> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--json", file],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-5).join(" | ");
    throw new KafkaError(`deno bench ${file} failed: ${err}`);
  }
  return (JSON.parse(text) as { benches: BenchCase[] }).benches;
}

async function main(): Promise<void> {
  const args = Deno.args;
  const filterAt = args.indexOf("--filter");
  const filter = filterAt >= 0 ? args[filterAt + 1] : undefined;
  const micro: MicroResult[] = [];
  const failures: string[] = [];
  for (const file of await benchFiles(filter)) {
    console.error(`deno bench ${file}`);
    try {
      for (const b of await runBench(file)) {
        const ok = b.results[0]?.ok;
        if (!ok) continue;
        for (const r of derive(b.name, ok.p75)) {
          micro.push(r);
          console.log(`${r.name.padEnd(44)} ${String(r.value).padStart(12)} ${r.unit}`);
        }
      }
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
      console.error(failures.at(-1));
    }
  }
  if (!args.includes("--no-write")) {
    const file = await readResults(RESULTS);
    file.date = new Date().toISOString();
    file.machine = await machineInfo();
    file.versions = { ...file.versions, deno: Deno.version.deno, v8: Deno.version.v8 };
    file.micro_meta = {
      date: new Date().toISOString(),
      statistic: "p75 of per-iteration time",
      ...(failures.length > 0 && { failures }),
    };
    file.micro = micro;
    await writeResults(RESULTS, file);
    await updateReadme(`${ROOT}/bench/README.md`, `${ROOT}/bench/results/e2e.svg`, file);
    console.error(`wrote ${micro.length} figures to bench/results/latest.json`);
  }
  if (failures.length > 0) Deno.exit(1);
}

if (import.meta.main) await main();
