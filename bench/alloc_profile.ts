/**
 * Runs the `ours` bench peer (bench/compare/peers/ours.ts, same flags) under V8's sampling heap
 * profiler through `node:inspector`, counting the objects the scavenger and the mark-compact
 * freed too (so it shows where the garbage is made, not only what is left), and prints the
 * allocation sites by bytes, with the caller of each. Used through bench/profile.sh:
 * `PROFILER=alloc_profile KAFKA_PORT_OFFSET=N bench/profile.sh P2 300000 /tmp/alloc` →
 * `P2.prof.txt`. Sampling every 8 KiB: the byte counts are estimates (±5 % on a 300k run).
 * See bench/PROFILE.md (Session 15: producer).
 *
 * @module
 */

import { Session } from "node:inspector";

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: Node[];
}

const session = new Session();
session.connect();
const post = <T>(method: string, params: object = {}) =>
  new Promise<T>((resolve, reject) =>
    session.post(method, params, (e: Error | null, r: unknown) => e ? reject(e) : resolve(r as T))
  );
await post("HeapProfiler.enable");
await post("HeapProfiler.startSampling", {
  samplingInterval: 8192,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await import("./compare/peers/ours.ts");
const { profile } = await post<{ profile: { head: Node } }>("HeapProfiler.stopSampling");

const checkout = new URL("..", import.meta.url).href;
const name = (n: Node) => {
  const f = n.callFrame;
  const url = f.url.replace(checkout, "");
  return `${f.functionName || "(anonymous)"} ${url}:${f.lineNumber + 1}`;
};
const bySite = new Map<string, number>();
let total = 0;
const walk = (n: Node, caller: string) => {
  const here = name(n);
  const key = `${here}  <  ${caller}`;
  bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children ?? []) walk(c, here.split(" ")[0]!);
};
walk(profile.head, "");
console.error(`PROFILE allocated ${(total / 1e6).toFixed(1)} MB in all (sampled)`);
for (const [k, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.error(`PROFILE ${(bytes / 1e6).toFixed(2).padStart(8)} MB  ${k}`);
}
