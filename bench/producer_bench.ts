/**
 * Producer throughput and latency, ours beside the Java client's ProducerPerformance from the
 * broker's jars, same broker, same run. Not a test: prints JSON.
 *
 *   deno run -A bench/producer_bench.ts [--records 1000000] [--sends 10000] [--no-java]
 *                                       [--bootstrap host:port]
 *
 * Scenarios: 1M × 100 B and 1M × 1 KiB with acks=all, linger 5 ms, batch 1 MiB (the settings
 * of the ProducerPerformance command line in the issue), through `send()` without awaiting
 * each and through `writable` (pipeTo), each with the default idle flush and with
 * `lingerWhenIdle: true` (Java's linger semantics), to show that idle flush costs no
 * throughput; then the p50/p99 of awaited single sends with the default options, with
 * `lingerWhenIdle: true`, and with linger 0. Also `deno bench bench/producer_bench.ts` runs
 * the accumulator and partitioner hot paths without a broker.
 */

import { Producer, type ProducerRecord } from "../producer/mod.ts";
import { Accumulator } from "../producer/accumulator.ts";
import { PartitionState, TopicState } from "../producer/batch.ts";
import { RecordClock } from "../producer/clock.ts";
import { Deliveries } from "../producer/delivery.ts";
import { ProducerWritable, WriteQueue } from "../producer/writable.ts";
import { Intake } from "../producer/intake.ts";
import type { ProducerMetadata } from "../producer/metadata.ts";
import { resolveProducerOptions } from "../producer/options.ts";
import { javaPartitionForKey, murmur2 } from "../producer/partitioners.ts";
import { RecordBatchBuilder } from "../protocol/record_batch_builder.ts";

function arg(name: string, dflt: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1]! : dflt;
}

async function javaPerf(bootstrap: string, topic: string, n: number, size: number) {
  const jars = new URL("../.kafka/jars/4.3.1/libs/", import.meta.url).pathname;
  const out = await new Deno.Command("java", {
    args: [
      "-cp",
      `${jars}*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(n),
      "--record-size",
      String(size),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${bootstrap}`,
      "acks=all",
      "linger.ms=5",
      "batch.size=1048576",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.trim().split("\n").at(-1) ?? "";
  const m = /([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency.*?(\d+) ms 50th/
    .exec(
      line,
    );
  return m
    ? {
      recordsPerSec: Math.round(Number(m[1])),
      mbPerSec: Number(m[2]),
      p50LatencyMs: Number(m[4]),
    }
    : { error: line || new TextDecoder().decode(out.stderr).slice(-500) };
}

/** A producer with the Java comparison's settings, after one warm-up send. */
async function warmProducer(bootstrap: string, topic: string, lingerWhenIdle: boolean) {
  const p = new Producer({
    brokers: [bootstrap],
    defaultTopic: topic,
    acks: "all",
    lingerMs: 5,
    lingerWhenIdle,
    batchSize: 1 << 20,
  });
  await p.send({ value: "warm-up" });
  return p;
}

async function oursSend(
  bootstrap: string,
  topic: string,
  n: number,
  size: number,
  lingerWhenIdle: boolean,
) {
  await using p = await warmProducer(bootstrap, topic, lingerWhenIdle);
  const value = new Uint8Array(size).fill(0x61);
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    pending.push(p.send({ value }));
    // Keep the caller honest: yield now and then so the sender can run.
    if ((i & 0x3fff) === 0) await Promise.resolve();
  }
  await Promise.all(pending);
  const s = (performance.now() - t0) / 1000;
  return { recordsPerSec: Math.round(n / s), mbPerSec: +((n * size) / s / 1048576).toFixed(2) };
}

async function oursStream(
  bootstrap: string,
  topic: string,
  n: number,
  size: number,
  lingerWhenIdle: boolean,
) {
  await using p = await warmProducer(bootstrap, topic, lingerWhenIdle);
  const value = new Uint8Array(size).fill(0x62);
  let i = 0;
  const source = new ReadableStream<ProducerRecord>({
    pull(c) {
      for (let k = 0; k < 512 && i < n; k++, i++) c.enqueue({ value });
      if (i >= n) c.close();
    },
  }, { highWaterMark: 0 });
  const t0 = performance.now();
  await source.pipeTo(p.writable); // resolves once every record is acknowledged
  const s = (performance.now() - t0) / 1000;
  const m = p.metrics();
  return {
    recordsPerSec: Math.round(n / s),
    mbPerSec: +((n * size) / s / 1048576).toFixed(2),
    maxBufferedBytes: m.maxBufferedBytes,
    requests: m.requestsSent,
    idleFlushes: m.idleFlushes,
  };
}

async function latency(
  bootstrap: string,
  topic: string,
  count: number,
  options: { lingerMs?: number; lingerWhenIdle?: boolean } = {},
) {
  await using p = new Producer({ brokers: [bootstrap], defaultTopic: topic, ...options });
  for (let i = 0; i < 200; i++) await p.send({ value: "warm-up" });
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await p.send({ value: "x".repeat(100) });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (f: number) => +times[Math.floor(f * (times.length - 1))]!.toFixed(3);
  return { p50Ms: q(0.5), p99Ms: q(0.99), count };
}

if (import.meta.main) {
  const bootstrap = arg("bootstrap", "127.0.0.1:9092");
  const n = Number(arg("records", "1000000"));
  const sends = Number(arg("sends", "10000"));
  const java = !Deno.args.includes("--no-java");
  const run = `pbench-${crypto.randomUUID().slice(0, 8)}`;
  const results: Record<string, unknown> = {
    records: n,
    settings: "acks=all linger.ms=5 batch.size=1MiB, 1 partition (auto-created)",
  };
  for (const size of [100, 1024]) {
    const row: Record<string, unknown> = {};
    if (java) row.java = await javaPerf(bootstrap, `${run}-java-${size}`, n, size);
    row.oursSend = await oursSend(bootstrap, `${run}-send-${size}`, n, size, false);
    row.oursSendLingerWhenIdle = await oursSend(bootstrap, `${run}-sendj-${size}`, n, size, true);
    row.oursStream = await oursStream(bootstrap, `${run}-stream-${size}`, n, size, false);
    row.oursStreamLingerWhenIdle = await oursStream(
      bootstrap,
      `${run}-streamj-${size}`,
      n,
      size,
      true,
    );
    results[`${size}B`] = row;
    console.error(JSON.stringify({ [`${size}B`]: row }));
  }
  results.awaitedSingleSendDefaults = await latency(bootstrap, `${run}-lat`, sends);
  results.awaitedSingleSendLingerWhenIdle = await latency(bootstrap, `${run}-latj`, 500, {
    lingerWhenIdle: true,
  });
  results.awaitedSingleSendLinger0 = await latency(bootstrap, `${run}-lat0`, sends, {
    lingerMs: 0,
  });
  console.log(JSON.stringify(results, null, 2));
}

// `deno bench bench/producer_bench.ts`: hot paths without a broker.
if (!import.meta.main && typeof Deno.bench === "function") {
  const keys = Array.from({ length: 1024 }, (_, i) => new TextEncoder().encode(`user-${i}`));
  const value = new Uint8Array(100);
  Deno.bench("partitioner: murmur2 of a 9-byte key", () => {
    for (const k of keys) murmur2(k);
  });
  Deno.bench("partitioner: Java partitionForKey, 12 partitions", () => {
    for (const k of keys) javaPartitionForKey(k, 12);
  });
  Deno.bench("accumulator: append 1024 × 100 B records into one batch", () => {
    const b = new RecordBatchBuilder({ initialCapacity: 1 << 20 });
    const now = Date.now();
    for (const k of keys) b.append(now, k, value);
    b.finish();
  });

  // The stream write path without a broker: Intake.write → partitioner → Accumulator.append,
  // 16,384 keyless 100 B records into a topic whose metadata is known (P1: 4 partitions; P6:
  // 256). A fresh accumulator per iteration, so the budget never fills.
  const options = resolveProducerOptions({
    brokers: ["127.0.0.1:1"],
    lingerMs: 5,
    batchSize: 1 << 20,
    bufferMemory: 1 << 30,
  });
  const hooks = { wake() {}, opened() {}, lost() {} };
  /** An intake over one ready topic of `partitions` partitions, without a broker. */
  const newIntake = (partitions: number): Intake => {
    const topic = new TopicState("t", options.batchSize);
    topic.partitions = Array.from({ length: partitions }, (_, i) => new PartitionState(topic, i));
    topic.available = topic.partitions.map((_, i) => i);
    topic.ready = true;
    const metadata = { topic: () => topic } as unknown as ProducerMetadata;
    return new Intake({
      options,
      metadata,
      accumulator: new Accumulator(options, 0, hooks, null),
      deliveries: new Deliveries(),
      partitioner: null,
      transactions: undefined,
      host: { refusal: () => undefined },
    });
  };
  const intakeRun = (partitions: number) => () => {
    const intake = newIntake(partitions);
    for (let i = 0; i < 16_384; i++) intake.write({ topic: "t", value });
    intake.stop();
  };
  Deno.bench("intake: 16,384 stream writes of 100 B, 4 partitions", intakeRun(4));
  Deno.bench("intake: 16,384 stream writes of 100 B, 256 partitions", intakeRun(256));

  // The same through the producer's writable, written as the bench peer writes (wait on
  // `ready` only when desiredSize is 0): the standard writer (every record through the
  // stream's queue and its promises) against the one `getWriter()` returns (records straight
  // to the intake while the stream is idle).
  const writerRun = (direct: boolean) => async () => {
    const intake = newIntake(4);
    const queue = new WriteQueue();
    const stream = new ProducerWritable(
      {
        write: (r) => {
          queue.taken(r);
          return intake.write(r);
        },
      },
      queue,
      (r) => intake.offer(r),
      { open: true },
    );
    const writer = direct ? stream.getWriter() : new WritableStreamDefaultWriter(stream);
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < 16_384; i++) {
      if (writer.desiredSize! <= 0) await writer.ready;
      last = writer.write({ topic: "t", value });
    }
    await last;
    writer.releaseLock();
    intake.stop();
  };
  Deno.bench("writer: 16,384 writes of 100 B, standard writer", {
    group: "writer",
    baseline: true,
  }, writerRun(false));
  Deno.bench("writer: 16,384 writes of 100 B, getWriter() (direct)", {
    group: "writer",
  }, writerRun(true));

  // Record timestamps: one Date.now() per record against the producer's coarse clock.
  const clock = new RecordClock();
  Deno.bench("clock: 1024 × Date.now()", { group: "clock", baseline: true }, () => {
    let s = 0;
    for (let i = 0; i < 1024; i++) s += Date.now();
    if (s === 0) throw new Error("unreachable");
  });
  Deno.bench("clock: 1024 × RecordClock.now()", { group: "clock" }, () => {
    let s = 0;
    for (let i = 0; i < 1024; i++) s += clock.now();
    if (s === 0) throw new Error("unreachable");
  });
}
