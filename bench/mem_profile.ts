/**
 * Runs the `ours` bench peer (bench/compare/peers/ours.ts, same flags) while sampling
 * `Deno.memoryUsage()` and `/proc/self/status` every 20 ms, then prints where the peak resident
 * memory was: RSS (anonymous and file-backed: the `deno` binary's mapped code), V8 heap
 * (committed and used, and per space) and external (ArrayBuffer) memory at the RSS peak and
 * each one's own peak. `MEM_TIMELINE=<file>` also writes every sample (ms, rss, anon, heapTotal, heapUsed,
 * external, in KiB) as CSV. Used for bench/PROFILE.md's memory sections.
 *
 * @module
 */

import { getHeapSpaceStatistics } from "node:v8";

type Sample = ReturnType<typeof Deno.memoryUsage> & {
  anon: number;
  file: number;
  t: number;
  /** V8's heap spaces with anything committed: name, committed and used bytes. */
  spaces: [string, number, number][];
};
const t0 = performance.now();
const statusKb = (text: string, key: string) => {
  const i = text.indexOf(key);
  return i < 0 ? 0 : parseInt(text.slice(i + key.length + 1), 10) * 1024;
};
const sample = (): Sample => {
  const status = Deno.readTextFileSync("/proc/self/status");
  return {
    ...Deno.memoryUsage(),
    anon: statusKb(status, "RssAnon:"),
    file: statusKb(status, "RssFile:"),
    t: performance.now() - t0,
    spaces: getHeapSpaceStatistics()
      .filter((s) => s.space_size > 0)
      .map((s) => [s.space_name, s.space_size, s.space_used_size]),
  };
};
let peak: Sample = sample();
const max = { heapTotal: 0, heapUsed: 0, external: 0 };
const timeline: Sample[] = [];
const keep = Deno.env.get("MEM_TIMELINE");
const timer = setInterval(() => {
  const m = sample();
  if (keep) timeline.push(m);
  if (m.rss > peak.rss) peak = m;
  max.heapTotal = Math.max(max.heapTotal, m.heapTotal);
  max.heapUsed = Math.max(max.heapUsed, m.heapUsed);
  max.external = Math.max(max.external, m.external);
}, 20);
await import("./compare/peers/ours.ts");
clearInterval(timer);
const mib = (n: number) => (n / 1048576).toFixed(0);
console.error(
  `MEM at rss peak: rss ${mib(peak.rss)} (anon ${mib(peak.anon)} file ${
    mib(peak.file)
  }) heapTotal ${mib(peak.heapTotal)} heapUsed ${mib(peak.heapUsed)} external ${
    mib(peak.external)
  } MiB; own peaks: heapTotal ${mib(max.heapTotal)} heapUsed ${mib(max.heapUsed)} external ${
    mib(max.external)
  } MiB`,
);
console.error(
  `MEM heap spaces at rss peak (committed/used MiB): ${
    peak.spaces.map(([n, c, u]) => `${n} ${(c / 1048576).toFixed(1)}/${(u / 1048576).toFixed(1)}`)
      .join(", ")
  }`,
);
if (keep) {
  const kib = (n: number) => Math.round(n / 1024);
  Deno.writeTextFileSync(
    keep,
    "ms,rss,anon,heapTotal,heapUsed,external\n" +
      timeline.map((s) =>
        [
          Math.round(s.t),
          kib(s.rss),
          kib(s.anon),
          kib(s.heapTotal),
          kib(s.heapUsed),
          kib(s.external),
        ].join(",")
      ).join("\n") + "\n",
  );
}
