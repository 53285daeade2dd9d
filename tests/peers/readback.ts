/**
 * Test helpers for the producer tests: topic creation over our own connection (CreateTopics,
 * no admin client needed), and reading records back with an independent consumer: Kafka's
 * Java consumer from the broker's own jars, its bytes passed through exactly (base64).
 *
 * @module
 */

import { Cluster } from "../../cluster/cluster.ts";
import { Api } from "../../protocol/apis.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";
import type { RecordBatch } from "../../protocol/record_batch.ts";
import { javaRead, type JavaReadOptions } from "../helpers/java_client.ts";

/** A record as the independent consumer read it. */
export interface ReadRecord {
  partition: number;
  offset: bigint;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** `key=value` pairs (values as UTF-8 text), comma-separated, in order. */
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

/** Options of {@linkcode readBack}. */
export type ReadBackOptions = JavaReadOptions;

/**
 * Reads a whole topic from the beginning with an independent consumer, Kafka's Java consumer
 * from the broker's own jars (tests/helpers/java_client.ts), in partition then offset order.
 */
export async function readBack(
  bootstrap: readonly string[],
  topic: string,
  options: ReadBackOptions = {},
): Promise<ReadRecord[]> {
  const td = new TextDecoder();
  return (await javaRead(bootstrap, topic, options)).map((r) => ({
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: r.headers.map((h) => h.value === null ? h.key : `${h.key}=${td.decode(h.value)}`)
      .join(","),
  }));
}

/** Hex of bytes, for readable assertion messages. */
export function hex(b: Uint8Array | null): string | null {
  return b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads a partition's raw batches with our own Fetch (to check what a consumer cannot show: the
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
