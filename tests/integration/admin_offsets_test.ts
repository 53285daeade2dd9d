// Offsets and records through the admin client against the real broker: ListOffsets
// (earliest, latest, max timestamp, by timestamp) and DeleteRecords, compared with Kafka's
// GetOffsetShell on the same broker; per-partition failures.
import assert from "node:assert/strict";
import { Admin, AdminBatchError, type OffsetSpec } from "../../admin/mod.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { broker, runJavaTool } from "../helpers/broker.ts";
import { javaProduce } from "../helpers/java_client.ts";

const b = await broker();
const uid = () => crypto.randomUUID().slice(0, 8);
const newAdmin = () => new Admin({ brokers: b.bootstrap("PLAINTEXT") });

/** Produces `count` records to one partition with Kafka's Java producer (an independent client). */
async function produce(topic: string, partition: number, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => `r${i}`);
  await javaProduce(b.bootstrap("PLAINTEXT"), topic, partition, lines, { broker: b });
}

/** GetOffsetShell's `topic:partition:offset` lines as partition -> offset. */
async function javaOffsets(topic: string, time: string): Promise<Map<number, bigint>> {
  const r = await runJavaTool("GetOffsetShell", [
    "--bootstrap-server",
    b.listeners.PLAINTEXT,
    "--topic",
    topic,
    "--time",
    time,
  ], { broker: b });
  assert.equal(r.code, 0, r.stderr);
  const out = new Map<number, bigint>();
  for (const line of r.stdout.split("\n").filter((l) => l.startsWith(`${topic}:`))) {
    const [, p, o] = line.split(":");
    out.set(Number(p), BigInt(o!));
  }
  return out;
}

/** Our answer for every partition, in GetOffsetShell's shape (it omits "not found", -1). */
async function ourOffsets(admin: Admin, topic: string, spec: OffsetSpec) {
  const listed = await admin.listTopicOffsets(topic, spec);
  return new Map(listed.filter((o) => o.offset >= 0n).map((o) => [o.partition, o.offset]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("listOffsets agrees with GetOffsetShell: earliest, latest, max timestamp, by timestamp", async () => {
  await using admin = newAdmin();
  const topic = `off-list-${uid()}`;
  await admin.createTopic(topic, { numPartitions: 3 });
  try {
    await produce(topic, 0, 4);
    await produce(topic, 1, 2);
    await sleep(30);
    const between = Date.now();
    await sleep(30);
    await produce(topic, 0, 3);
    // Partition 2 stays empty: max-timestamp and timestamp queries find nothing there.
    const cases: [OffsetSpec, string][] = [
      ["earliest", "-2"],
      ["latest", "-1"],
      ["max-timestamp", "-3"],
      [{ timestamp: between }, String(between)],
      [{ timestamp: new Date(0) }, "0"],
    ];
    for (const [spec, time] of cases) {
      const ours = await ourOffsets(admin, topic, spec);
      const java = await javaOffsets(topic, time);
      assert.deepEqual(ours, java, `spec ${JSON.stringify(spec)}`);
    }
    const latest = await ourOffsets(admin, topic, "latest");
    assert.deepEqual(latest, new Map([[0, 7n], [1, 2n], [2, 0n]]));
    const [byTime] = await admin.listOffsets([{
      topic,
      partition: 0,
      spec: { timestamp: between },
    }]);
    assert.equal(byTime!.offset, 4n, "the first record at or after the timestamp");
    assert.ok(byTime!.timestamp >= between);
    const [none] = await admin.listOffsets([
      { topic, partition: 1, spec: { timestamp: Date.now() + 3_600_000 } },
    ]);
    assert.equal(none!.offset, -1n);
    const [committed] = await admin.listOffsets([{ topic, partition: 0, spec: "latest" }], {
      isolationLevel: "read_committed",
    });
    assert.equal(committed!.offset, 7n, "no open transactions: the LSO is the high watermark");
  } finally {
    await admin.deleteTopic(topic);
  }
});

Deno.test("deleteRecords moves the log start offset as GetOffsetShell sees it", async () => {
  await using admin = newAdmin();
  const topic = `off-del-${uid()}`;
  await admin.createTopic(topic, { numPartitions: 2 });
  try {
    await produce(topic, 0, 10);
    await produce(topic, 1, 5);
    const deleted = await admin.deleteRecords([
      { topic, partition: 0, offset: 6n },
      { topic, partition: 1, offset: -1n },
    ]);
    assert.deepEqual(deleted, [
      { topic, partition: 0, lowWatermark: 6n },
      { topic, partition: 1, lowWatermark: 5n },
    ]);
    assert.deepEqual(await ourOffsets(admin, topic, "earliest"), new Map([[0, 6n], [1, 5n]]));
    assert.deepEqual(await javaOffsets(topic, "-2"), new Map([[0, 6n], [1, 5n]]));
    assert.deepEqual(await ourOffsets(admin, topic, "latest"), new Map([[0, 10n], [1, 5n]]));

    // Beyond the high watermark: that partition fails, the other is done.
    const e = await admin.deleteRecords([
      { topic, partition: 0, offset: 99n },
      { topic, partition: 1, offset: 5n },
    ]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError);
    assert.deepEqual(e.results.map((r) => r.ok), [false, true]);
    assert.equal((e.errors[0] as ProtocolError).errorName, "OFFSET_OUT_OF_RANGE");
  } finally {
    await admin.deleteTopic(topic);
  }
});

Deno.test("unknown partitions and topics fail per item, at once", async () => {
  await using admin = newAdmin();
  const topic = `off-unknown-${uid()}`;
  await admin.createTopic(topic, { numPartitions: 1 });
  try {
    const missing = `off-missing-${uid()}`;
    const e = await admin.listOffsets([
      { topic, partition: 0, spec: "latest" },
      { topic, partition: 7, spec: "latest" },
      { topic: missing, partition: 0, spec: "earliest" },
    ]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError, String(e));
    assert.deepEqual(e.results.map((r) => [r.name, r.ok]), [
      [`${topic}-0`, true],
      [`${topic}-7`, false],
      [`${missing}-0`, false],
    ]);
    assert.ok(
      e.errors.every((x) => (x as ProtocolError).errorName === "UNKNOWN_TOPIC_OR_PARTITION"),
    );
    await assert.rejects(
      admin.deleteRecords([{ topic: missing, partition: 0, offset: 0n }]),
      (x) => x instanceof AdminBatchError && (x.errors[0] as ProtocolError).code === 3,
    );
    await assert.rejects(
      admin.listTopicOffsets(missing, "latest"),
      (x) => x instanceof ProtocolError && x.errorName === "UNKNOWN_TOPIC_OR_PARTITION",
    );
    // Bad arguments are caught before any request.
    await assert.rejects(
      () => admin.listOffsets([{ topic, partition: -1, spec: "latest" }]),
      RangeError,
    );
    await assert.rejects(
      () => admin.listOffsets([{ topic, partition: 0, spec: "newest" as OffsetSpec }]),
      TypeError,
    );
    await assert.rejects(
      () => admin.deleteRecords([{ topic, partition: 0, offset: 1 as unknown as bigint }]),
      RangeError,
    );
    await assert.rejects(
      () =>
        admin.listOffsets([{ topic, partition: 0, spec: "latest" }, {
          topic,
          partition: 0,
          spec: "earliest",
        }]),
      TypeError,
    );
  } finally {
    await admin.deleteTopic(topic);
  }
});
