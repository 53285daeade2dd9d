/**
 * Garbage per awaited send of P4 (100 B, acks all, idempotent, linger 5 ms, 4 partitions): the
 * V8 sampling heap profiler (`node:inspector` `HeapProfiler.startSampling`, objects collected by
 * minor and major GC included) over the measured sends of one checkout, against the running
 * single-node test bed. Prints the bytes allocated per send and the top allocation sites by the
 * innermost frame of the checkout (runtime frames under it are counted to it). See
 * bench/PROFILE.md, "Session 11: P4 latency tail" and "Session 13: P4 allocations".
 *
 * KAFKA_PORT_OFFSET=N deno run -A bench/heap_per_send.ts [dir=.] [sends=5000] [warmup=300] [top=25]
 *
 * Interleave two checkouts by hand (A, B, B, A): the figure moves by about ±0.2 KB between runs.
 *
 * @module
 */

import { Session } from "node:inspector";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createTopic, deleteTopic } from "./compare/topics.ts";
import type { ProducerOptions, ProducerRecord } from "../producer/mod.ts";

const [dirArg, sendsArg, warmupArg, topArg] = Deno.args;
const dir = resolve(dirArg ?? ".");
const n = Number(sendsArg ?? 5000);
const warmup = Number(warmupArg ?? 300);
const topN = Number(topArg ?? 25);
const state = JSON.parse(Deno.readTextFileSync(".kafka/state/single.json"));
const boot: string = state.listeners.PLAINTEXT.split(",")[0];

interface ProducerLike extends AsyncDisposable {
  send(record: ProducerRecord): Promise<unknown>;
  close(): Promise<void>;
}
const { Producer } = await import(pathToFileURL(`${dir}/producer/mod.ts`).href) as {
  Producer: new (o: ProducerOptions) => ProducerLike;
};

interface SamplingNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}
interface SamplingProfile {
  head: SamplingNode;
  samples: { size: number; nodeId: number }[];
}

const session = new Session();
session.connect();
const post = <T>(method: string, params: object = {}) =>
  new Promise<T>((ok, fail) =>
    session.post(method, params, (e: Error | null, r: unknown) => e ? fail(e) : ok(r as T))
  );

const topic = `heap-P4-${Date.now()}`;
await createTopic(boot, topic, 4);
const value = new Uint8Array(100).fill(97);
const p = new Producer({
  brokers: [boot],
  clientId: "bench-heap",
  acks: "all",
  idempotent: true,
  lingerMs: 5,
  batchSize: 1_048_576,
  bufferMemory: 33_554_432,
  maxInFlight: 5,
  compression: "none",
  allowAutoTopicCreation: false,
});
let profile: SamplingProfile;
try {
  for (let i = 0; i < warmup; i++) await p.send({ topic, value });
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 128,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < n; i++) await p.send({ topic, value });
  ({ profile } = await post<{ profile: SamplingProfile }>("HeapProfiler.stopSampling"));
} finally {
  await p.close();
  await deleteTopic(boot, topic).catch(() => {});
}

// Each node's nearest frame in the checkout (not bench/), by walking down from the root.
const root = pathToFileURL(dir).href + "/";
const site = new Map<number, string>();
const walk = (node: SamplingNode, inherited: string) => {
  const f = node.callFrame;
  const ours = f.url.startsWith(root) && !f.url.startsWith(`${root}bench/`);
  const here = ours
    ? `${f.functionName || "(anonymous)"} ${f.url.slice(root.length)}:${f.lineNumber + 1}`
    : inherited;
  site.set(node.id, here);
  for (const c of node.children) walk(c, here);
};
walk(profile.head, "(outside the checkout)");
const bySite = new Map<string, number>();
let total = 0;
for (const s of profile.samples) {
  const k = site.get(s.nodeId)!;
  bySite.set(k, (bySite.get(k) ?? 0) + s.size);
  total += s.size;
}
console.log(`${dir}: ${(total / n / 1024).toFixed(2)} KiB (${(total / n).toFixed(0)} B) per send`);
for (const [k, b] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, topN)) {
  console.log(`${(b / n).toFixed(0).padStart(7)} B  ${k}`);
}
