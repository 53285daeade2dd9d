/**
 * The command-line tool against Kafka's own Java tools on the same state: TopicCommand
 * --describe, ConsumerGroupCommand --describe and --reset-offsets (every target, the plan of
 * --dry-run and the result of --execute), GetOffsetShell.
 */

import assert from "node:assert/strict";
import { Admin, Consumer, Producer } from "../../mod.ts";
import { broker, runJavaTool } from "../helpers/broker.ts";
import { runCli } from "../helpers/cli.ts";

const GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
const b = await broker();
const bootstrap = b.bootstrap()[0]!;
const run = (...args: string[]) => runCli([...args, "-b", bootstrap]);
const java = async (cls: string, args: string[]) => {
  const r = await runJavaTool(cls, ["--bootstrap-server", bootstrap, ...args], { broker: b });
  assert.equal(r.code, 0, `${cls} ${args.join(" ")}: ${r.stderr}`);
  return r;
};
const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** Data rows of a kafka-consumer-groups.sh-style table, split on whitespace, sorted. */
function rows(text: string, header: string): string[] {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l);
  return lines.filter((l) => !l.startsWith(header)).map((l) => l.split(/\s+/).join(" ")).sort();
}

Deno.test("cli: topics describe prints what kafka-topics.sh --describe prints", async () => {
  const topic = `cli-java-topic-${suffix}`;
  await using admin = new Admin({ brokers: b.bootstrap() });
  await admin.createTopic(topic, {
    numPartitions: 3,
    configs: { "retention.ms": "3600000", "cleanup.policy": "compact,delete" },
  });
  const ours = await run("topics", "describe", "--topic", topic);
  assert.equal(ours.code, 0, ours.stderr);
  const theirs = await java("org.apache.kafka.tools.TopicCommand", [
    "--describe",
    "--topic",
    topic,
  ]);
  assert.equal(ours.stdout.trimEnd(), theirs.stdout.trimEnd());
  await admin.deleteTopic(topic);
});

Deno.test("cli: groups describe matches kafka-consumer-groups.sh --describe", async () => {
  const topic = `cli-java-groups-${suffix}`;
  const group = `cli-java-g-${suffix}`;
  await using admin = new Admin({ brokers: b.bootstrap() });
  await admin.createTopic(topic, { numPartitions: 3 });
  {
    await using p = new Producer({ brokers: b.bootstrap(), defaultTopic: topic });
    for (let i = 0; i < 30; i++) await p.send({ partition: i % 3, value: `v${i}` });
  }
  // An active member with explicit commits, so offsets and lag stay put while both tools look.
  const c = new Consumer({
    brokers: b.bootstrap(),
    groupId: group,
    topics: [topic],
    autoCommit: false,
    autoOffsetReset: "earliest",
    clientId: "cli-java-client",
  });
  const reader = c.getReader();
  for (let i = 0; i < 5; i++) await reader.read();
  await c.commit([{ topic, partition: 0, offset: 4n }, { topic, partition: 1, offset: 2n }]);
  const header = "GROUP";
  const ours = await run("groups", "describe", "--group", group);
  const theirs = await java(GROUPS, ["--describe", "--group", group]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.deepEqual(rows(ours.stdout, header), rows(theirs.stdout, header));
  assert.equal(rows(ours.stdout, header).length, 3);
  reader.releaseLock();
  await c.close();

  // Inactive: same rows with "-" for the member columns, and the same note on stderr.
  const ours2 = await run("groups", "describe", "--group", group);
  const theirs2 = await java(GROUPS, ["--describe", "--group", group]);
  assert.deepEqual(rows(ours2.stdout, header), rows(theirs2.stdout, header));
  assert.match(ours2.stderr, /Consumer group '.*' has no active members\./);
  assert.match(theirs2.stderr, /Consumer group '.*' has no active members\./);
  // The members and state views agree on the essentials.
  const state = await run("groups", "describe", "--group", group, "--state", "--json");
  assert.equal(JSON.parse(state.stdout)[0].state, "Empty");
  await admin.deleteGroup(group);
  await admin.deleteTopic(topic);
});

Deno.test("cli: offsets matches GetOffsetShell for latest, earliest, max-timestamp, a time", async () => {
  const topic = `cli-java-offsets-${suffix}`;
  await using admin = new Admin({ brokers: b.bootstrap() });
  await admin.createTopic(topic, { numPartitions: 2 });
  const t0 = Date.now() - 60_000;
  {
    await using p = new Producer({ brokers: b.bootstrap(), defaultTopic: topic });
    for (let i = 0; i < 10; i++) {
      await p.send({ partition: i % 2, value: `v${i}`, timestamp: t0 + i * 1000 });
    }
  }
  await admin.deleteRecords([{ topic, partition: 0, offset: 2n }]);
  for (const time of ["-1", "-2", "-3", String(t0 + 4500), String(t0 + 60_000)]) {
    const ours = await run("offsets", "--topic", topic, "--time", time, "--plain");
    const theirs = await java("org.apache.kafka.tools.GetOffsetShell", [
      "--topic",
      topic,
      "--time",
      time,
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    const lines = (s: string) => s.split("\n").filter((l) => l.trim()).sort();
    assert.deepEqual(lines(ours.stdout), lines(theirs.stdout), `--time ${time}`);
  }
  await admin.deleteTopic(topic);
});

/**
 * The rows of a --reset-offsets plan as "topic partition new-offset", from either layout of
 * ConsumerGroupCommand: Kafka 4.x prints a row a line (and "Partition N ... is empty. Falling
 * back..." notes between them); Kafka 3.x prints each padded row without a line break, so the
 * header and every row share one line. Rows are found by the group's name, not by lines.
 */
function resetPlan(text: string, group: string): string[] {
  const name = group.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const row = new RegExp(`(?<=^|\\s)${name}\\s+(\\S+)\\s+(\\d+)\\s+(-?\\d+)(?=\\s|$)`, "g");
  return [...text.matchAll(row)].map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort();
}

Deno.test("resetPlan reads Kafka 4.x's plan a row a line and Kafka 3.x's on one line", () => {
  const g = "g-1.x";
  const v4 = "\nGROUP  TOPIC  PARTITION  NEW-OFFSET\n" +
    "g-1.x  t      1          0\nPartition 2 of t is empty. Falling back...\ng-1.x  t  0  2\n";
  const v3 =
    "\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET     " +
    "g-1.x                          t                              1          0              " +
    "g-1.x                          t                              0          2              \n";
  assert.deepEqual(resetPlan(v4, g), ["t 0 2", "t 1 0"]);
  assert.deepEqual(resetPlan(v3, g), ["t 0 2", "t 1 0"]);
  assert.deepEqual(resetPlan(v3, "g-1"), [], "a group whose name is a prefix of another");
});

const RESET_NAME = "cli: groups reset-offsets plans and executes as kafka-consumer-groups.sh";

Deno.test(RESET_NAME, async () => {
  const topic = `cli-java-reset-${suffix}`;
  const group = `cli-java-reset-g-${suffix}`;
  await using admin = new Admin({ brokers: b.bootstrap() });
  await admin.createTopic(topic, { numPartitions: 3 });
  // Ten records per partition, one every ten minutes, ending ten minutes ago: the time targets
  // below fall five minutes from any record, so a slow run (ours, then Java's tool, each
  // reading the clock) cannot cross a record between the two.
  const STEP = 10 * 60_000;
  const t0 = Date.now() - 10 * STEP;
  {
    await using p = new Producer({ brokers: b.bootstrap(), defaultTopic: topic });
    const records = [];
    for (let partition = 0; partition < 3; partition++) {
      for (let i = 0; i < 10; i++) {
        records.push({ partition, value: `v${i}`, timestamp: t0 + i * STEP });
      }
    }
    await p.send(records);
  }
  await admin.deleteRecords([{ topic, partition: 0, offset: 2n }]); // log start 2 on p0
  const base = [{ topic, partition: 0, offset: 5n }, { topic, partition: 1, offset: 3n }];
  const restore = async () => {
    await admin.deleteGroupOffsets(group, [{ topic, partition: 2 }]).catch(() => {});
    await admin.alterGroupOffsets(group, base);
  };
  const committed = async () =>
    (await admin.listGroupOffsets(group)).filter((o) => o.offset >= 0n)
      .map((o) => `${o.topic} ${o.partition} ${o.offset}`).sort();
  const planOf = (text: string) => resetPlan(text, group);

  const at = (ms: number) => new Date(ms).toISOString(); // ...T..:..:..sssZ, as Java reads it
  const targets: string[][] = [
    ["--topic", topic, "--to-earliest"],
    ["--topic", topic, "--to-latest"],
    ["--topic", topic, "--to-current"],
    ["--topic", topic, "--to-offset", "7"],
    ["--topic", topic, "--to-offset", "0"], // below p0's log start: clamped
    ["--topic", topic, "--to-offset", "100"], // past the end: clamped
    ["--all-topics", "--shift-by", "-4"],
    ["--all-topics", "--shift-by", "20"],
    ["--topic", `${topic}:1,2`, "--to-datetime", at(t0 + 4.5 * STEP)],
    ["--topic", topic, "--to-datetime", at(Date.now() + 3_600_000)], // none that late: log end
    ["--topic", topic, "--by-duration", "PT55M"], // between records 4 and 5
  ];
  for (const target of targets) {
    await restore();
    const before = await committed();
    const dry = await run("groups", "reset-offsets", "--group", group, ...target, "--dry-run");
    assert.equal(dry.code, 0, `${target.join(" ")}: ${dry.stderr}`);
    assert.deepEqual(await committed(), before, "--dry-run changes nothing");
    const javaDry = await java(GROUPS, [
      "--reset-offsets",
      "--group",
      group,
      ...target,
      "--dry-run",
    ]);
    assert.deepEqual(planOf(dry.stdout), planOf(javaDry.stdout), `plan of ${target.join(" ")}`);
    assert.ok(planOf(dry.stdout).length > 0);

    const exec = await run("groups", "reset-offsets", "--group", group, ...target, "--execute");
    assert.equal(exec.code, 0, exec.stderr);
    const ours = await committed();
    await restore();
    await java(GROUPS, ["--reset-offsets", "--group", group, ...target, "--execute"]);
    assert.deepEqual(ours, await committed(), `result of ${target.join(" ")}`);
  }

  // An active group cannot be reset: a usage-level refusal, one line, nothing changed.
  const c = new Consumer({ brokers: b.bootstrap(), groupId: group, topics: [topic] });
  const reader = c.getReader();
  const first = reader.read();
  let state = "";
  for (let i = 0; i < 100 && state !== "Stable"; i++) {
    state = (await admin.describeGroup(group)).state;
    if (state !== "Stable") await new Promise((r) => setTimeout(r, 200));
  }
  const refused = await run(
    "groups",
    "reset-offsets",
    "--group",
    group,
    "--all-topics",
    "--to-earliest",
    "--execute",
  );
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^error: assignments can only be reset if the group .* is inactive/);
  reader.releaseLock();
  void first.catch(() => {});
  await c.close();
  await admin.deleteGroup(group).catch(() => {});
  await admin.deleteTopic(topic);
});
