/**
 * Runs the `ours` bench peer (bench/compare/peers/ours.ts, same flags) while sampling
 * `Deno.memoryUsage()` every 20 ms, then prints where the peak resident memory was: RSS,
 * V8 heap (committed and used) and external (ArrayBuffer) memory at the RSS peak and each
 * one's own peak. Used for bench/PROFILE.md's memory section.
 *
 * @module
 */

type Sample = ReturnType<typeof Deno.memoryUsage>;
let peak: Sample = Deno.memoryUsage();
const max = { heapTotal: 0, heapUsed: 0, external: 0 };
const timer = setInterval(() => {
  const m = Deno.memoryUsage();
  if (m.rss > peak.rss) peak = m;
  max.heapTotal = Math.max(max.heapTotal, m.heapTotal);
  max.heapUsed = Math.max(max.heapUsed, m.heapUsed);
  max.external = Math.max(max.external, m.external);
}, 20);
await import("./compare/peers/ours.ts");
clearInterval(timer);
const mib = (n: number) => (n / 1048576).toFixed(0);
console.error(
  `MEM at rss peak: rss ${mib(peak.rss)} heapTotal ${mib(peak.heapTotal)} heapUsed ${
    mib(peak.heapUsed)
  } external ${mib(peak.external)} MiB; own peaks: heapTotal ${mib(max.heapTotal)} heapUsed ${
    mib(max.heapUsed)
  } external ${mib(max.external)} MiB`,
);
