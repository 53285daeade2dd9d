/**
 * Test helpers for the producer tests: topic creation over our own connection (CreateTopics,
 * no admin client needed), and reading records back with an independent consumer, kcat
 * (librdkafka), whose `-f` output we parse byte-exactly (lengths first, then raw bytes).
 *
 * @module
 */

import { Cluster } from "../../cluster/cluster.ts";
import { Api } from "../../protocol/apis.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import type { RecordBatch } from "../../protocol/record_batch.ts";
import { ensureKcat } from "../helpers/broker.ts";

/** A record as kcat printed it. */
export interface ReadRecord {
  partition: number;
  offset: bigint;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** `key=value` pairs as kcat prints them (values as text), in order. */
  headers: string;
}

/** A unique topic name for one test. */
export function topicName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Creates a topic (and waits until its leaders are known). */
export async function createTopic(
  bootstrap: readonly string[],
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  await using cluster = new Cluster({ brokers: bootstrap });
  const res = await cluster.send({ any: true }, Api.CreateTopics, {
    topics: [{
      name,
      numPartitions: partitions,
      replicationFactor: -1,
      assignments: [],
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
    }],
    timeoutMs: 30_000,
  });
  const t = res.topics[0]!;
  if (t.errorCode !== 0) throw new Error(`CreateTopics ${name}: ${t.errorCode} ${t.errorMessage}`);
  for (let i = 0; i < 100; i++) {
    await cluster.refreshMetadata([name]);
    const info = cluster.metadata.topic(name);
    if (
      info && info.partitions.length === partitions && info.partitions.every((p) => p.leader >= 0)
    ) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`topic ${name} has no leaders`);
}

/** Options of {@linkcode kcatRead}. */
export interface KcatReadOptions {
  /** `read_committed` to see only committed transactional records. */
  isolation?: "read_committed" | "read_uncommitted";
  /** Extra `-X` properties. */
  props?: Record<string, string>;
  /** Kill after this long; default 120 s. */
  timeoutMs?: number;
}

const FORMAT = "%p|%o|%T|%K|%S|%k%s|%h\n";

/** Reads a whole topic from the beginning with kcat, and parses its output byte-exactly. */
export async function kcatRead(
  bootstrap: readonly string[],
  topic: string,
  options: KcatReadOptions = {},
): Promise<ReadRecord[]> {
  const kcat = await ensureKcat();
  const args = ["-b", bootstrap.join(","), "-C", "-t", topic, "-o", "beginning", "-e", "-q"];
  args.push("-X", `isolation.level=${options.isolation ?? "read_uncommitted"}`);
  for (const [k, v] of Object.entries(options.props ?? {})) args.push("-X", `${k}=${v}`);
  args.push("-f", FORMAT);
  const out = await new Deno.Command(kcat, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).output();
  if (!out.success) {
    throw new Error(`kcat failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  return parseKcat(out.stdout);
}

function parseKcat(b: Uint8Array): ReadRecord[] {
  const td = new TextDecoder();
  const records: ReadRecord[] = [];
  let p = 0;
  const field = (): string => {
    const end = b.indexOf(0x7c, p); // '|'
    if (end < 0) throw new Error(`kcat output truncated at ${p}`);
    const s = td.decode(b.subarray(p, end));
    p = end + 1;
    return s;
  };
  while (p < b.length) {
    const partition = Number(field());
    const offset = BigInt(field());
    const timestamp = Number(field());
    const kLen = Number(field());
    const vLen = Number(field());
    const key = kLen < 0 ? null : b.slice(p, p + kLen);
    p += Math.max(0, kLen);
    const value = vLen < 0 ? null : b.slice(p, p + vLen);
    p += Math.max(0, vLen);
    if (b[p] !== 0x7c) throw new Error(`kcat output out of sync at ${p}`);
    p++;
    const nl = b.indexOf(0x0a, p);
    const headers = td.decode(b.subarray(p, nl));
    p = nl + 1;
    records.push({ partition, offset, timestamp, key, value, headers });
  }
  return records;
}

/** Hex of bytes, for readable assertion messages. */
export function hex(b: Uint8Array | null): string | null {
  return b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads a partition's raw batches with our own Fetch (to check what kcat cannot show: the
 * codec, the producer id/epoch/sequence, the transactional bit).
 */
export async function fetchBatches(
  bootstrap: readonly string[],
  topic: string,
  partition: number,
): Promise<RecordBatch[]> {
  await using cluster = new Cluster({ brokers: bootstrap });
  await cluster.refreshMetadata([topic]);
  const leader = cluster.leaderFor(topic, partition);
  const out: RecordBatch[] = [];
  let offset = 0n;
  for (let round = 0; round < 10_000; round++) {
    const res = await cluster.send({ node: leader }, Api.Fetch, {
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      topics: [{
        topic,
        partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20 }],
      }],
    }, { version: 12 });
    const p = res.responses[0]!.partitions[0]!;
    if (p.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}: error ${p.errorCode}`);
    const batches = p.records ? decodeRecordBatches(p.records).batches : [];
    for (const b of batches) {
      out.push(b);
      offset = b.baseOffset + BigInt(b.lastOffsetDelta) + 1n;
    }
    if (offset >= p.highWatermark || batches.length === 0) break;
  }
  return out;
}

/** The end offset of every partition of a topic (ListOffsets, latest), by partition. */
export async function endOffsets(bootstrap: readonly string[], topic: string): Promise<bigint[]> {
  await using cluster = new Cluster({ brokers: bootstrap });
  await cluster.refreshMetadata([topic]);
  const info = cluster.metadata.topic(topic);
  if (!info) throw new Error(`no topic ${topic}`);
  const out: bigint[] = [];
  for (const p of info.partitions) {
    const res = await cluster.send({ node: p.leader }, Api.ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: p.partition, timestamp: -1n }] }],
    });
    out[p.partition] = res.topics[0]!.partitions[0]!.offset;
  }
  return out;
}
