// Consumer groups through the admin client against the real broker: committed offsets
// (alter, list, delete), describe/list/delete groups, active classic and KIP-848 groups run by
// Kafka's console consumer, and agreement with Kafka's ConsumerGroupCommand.
import assert from "node:assert/strict";
import { Admin, AdminBatchError } from "../../admin/mod.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { broker, runJavaTool } from "../helpers/broker.ts";
import { brokerOffer, skipUnless } from "../helpers/broker_offer.ts";
import { javaProduce } from "../helpers/java_client.ts";
import { until } from "../helpers/wait.ts";

const b = await broker();
const offer = await brokerOffer();
/** KIP-848 tests skip, saying why, on a broker without the protocol (3.x by default). */
const no848 = (name: string) =>
  skipUnless(offer.consumerGroupProtocol, name, offer.why.consumerGroupProtocol);
const uid = () => crypto.randomUUID().slice(0, 8);
const newAdmin = () => new Admin({ brokers: b.bootstrap("PLAINTEXT") });
const GROUP_COMMAND = "ConsumerGroupCommand";

/** Produces `count` records to one partition with Kafka's Java producer (an independent client). */
async function produce(topic: string, partition: number, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => `v${i}`);
  await javaProduce(b.bootstrap("PLAINTEXT"), topic, partition, lines, { broker: b });
}

async function runGroupCommand(group: string, extra: string[]): Promise<string[]> {
  const r = await runJavaTool(GROUP_COMMAND, [
    "--bootstrap-server",
    b.listeners.PLAINTEXT,
    "--describe",
    "--group",
    group,
    ...extra,
  ], { broker: b });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.split("\n").map((l) => l.trim()).filter((l) => l);
  const at = lines.findIndex((l) => l.startsWith("GROUP "));
  assert.ok(at >= 0, r.stdout);
  return lines.slice(at);
}

/** `ConsumerGroupCommand --describe [--members]` rows (whitespace-separated) keyed by header. */
async function javaGroupRows(group: string, ...extra: string[]) {
  const [header, ...rows] = await runGroupCommand(group, extra);
  const names = header!.split(/\s+/);
  return rows.map((l) => {
    const cells = l.split(/\s+/);
    return Object.fromEntries(names.map((h, i) => [h, cells[i] ?? ""]));
  });
}

/** `ConsumerGroupCommand --describe --state`: its coordinator cell holds a space. */
async function javaGroupState(group: string) {
  const [, row] = await runGroupCommand(group, ["--state"]);
  // 3.9 leaves ASSIGNMENT-STRATEGY blank for an empty group.
  const m = /^(\S+)\s+(\S+)\s+\((\d+)\)\s+(?:(\S+)\s+)?(\S+)\s+(\d+)$/.exec(row ?? "");
  assert.ok(m, `unexpected --state row: ${row}`);
  return { coordinator: Number(m[3]), strategy: m[4] ?? "", state: m[5]!, members: Number(m[6]) };
}

Deno.test("committed offsets: alter, list and lag agree with ConsumerGroupCommand; delete offsets, delete group", async () => {
  await using admin = newAdmin();
  const topic = `grp-offsets-${uid()}`;
  const group = `grp-${uid()}`;
  await admin.createTopic(topic, { numPartitions: 2 });
  try {
    await produce(topic, 0, 5);
    await produce(topic, 1, 3);
    await admin.alterGroupOffsets(group, [
      { topic, partition: 0, offset: 2n, metadata: "by-admin" },
      { topic, partition: 1, offset: 1n },
    ]);
    const committed = await admin.listGroupOffsets(group);
    assert.deepEqual(committed.map((c) => [c.topic, c.partition, c.offset, c.metadata]), [
      [topic, 0, 2n, "by-admin"],
      [topic, 1, 1n, undefined],
    ]);
    const ends = await admin.listTopicOffsets(topic, "latest");
    const ours = committed.map((c) => {
      const end = ends.find((e) => e.partition === c.partition)!.offset;
      return {
        PARTITION: String(c.partition),
        "CURRENT-OFFSET": String(c.offset),
        "LOG-END-OFFSET": String(end),
        LAG: String(end - c.offset),
      };
    });
    const java = (await javaGroupRows(group)).map((r) => ({
      PARTITION: r.PARTITION,
      "CURRENT-OFFSET": r["CURRENT-OFFSET"],
      "LOG-END-OFFSET": r["LOG-END-OFFSET"],
      LAG: r.LAG,
    })).sort((x, y) => Number(x.PARTITION) - Number(y.PARTITION)); // 3.9 lists 1 before 0
    assert.deepEqual(ours, java);
    assert.deepEqual(java.map((r) => r.LAG), ["3", "2"]);

    const g = await admin.describeGroup(group);
    const state = await javaGroupState(group);
    assert.equal(g.state, state.state);
    assert.equal(g.state, "Empty");
    assert.equal(g.members.length, state.members);
    assert.equal(g.coordinator, state.coordinator);
    const listed = (await admin.listGroups()).find((x) => x.groupId === group);
    assert.equal(listed?.state, "Empty");
    assert.equal(listed?.coordinator, g.coordinator);
    const javaList = await runJavaTool(GROUP_COMMAND, [
      "--bootstrap-server",
      b.listeners.PLAINTEXT,
      "--list",
    ], { broker: b });
    assert.ok(javaList.stdout.split("\n").map((s) => s.trim()).includes(group));

    // Only some partitions: one without a commit comes back as -1.
    const two = await admin.listGroupOffsets(group, {
      partitions: [{ topic, partition: 1 }, { topic, partition: 0 }],
    });
    assert.deepEqual(two.map((c) => c.offset), [2n, 1n]);

    await admin.deleteGroupOffsets(group, [{ topic, partition: 1 }]);
    assert.deepEqual((await admin.listGroupOffsets(group)).map((c) => c.partition), [0]);
    const none = await admin.listGroupOffsets(group, { partitions: [{ topic, partition: 1 }] });
    assert.deepEqual(none.map((c) => c.offset), [-1n]);

    await admin.deleteGroup(group);
    assert.ok(!(await admin.listGroups()).some((x) => x.groupId === group));
    assert.deepEqual(await admin.listGroupOffsets(group), []);
  } finally {
    await admin.deleteGroups([group]).catch(() => {});
    await admin.deleteTopic(topic);
  }
});

Deno.test("unknown groups fail per item with GROUP_ID_NOT_FOUND", async () => {
  await using admin = newAdmin();
  const topic = `grp-unknown-${uid()}`;
  const known = `grp-known-${uid()}`;
  const unknown = `grp-nope-${uid()}`;
  await admin.createTopic(topic);
  try {
    await admin.alterGroupOffsets(known, [{ topic, partition: 0, offset: 0n }]);
    const e = await admin.describeGroups([unknown, known]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError);
    assert.equal((e.errors[0] as ProtocolError).errorName, "GROUP_ID_NOT_FOUND");
    assert.ok(e.results[1]!.ok);
    await assert.rejects(
      admin.deleteGroup(unknown),
      (x) => x instanceof ProtocolError && x.errorName === "GROUP_ID_NOT_FOUND",
    );
    await assert.rejects(
      admin.deleteGroupOffsets(unknown, [{ topic, partition: 0 }]),
      (x) => x instanceof AdminBatchError && (x.errors[0] as ProtocolError).code === 69,
    );
    const del = await admin.deleteGroups([known, unknown]).catch((x) => x);
    assert.ok(del instanceof AdminBatchError);
    assert.deepEqual(del.results.map((r) => r.ok), [true, false]);
  } finally {
    await admin.deleteTopic(topic);
  }
});

/** Runs Kafka's console consumer in `group` until it has been idle for `idleMs`. */
function consoleConsumer(topic: string, group: string, props: Record<string, string>) {
  return runJavaTool("ConsoleConsumer", [
    "--bootstrap-server",
    b.listeners.PLAINTEXT,
    "--topic",
    topic,
    "--group",
    group,
    "--from-beginning",
    "--timeout-ms",
    "12000",
    ...Object.entries(props).flatMap(([k, v]) => ["--consumer-property", `${k}=${v}`]),
  ], { broker: b, timeoutMs: 90_000 });
}

for (const protocol of ["classic", "consumer"] as const) {
  const name =
    `an active ${protocol}-protocol group is described like ConsumerGroupCommand, and guarded`;
  Deno.test(name, { ignore: protocol === "consumer" && no848(name) }, async () => {
    await using admin = newAdmin();
    const topic = `grp-active-${protocol}-${uid()}`;
    const group = `grp-active-${uid()}`;
    await admin.createTopic(topic, { numPartitions: 2 });
    let consumer: ReturnType<typeof consoleConsumer> | undefined;
    try {
      await produce(topic, 0, 4);
      await produce(topic, 1, 2);
      consumer = consoleConsumer(topic, group, {
        "group.protocol": protocol,
        "client.id": `cc-${protocol}`,
        ...protocol === "classic" && { "group.instance.id": `static-${group}` },
      });
      const g = await until("a member with its assignment", async () => {
        const d = await admin.describeGroup(group).catch(() => undefined);
        return d && d.members.length === 1 && d.members[0]!.assignment.length === 2 &&
            /stable/i.test(d.state)
          ? d
          : undefined;
      }, 30_000);
      assert.equal(g.type, protocol);
      assert.equal(g.protocolType, "consumer");
      const m = g.members[0]!;
      assert.equal(m.clientId, `cc-${protocol}`);
      assert.deepEqual(
        [...m.assignment].sort((x, y) => x.partition - y.partition),
        [{ topic, partition: 0 }, { topic, partition: 1 }],
      );
      if (protocol === "consumer") {
        assert.ok((m.memberEpoch ?? 0) > 0);
        assert.deepEqual(m.subscribedTopics, [topic]);
        assert.ok(g.groupEpoch !== undefined && g.groupEpoch > 0);
      } else {
        assert.equal(m.groupInstanceId, `static-${group}`);
        assert.equal(g.protocol, "range");
      }
      const [row] = await javaGroupRows(group, "--members", "--verbose");
      assert.equal(row!["CONSUMER-ID"], m.memberId);
      assert.equal(row!["CLIENT-ID"], m.clientId);
      assert.equal(row!.HOST, m.clientHost);
      assert.equal(row!["#PARTITIONS"], "2");
      const st = await javaGroupState(group);
      assert.equal(st.state.toLowerCase(), g.state.toLowerCase());
      assert.equal(st.strategy, g.protocol);
      assert.equal(st.coordinator, g.coordinator);
      assert.equal(st.members, 1);
      const listed = (await admin.listGroups()).find((x) => x.groupId === group);
      assert.equal(listed?.type, protocol);

      // A live group cannot be deleted or have its offsets set by an administrator.
      await assert.rejects(
        admin.deleteGroup(group),
        (e) => e instanceof ProtocolError && e.errorName === "NON_EMPTY_GROUP",
      );
      await assert.rejects(
        admin.alterGroupOffsets(group, [{ topic, partition: 0, offset: 0n }]),
        (e) =>
          e instanceof AdminBatchError &&
          ["UNKNOWN_MEMBER_ID", "STALE_MEMBER_EPOCH"].includes(
            (e.errors[0] as ProtocolError).errorName,
          ),
      );
      if (protocol === "classic") {
        await assert.rejects(
          admin.removeGroupMembers(group, [{ groupInstanceId: `nobody-${uid()}` }]),
          (e) =>
            e instanceof AdminBatchError &&
            (e.errors[0] as ProtocolError).errorName === "UNKNOWN_MEMBER_ID",
        );
        await admin.removeGroupMembers(group, [{ groupInstanceId: `static-${group}` }]);
      }
      const r = await consumer;
      consumer = undefined;
      assert.equal(r.code, 0, r.stderr.slice(-2000));
    } finally {
      await consumer?.catch(() => {});
      await admin.deleteGroups([group]).catch(() => {});
      await admin.deleteTopic(topic);
    }
  });
}
