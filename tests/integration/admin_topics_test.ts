// Topics through the admin client against the real broker: create (counts, assignments,
// configs, validateOnly), describe, list, grow, delete; per-item failures; and agreement with
// Kafka's own TopicCommand on the same broker.
import assert from "node:assert/strict";
import { Admin, AdminBatchError } from "../../admin/mod.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { broker, runJavaTool } from "../helpers/broker.ts";
import { until } from "../helpers/wait.ts";

const b = await broker();
const uid = () => crypto.randomUUID().slice(0, 8);
const newAdmin = () => new Admin({ brokers: b.bootstrap("PLAINTEXT") });
const node = b.nodeIds[0] ?? 1;

interface JavaTopic {
  topicId: string;
  partitionCount: number;
  replicationFactor: number;
  configs: Map<string, string>;
  partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
}

/** Runs `TopicCommand --describe` and parses its tab-separated `Key: value` lines. */
async function javaDescribe(topic: string): Promise<JavaTopic> {
  const r = await runJavaTool("TopicCommand", [
    "--bootstrap-server",
    b.listeners.PLAINTEXT,
    "--describe",
    "--topic",
    topic,
  ], { broker: b });
  assert.equal(r.code, 0, r.stderr);
  const fields = (line: string) =>
    new Map(
      line.trim().split("\t").map((kv) => {
        const i = kv.indexOf(":");
        return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
      }),
    );
  const ids = (s: string | undefined) => s ? s.split(",").filter((x) => x).map(Number) : [];
  const lines = r.stdout.split("\n").filter((l) => l.includes(`Topic: ${topic}`));
  const head = fields(lines[0]!);
  const configs = new Map<string, string>();
  for (const kv of (head.get("Configs") ?? "").split(",").filter((x) => x)) {
    const i = kv.indexOf("=");
    configs.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return {
    topicId: head.get("TopicId")!,
    partitionCount: Number(head.get("PartitionCount")),
    replicationFactor: Number(head.get("ReplicationFactor")),
    configs,
    partitions: lines.slice(1).map((l) => {
      const f = fields(l);
      return {
        partition: Number(f.get("Partition")),
        leader: Number(f.get("Leader")),
        replicas: ids(f.get("Replicas")),
        isr: ids(f.get("Isr")),
      };
    }),
  };
}

Deno.test("created topics are described and listed as TopicCommand sees them", async () => {
  await using admin = newAdmin();
  const counted = `adm-counted-${uid()}`;
  const pinned = `adm-pinned-${uid()}`;
  const created = await admin.createTopics([
    {
      name: counted,
      numPartitions: 3,
      replicationFactor: 1,
      configs: { "cleanup.policy": "compact", "retention.ms": "3600000" },
    },
    { name: pinned, assignments: [[node], [node]] },
  ]);
  try {
    assert.deepEqual(created.map((t) => [t.name, t.numPartitions, t.replicationFactor]), [
      [counted, 3, 1],
      [pinned, 2, 1],
    ]);
    assert.equal(
      created[0]!.configs.find((c) => c.name === "cleanup.policy")?.value,
      "compact",
    );
    const described = await admin.describeTopics([counted, pinned]);
    for (const [i, name] of [counted, pinned].entries()) {
      const ours = described[i]!;
      const java = await javaDescribe(name);
      assert.equal(ours.name, name);
      assert.equal(ours.topicId, java.topicId);
      assert.equal(ours.topicId, created[i]!.topicId);
      assert.equal(ours.isInternal, false);
      assert.equal(ours.partitions.length, java.partitionCount);
      assert.equal(ours.partitions[0]!.replicas.length, java.replicationFactor);
      assert.deepEqual(
        ours.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          replicas: [...p.replicas],
          isr: [...p.isr],
        })),
        java.partitions,
      );
      // TopicCommand's "Configs:" are the topic's non-default configs.
      const cfg = await admin.describeConfig({ type: "topic", name });
      const nonDefault = new Map(
        cfg.entries.filter((e) => !e.isDefault).map((e) => [e.name, e.value ?? ""]),
      );
      assert.deepEqual(nonDefault, java.configs);
    }
    assert.equal(
      (await javaDescribe(counted)).configs.get("retention.ms"),
      "3600000",
      "the configs given at creation are in place",
    );
    const listed = await admin.listTopics();
    const mine = listed.filter((t) => t.name === counted || t.name === pinned);
    assert.deepEqual(mine.map((t) => t.name).sort(), [counted, pinned].sort());
    assert.ok(listed.every((t) => !t.isInternal), "internal topics only when asked");
    // A group coordinator lookup creates __consumer_offsets on a fresh broker (other tests
    // usually have, but this one must not depend on them).
    await admin.listGroupOffsets(`adm-warm-${uid()}`);
    const all = await admin.listTopics({ includeInternal: true });
    assert.ok(all.some((t) => t.name === "__consumer_offsets" && t.isInternal));
    const java = await runJavaTool("TopicCommand", [
      "--bootstrap-server",
      b.listeners.PLAINTEXT,
      "--list",
    ], { broker: b });
    const javaNames = new Set(java.stdout.split("\n").map((s) => s.trim()));
    assert.ok(javaNames.has(counted) && javaNames.has(pinned));
  } finally {
    await admin.deleteTopics([counted, pinned]);
  }
});

Deno.test("createTopics reports each topic's failure and creates the rest", async () => {
  await using admin = newAdmin();
  const existing = `adm-exists-${uid()}`;
  const fresh = `adm-fresh-${uid()}`;
  await admin.createTopic(existing, { numPartitions: 1 });
  try {
    const e = await admin.createTopics([
      { name: existing, numPartitions: 1 },
      { name: fresh, numPartitions: 2 },
      { name: `adm-rf-${uid()}`, numPartitions: 1, replicationFactor: 3 },
    ]).then(() => assert.fail("expected AdminBatchError"), (e) => e);
    assert.ok(e instanceof AdminBatchError, String(e));
    assert.equal(e.operation, "createTopics");
    assert.deepEqual(e.results.map((r) => [r.name.startsWith("adm-rf-") ? "rf" : r.name, r.ok]), [
      [existing, false],
      [fresh, true],
      ["rf", false],
    ]);
    const codes = e.errors.map((x) => (x as ProtocolError).errorName);
    assert.deepEqual(codes, ["TOPIC_ALREADY_EXISTS", "INVALID_REPLICATION_FACTOR"]);
    assert.equal(e.errorFor(existing), e.errors[0]);
    assert.equal(e.successes()[0]!.name, fresh);
    assert.equal((await admin.describeTopic(fresh)).partitions.length, 2, "the good one exists");

    // The single-item form rejects with the topic's own ProtocolError.
    await assert.rejects(
      admin.createTopic(existing),
      (x) => x instanceof ProtocolError && x.errorName === "TOPIC_ALREADY_EXISTS",
    );
    await assert.rejects(
      admin.createTopic(`bad name ${uid()}!`),
      (x) => x instanceof ProtocolError && x.errorName === "INVALID_TOPIC_EXCEPTION",
    );
    await assert.rejects(
      admin.createTopic(`adm-cfg-${uid()}`, { configs: { "no.such.config": "1" } }),
      (x) => x instanceof ProtocolError && x.errorName === "INVALID_CONFIG",
    );
    // Bad arguments never reach the broker.
    await assert.rejects(() => admin.createTopic(""), TypeError);
    await assert.rejects(() => admin.createTopic("x", { numPartitions: 0 }), RangeError);
    await assert.rejects(
      () => admin.createTopic("x", { numPartitions: 1, assignments: [[node]] }),
      TypeError,
    );
  } finally {
    await admin.deleteTopics([existing, fresh]);
  }
});

Deno.test("validateOnly checks a topic without creating it", async () => {
  await using admin = newAdmin();
  const name = `adm-validate-${uid()}`;
  const t = await admin.createTopic(name, { numPartitions: 4, validateOnly: true });
  assert.equal(t.numPartitions, 4);
  await assert.rejects(
    admin.describeTopic(name),
    (e) => e instanceof ProtocolError && e.errorName === "UNKNOWN_TOPIC_OR_PARTITION",
  );
  await assert.rejects(
    admin.createTopic(name, { replicationFactor: 5, validateOnly: true }),
    (e) => e instanceof ProtocolError && e.errorName === "INVALID_REPLICATION_FACTOR",
  );
});

Deno.test("describeTopics reports an unknown topic per item", async () => {
  await using admin = newAdmin();
  const known = `adm-known-${uid()}`;
  const unknown = `adm-unknown-${uid()}`;
  await admin.createTopic(known, { numPartitions: 2 });
  try {
    const e = await admin.describeTopics([unknown, known]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError);
    const [u, k] = e.results;
    assert.ok(!u!.ok && u!.error instanceof ProtocolError);
    assert.equal((u!.error as ProtocolError).errorName, "UNKNOWN_TOPIC_OR_PARTITION");
    assert.ok(k?.ok && (k.value as { partitions: unknown[] }).partitions.length === 2);
    const ops = await admin.describeTopic(known, { includeAuthorizedOperations: true });
    assert.ok(ops.authorizedOperations?.includes("describe"), `${ops.authorizedOperations}`);
  } finally {
    await admin.deleteTopic(known);
  }
});

Deno.test("createPartitions grows a topic; shrinking is INVALID_PARTITIONS", async () => {
  await using admin = newAdmin();
  const name = `adm-grow-${uid()}`;
  const other = `adm-grow2-${uid()}`;
  await admin.createTopics([{ name, numPartitions: 2 }, { name: other, numPartitions: 1 }]);
  try {
    await admin.growTopic(name, 5);
    // The controller answers once the change is committed; a broker's metadata may follow a
    // moment later (seen on 3.9), as Java's admin tests also wait for it.
    await until(
      "5 partitions in the metadata",
      async () => (await admin.describeTopic(name)).partitions.length === 5 || undefined,
    );
    assert.equal((await javaDescribe(name)).partitionCount, 5);
    await assert.rejects(
      admin.growTopic(name, 3),
      (e) => e instanceof ProtocolError && e.errorName === "INVALID_PARTITIONS",
    );
    await assert.rejects(
      admin.growTopic(name, 5),
      (e) => e instanceof ProtocolError && e.errorName === "INVALID_PARTITIONS",
    );
    await admin.growTopic(name, 9, { validateOnly: true });
    assert.equal((await admin.describeTopic(name)).partitions.length, 5, "validateOnly");
    // A batch: the unknown topic fails, the other grows with an explicit placement.
    const e = await admin.createPartitions([
      { topic: `adm-nope-${uid()}`, count: 2 },
      { topic: other, count: 2, assignments: [[node]] },
    ]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError);
    assert.equal((e.errors[0] as ProtocolError).errorName, "UNKNOWN_TOPIC_OR_PARTITION");
    const grown = await until(
      "the second partition in the metadata",
      async () => (await admin.describeTopic(other)).partitions[1],
    );
    assert.deepEqual(grown.replicas, [node]);
  } finally {
    await admin.deleteTopics([name, other]);
  }
});

Deno.test("deleteTopics deletes by name and by id; an unknown topic fails alone", async () => {
  await using admin = newAdmin();
  const byName = `adm-del-${uid()}`;
  const byId = `adm-delid-${uid()}`;
  const [, second] = await admin.createTopics([{ name: byName }, { name: byId }]);
  const missing = `adm-missing-${uid()}`;
  const e = await admin.deleteTopics([byName, missing, { topicId: second!.topicId }])
    .catch((x) => x);
  assert.ok(e instanceof AdminBatchError);
  assert.deepEqual(e.results.map((r) => r.ok), [true, false, true]);
  assert.equal((e.errors[0] as ProtocolError).errorName, "UNKNOWN_TOPIC_OR_PARTITION");
  await assert.rejects(
    admin.deleteTopic(missing),
    (x) => x instanceof ProtocolError && x.errorName === "UNKNOWN_TOPIC_OR_PARTITION",
  );
  // The deletion reaches the broker's metadata a moment after the controller answers.
  const left = await until("both topics gone from the metadata", async () => {
    const r = await admin.describeTopics([byName, byId]).catch((x) => x);
    return r instanceof AdminBatchError && r.errors.length === 2 ? r : undefined;
  });
  assert.deepEqual(
    left.errors.map((x) => (x as ProtocolError).errorName),
    ["UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_OR_PARTITION"],
  );
});
