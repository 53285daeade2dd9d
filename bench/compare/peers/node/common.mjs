// Shared by the Node peers of the side-by-side benchmark (bench/compare): flags, the payload
// pool, and the BEGIN/END protocol (flags in, "BEGIN" when the measured phase starts,
// "END {json}" when it is over, then wait for stdin to close so the harness can read /proc).
import { readFileSync } from "node:fs";

/**
 * Imports an npm package by a name Deno's module graph cannot see (`deno check bench/` runs
 * over this folder, and these packages live in bench/peers/node/node_modules, for Node only).
 */
export function load(name) {
  return import(name);
}

export function flags(argv = process.argv.slice(2)) {
  const o = {};
  for (let i = 0; i + 1 < argv.length; i += 2) {
    if (!argv[i].startsWith("--")) throw new TypeError(`bad flag ${argv[i]}`);
    o[argv[i].slice(2)] = argv[i + 1];
  }
  for (
    const k of [
      "records",
      "warmup",
      "size",
      "linger-ms",
      "batch-bytes",
      "in-flight",
      "buffer-bytes",
      "partitions",
    ]
  ) {
    if (k in o) o[k] = Number(o[k]);
  }
  o.idempotence = o.idempotence !== "false";
  return o;
}

export function payloads(file) {
  const data = readFileSync(file);
  const pool = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 10) {
      if (i > start) pool.push(data.subarray(start, i));
      start = i + 1;
    }
  }
  if (pool.length === 0) throw new RangeError("empty payload file");
  return pool;
}

export function begin() {
  process.stdout.write("BEGIN\n");
}

export function end(result) {
  const lat = result.latencies_us;
  const body = {
    records: result.records,
    bytes: result.bytes,
    elapsed_s: result.elapsed_s,
  };
  let json = JSON.stringify(body);
  if (lat) {
    json = json.slice(0, -1) +
      `,"latencies_us":[${lat.map((v) => v.toFixed(1)).join(",")}]}`;
  }
  process.stdout.write(`END ${json}\n`);
}

/** Resolves when the harness closes our stdin (after it has read /proc). */
export function awaitRelease() {
  return new Promise((resolve) => {
    process.stdin.on("data", () => {});
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
}

/** Runs `count` sends of `chunk` records each with at most `concurrency` in flight. */
export async function chunked(from, n, chunk, concurrency, sendChunk) {
  let next = from;
  const stop = from + n;
  async function worker() {
    while (next < stop) {
      const start = next;
      const end = Math.min(stop, start + chunk);
      next = end;
      await sendChunk(start, end);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export const now = () => performance.now() / 1000;

/**
 * The produce mode: `sendChunk(start, stop)` sends records start..stop-1 (payload i is
 * `pool[i % pool.length]`), in chunks of about `batch-bytes` with `in-flight` chunks at once;
 * the warm-up first, then the measured run.
 */
export async function timedChunks(o, sendChunk) {
  const chunk = Math.max(1, Math.floor(o["batch-bytes"] / o.size));
  const send = (from, n) => chunked(from, n, chunk, o["in-flight"], sendChunk);
  if (o.warmup > 0) await send(0, o.warmup);
  begin();
  const t0 = now();
  await send(o.warmup, o.records);
  end({ records: o.records, bytes: o.records * o.size, elapsed_s: now() - t0 });
}

/** The latency mode: `sendOne(i)` sends record i and resolves when it is acknowledged. */
export async function timedEach(o, sendOne) {
  const lat = new Float64Array(o.records);
  let t0 = 0;
  for (let i = 0; i < o.warmup + o.records; i++) {
    if (i === o.warmup) {
      begin();
      t0 = now();
    }
    const s = performance.now();
    await sendOne(i);
    if (i >= o.warmup) lat[i - o.warmup] = (performance.now() - s) * 1000;
  }
  end({
    records: o.records,
    bytes: o.records * o.size,
    elapsed_s: now() - t0,
    latencies_us: Array.from(lat),
  });
}

export async function main(run) {
  try {
    const o = flags();
    await run(o);
  } catch (e) {
    process.stderr.write(`peer failed: ${e?.stack ?? e}\n`);
    process.exit(1);
  }
  await awaitRelease();
  process.exit(0);
}

/**
 * The peer's entry point for the three modes. `consumeN(o, n, tag)` reads n records and
 * resolves with `{ elapsed, bytes }`; consume runs it for the warm-up, then measured.
 */
export function modes({ produce, latency, consumeN }) {
  const consume = async (o) => {
    if (o.warmup > 0) await consumeN(o, o.warmup, "w");
    begin();
    const { elapsed, bytes } = await consumeN(o, o.records, "m");
    end({ records: o.records, bytes, elapsed_s: elapsed });
  };
  return main(async (o) => {
    if (o.mode === "produce") await produce(o);
    else if (o.mode === "latency") await latency(o);
    else if (o.mode === "consume") await consume(o);
    else throw new TypeError(`unknown --mode ${o.mode}`);
  });
}
