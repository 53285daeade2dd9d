/**
 * Shared helpers of the consumer's integration tests (imported by the other consumer_*_test
 * files), and a test that they work: topics are created and records written with the
 * low-level protocol layer (CreateTopics, RecordBatchBuilder + Produce), independently of the
 * consumer under test; kcat and the Java tools are the other independent writers.
 */

import { Api } from "../../protocol/apis.ts";
import { Connection } from "../../net/connection.ts";
import { KafkaError } from "../../protocol/errors.ts";
import { RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";
import type { CompressionCodec } from "../../protocol/compression/mod.ts";
import { broker, ensureKcat } from "./broker.ts";
import type { ConsumerRecord } from "../../consumer/mod.ts";

export const b = await broker();
export const BOOTSTRAP: string[] = b.bootstrap("PLAINTEXT");

/** A unique name for a topic or group. */
export function uniq(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

async function connect(): Promise<Connection> {
  const [host, port] = BOOTSTRAP[0]!.split(":");
  return await Connection.connect({ host: host!, port: Number(port) });
}

/** Creates a topic and waits until every partition has a leader. */
export async function createTopic(
  name: string,
  partitions = 1,
  configs: Record<string, string> = {},
): Promise<void> {
  const conn = await connect();
  try {
    const res = await conn.request(Api.CreateTopics, {
      topics: [{
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
      }],
      timeoutMs: 30_000,
    });
    const code = res.topics[0]?.errorCode ?? -1;
    if (code !== 0) throw new KafkaError(`CreateTopics ${name}: error ${code}`);
    for (let i = 0; i < 100; i++) {
      const md = await conn.request(Api.Metadata, {
        topics: [{ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
        allowAutoTopicCreation: false,
      });
      const t = md.topics[0];
      if (t && t.errorCode === 0 && t.partitions.length === partitions) {
        if (t.partitions.every((p) => p.leaderId >= 0)) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new KafkaError(`topic ${name} has no leaders`);
  } finally {
    await conn.close();
  }
}

/** Adds partitions to a topic (CreatePartitions). */
export async function addPartitions(name: string, count: number): Promise<void> {
  const conn = await connect();
  try {
    const res = await conn.request(Api.CreatePartitions, {
      topics: [{ name, count, assignments: null }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const code = res.results[0]?.errorCode ?? -1;
    if (code !== 0) throw new KafkaError(`CreatePartitions ${name}: error ${code}`);
  } finally {
    await conn.close();
  }
}

/** A record to write with {@linkcode produce}. */
export interface TestRecord {
  key?: string | null;
  value: string | null;
  headers?: { key: string; value: string | null }[];
  timestamp?: number;
}

const enc = new TextEncoder();
const bytes = (s: string | null | undefined) =>
  s === null || s === undefined ? null : enc.encode(s);

/**
 * Writes records to one partition with our low-level layer (one batch per `batchSize`).
 * Resolves with the base offset of the first batch.
 */
export async function produce(
  topic: string,
  partition: number,
  records: readonly TestRecord[],
  options: { compression?: CompressionCodec; batchSize?: number } = {},
): Promise<bigint> {
  const conn = await connect();
  const size = options.batchSize ?? 500;
  let first = -1n;
  try {
    for (let i = 0; i < records.length; i += size) {
      const builder = new RecordBatchBuilder({ compression: options.compression ?? 0 });
      for (const r of records.slice(i, i + size)) {
        builder.append(
          r.timestamp ?? Date.now(),
          bytes(r.key),
          bytes(r.value),
          r.headers?.map((h) => ({ key: h.key, value: bytes(h.value) })),
        );
      }
      const batch = builder.finish();
      for (let attempt = 0;; attempt++) {
        const res = await conn.request(Api.Produce, {
          acks: -1,
          timeoutMs: 30_000,
          topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
        }, { version: Math.min(12, conn.versionFor(Api.Produce)) });
        const p = res.responses[0]?.partitionResponses[0];
        // A new topic's leader may not know it leads yet: retry briefly.
        if (p && [3, 5, 6].includes(p.errorCode) && attempt < 50) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        if (!p || p.errorCode !== 0) {
          throw new KafkaError(`Produce ${topic}: error ${p?.errorCode}`);
        }
        if (first < 0n) first = p.baseOffset;
        break;
      }
    }
  } finally {
    await conn.close();
  }
  return first;
}

/** Runs kcat with `args` (and `stdin`); throws with its stderr when it fails. */
export async function kcat(args: string[], stdin?: string, timeoutMs = 60_000): Promise<string> {
  const cmd = await ensureKcat();
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(enc.encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new KafkaError(`kcat ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/**
 * Reads `n` records from a stream (or fewer if it ends), failing after `timeoutMs`. The reader
 * lock is released, not the stream cancelled, so the caller can keep reading.
 */
export async function take(
  stream: ReadableStream<ConsumerRecord>,
  n: number,
  timeoutMs = 60_000,
): Promise<ConsumerRecord[]> {
  const reader = stream.getReader();
  const out: ConsumerRecord[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KafkaError(`timed out after ${out.length} of ${n} records`)),
      timeoutMs,
    );
  });
  try {
    while (out.length < n) {
      const r = await Promise.race([reader.read(), timeout]);
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return out;
}

/** UTF-8 of a byte view (null stays null). */
export function text(b: Uint8Array | null): string | null {
  return b === null ? null : new TextDecoder().decode(b);
}
