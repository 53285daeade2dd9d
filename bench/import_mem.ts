/**
 * What importing a module of this library costs a fresh process: RSS and V8 heap before and
 * after a dynamic `import()`, in `runs` child processes, medians (bench/PROFILE.md, Session 16:
 * import footprint).
 *
 * ```sh
 * deno run -A bench/import_mem.ts [runs] [module ...]   # default: 15 runs of mod.ts, producer, consumer
 * ```
 *
 * @module
 */

const CHILD = "--child";

type Usage = Deno.MemoryUsage & { anon: number; file: number };

if (Deno.args[0] === CHILD) {
  const spec = Deno.args[1]!;
  // RSS split into anonymous and file-backed pages (the `deno` binary's code paged in).
  const split = () => {
    const s = Deno.readTextFileSync("/proc/self/status");
    const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
    return { ...Deno.memoryUsage(), anon: kib("RssAnon"), file: kib("RssFile") };
  };
  const before = split();
  await import(spec);
  const after = split();
  console.log(JSON.stringify({ before, after }));
} else {
  const runs = Number(Deno.args[0] ?? 15);
  const given = Deno.args.slice(1);
  const root = new URL("../", import.meta.url);
  const specs = given.length > 0
    ? given.map((m) => (m.startsWith("node:") ? m : new URL(m, root).href))
    : ["mod.ts", "producer/mod.ts", "consumer/mod.ts"].map((m) => new URL(m, root).href);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[s.length >> 1]!;
  };
  const mib = (n: number) => (n / 1048576).toFixed(1);
  for (const spec of specs) {
    const rows: { before: Usage; after: Usage }[] = [];
    for (let i = 0; i < runs; i++) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname, CHILD, spec],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      rows.push(JSON.parse(new TextDecoder().decode(out.stdout)));
    }
    const d = (k: keyof Usage) => median(rows.map((r) => r.after[k] - r.before[k]));
    const a = (k: keyof Usage) => median(rows.map((r) => r.after[k]));
    console.log(
      `${spec.replace(root.href, "")}: runs ${runs}, medians, MiB: ` +
        `rss +${mib(d("rss"))} (after ${mib(a("rss"))}, before ${
          mib(median(rows.map((r) => r.before.rss)))
        }; anon +${mib(d("anon"))}, file +${mib(d("file"))}), heapUsed +${
          mib(d("heapUsed"))
        }, heapTotal +${mib(d("heapTotal"))}, external +${mib(d("external"))}`,
    );
  }
}
