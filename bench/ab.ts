/**
 * A/B of the `ours` peer between two checkouts on the running test bed, interleaved
 * (A, B, B, A, A, B, ...) so both see the same machine state; CPU seconds per million records of
 * the measured phase (from /proc, as bench:compare), the broker's too, and peak RSS. See
 * bench/PROFILE.md.
 *
 * deno run -A bench/ab.ts <dir A> <dir B> <workload: P1|P2|P3-lz4-1KiB|P6|C1-100B|X1-100B> <records> <pairs>
 *
 * `AB_ENV_A` / `AB_ENV_B` (`K=V K=V` or `K=V,K=V`) set environment variables for one side
 * only, e.g. `AB_ENV_B=OURS_PATH=pipeTo` to compare the peer's user paths, or
 * `AB_ENV_B=OURS_COMPRESSION_WORKERS=0` the compression Worker against none, on one checkout.
 *
 * @module
 */

import { runPeer } from "./compare/runner.ts";
import { createTopic, deleteTopic } from "./compare/topics.ts";
import { ensurePayloadFile } from "./compare/payloads.ts";

const [dirA, dirB, w, recordsArg, pairsArg] = Deno.args;
const n = Number(recordsArg ?? 300_000);
const pairs = Number(pairsArg ?? 3);
const state = JSON.parse(Deno.readTextFileSync(".kafka/state/single.json"));
const boot: string = state.listeners.PLAINTEXT.split(",")[0];
/** The broker's pid (jars mode), for its CPU time in the measured phase, as bench:compare. */
const brokerPid: number = state.mode === "jars" ? state.brokers?.[0]?.pid ?? 0 : 0;
const spec: Record<string, [string, number, string, number]> = {
  P1: ["produce", 100, "none", 4],
  P2: ["produce", 1024, "none", 4],
  "P3-lz4-1KiB": ["produce", 1024, "lz4", 4],
  "P3-lz4-100B": ["produce", 100, "lz4", 4],
  "P3-zstd-1KiB": ["produce", 1024, "zstd", 4],
  "P3-zstd-100B": ["produce", 100, "zstd", 4],
  P6: ["produce", 100, "none", 256],
  "C1-100B": ["consume", 100, "none", 4],
  "C1-1KiB": ["consume", 1024, "none", 4],
  "C6-100B": ["consume", 100, "none", 256],
  // The exactly-once pipeline: reads the filled input, writes a fresh output per run.
  "X1-100B": ["pipeline", 100, "none", 4],
};
const [mode, size, codec, parts] = spec[w!]!;
const pay = await ensurePayloadFile("bench/peers/payloads", size, 8 * 1_048_576, 20240601);
/** C6's topic is filled with 16 KiB batches, as bench:compare does (config.ts `fillBatchBytes`). */
const fillBatch = w === "C6-100B" ? "16384" : "1048576";
const args = (topic: string, records: number, warmup: number, batch = "1048576") => [
  ...[`--mode`, mode, `--bootstrap`, boot, `--topic`, topic, `--records`, String(records)],
  ...[`--warmup`, String(warmup), `--size`, String(size), `--payloads`, pay],
  ...[`--compression`, codec, `--linger-ms`, "5", `--batch-bytes`, batch],
  ...[`--in-flight`, "5", `--idempotence`, "true", `--acks`, "all"],
  ...[`--buffer-bytes`, "33554432", `--partitions`, String(parts)],
];
const cmd = (dir: string, a: string[]) => [
  Deno.execPath(),
  "run",
  "-A",
  `${dir}/bench/compare/peers/ours.ts`,
  ...a,
];
let fill = "";
if (mode === "consume" || mode === "pipeline") {
  fill = `ab-${w}-${n}-${Date.now()}`;
  await createTopic(boot, fill, parts);
  const o = await runPeer({
    cmd: cmd(dirB!, args(fill, n, 0, fillBatch)).map((x) =>
      x === "consume" || x === "pipeline" ? "produce" : x
    ),
    timeoutMs: 600_000,
  });
  if (o.status !== "ok") throw new Error(`fill failed: ${o.note}`);
}
/** The environment of one side's peer: the caller's, plus `AB_ENV_<side>`. */
const envOf = (side: string): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const kv of (Deno.env.get(`AB_ENV_${side}`) ?? "").split(/[ ,]/)) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
};
const rows: Record<
  string,
  { cpu: number[]; rss: number[]; rate: number[]; broker: number[] }
> = {
  A: { cpu: [], rss: [], rate: [], broker: [] },
  B: { cpu: [], rss: [], rate: [], broker: [] },
};
for (let i = 0; i < pairs; i++) {
  // ABBA order: the second run of a pair tends to come out cheaper (Session 16: main against
  // main gave "B lower" in 5 of 6 pairs), so the sides take turns going first.
  const order = [["A", dirA!], ["B", dirB!]] as const;
  for (const [label, dir] of i % 2 === 0 ? order : [order[1], order[0]]) {
    const topic = fill || `ab-${w}-${label}-${i}-${Date.now()}`;
    if (!fill) await createTopic(boot, topic, parts);
    const extra: string[] = [];
    if (mode === "pipeline") {
      const output = `ab-${w}-out-${label}-${i}-${Date.now()}`;
      await createTopic(boot, output, parts);
      // bench/compare/config.ts PIPELINE
      extra.push("--output", output, "--transaction-ms", "100", "--transaction-records", "100000");
    }
    const o = await runPeer({
      cmd: cmd(dir, [...args(topic, n, n / 10), ...extra]),
      env: envOf(label),
      timeoutMs: 600_000,
      ...brokerPid > 0 && { brokerPid },
    });
    if (!fill) {
      // As bench:compare: each run's topic is deleted and its pages written out after it.
      await deleteTopic(boot, topic).catch(() => {});
      await new Deno.Command("sync").output().catch(() => {});
    }
    if (o.status !== "ok") throw new Error(`${label} failed: ${o.note}`);
    const r = rows[label]!;
    r.cpu.push(o.cpuS! / (o.records! / 1e6));
    r.rss.push(o.peakRssMiB!);
    r.rate.push(o.records! / o.elapsedS!);
    r.broker.push((o.brokerCpuS ?? NaN) / (o.records! / 1e6));
    console.log(
      `${w} ${label}${i + 1}: cpu ${r.cpu.at(-1)!.toFixed(3)} s/M, broker ${
        r.broker.at(-1)!.toFixed(2)
      } s/M, rss ${o.peakRssMiB!.toFixed(0)} MiB, ${(r.rate.at(-1)! / 1e3).toFixed(0)}k rec/s`,
    );
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const lower = (k: "cpu" | "rss") => rows.B![k].filter((b, i) => b < rows.A![k][i]!).length;
console.log(
  `${w} B lower than A: cpu in ${lower("cpu")}/${pairs} pairs, rss in ${lower("rss")}/${pairs}`,
);
for (const [label, r] of Object.entries(rows)) {
  console.log(
    `${w} ${label} median: cpu ${med(r.cpu).toFixed(3)} s/M, broker ${
      med(r.broker).toFixed(2)
    } s/M, rss ${med(r.rss).toFixed(0)} MiB, ${(med(r.rate) / 1e3).toFixed(0)}k rec/s`,
  );
}
