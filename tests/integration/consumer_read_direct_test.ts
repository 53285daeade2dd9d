/**
 * `getReader()` and `for await` decode the next batch in the read itself when that needs no
 * waiting (`FetchBuffer.fillNow`); a batch that decompresses beyond the free budget is left to
 * the stream's pull, which makes room (dropping the other partitions' fetched data) and
 * retries. Here every batch decompresses to ~600 KiB against a 1 MiB budget over three
 * partitions, so reads keep crossing from one path to the other: every record must still
 * arrive once, in order within its partition, within the budget.
 */

import assert from "node:assert/strict";
import { Consumer } from "../../consumer/mod.ts";
import type { ConsumerRecord } from "../../consumer/mod.ts";
import { Compression } from "../../protocol/compression/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";

const MiB = 1024 * 1024;
const PARTITIONS = 3;
const PER_PARTITION = 1_200;

async function fill(): Promise<string> {
  const topic = uniq("direct-room");
  await createTopic(topic, PARTITIONS);
  // Batches of 300 x 2 KiB compressible values: ~600 KiB decompressed, a few KiB on the wire.
  const value = "abcdefgh".repeat(256);
  for (let p = 0; p < PARTITIONS; p++) {
    const records = Array.from({ length: PER_PARTITION }, (_, i) => ({ key: `${p}-${i}`, value }));
    await produce(topic, p, records, { compression: Compression.Zstd, batchSize: 300 });
  }
  return topic;
}

function check(seen: ConsumerRecord[]): void {
  const next = new Array<bigint>(PARTITIONS).fill(0n);
  for (const r of seen) {
    assert.equal(r.offset, next[r.partition], `partition ${r.partition}`);
    assert.equal(new TextDecoder().decode(r.key!), `${r.partition}-${r.offset}`);
    next[r.partition]!++;
  }
  assert.deepEqual(next, new Array(PARTITIONS).fill(BigInt(PER_PARTITION)));
}

/** Every partition of the topic, from the start to the end it has now. */
function assignAll(consumer: Consumer, topic: string): void {
  consumer.assign(
    Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic,
      partition,
      offset: "earliest" as const,
      end: "latest" as const,
    })),
  );
}

Deno.test("direct reads: getReader() over batches that need room made", async () => {
  const topic = await fill();
  await using consumer = new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: MiB });
  assignAll(consumer, topic);
  const reader = consumer.getReader();
  const seen: ConsumerRecord[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen.push(value);
  }
  check(seen);
  assert.ok(consumer.peakBufferedBytes <= MiB, `peak ${consumer.peakBufferedBytes}`);
});

Deno.test("direct reads: for await over batches that need room made", async () => {
  const topic = await fill();
  await using consumer = new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: MiB });
  assignAll(consumer, topic);
  const seen: ConsumerRecord[] = [];
  for await (const r of consumer) seen.push(r);
  check(seen);
  assert.ok(consumer.peakBufferedBytes <= MiB, `peak ${consumer.peakBufferedBytes}`);
});
