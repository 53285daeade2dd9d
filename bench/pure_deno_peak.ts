/**
 * Peak RSS and CPU of a plain Deno producer that loads no `node:` module of its own (the bench
 * peer loads `node:fs` and `node:process`, which hide what `node:zlib` costs the library), A/B
 * between two checkouts, interleaved (A, B, B, A, ...) (bench/PROFILE.md, Session 16: import
 * footprint). 100-byte records through `producer.writable`, `acks=1`, no compression.
 *
 * ```sh
 * KAFKA_PORT_OFFSET=700 deno run -A bench/pure_deno_peak.ts <dir A> <dir B> [records] [pairs]
 * ```
 *
 * @module
 */

const CHILD = "--child";

function status(): Record<string, number> {
  const o: Record<string, number> = {};
  for (const l of Deno.readTextFileSync("/proc/self/status").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) o[m[1]!] = Number(m[2]) / 1024;
  }
  return o;
}

function cpuSeconds(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ 100
}

if (Deno.args[0] === CHILD) {
  const [, dir, boot, topic, recordsArg] = Deno.args;
  const n = Number(recordsArg);
  const atStart = status().VmRSS!;
  const { Producer } = await import(`${dir}/producer/mod.ts`);
  const afterImport = status().VmRSS!;
  const p = new Producer({ brokers: [boot], clientId: "pure-deno-peak", acks: 1 });
  const value = new TextEncoder().encode("x".repeat(100));
  const w = p.writable.getWriter();
  const cpu0 = cpuSeconds();
  for (let i = 0; i < n; i++) {
    await w.ready;
    w.write({ topic, value });
  }
  await w.ready;
  w.releaseLock();
  await p.flush();
  const cpu = cpuSeconds() - cpu0;
  await p.close();
  const s = status();
  console.log(JSON.stringify({ atStart, afterImport, peak: s.VmHWM, cpu }));
} else {
  const [dirA, dirB, recordsArg, pairsArg] = Deno.args;
  const n = Number(recordsArg ?? 1_000_000);
  const pairs = Number(pairsArg ?? 5);
  const state = JSON.parse(Deno.readTextFileSync(".kafka/state/single.json"));
  const boot: string = state.listeners.PLAINTEXT.split(",")[0];
  const abs = (d: string) => Deno.realPathSync(d);
  const sides = { A: abs(dirA!), B: abs(dirB!) };
  const rows: Record<"A" | "B", { afterImport: number; peak: number; cpu: number }[]> = {
    A: [],
    B: [],
  };
  for (let i = 0; i < pairs; i++) {
    const order: ("A" | "B")[] = i % 2 === 0 ? ["A", "B"] : ["B", "A"];
    for (const side of order) {
      const topic = `pure-deno-peak-${Date.now()}-${side}`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          CHILD,
          sides[side],
          boot,
          topic,
          `${n}`,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      rows[side].push(r);
      console.log(
        `${side}${i + 1}: after import ${r.afterImport.toFixed(1)} MiB, peak ${
          r.peak.toFixed(1)
        } MiB, cpu ${r.cpu.toFixed(2)} s`,
      );
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  let lower = 0;
  for (let i = 0; i < pairs; i++) if (rows.B[i]!.peak < rows.A[i]!.peak) lower++;
  for (const side of ["A", "B"] as const) {
    const r = rows[side];
    console.log(
      `${side} median: after import ${med(r.map((x) => x.afterImport)).toFixed(1)} MiB, peak ${
        med(r.map((x) => x.peak)).toFixed(1)
      } MiB, cpu ${med(r.map((x) => x.cpu)).toFixed(2)} s`,
    );
  }
  console.log(`B peak lower than A in ${lower}/${pairs} pairs`);
}
