/**
 * `perf produce` and `perf consume`: the figures kafka-producer-perf-test.sh
 * (ProducerPerformance) and kafka-consumer-perf-test.sh (ConsumerPerformance) print, in their
 * formats, so runs can be compared line by line.
 *
 * @module
 */

import {
  type CompressionName,
  Consumer,
  Producer,
  type ProducerOptions,
  type ProducerRecord,
} from "../mod.ts";
import { type Args, parseInteger, UsageError } from "./args.ts";
import { type Command, withAdmin } from "./command.ts";
import { clientOptions } from "./connect.ts";
import { printJson } from "./output.ts";

/** `--producer-props k=v ...` (also bare `k=v` words, as the Java tool takes them). */
function producerProps(args: Args): Map<string, string> {
  const props = new Map<string, string>();
  const words = [...args.list("producer-props", false), ...args.positional.slice(1)];
  for (const w of words.flatMap((s) => s.split(/\s+/)).filter((s) => s)) {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new UsageError(`--producer-props expects k=v, not "${w}"`);
    props.set(w.slice(0, eq), w.slice(eq + 1));
  }
  return props;
}

function producerOptionsOf(props: Map<string, string>): Partial<ProducerOptions> {
  const o: Partial<ProducerOptions> = {};
  const num = (k: string) => parseInteger(props.get(k)!, k);
  for (const k of props.keys()) {
    switch (k) {
      case "acks": {
        const v = props.get(k)!;
        o.acks = v === "all" ? "all" : num(k) as 0 | 1 | -1;
        break;
      }
      case "linger.ms":
        o.lingerMs = num(k);
        break;
      case "batch.size":
        o.batchSize = num(k);
        break;
      case "buffer.memory":
        o.bufferMemory = num(k);
        break;
      case "max.request.size":
        o.maxRequestSize = num(k);
        break;
      case "compression.type":
        o.compression = props.get(k) as CompressionName;
        break;
      case "enable.idempotence":
        o.idempotent = props.get(k) === "true";
        break;
      case "bootstrap.servers":
      case "client.id":
        break;
      default:
        console.error(`WARN: producer property ${k} is not used by this client`);
    }
  }
  return o;
}

function percentile(sorted: Int32Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function perfProduce(args: Args): Promise<number> {
  const topic = args.need("topic");
  const total = args.int("num-records") ?? (() => {
    throw new UsageError("--num-records is required");
  })();
  const size = args.int("record-size") ?? 100;
  const throughput = args.int("throughput") ?? -1;
  const props = producerProps(args);
  if (props.has("bootstrap.servers") && !args.has("bootstrap-server")) {
    Deno.env.set("KAFKA_BOOTSTRAP_SERVERS", props.get("bootstrap.servers")!);
  }
  await withAdmin(args, async (admin) => void await admin.describeTopic(topic));
  const producer = new Producer({ ...await clientOptions(args), ...producerOptionsOf(props) });
  // ProducerPerformance sends one random payload of upper-case letters, again and again.
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = 65 + Math.floor(Math.random() * 26);
  const latencies = new Int32Array(total);
  let acked = 0, errors = 0;
  const start = Date.now();
  let window = { start, count: 0, bytes: 0, latSum: 0, latMax: 0 };
  const json = args.bool("json");
  const reportEvery = args.int("reporting-interval") ?? 5000;
  const reports = producer.deliveryReports();
  const reading = (async () => {
    for await (const r of reports) {
      const now = Date.now();
      if (r.error) {
        errors++;
        continue;
      }
      const lat = now - (r.record.timestamp as number);
      latencies[acked++] = lat;
      window.count++;
      window.bytes += size;
      window.latSum += lat;
      if (lat > window.latMax) window.latMax = lat;
      if (now - window.start >= reportEvery) {
        const secs = (now - window.start) / 1000;
        if (!json) {
          console.log(
            `${window.count} records sent, ${(window.count / secs).toFixed(1)} records/sec ` +
              `(${(window.bytes / 1048576 / secs).toFixed(2)} MB/sec), ` +
              `${(window.latSum / window.count).toFixed(1)} ms avg latency, ` +
              `${window.latMax.toFixed(1)} ms max latency.`,
          );
        }
        window = { start: now, count: 0, bytes: 0, latSum: 0, latMax: 0 };
      }
    }
  })();
  let sent = 0;
  const source = new ReadableStream<ProducerRecord>({
    async pull(c) {
      if (throughput > 0) {
        const due = start + (sent / throughput) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const n = Math.min(throughput > 0 ? 1 : 1000, total - sent);
      for (let i = 0; i < n; i++) c.enqueue({ topic, value: payload, timestamp: Date.now() });
      sent += n;
      if (sent >= total) c.close();
    },
  }, { highWaterMark: 0 });
  await source.pipeTo(producer.writable);
  await producer.close();
  await reading;
  const elapsed = (Date.now() - start) / 1000;
  const sorted = latencies.subarray(0, acked).sort();
  let sum = 0;
  for (const l of sorted) sum += l;
  const result = {
    records: acked,
    errors,
    recordsPerSec: acked / elapsed,
    mbPerSec: (acked * size) / 1048576 / elapsed,
    avgLatencyMs: acked ? sum / acked : 0,
    maxLatencyMs: acked ? sorted[acked - 1]! : 0,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
  };
  if (json) printJson(result);
  else {
    console.log(
      `${result.records} records sent, ${result.recordsPerSec.toFixed(6)} records/sec ` +
        `(${result.mbPerSec.toFixed(2)} MB/sec), ${
          result.avgLatencyMs.toFixed(2)
        } ms avg latency, ` +
        `${result.maxLatencyMs.toFixed(2)} ms max latency, ${result.p50Ms} ms 50th, ` +
        `${result.p95Ms} ms 95th, ${result.p99Ms} ms 99th, ${result.p999Ms} ms 99.9th.`,
    );
  }
  return errors > 0 ? 1 : 0;
}

/** ConsumerPerformance's date format: `yyyy-MM-dd HH:mm:ss:SSS` (local time). */
function javaDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

async function perfConsume(args: Args): Promise<number> {
  const topic = args.need("topic");
  const count = args.int("messages") ?? (() => {
    throw new UsageError("--messages is required");
  })();
  const timeoutMs = args.int("timeout") ?? 10_000;
  const group = args.str("group") ?? `perf-consumer-${Math.floor(Math.random() * 100000)}`;
  await withAdmin(args, async (admin) => void await admin.describeTopic(topic));
  const start = Date.now();
  let assignedAt: number | undefined;
  const consumer = new Consumer({
    ...await clientOptions(args),
    groupId: group,
    topics: [topic],
    autoOffsetReset: args.bool("from-latest") ? "latest" : "earliest",
    isolationLevel: "read_uncommitted",
    onPartitionsAssigned: () => void (assignedAt ??= Date.now()),
  });
  const reader = consumer.getReader();
  let records = 0, bytes = 0, timedOut = false, last = Date.now();
  // One watcher for the idle timeout (cancelling ends the pending read); no timer per record.
  const watch = setInterval(() => {
    if (Date.now() - last < timeoutMs) return;
    timedOut = true;
    reader.cancel().catch(() => {});
  }, 100);
  try {
    while (records < count) {
      const got = await reader.read();
      if (got.done) break;
      last = Date.now();
      records++;
      bytes += (got.value.value?.length ?? 0) + (got.value.key?.length ?? 0);
    }
  } finally {
    clearInterval(watch);
    reader.releaseLock();
    await consumer.close();
  }
  const end = Date.now();
  if (timedOut) {
    console.error(
      `WARNING: Exiting before consuming the expected number of messages: timeout (${timeoutMs} ms) exceeded.`,
    );
  }
  const elapsed = (end - start) / 1000;
  const rebalance = (assignedAt ?? start) - start;
  const fetchSecs = Math.max(elapsed - rebalance / 1000, 1e-3);
  const mb = bytes / 1048576;
  const result = {
    startTime: javaDate(start),
    endTime: javaDate(end),
    dataConsumedMB: mb,
    mbPerSec: mb / elapsed,
    records,
    recordsPerSec: records / elapsed,
    rebalanceTimeMs: rebalance,
    fetchTimeMs: Math.round(fetchSecs * 1000),
    fetchMBPerSec: mb / fetchSecs,
    fetchRecordsPerSec: records / fetchSecs,
  };
  if (args.bool("json")) printJson(result);
  else {
    if (!args.bool("hide-header")) {
      console.log(
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, " +
          "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec",
      );
    }
    console.log(
      [
        result.startTime,
        result.endTime,
        mb.toFixed(4),
        result.mbPerSec.toFixed(4),
        records,
        result.recordsPerSec.toFixed(4),
        rebalance,
        result.fetchTimeMs,
        result.fetchMBPerSec.toFixed(4),
        result.fetchRecordsPerSec.toFixed(4),
      ].join(", "),
    );
  }
  return timedOut ? 1 : 0;
}

async function run(args: Args): Promise<number> {
  const sub = args.positional[0];
  if (sub === "produce") return await perfProduce(args);
  if (sub === "consume") return await perfConsume(args);
  throw new UsageError(`expected perf produce or perf consume`);
}

/** The `perf` command. */
export const perfCommand: Command = {
  name: "perf",
  summary: "perf produce / perf consume (kafka-producer/consumer-perf-test.sh figures)",
  usage: [
    "kafka perf produce --topic T --num-records N --record-size B --throughput -1 " +
    "[--producer-props acks=1 linger.ms=5 ...]",
    "kafka perf consume --topic T --messages N [--group G] [--timeout 10000] [--from-latest]",
  ].join("\n"),
  options: {
    topic: { type: "string", short: "t", help: "the topic" },
    "num-records": { type: "string", help: "produce: records to send" },
    "record-size": { type: "string", help: "produce: bytes per record (default 100)" },
    throughput: { type: "string", help: "produce: records/s cap, -1 for none" },
    "producer-props": { type: "list", help: "produce: k=v producer properties" },
    "reporting-interval": { type: "string", help: "produce: ms between interim lines (5000)" },
    messages: { type: "string", help: "consume: records to read" },
    group: { type: "string", help: "consume: group id (default perf-consumer-N)" },
    timeout: { type: "string", help: "consume: give up after this many ms without records" },
    "from-latest": { type: "boolean", help: "consume: start at the end" },
    "hide-header": { type: "boolean", help: "consume: no header line" },
  },
  run,
};
