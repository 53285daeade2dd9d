/**
 * A/B of P4 (awaited single sends of 100 B, acks all, idempotent, linger 5 ms, 4 partitions)
 * between two checkouts on the running test bed, interleaved (A, B, then B, A, ...) so both see
 * the same machine state; the latencies are pooled per side. See bench/PROFILE.md, "Session 11:
 * P4 latency tail".
 *
 * deno run -A bench/latency_ab.ts <dir A> <dir B> [pairs=5] [records=3334] [warmup=300]
 *
 * `LAB_V8_A` / `LAB_V8_B` pass `--v8-flags` to one side's peer (e.g.
 * `LAB_V8_B=--max-semi-space-size=64`).
 *
 * @module
 */

import { runPeer } from "./compare/runner.ts";
import { createTopic, deleteTopic } from "./compare/topics.ts";
import { ensurePayloadFile } from "./compare/payloads.ts";

const [dirA, dirB, pairsArg, recordsArg, warmupArg] = Deno.args;
const pairs = Number(pairsArg ?? 5);
const n = Number(recordsArg ?? 3334);
const warmup = Number(warmupArg ?? 300);
const state = JSON.parse(Deno.readTextFileSync(".kafka/state/single.json"));
const boot: string = state.listeners.PLAINTEXT.split(",")[0];
const brokerPid: number = state.mode === "jars" ? state.brokers?.[0]?.pid ?? 0 : 0;
const pay = await ensurePayloadFile("bench/peers/payloads", 100, 8 * 1_048_576, 20240601);

/** The q-quantile of `xs` (nearest rank). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const fmt = (xs: number[]) => [0.5, 0.9, 0.99, 0.999].map((q) => quantile(xs, q).toFixed(0));

const pooled: Record<string, number[]> = { A: [], B: [] };
for (let i = 0; i < pairs; i++) {
  const order: [string, string][] = i % 2 === 0
    ? [["A", dirA!], ["B", dirB!]]
    : [["B", dirB!], ["A", dirA!]];
  for (const [label, dir] of order) {
    const topic = `lab-P4-${label}-${i}-${Date.now()}`;
    await createTopic(boot, topic, 4);
    const v8 = Deno.env.get(`LAB_V8_${label}`);
    const o = await runPeer({
      cmd: [
        Deno.execPath(),
        "run",
        "-A",
        ...(v8 ? [`--v8-flags=${v8}`] : []),
        `${dir}/bench/compare/peers/ours.ts`,
        ...["--mode", "latency", "--bootstrap", boot, "--topic", topic],
        ...["--records", String(n), "--warmup", String(warmup), "--size", "100"],
        ...["--payloads", pay, "--compression", "none", "--linger-ms", "5"],
        ...["--batch-bytes", "1048576", "--in-flight", "5", "--idempotence", "true"],
        ...["--acks", "all", "--buffer-bytes", "33554432", "--partitions", "4"],
      ],
      timeoutMs: 300_000,
      ...brokerPid > 0 && { brokerPid },
    });
    await deleteTopic(boot, topic).catch(() => {});
    if (o.status !== "ok" || o.latenciesUs === undefined) {
      throw new Error(`${label} failed: ${o.note}`);
    }
    pooled[label]!.push(...o.latenciesUs);
    const cpu = (o.cpuS! / n) * 1e6;
    const broker = ((o.brokerCpuS ?? NaN) / n) * 1e6;
    console.log(
      `${label}${i + 1}: p50/p90/p99/p999 ${fmt(o.latenciesUs).join("/")} µs, client CPU ${
        cpu.toFixed(0)
      } µs/send, broker CPU ${broker.toFixed(0)} µs/send`,
    );
  }
}
for (const label of ["A", "B"]) {
  const xs = pooled[label]!;
  console.log(`pooled ${label}: p50/p90/p99/p999 ${fmt(xs).join("/")} µs (n=${xs.length})`);
}
