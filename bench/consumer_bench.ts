/**
 * Consumer benchmarks.
 *
 * - `deno bench bench/consumer_bench.ts` (and `deno task bench`): the consumer's own hot path
 *   without a broker: record batches turned into reader records, and those records through
 *   the stream to a reader.
 * - `deno run -A bench/consumer_bench.ts [--records N] [--rounds N]`: catch-up consume
 *   against the test bed's broker, this consumer next to Java's `ConsumerPerformance` on the
 *   same topics in the same run: 1M x 100 B and 1M x 1 KiB (4 partitions, filled once by
 *   Java's `ProducerPerformance`). Java gets a warm-up call in the same JVM; both report the
 *   time from the first fetch to the last record (Java's `fetch.nMsg.sec`, which leaves out
 *   its group join). Medians over the rounds, clients alternating.
 *
 * @module
 */

import { createTopic, deleteTopic } from "./compare/topics.ts";
import { Consumer, type ConsumerRecord } from "../consumer/mod.ts";
import { batchRecords, Chunk, recordMaker, scanBatches } from "../consumer/chunk.ts";
import { ByteBudget } from "../consumer/budget.ts";
import { FetchBuffer } from "../consumer/fetch_buffer.ts";
import { resolveConsumerOptions } from "../consumer/options.ts";
import { PartitionState } from "../consumer/partition_state.ts";
import { FetchSession, type SessionPartition } from "../consumer/fetch_session.ts";
import { directIterator, DirectReader, pipeCounting } from "../consumer/readers.ts";
import { KafkaError } from "../protocol/errors.ts";
import { RecordBatchBuilder } from "../protocol/record_batch_builder.ts";
import { decodeRecordBatches, decodeRecordBatchWith } from "../protocol/record_batch_decoder.ts";

// ----------------------------------------------------------------------------------------
// Micro: no broker

function makeBatch(n: number, size: number): Uint8Array {
  const b = new RecordBatchBuilder({ initialCapacity: n * (size + 16) });
  const value = new Uint8Array(size).fill(65);
  for (let i = 0; i < n; i++) b.append(1_700_000_000_000 + i, null, value);
  return b.finish();
}

const BATCHES = { "100 B": makeBatch(1000, 100), "1 KiB": makeBatch(1000, 1024) };

for (const [label, bytes] of Object.entries(BATCHES)) {
  Deno.bench(`consumer records 1000 x ${label}`, { group: `records ${label}` }, () => {
    const batch = decodeRecordBatches(bytes).batches[0]!;
    const out: ConsumerRecord[] = [];
    batchRecords(batch, "topic", 0, 0n, -1n, out);
    if (out.length !== 1000) throw new KafkaError("bad batch");
  });
}

for (const [label, bytes] of Object.entries(BATCHES)) {
  const make = recordMaker("topic", 0);
  Deno.bench(
    `consumer records 1000 x ${label}, straight from the bytes`,
    { group: `records ${label}` },
    () => {
      const out = decodeRecordBatchWith(bytes, true, 1 << 30, make.make).records;
      make.forget();
      if (out.length !== 1000) throw new KafkaError("bad batch");
    },
  );
}

const STREAM_BATCH: ConsumerRecord[] = [];
batchRecords(decodeRecordBatches(BATCHES["100 B"]).batches[0]!, "topic", 0, 0n, -1n, STREAM_BATCH);

Deno.bench("consumer stream 100 x 1000 records (batch enqueue, record reads)", async () => {
  let batches = 0;
  const stream = new ReadableStream<ConsumerRecord>({
    pull(c) {
      for (const r of STREAM_BATCH) c.enqueue(r);
      if (++batches === 100) c.close();
    },
  }, { highWaterMark: 0 });
  let n = 0;
  for await (const _ of stream) n++;
  if (n !== 100_000) throw new KafkaError("short read");
});

/**
 * 100 batches of 1000 records read one at a time, as `getReader()` and `for await` read the
 * consumer: through the stream, one record per pull (what the consumer did before session 10:
 * a pull per record, the stream's read request and queue), against the {@linkcode DirectReader}
 * taking ready records straight from the batch (the stream is pulled once per batch).
 */
function oneByOne(direct: boolean) {
  return async () => {
    let batches = 0;
    let cur: ConsumerRecord[] = [];
    let next = 0;
    const stream = new ReadableStream<ConsumerRecord>({
      pull(c) {
        if (next === cur.length) {
          if (batches === 100) return c.close();
          batches++;
          cur = STREAM_BATCH;
          next = 0;
        }
        c.enqueue(cur[next++]!);
      },
    }, { highWaterMark: 0 });
    const reader = direct
      ? new DirectReader(stream, () => next < cur.length ? cur[next++] : undefined, () => true)
      : stream.getReader();
    let n = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      n++;
    }
    if (n !== 100_000) throw new KafkaError(`short read ${n}`);
  };
}

Deno.bench("consumer read 100 x 1000 records: one per pull", { group: "read" }, oneByOne(false));
Deno.bench("consumer read 100 x 1000 records: DirectReader", { group: "read" }, oneByOne(true));

/**
 * The consumer's pipe (`pipeTo`/`pipeThrough`, readers.ts `pipeCounting`) of 100 batches of
 * 1000 records into a no-op sink, each record counted once its write resolved: records read
 * from the stream's queue (whole batches enqueued, as the pull hands them to a counting reader)
 * against records taken straight from the buffer (`FetchBuffer.nextRecord`, session 14).
 */
function piped(direct: boolean) {
  return async () => {
    let batches = 0;
    let cur: ConsumerRecord[] = [];
    let next = 0;
    let took = 0;
    const stream = new ReadableStream<ConsumerRecord>({
      pull(c) {
        if (batches === 100) return c.close();
        batches++;
        if (direct) {
          cur = STREAM_BATCH;
          next = 0;
          c.enqueue(cur[next++]!);
        } else for (const r of STREAM_BATCH) c.enqueue(r);
      },
    }, { highWaterMark: 0 });
    const from = { ps: {}, gen: 0 };
    const buffer = {
      take: () => from,
      took: () => void took++,
      countingStarted: () => {},
      countingEnded: () => {},
      queuedInStream: 1,
      from,
    } as unknown as FetchBuffer;
    const take = () => next < cur.length ? cur[next++] : undefined;
    await pipeCounting(
      stream,
      () => stream.getReader(),
      new WritableStream<ConsumerRecord>({ write() {} }),
      {},
      buffer,
      direct ? take : undefined,
    );
    if (took !== 100_000) throw new KafkaError(`short pipe ${took}`);
  };
}

Deno.bench(
  "consumer pipe 100 x 1000 records: from the stream's queue",
  { group: "pipe" },
  piped(false),
);
Deno.bench(
  "consumer pipe 100 x 1000 records: straight from the buffer",
  { group: "pipe" },
  piped(true),
);

/**
 * C6's shape through the fetch buffer (FetchBuffer.takeNext, as `getReader()` reads): two
 * fetch responses over 256 partitions, each partition's chunk 4 batches of 140 x 100 B (Java's
 * 16 KiB `batch.size`), read record by record: the per-record path plus the per-batch
 * (decode, CRC, cursor) and per-partition (round-robin, chunk, frame) bookkeeping.
 */
const C6_CHUNK = (() => {
  const parts: Uint8Array[] = [];
  for (let b = 0; b < 4; b++) {
    const builder = new RecordBatchBuilder({ baseOffset: b * 140, partitionLeaderEpoch: 0 });
    const value = new Uint8Array(100).fill(66);
    for (let i = 0; i < 140; i++) builder.append(1_700_000_000_000 + i, null, value);
    parts.push(builder.finish());
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
})();
const C6_SCAN = scanBatches(C6_CHUNK);
const C6_OPTIONS = resolveConsumerOptions({ brokers: ["localhost:9092"] });

Deno.bench("consumer fetch buffer: 256 partitions x 2 responses x 4 x 140 x 100 B", () => {
  const budget = new ByteBudget(C6_OPTIONS.maxBufferedBytes);
  const parts: PartitionState[] = [];
  for (let p = 0; p < 256; p++) {
    const ps = new PartitionState("topic", p);
    ps.startAt(0n, -1);
    ps.phase = "ready";
    parts.push(ps);
  }
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) });
  const buffer = new FetchBuffer(C6_OPTIONS, budget, controller, () => parts.values());
  for (let f = 0; f < 2; f++) {
    const bytes = 128 * C6_CHUNK.length;
    budget.reserve(bytes);
    budget.settle(bytes, bytes);
    const frame = { bytes, refs: 128 };
    for (let p = f * 128; p < f * 128 + 128; p++) {
      buffer.addChunk(
        new Chunk(parts[p]!, C6_CHUNK, null, frame, 0n, -1, C6_SCAN.nextOffset, 0),
      );
    }
  }
  let n = 0;
  while (buffer.takeNext() !== undefined) n++;
  if (n !== 256 * 560 || budget.held !== 0) throw new KafkaError(`short read ${n}`);
});

/**
 * C1's shape through the fetch buffer: one response over 4 partitions, each partition's chunk 2
 * batches of 9,000 x 100 B (~1 MiB, the bench topics' batch size, read a slice of 512 at a
 * time), 72,000 records read one at a time. Three ways, to split a record's cost: taken
 * synchronously (`FetchBuffer.takeNext`: CRC, decode, the `Record`, the bookkeeping), with
 * `await reader.read()` on the consumer's `DirectReader` (adds the read result and its
 * promise), and with `for await` over the consumer's iterator. bench/PROFILE.md, session 15:
 * 9.8, 11.1 and 13.5 ms at best (~136, ~154 and ~188 ns a record); 282, 368 and 409 B
 * allocated a record, the last partly this bench's fresh iterator per iteration (run live,
 * `for await` allocates what `read()` does).
 */
const C1_CHUNK = (() => {
  const parts: Uint8Array[] = [];
  for (let b = 0; b < 2; b++) {
    const builder = new RecordBatchBuilder({
      baseOffset: b * 9000,
      partitionLeaderEpoch: 0,
      initialCapacity: 9000 * 120,
    });
    const value = new Uint8Array(100).fill(67);
    for (let i = 0; i < 9000; i++) builder.append(1_700_000_000_000 + i, null, value);
    parts.push(builder.finish());
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
})();
const C1_SCAN = scanBatches(C1_CHUNK);

/** A fetch buffer holding one C1-shaped response, and a `DirectReader` over it. */
function c1Buffer(): { buffer: FetchBuffer; reader: DirectReader } {
  const budget = new ByteBudget(C6_OPTIONS.maxBufferedBytes);
  const parts: PartitionState[] = [];
  for (let p = 0; p < 4; p++) {
    const ps = new PartitionState("topic", p);
    ps.startAt(0n, -1);
    ps.phase = "ready";
    parts.push(ps);
  }
  let controller!: ReadableStreamDefaultController<ConsumerRecord>;
  const stream = new ReadableStream<ConsumerRecord>({ start: (c) => void (controller = c) }, {
    highWaterMark: 0,
  });
  const buffer = new FetchBuffer(C6_OPTIONS, budget, controller, () => parts.values());
  const bytes = 4 * C1_CHUNK.length;
  budget.reserve(bytes);
  budget.settle(bytes, bytes);
  const frame = { bytes, refs: 4 };
  for (const ps of parts) {
    buffer.addChunk(new Chunk(ps, C1_CHUNK, null, frame, 0n, -1, C1_SCAN.nextOffset, 0));
  }
  const reader = new DirectReader(stream, () => buffer.takeNext(), () => true);
  return { buffer, reader };
}

const C1_RECORDS = 4 * 18_000;
Deno.bench("consumer C1 4 x 18,000 x 100 B: takeNext", { group: "c1" }, () => {
  const { buffer } = c1Buffer();
  let n = 0;
  while (buffer.takeNext() !== undefined) n++;
  if (n !== C1_RECORDS) throw new KafkaError(`short read ${n}`);
});
Deno.bench("consumer C1 4 x 18,000 x 100 B: await read()", { group: "c1" }, async () => {
  const { reader } = c1Buffer();
  let n = 0;
  while (n < C1_RECORDS) {
    const { done } = await reader.read();
    if (done) break;
    n++;
  }
  if (n !== C1_RECORDS) throw new KafkaError(`short read ${n}`);
});
Deno.bench("consumer C1 4 x 18,000 x 100 B: for await", { group: "c1" }, async () => {
  const { reader } = c1Buffer();
  let n = 0;
  for await (const _ of directIterator(reader, { preventCancel: true })) {
    if (++n === C1_RECORDS) break;
  }
  if (n !== C1_RECORDS) throw new KafkaError(`short read ${n}`);
});

// A record's offset (chunk.ts recordMaker): a number converted by BigInt() calls into the
// runtime; a bigint add of BigInt(delta) compiles to a 64-bit add and one allocation.
const offsets: bigint[] = new Array(1000);
let offsetBase = 1_000_000;
Deno.bench("consumer offsets 1000: BigInt(base + delta)", { group: "offset" }, () => {
  const base = offsetBase++;
  for (let i = 0; i < 1000; i++) offsets[i] = BigInt(base + i);
});
Deno.bench("consumer offsets 1000: baseOffset + BigInt(delta)", { group: "offset" }, () => {
  const base = BigInt(offsetBase++);
  for (let i = 0; i < 1000; i++) offsets[i] = base + BigInt(i);
});

// ----------------------------------------------------------------------------------------
// End to end: `deno run -A bench/consumer_bench.ts`

const JAVA_RUNNER = `
import java.io.*;
import java.util.*;
import org.apache.kafka.tools.ConsumerPerformance;

/** Runs ConsumerPerformance in this JVM: a warm-up, then measured rounds; prints their lines. */
public class ConsumerRunner {
  public static void main(String[] a) throws Exception {
    String bootstrap = a[0], topic = a[1];
    long messages = Long.parseLong(a[2]);
    int rounds = Integer.parseInt(a[3]);
    PrintStream out = System.out;
    for (int r = -1; r < rounds; r++) {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      System.setOut(new PrintStream(buf));
      ConsumerPerformance.main(new String[] {
        "--bootstrap-server", bootstrap, "--topic", topic,
        "--messages", Long.toString(r < 0 ? messages / 10 : messages),
        "--group", "bench-java-" + UUID.randomUUID(), "--timeout", "120000",
      });
      System.setOut(out);
      String[] lines = buf.toString().trim().split("\\n");
      if (r >= 0) out.println("ROUND " + lines[lines.length - 1]);
    }
  }
}
`;

interface Figures {
  recordsPerS: number;
  mbPerS: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function java(jars: string, mainOrFile: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("java", {
    args: ["-Xmx512M", "-XX:+UseG1GC", "-cp", `${jars}/*`, mainOrFile, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(600_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new KafkaError(`java ${mainOrFile} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function ours(bootstrap: string, topic: string, partitions: number, n: number) {
  const consumer = new Consumer({
    brokers: [bootstrap],
    clientId: "bench-ours",
    isolationLevel: "read_uncommitted",
    fetchMaxBytes: 52_428_800,
    maxPartitionFetchBytes: 1_048_576,
  });
  try {
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
      offset: "earliest" as const,
    })));
    const reader = consumer.getReader();
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const { done, value } = await reader.read();
      if (done) throw new KafkaError(`the stream ended after ${i} records`);
      bytes += value.value?.length ?? 0;
    }
    const s = (performance.now() - t0) / 1000;
    reader.releaseLock();
    return { recordsPerS: n / s, mbPerS: bytes / 1e6 / s, peak: consumer.peakBufferedBytes };
  } finally {
    await consumer.close();
  }
}

async function main(): Promise<void> {
  const { up } = await import("../scripts/kafka/cluster.ts");
  const flag = (name: string, dflt: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
  };
  const records = flag("records", 1_000_000);
  const rounds = flag("rounds", 3);
  const state = await up({ nodes: 1 });
  const bootstrap = state.listeners.PLAINTEXT.split(",")[0]!;
  const jars = state.jarsDir;
  const dir = await Deno.makeTempDir();
  const runner = `${dir}/ConsumerRunner.java`;
  await Deno.writeTextFile(runner, JAVA_RUNNER);
  const partitions = 4;
  const rows: string[] = [];
  try {
    for (const size of [100, 1024]) {
      const topic = `bench-consumer-${size}-${crypto.randomUUID().slice(0, 8)}`;
      await createTopic(bootstrap, topic, partitions);
      try {
        console.error(`filling ${topic}: ${records} x ${size} B ...`);
        await java(jars, "org.apache.kafka.tools.ProducerPerformance", [
          "--topic",
          topic,
          "--num-records",
          String(records),
          "--record-size",
          String(size),
          "--throughput",
          "-1",
          "--producer-props",
          `bootstrap.servers=${bootstrap}`,
          "linger.ms=5",
          "batch.size=1048576",
          "acks=1",
        ]);
        await ours(bootstrap, topic, partitions, Math.floor(records / 10)); // warm-up
        const o: Figures[] = [];
        const j: Figures[] = [];
        let peak = 0;
        // Java runs its rounds in one warm JVM; ours alternate around it.
        for (let r = 0; r < rounds; r++) {
          const res = await ours(bootstrap, topic, partitions, records);
          peak = Math.max(peak, res.peak);
          o.push(res);
          if (r === 0) {
            const text = await java(jars, runner, [
              bootstrap,
              topic,
              String(records),
              String(rounds),
            ]);
            for (const line of text.split("\n").filter((l) => l.startsWith("ROUND "))) {
              const f = line.slice(6).split(",").map((x) => x.trim());
              // ..., fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
              j.push({ mbPerS: Number(f[8]) * 1.048576, recordsPerS: Number(f[9]) });
            }
          }
        }
        const row = (who: string, f: Figures[]) =>
          `| ${size === 100 ? "1M x 100 B" : "1M x 1 KiB"} | ${who} | ` +
          `${Math.round(median(f.map((x) => x.recordsPerS))).toLocaleString("en-US")} | ` +
          `${median(f.map((x) => x.mbPerS)).toFixed(1)} |`;
        rows.push(row("ours", o), row("java ConsumerPerformance", j));
        console.error(
          `  ours: ${o.map((x) => Math.round(x.recordsPerS)).join(", ")} records/s ` +
            `(peak buffered ${(peak / 1048576).toFixed(1)} MiB); java: ` +
            `${j.map((x) => Math.round(x.recordsPerS)).join(", ")}`,
        );
      } finally {
        await deleteTopic(bootstrap, topic).catch(() => {});
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log("| workload | client | records/s | MB/s |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(r);
}

/**
 * One C6 lane's fetch session (bench/PROFILE.md, Session 16): 128 partitions of one topic
 * asked for, 20 of them moved on since the last request (what a response of ~8 MiB of 16 KiB
 * batches brings), `build` then `succeeded`, as the fetcher does per request.
 */
const sessionBench = (() => {
  const topic = "ab-C6-100B-1000000-1733600000000";
  const topicId = "Qm3kq0x8T0uJ9cDqg5pX2A";
  const session = new FetchSession();
  const offsets: bigint[] = new Array(128).fill(0n);
  let round = 0;
  return () => {
    const wanted: SessionPartition[] = [];
    for (let i = 0; i < 128; i++) {
      wanted.push({
        topic,
        topicId,
        partition: i * 2,
        fetchOffset: offsets[i]!,
        lastFetchedEpoch: 0,
        currentLeaderEpoch: 0,
        maxBytes: 1_048_576,
      });
    }
    session.succeeded(session.build(wanted), wanted, 7);
    for (let k = 0; k < 20; k++) offsets[(round * 20 + k) % 128]! += 140n;
    round++;
  };
})();
Deno.bench("consumer fetch session: 128 partitions, 20 moved, build + succeeded", sessionBench);

if (import.meta.main) await main();
