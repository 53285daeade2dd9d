/**
 * Pipelines (`consumer.pipeThrough(mapRecords(fn)).pipeTo(producer.sink(...))`) against the
 * real broker: records that map to none, one or several outputs keep their provenance; the
 * group's committed offsets end at the input's end; exactly-once writes many records per
 * transaction (not one each) and its output read `read_committed` holds each output once; a
 * failing pipeline rejects with PipelineError and commits nothing beyond its last commit
 * (exactly-once: its open transaction is aborted); the same producer serves a new sink after
 * a failed or stopped one.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import { Admin } from "../../admin/mod.ts";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import {
  mapConsumer,
  mapRecords,
  PipelineError,
  type PipelineGuarantee,
  Producer,
  type ProducerRecord,
  type TransactionOffset,
} from "../../producer/mod.ts";
import { createTopic, topicName } from "../peers/readback.ts";
import { readValues } from "../helpers/read_topic.ts";

const b = await broker();
const brokers = b.bootstrap();
const dec = new TextDecoder();

/** Writes `n` records, value = key = the record's id, over the topic's partitions. */
async function fill(topic: string, n: number): Promise<void> {
  await using p = new Producer({ brokers, defaultTopic: topic });
  const records: ProducerRecord[] = [];
  for (let i = 0; i < n; i++) records.push({ key: `${i}`, value: `${i}` });
  await ReadableStream.from(records).pipeTo(p.writable);
}

function readAll(topic: string): Promise<string[]> {
  return readValues(brokers, topic);
}

async function committedSum(groupId: string, topic: string): Promise<bigint> {
  await using admin = new Admin({ brokers });
  const offsets = await admin.listGroupOffsets(groupId);
  return offsets.filter((o) => o.topic === topic).reduce((a, o) => a + o.offset, 0n);
}

/** id % 3: 0 -> no record, 1 -> one, 2 -> two ("id" and "id'"). */
/** A pipeline's source: `groupId` reading `input` from the start, committing only by the sink. */
function sourceConsumer(groupId: string, input: string): Consumer {
  return new Consumer({
    brokers,
    groupId,
    topics: [input],
    autoCommit: false,
    autoOffsetReset: "earliest",
  });
}

function fanOut(output: string) {
  return (r: ConsumerRecord): ProducerRecord[] | null => {
    const id = Number(dec.decode(r.value!));
    if (id % 3 === 0) return null;
    const one = { topic: output, key: r.key, value: `${id}` };
    return id % 3 === 1 ? [one] : [one, { topic: output, key: r.key, value: `${id}'` }];
  };
}

function expected(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 1) out.push(`${i}`);
    if (i % 3 === 2) out.push(`${i}`, `${i}'`);
  }
  return out.sort();
}

/** Runs a pipeline until the group has committed the whole input, then stops it. */
async function runUntilCommitted(
  guarantee: PipelineGuarantee,
  source: "mapRecords" | "mapConsumer",
  n: number,
): Promise<{ output: string; commits: number; groupId: string; input: string }> {
  const input = topicName(`pl-in-${guarantee}`);
  const output = topicName(`pl-out-${guarantee}`);
  await createTopic(brokers, input, 3);
  await createTopic(brokers, output, 2);
  await fill(input, n);
  const groupId = topicName("pl-group");
  await using consumer = sourceConsumer(groupId, input);
  await using producer = new Producer({
    brokers,
    ...guarantee === "exactly-once" && { transactionalId: topicName("pl-txn") },
  });
  const stop = new AbortController();
  const committed = new Map<number, bigint>();
  let commits = 0;
  const onCommit = (offsets: readonly TransactionOffset[]) => {
    commits++;
    for (const o of offsets) committed.set(o.partition, o.offset);
    let sum = 0n;
    for (const v of committed.values()) sum += v;
    if (sum === BigInt(n)) stop.abort(new RangeError("done"));
  };
  const sink = producer.sink({
    consumer,
    guarantee,
    onCommit,
    transactionRecords: 1_000,
    commitIntervalMs: 20,
  });
  const envelopes = source === "mapRecords"
    ? consumer.pipeThrough(mapRecords(fanOut(output)))
    : mapConsumer(consumer, fanOut(output), { maxBatch: 100 });
  await assert.rejects(envelopes.pipeTo(sink, { signal: stop.signal }), RangeError);
  return { output, commits, groupId, input };
}

for (const guarantee of ["exactly-once", "at-least-once"] as const) {
  for (const source of ["mapRecords", "mapConsumer"] as const) {
    Deno.test(`pipeline ${guarantee}, ${source}: 1 -> 0, 1 -> 1, 1 -> 2, offsets committed to the end`, async () => {
      const n = 6_000;
      const { output, commits, groupId, input } = await runUntilCommitted(guarantee, source, n);
      assert.equal(await committedSum(groupId, input), BigInt(n));
      const values = (await readAll(output)).sort();
      assert.deepEqual(values, expected(n));
      if (guarantee === "exactly-once") {
        // Batched: at most transactionRecords (1,000) sources per transaction, and not one each.
        assert.ok(commits >= n / 1_000 && commits < n / 10, `${commits} transactions`);
      }
    });
  }
}

Deno.test("pipeline exactly-once: a failing record aborts the transaction; PipelineError; the producer serves a new sink", async () => {
  const input = topicName("pl-fail-in");
  const output = topicName("pl-fail-out");
  await createTopic(brokers, input, 1);
  await createTopic(brokers, output, 1);
  await fill(input, 100);
  const groupId = topicName("pl-fail-group");
  await using producer = new Producer({
    brokers,
    transactionalId: topicName("pl-fail-txn"),
    allowAutoTopicCreation: false,
    maxBlockMs: 1_000,
  });
  {
    await using consumer = sourceConsumer(groupId, input);
    const err = await consumer
      .pipeThrough(mapRecords((r) => {
        const id = Number(dec.decode(r.value!));
        // Record 50 goes to a topic that does not exist: the pipeline must fail.
        return { topic: id === 50 ? topicName("pl-missing") : output, value: r.value };
      }))
      .pipeTo(producer.sink({ consumer, guarantee: "exactly-once", transactionMs: 60_000 }))
      .then(() => undefined, (e) => e);
    assert.ok(err instanceof PipelineError, `got ${err}`);
    assert.equal(err.guarantee, "exactly-once");
  }
  // Nothing committed: no output visible, no offset.
  assert.deepEqual(await readAll(output), []);
  assert.equal(await committedSum(groupId, input), 0n);
  // The same producer, a new sink, a new consumer: resumes from the committed offsets (none).
  await using consumer = sourceConsumer(groupId, input);
  const stop = new AbortController();
  await assert.rejects(
    consumer
      .pipeThrough(mapRecords((r) => ({ topic: output, value: r.value })))
      .pipeTo(
        producer.sink({
          consumer,
          guarantee: "exactly-once",
          onCommit: (o) => {
            if (o.some((x) => x.offset === 100n)) stop.abort(new RangeError("done"));
          },
        }),
        { signal: stop.signal },
      ),
    RangeError,
  );
  const values = (await readAll(output)).map(Number).sort((x, y) => x - y);
  assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => i));
});

Deno.test("pipeline sink: bad options are TypeError/RangeError", async () => {
  await using p = new Producer({ brokers });
  const consumer = new Consumer({ brokers, groupId: "x", autoCommit: false });
  assert.throws(() => p.sink({ consumer, guarantee: "exactly-once" }), TypeError);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => p.sink({ consumer, guarantee: "twice" as any }),
    TypeError,
  );
  assert.throws(
    () => p.sink({ consumer, guarantee: "at-least-once", commitIntervalMs: -1 }),
    RangeError,
  );
  await consumer.close();
});
