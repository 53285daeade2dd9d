/**
 * The command-line tool end to end: produce -> consume round trips with binary keys, values
 * and headers; format strings; groups; bad flags and unknown topics (exit codes, one-line
 * messages, nothing lost); progress never on a pipe; connecting with a Java properties file.
 */

import assert from "node:assert/strict";
import { Admin } from "../../mod.ts";
import { broker } from "../helpers/broker.ts";
import { runCli } from "../helpers/cli.ts";

const b = await broker();
const bootstrap = b.bootstrap()[0]!;
const run = (args: string[], stdin?: string | Uint8Array) =>
  runCli([...args, "-b", bootstrap], stdin === undefined ? {} : { stdin });
const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** `consume` of `topic`, quiet (no progress on stderr), with more flags. */
const consume = (topic: string, ...flags: string[]) =>
  run(["consume", "--topic", topic, "-q", ...flags]);
/** Everything in `topic` from the beginning to the end, with more flags. */
const consumeAll = (topic: string, ...flags: string[]) =>
  consume(topic, "--from-beginning", "-e", ...flags);

async function newTopic(name: string, partitions = 1): Promise<string> {
  const topic = `${name}-${suffix}`;
  const r = await run(["topics", "create", "--topic", topic, "--partitions", String(partitions)]);
  assert.equal(r.code, 0, r.stderr);
  return topic;
}

Deno.test("cli: binary keys, values and headers survive produce -> consume", async () => {
  const topic = await newTopic("cli-binary");
  const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const records = Array.from({ length: 50 }, (_, i) => ({
    key: i % 10 === 0 ? null : rnd(1 + i % 7),
    value: i % 17 === 0 ? null : rnd(i * 3),
    headers: [{ key: "h", value: rnd(4) }, { key: "h", value: rnd(2) }],
  }));
  records[1]!.value = new Uint8Array([0xff, 0xfe, 0x00, 0x0a, 0x0d]); // not UTF-8, has \n
  const input = records.map((r) =>
    JSON.stringify({
      key: r.key && b64(r.key),
      value: r.value && b64(r.value),
      headers: r.headers.map((h) => ({ key: h.key, value: b64(h.value), encoding: "base64" })),
    })
  ).join("\n") + "\n";
  const p = await run(
    ["produce", "--topic", topic, "--format", "json", "--encoding", "base64"],
    input,
  );
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /Produced 50 records/);

  const c = await consumeAll(topic, "--json", "--encoding", "base64");
  assert.equal(c.code, 0, c.stderr);
  const got = c.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(got.length, 50);
  for (const [i, r] of records.entries()) {
    assert.equal(got[i].offset, i);
    assert.equal(got[i].key, r.key && b64(r.key));
    assert.equal(got[i].value, r.value && b64(r.value));
    assert.deepEqual(
      got[i].headers.map((h: { value: string }) => h.value),
      r.headers.map((h) => b64(h.value)),
    );
  }

  // Default JSON: UTF-8 where it is, base64 (and marked) where it is not.
  const auto = await consume(topic, "-o", "1", "-c", "1", "--json");
  const one = JSON.parse(auto.stdout);
  assert.equal(one.valueEncoding, "base64");
  assert.equal(one.value, b64(records[1]!.value!));

  // Hex through a kcat format, and raw bytes through %s: the exact bytes reach stdout.
  const hex = await consume(topic, "-o", "1", "-c", "1", "-f", "%s", "--encoding", "hex");
  assert.equal(hex.stdout, "fffe000a0d");
  const raw = await consume(topic, "-o", "1", "-c", "1", "-f", "%s");
  assert.deepEqual(raw.stdoutBytes, records[1]!.value);

  // The JSON output of consume is valid input for produce: a copy, byte for byte.
  const copy = await newTopic("cli-binary-copy");
  const again = await run(
    ["produce", "--topic", copy, "--format", "json"],
    (await consumeAll(topic, "--json")).stdout,
  );
  assert.equal(again.code, 0, again.stderr);
  const c2 = await consumeAll(copy, "--json", "--encoding", "base64");
  assert.deepEqual(
    c2.stdout.trim().split("\n").map((l) => JSON.parse(l)).map((r) => [r.key, r.value, r.headers]),
    got.map((r) => [r.key, r.value, r.headers]),
  );
});

Deno.test("cli: lines with a key separator and headers, printed with a kcat format", async () => {
  const topic = await newTopic("cli-lines", 3);
  const lines = Array.from({ length: 300 }, (_, i) => `key${i % 7}:value ${i}`).join("\n") + "\n";
  const p = await run([
    "produce",
    "-t",
    topic,
    "-K",
    ":",
    "-H",
    "source=cli",
    "-H",
    "n=1",
    "--partitioner",
    "fnv1a",
  ], lines);
  assert.equal(p.code, 0, p.stderr);
  const c = await consumeAll(topic, "-f", "%t|%p|%o|%k|%s|%h|%T\\n");
  assert.equal(c.code, 0, c.stderr);
  const got = c.stdout.trim().split("\n").map((l) => l.split("|"));
  assert.equal(got.length, 300);
  const byKey = new Map<string, Set<string>>();
  for (const [t, part, , key, value, headers, ts] of got) {
    assert.equal(t, topic);
    assert.match(value!, /^value \d+$/);
    assert.equal(headers, "source=cli,n=1");
    assert.ok(Number(ts) > 1.6e12);
    byKey.set(key!, (byKey.get(key!) ?? new Set()).add(part!));
  }
  assert.equal(byKey.size, 7);
  for (const parts of byKey.values()) assert.equal(parts.size, 1, "one partition per key");

  // Bounded reads: N from the end, an offset range, a count.
  const tail = await consume(topic, "-p", "0", "-o", "-2", "-e", "-f", "%o\\n");
  const ends = JSON.parse((await run(["offsets", "-t", topic, "--json"])).stdout);
  const end0 = ends.find((e: { partition: number }) => e.partition === 0).offset;
  assert.deepEqual(tail.stdout.trim().split("\n").map(Number), [end0 - 2, end0 - 1]);
  const range = await consume(topic, "-p", "0", "-o", "1", "--to-offset", "3", "-f", "%o ");
  assert.equal(range.stdout, "1 2 ");
  const count = await consume(topic, "--from-beginning", "-c", "5");
  assert.equal(count.stdout.trim().split("\n").length, 5);
});

Deno.test("cli: consume in a group until the end commits; describe shows no lag", async () => {
  const topic = await newTopic("cli-group", 2);
  const group = `cli-group-g-${suffix}`;
  await run(["produce", "-t", topic], Array.from({ length: 100 }, (_, i) => `m${i}`).join("\n"));
  const c = await run(["consume", "-t", topic, "-g", group, "--from-beginning", "-e", "-q"]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout.trim().split("\n").length, 100);
  const d = await run(["groups", "describe", "-g", group, "--json"]);
  const rows = JSON.parse(d.stdout);
  assert.equal(rows.length, 2);
  for (const r of rows) assert.equal(r.lag, 0);
  // Reset by datetime (UTC, as kafka-consumer-groups.sh) to the start, then read all again.
  const reset = await run([
    "groups",
    "reset-offsets",
    "-g",
    group,
    "--all-topics",
    "--to-datetime",
    "2000-01-01T00:00:00.000",
    "--execute",
  ]);
  assert.equal(reset.code, 0, reset.stderr);
  const again = await run(["consume", "-t", topic, "-g", group, "-e", "-q"]);
  assert.equal(again.stdout.trim().split("\n").length, 100);
  const del = await run(["groups", "delete", "-g", group]);
  assert.equal(del.code, 0, del.stderr);
});

Deno.test("cli: bad flags and unknown topics: exit codes and one-line errors, nothing lost", async () => {
  const bad = await run(["topics", "list", "--no-such-flag"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.split("\n")[0], "error: unknown option --no-such-flag");
  assert.equal(bad.stdout, "");
  const noCmd = await run(["frobnicate"]);
  assert.equal(noCmd.code, 2);
  const badValue = await run(["consume", "-t", "x", "-c", "many"]);
  assert.equal(badValue.code, 2);
  assert.match(badValue.stderr, /^error: --max-messages must be an integer/);

  const missing = `cli-missing-${suffix}`;
  for (
    const args of [
      ["topics", "describe", "-t", missing],
      ["consume", "-t", missing, "-e"],
      ["consume", "-t", missing, "-g", `g-${suffix}`, "-e"],
      ["offsets", "-t", missing],
    ]
  ) {
    const r = await run(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION/);
  }
  const p = await run(["produce", "-t", missing], "a\nb\n");
  assert.equal(p.code, 1);
  assert.match(p.stderr.trim(), /^error: UNKNOWN_TOPIC_OR_PARTITION[^\n]*$/);
  const topics = await run(["topics", "list"]);
  assert.ok(!topics.stdout.split("\n").includes(missing), "no topic was auto-created");

  // A bad line in the middle: the lines before it are delivered, the error names the line.
  const topic = await newTopic("cli-bad-line");
  const r = await run(
    ["produce", "-t", topic, "--format", "json"],
    '{"value":"a"}\n{"value":"b"}\n{oops\n{"value":"c"}\n',
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: JSON input line 3/);
  const c = await run(["consume", "-t", topic, "--from-beginning", "-e", "-q"]);
  assert.equal(c.stdout, "a\nb\n");
});

Deno.test("cli: progress never reaches a pipe", async () => {
  const topic = await newTopic("cli-progress");
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`).join("\n") + "\n";
  const p = await run(["produce", "-t", topic, "--expected-records", "20000"], lines);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, "");
  assert.equal(p.stderr, `Produced 20000 records to ${topic}\n`);
  const c = await run(["consume", "-t", topic, "--from-beginning", "-e"]);
  assert.equal(c.stdout, lines);
  assert.equal(c.stderr, "Processed a total of 20000 messages\n");
  assert.ok(!c.stderr.includes("\r") && !p.stderr.includes("\r"));
});

Deno.test("cli: --command-config with Java properties: SASL_SSL, SCRAM, PEM trust store", async () => {
  const sasl = b.listeners.SASL_SSL;
  if (!sasl || !b.user || !b.tls.caFile) return;
  const file = await Deno.makeTempFile({ suffix: ".properties" });
  await Deno.writeTextFile(
    file,
    [
      "# as the Java tools take it",
      "security.protocol=SASL_SSL",
      "sasl.mechanism=SCRAM-SHA-512",
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\`,
      `    username="${b.user.username}" password="${b.user.password}";`,
      "ssl.truststore.type=PEM",
      `ssl.truststore.location=${b.tls.caFile}`,
    ].join("\n"),
  );
  const r = await runCli([
    "cluster",
    "describe",
    "--json",
    "-b",
    sasl.split(",")[0]!,
    "--command-config",
    file,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).brokers.length >= 1);
  // Inline PEM (ssl.truststore.certificates) through -X, PLAIN through environment variables.
  const env = await runCli(
    [
      "topics",
      "list",
      "-b",
      sasl.split(",")[0]!,
      "-X",
      "security.protocol=SASL_SSL",
      "-X",
      "sasl.mechanism=PLAIN",
    ],
    {
      env: {
        KAFKA_SASL_USERNAME: b.user.username,
        KAFKA_SASL_PASSWORD: b.user.password,
        KAFKA_CA_FILE: b.tls.caFile,
      },
    },
  );
  assert.equal(env.code, 0, env.stderr);
  // A wrong password is one line naming the failure, exit 1, at once.
  await Deno.writeTextFile(file, (await Deno.readTextFile(file)).replace(b.user.password, "wrong"));
  const wrong = await runCli([
    "topics",
    "list",
    "-b",
    sasl.split(",")[0]!,
    "--command-config",
    file,
  ]);
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
  await Deno.remove(file);
});

Deno.test("cli: every other command answers, with --json", async () => {
  const topic = await newTopic("cli-misc", 2);
  const admin = new Admin({ brokers: b.bootstrap() });
  try {
    const cases: string[][] = [
      ["topics", "alter", "-t", topic, "--partitions", "3"],
      ["topics", "alter", "-t", topic, "--add-config", "retention.ms=1000000"],
      ["configs", "describe", "--entity-type", "topics", "--entity-name", topic],
      [
        "configs",
        "alter",
        "--entity-type",
        "topics",
        "--entity-name",
        topic,
        "--delete-config",
        "retention.ms",
      ],
      ["cluster", "describe"],
      ["cluster", "log-dirs", "--topic-list", topic],
      ["groups", "list"],
      ["transactions", "list"],
      [
        "acls",
        "add",
        "--allow-principal",
        "User:cli-test",
        "--operation",
        "Read",
        "--topic",
        topic,
      ],
      ["acls", "list", "--topic", topic],
      ["acls", "remove", "--topic", topic],
      [
        "users",
        "set",
        "--user",
        `cli-user-${suffix}`,
        "--password",
        "pw-1234",
        "--mechanism",
        "SCRAM-SHA-512",
      ],
      ["users", "describe", "--user", `cli-user-${suffix}`],
      ["users", "delete", "--user", `cli-user-${suffix}`, "--mechanism", "SCRAM-SHA-512"],
      [
        "quotas",
        "alter",
        "--client-id",
        `cli-${suffix}`,
        "--add-config",
        "producer_byte_rate=1048576",
      ],
      ["quotas", "describe", "--client-id", `cli-${suffix}`],
      ["quotas", "alter", "--client-id", `cli-${suffix}`, "--delete-config", "producer_byte_rate"],
      ["offsets", "delete-records", "-t", topic, "--partitions", "0", "--offset", "0"],
      ["topics", "delete", "-t", topic],
    ];
    for (const args of cases) {
      const r = await run([...args, "--json"]);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      JSON.parse(r.stdout); // valid JSON
    }
    const acls = await run(["acls", "list", "--principal", "User:cli-test", "--json"]);
    assert.deepEqual(JSON.parse(acls.stdout), []);
  } finally {
    await admin.close();
  }
});

Deno.test("cli: perf produce and perf consume print the Java tools' figures", async () => {
  const topic = await newTopic("cli-perf");
  const p = await run([
    "perf",
    "produce",
    "-t",
    topic,
    "--num-records",
    "20000",
    "--record-size",
    "100",
    "--throughput",
    "-1",
    "--producer-props",
    "acks=1",
    "linger.ms=5",
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(
    p.stdout.trim().split("\n").at(-1)!,
    /^20000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th\.$/,
  );
  const c = await run([
    "perf",
    "consume",
    "-t",
    topic,
    "--messages",
    "20000",
    "--timeout",
    "30000",
  ]);
  assert.equal(c.code, 0, c.stderr);
  const [header, line] = c.stdout.trim().split("\n");
  assert.equal(
    header,
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec",
  );
  const f = line!.split(", ");
  assert.equal(f.length, 10);
  assert.equal(f[2], (20000 * 100 / 1048576).toFixed(4));
  assert.equal(f[4], "20000");
});
