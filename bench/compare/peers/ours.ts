/**
 * The `ours` peer of the side-by-side benchmark: this project's producer and consumer, under
 * the same protocol as every other peer (flags in, `BEGIN` / `END {json}` on stdout, then wait
 * for stdin to close). What is not there yet answers `UNAVAILABLE <reason>` instead of
 * numbers. `--mode probe` prints `OK` when the producer can be benchmarked.
 *
 * Produce writes through `producer.writable` (the fast path: writes resolve once a record is
 * in a batch, and wait while the 32 MiB budget is full), then `flush()`; latency awaits
 * `producer.send()` per record; consume assigns every partition from the earliest offset (no
 * group, like the librdkafka and franz-go peers) and reads the stream record by record;
 * pipeline copies the input topic to `--output` as one expression,
 * `mapConsumer(consumer, copy).pipeTo(producer.sink({ consumer, guarantee: "exactly-once" }))`
 * (mapConsumer: the envelopes in batches of what the consumer has ready),
 * a transaction per `--transaction-ms` or `--transaction-records`, timed from the first record
 * to the commit of the last.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import type { KafkaError as KafkaErrorClass } from "../../../protocol/errors.ts";
import type { ProducerOptions, ProducerRecord } from "../../../producer/mod.ts";

type Flags = Record<string, string>;

function flags(argv: string[]): Flags {
  const o: Flags = {};
  for (let i = 0; i + 1 < argv.length; i += 2) o[argv[i]!.replace(/^--/, "")] = argv[i + 1]!;
  return o;
}

// Loaded dynamically so this file runs (and says what is missing) whatever the modules export.
// Under Node and Bun (`ours-node`, `ours-bun`) OURS_LIB names the npm build (a file URL ending
// in "/"), so they run what npm users get; this file itself runs there through type stripping.
const lib = process.env.OURS_LIB;
const modUrl = (m: string) => lib ? `${lib}${m}.js` : `../../../${m}.ts`;
const producerMod: Record<string, unknown> = await import(modUrl("producer/mod"));
const consumerMod: Record<string, unknown> = await import(modUrl("consumer/mod"));
const { KafkaError } = await import(modUrl("protocol/errors")) as {
  KafkaError: typeof KafkaErrorClass;
};

interface ProducerLike extends AsyncDisposable {
  readonly writable: WritableStream<ProducerRecord>;
  send(record: ProducerRecord): Promise<unknown>;
  flush(): Promise<void>;
  close(): Promise<void>;
  metrics(): { recordsFailed: number };
}
type ProducerCtor = new (options: ProducerOptions) => ProducerLike;

/**
 * The payload file, loaded once: its bytes and where each line starts and ends. `at(i)` is
 * payload `i % count`, a fresh view per call, the way a user's record carries a value of its
 * own. The pool keeps no view per payload: 83k long-lived views (P1's 100 B payloads in 8 MiB)
 * are ~10 MiB of heap, and their surviving the first scavenges grew V8's young generation by
 * ~25 MiB of peak RSS for the whole run (bench/PROFILE.md, "Session 14: peak RSS"). franz-go's
 * and librdkafka's peers hold what this one does: one buffer and a slice header (no object) or
 * a pointer per payload; the Node peers keep a view per payload, as this one did. The view per
 * record costs ~20 ns (~0.02 CPU s per million records on P1 and P6);
 * `OURS_PAYLOAD_VIEWS=pool` keeps one view per payload instead, as the peer did before, for
 * A/B runs.
 */
class Payloads {
  readonly count: number;
  readonly #buffer: ArrayBufferLike;
  readonly #offset: number;
  /** Start and end of payload k at 2k and 2k + 1. */
  readonly #bounds: Int32Array;
  /** One view per payload, only with `OURS_PAYLOAD_VIEWS=pool`. */
  readonly #views: Uint8Array[] | undefined;

  constructor(file: string) {
    const data: Uint8Array = readFileSync(file);
    const bounds: number[] = [];
    let start = 0;
    for (let i = 0; i <= data.length; i++) {
      if (i === data.length || data[i] === 10) {
        if (i > start) bounds.push(start, i);
        start = i + 1;
      }
    }
    this.#buffer = data.buffer;
    this.#offset = data.byteOffset;
    this.#bounds = Int32Array.from(bounds);
    this.count = bounds.length / 2;
    if (process.env.OURS_PAYLOAD_VIEWS === "pool") {
      this.#views = Array.from(
        { length: this.count },
        (_, k) => data.subarray(this.#bounds[2 * k]!, this.#bounds[2 * k + 1]!),
      );
    }
  }

  at(i: number): Uint8Array {
    if (this.#views) return this.#views[i % this.count]!;
    const k = (i % this.count) * 2;
    const start = this.#bounds[k]!;
    // A plain Uint8Array, as TextEncoder gives: `subarray` of node:fs's Buffer makes a
    // FastBuffer through Deno's Node layer, which showed in P6's profile.
    return new Uint8Array(this.#buffer, this.#offset + start, this.#bounds[k + 1]! - start);
  }
}

function end(records: number, bytes: number, elapsedS: number, lat?: Float64Array): void {
  let json = JSON.stringify({ records, bytes, elapsed_s: elapsedS });
  if (lat) {
    json = json.slice(0, -1) +
      `,"latencies_us":[${Array.from(lat, (v) => v.toFixed(1)).join(",")}]}`;
  }
  console.log(`END ${json}`);
}

async function awaitRelease(): Promise<void> {
  // The harness closes our stdin once it has read /proc.
  for await (const _ of process.stdin) { /* drain */ }
}

/** The producer settings every producing mode takes from the flags. */
function producerTuning(o: Flags) {
  return {
    lingerMs: Number(o["linger-ms"]),
    batchSize: Number(o["batch-bytes"]),
    bufferMemory: Number(o["buffer-bytes"]),
    maxInFlight: Number(o["in-flight"]),
    compression: o.compression as ProducerOptions["compression"] & string,
    allowAutoTopicCreation: false,
    // For profiling with and without the compression Worker (bench/profile.sh); unset, the
    // producer's default applies, as in bench:compare.
    ...(process.env.OURS_COMPRESSION_WORKERS
      ? { compressionWorkers: Number(process.env.OURS_COMPRESSION_WORKERS) }
      : {}),
  };
}

function producer(o: Flags): ProducerLike {
  const Producer = producerMod.Producer as ProducerCtor;
  return new Producer({
    brokers: [o.bootstrap!],
    clientId: "bench-ours",
    acks: o.acks === "all" ? "all" : 1,
    idempotent: o.idempotence === "true",
    ...producerTuning(o),
  });
}

/** One producing run: the producer, the flags, the payloads, and how many records. */
interface ProduceRun {
  p: ProducerLike;
  o: Flags;
  pool: Payloads;
  topic: string;
  n: number;
  warmup: number;
}

/** Runs one producing mode with a fresh producer, closed after it. */
async function withProducer(o: Flags, run: (r: ProduceRun) => Promise<void>): Promise<void> {
  const pool = new Payloads(o.payloads!);
  // try/finally rather than `await using`: Node 22 runs this file too.
  const p = producer(o);
  try {
    await run({ p, o, pool, topic: o.topic!, n: Number(o.records), warmup: Number(o.warmup) });
  } finally {
    await p.close();
  }
}

/**
 * Which user path the produce and consume modes take (bench/PROFILE.md, Session 11):
 * `OURS_PATH=pipeTo` pipes a ReadableStream of records into `producer.writable` (produce) or
 * the consumer into a WritableStream (consume); `for-await` and `pipeThrough` consume with
 * `for await` or through an identity TransformStream. Unset: the writer and reader loops
 * bench:compare measures.
 */
const path = process.env.OURS_PATH ?? "";

async function produceWith(run: ProduceRun): Promise<void> {
  if (path === "pipeTo") return await producePiped(run);
  const { p, pool, topic } = run;
  const writer = p.writable.getWriter();
  const send = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      if (writer.desiredSize === null || writer.desiredSize <= 0) await writer.ready;
      // Failures error the stream (and so the next `ready`) and fail the flush check below.
      writer.write({ topic, value: pool.at(i) });
    }
    await p.flush();
    if (p.metrics().recordsFailed > 0) throw new KafkaError("some records failed");
  };
  await measured(send, run);
  writer.releaseLock();
}

/** Sends `warmup` records, prints BEGIN, sends `n` timed ones, prints END. */
async function measured(
  send: (from: number, count: number) => Promise<void>,
  { o, n, warmup }: ProduceRun,
): Promise<void> {
  if (warmup > 0) await send(0, warmup);
  console.log("BEGIN");
  const t0 = performance.now();
  await send(warmup, n);
  end(n, n * Number(o.size), (performance.now() - t0) / 1000);
}

/**
 * The source stream `OURS_PATH=pipeTo` pipes into the producer: one with a queue
 * (`highWaterMark`) of 1,024 records, or of `OURS_PIPE_QUEUE` records; `OURS_PIPE_QUEUE=from`
 * makes it with `ReadableStream.from` over a generator instead (bench/PROFILE.md, Session 14:
 * the produce pipe).
 */
const pipeSourceQueue = process.env.OURS_PIPE_QUEUE ?? "1024";

/** produceWith through `source.pipeTo(producer.writable)`: the source has records ready. */
async function producePiped(run: ProduceRun): Promise<void> {
  const { p, pool, topic } = run;
  const send = async (from: number, count: number) => {
    let i = from;
    function* records(): Generator<ProducerRecord> {
      for (; i < from + count; i++) yield { topic, value: pool.at(i) };
    }
    const source = pipeSourceQueue === "from"
      ? ReadableStream.from(records())
      : new ReadableStream<ProducerRecord>({
        pull(c) {
          while ((c.desiredSize ?? 0) > 0 && i < from + count) {
            c.enqueue({ topic, value: pool.at(i) });
            i++;
          }
          if (i === from + count) c.close();
        },
      }, { highWaterMark: Number(pipeSourceQueue) });
    await source.pipeTo(p.writable, { preventClose: true });
    await p.flush();
    if (p.metrics().recordsFailed > 0) throw new KafkaError("some records failed");
  };
  await measured(send, run);
}

async function latencyWith({ p, o, pool, topic, n, warmup }: ProduceRun): Promise<void> {
  const lat = new Float64Array(n);
  let t0 = 0;
  for (let i = 0; i < warmup + n; i++) {
    if (i === warmup) {
      console.log("BEGIN");
      t0 = performance.now();
    }
    const s = performance.now();
    await p.send({ topic, value: pool.at(i) });
    if (i >= warmup) lat[i - warmup] = (performance.now() - s) * 1000;
  }
  end(n, n * Number(o.size), (performance.now() - t0) / 1000, lat);
}

interface ConsumerLike
  extends ReadableStream<{ value: Uint8Array | null; key: Uint8Array | null }> {
  assign(partitions: { topic: string; partition: number; offset: "earliest" }[]): void;
  close(): Promise<void>;
}
type ConsumerCtor = new (options: Record<string, unknown>) => ConsumerLike;

/** Reads n records from the start of every partition with a fresh consumer (no group). */
async function consumeN(o: Flags, n: number): Promise<number> {
  const Consumer = consumerMod.Consumer as ConsumerCtor;
  const c = new Consumer({
    brokers: [o.bootstrap!],
    clientId: "bench-ours",
    fetchMaxBytes: 52_428_800,
    maxPartitionFetchBytes: Number(process.env.OURS_MAX_PARTITION_FETCH_BYTES ?? 1_048_576),
    isolationLevel: "read_uncommitted",
    // A/B of the consumer's fetch sizes and budget (bench/ab.ts AB_ENV_*); bench:compare
    // leaves them as above and at their defaults.
    ...(process.env.OURS_FETCH_CONCURRENCY
      ? { fetchConcurrency: Number(process.env.OURS_FETCH_CONCURRENCY) }
      : {}),
    ...(process.env.OURS_MAX_BUFFERED_BYTES
      ? { maxBufferedBytes: Number(process.env.OURS_MAX_BUFFERED_BYTES) }
      : {}),
    ...(process.env.OURS_GC_HEADROOM_BYTES
      ? { gcHeadroomBytes: Number(process.env.OURS_GC_HEADROOM_BYTES) }
      : {}),
  });
  try {
    const parts = Number(o.partitions);
    c.assign(Array.from({ length: parts }, (_, partition) => ({
      topic: o.topic!,
      partition,
      offset: "earliest" as const,
    })));
    const t0 = performance.now();
    let count = 0;
    let bytes = 0;
    if (path !== "") {
      bytes = await consumeVia(c, n);
      const elapsed = (performance.now() - t0) / 1000;
      if (bytes < 0) console.error(bytes);
      return elapsed;
    }
    const reader = c.getReader();
    while (count < n) {
      const { done, value } = await reader.read();
      if (done) throw new KafkaError(`the stream ended after ${count} of ${n} records`);
      count++;
      bytes += (value.value?.length ?? 0) + (value.key?.length ?? 0);
    }
    const elapsed = (performance.now() - t0) / 1000;
    reader.releaseLock();
    if (bytes < 0) console.error(bytes); // keeps `bytes` observable
    return elapsed;
  } finally {
    await c.close();
  }
}

interface PipelineProducer extends ProducerLike {
  sink(options: Record<string, unknown>): WritableStream<unknown>;
}
type MapConsumer = (
  consumer: ReadableStream<unknown>,
  fn: (r: { key: Uint8Array | null; value: Uint8Array | null }) => unknown,
) => ReadableStream<unknown>;

/**
 * Copies the input (from the start, a new group) to the output through an exactly-once
 * pipeline until the group has committed `n` records; returns the seconds from the first
 * record to that commit.
 */
type KeyValue = { value: Uint8Array | null; key: Uint8Array | null };

/** consumeN's loop through `for await`, `pipeTo` or `pipeThrough` (OURS_PATH); the bytes. */
async function consumeVia(c: ConsumerLike, n: number): Promise<number> {
  let count = 0;
  let bytes = 0;
  if (path === "for-await") {
    for await (const r of c) {
      bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
      if (++count === n) break; // cancels the consumer, as close() would
    }
    return bytes;
  }
  const stop = new AbortController();
  const count1 = (r: KeyValue) => {
    bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
    if (++count === n) stop.abort();
  };
  try {
    if (path === "pipeTo") {
      await c.pipeTo(new WritableStream({ write: count1 }), { signal: stop.signal });
    } else if (path === "pipeThrough") {
      const values = c.pipeThrough(
        new TransformStream<KeyValue, KeyValue>({
          transform: (r, t) => t.enqueue(r),
        }),
        { signal: stop.signal },
      );
      for await (const r of values) count1(r);
    } else throw new TypeError(`unknown OURS_PATH ${path}`);
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
  if (count < n) throw new KafkaError(`the stream ended after ${count} of ${n} records`);
  return bytes;
}

async function pipelineN(o: Flags, n: number, tag: string): Promise<number> {
  const Consumer = consumerMod.Consumer as ConsumerCtor;
  const Producer = producerMod.Producer as new (options: ProducerOptions) => PipelineProducer;
  const mapConsumer = producerMod.mapConsumer as MapConsumer;
  const id = `bench-ours-${tag}-${Date.now()}`;
  const consumer = new Consumer({
    brokers: [o.bootstrap!],
    clientId: "bench-ours",
    groupId: id,
    topics: [o.topic!],
    autoCommit: false,
    autoOffsetReset: "earliest",
    isolationLevel: "read_committed",
    fetchMaxBytes: 52_428_800,
    maxPartitionFetchBytes: 1_048_576,
  });
  const p = new Producer({
    brokers: [o.bootstrap!],
    clientId: "bench-ours",
    defaultTopic: o.output!,
    acks: "all",
    idempotent: true,
    ...producerTuning(o),
    transactionalId: id,
  });
  const stop = new AbortController();
  const committed = new Map<number, bigint>();
  let t0 = 0;
  let elapsed = 0;
  let bytes = 0;
  const sink = p.sink({
    consumer,
    guarantee: "exactly-once",
    transactionMs: Number(o["transaction-ms"]),
    transactionRecords: Number(o["transaction-records"]),
    onCommit: (offsets: { partition: number; offset: bigint }[]) => {
      for (const x of offsets) committed.set(x.partition, x.offset);
      let sum = 0n;
      for (const v of committed.values()) sum += v;
      if (sum >= BigInt(n) && elapsed === 0) {
        elapsed = (performance.now() - t0) / 1000;
        stop.abort();
      }
    },
  });
  try {
    await mapConsumer(consumer, (r) => {
      if (t0 === 0) t0 = performance.now();
      bytes += r.value?.length ?? 0; // touches every value, as every peer does
      return { value: r.value };
    }).pipeTo(sink, { signal: stop.signal });
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  } finally {
    await p.close();
    await consumer.close();
  }
  if (bytes < 0) console.error(bytes);
  return elapsed;
}

async function pipeline(o: Flags): Promise<void> {
  const n = Number(o.records);
  const warmup = Number(o.warmup);
  if (warmup > 0) await pipelineN(o, warmup, "w");
  console.log("BEGIN");
  const elapsed = await pipelineN(o, n, "m");
  end(n, n * Number(o.size), elapsed);
}

async function consume(o: Flags): Promise<void> {
  const n = Number(o.records);
  const warmup = Number(o.warmup);
  if (warmup > 0) await consumeN(o, warmup);
  console.log("BEGIN");
  const elapsed = await consumeN(o, n);
  end(n, n * Number(o.size), elapsed);
}

const o = flags(process.argv.slice(2));
const missing = (mod: Record<string, unknown>, name: string) => typeof mod[name] !== "function";

if (o.mode === "probe") {
  console.log(
    missing(producerMod, "Producer")
      ? "UNAVAILABLE not yet available: producer/mod.ts exports no Producer"
      : "OK",
  );
} else if (o.mode === "pipeline" && missing(producerMod, "mapConsumer")) {
  console.log("UNAVAILABLE not yet available: producer/mod.ts exports no mapConsumer");
} else if (o.mode === "consume" && missing(consumerMod, "Consumer")) {
  console.log("UNAVAILABLE not yet available: consumer/mod.ts exports no Consumer");
} else if (o.mode !== "consume" && missing(producerMod, "Producer")) {
  console.log("UNAVAILABLE not yet available: producer/mod.ts exports no Producer");
} else if (o.mode === "produce") {
  await withProducer(o, produceWith);
  await awaitRelease();
} else if (o.mode === "latency") {
  await withProducer(o, latencyWith);
  await awaitRelease();
} else if (o.mode === "consume") {
  await consume(o);
  await awaitRelease();
} else if (o.mode === "pipeline") {
  await pipeline(o);
  await awaitRelease();
} else {
  console.log(`UNAVAILABLE not yet wired: the harness does not drive mode ${o.mode} yet`);
}
