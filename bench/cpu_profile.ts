/**
 * Runs the `ours` bench peer (bench/compare/peers/ours.ts, same flags) under the V8 CPU
 * profiler through `node:inspector` (Deno has no `--cpu-prof`), then writes the profile to
 * `$PROF_OUT` (a `.cpuprofile` for Chrome DevTools) and prints the top frames by self time.
 * Used by bench/profile.sh; see bench/PROFILE.md.
 *
 * @module
 */

import { Session } from "node:inspector";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const session = new Session();
session.connect();
const post = <T>(method: string, params: object = {}) =>
  new Promise<T>((resolve, reject) =>
    session.post(method, params, (e: Error | null, r: unknown) => e ? reject(e) : resolve(r as T))
  );
await post("Profiler.enable");
await post("Profiler.setSamplingInterval", { interval: 250 });
await post("Profiler.start");
await import("./compare/peers/ours.ts");
const { profile } = await post<{ profile: Profile }>("Profiler.stop");
const out = Deno.env.get("PROF_OUT");
if (out) Deno.writeTextFileSync(out, JSON.stringify(profile));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const byFrame = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  const root = Deno.cwd();
  const key = `${f.functionName || "(anonymous)"} ${
    f.url.replace(`file://${root}/`, "").replace(/^.*\/perf\//, "")
  }:${f.lineNumber + 1}`;
  byFrame.set(key, (byFrame.get(key) ?? 0) + us);
  total += us;
}
const top = [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 40);
console.error(`PROFILE total ${(total / 1e3).toFixed(0)} ms sampled`);
for (const [k, us] of top) {
  console.error(
    `PROFILE ${(us / 1e3).toFixed(1).padStart(8)} ms ${
      (100 * us / total).toFixed(1).padStart(5)
    }%  ${k}`,
  );
}
