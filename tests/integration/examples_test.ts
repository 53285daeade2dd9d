/**
 * Every program in examples/ type-checks and runs to completion against the test bed, within a
 * timeout, with the test bed's addresses, users and TLS files in its environment.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";

const dir = new URL("../../examples/", import.meta.url);
const examples: string[] = [];
for await (const e of Deno.readDir(dir)) {
  if (e.isFile && e.name.endsWith(".ts") && e.name !== "env.ts") examples.push(e.name);
}
examples.sort();

/** What each example must print (a line it cannot print unless it worked). */
const EXPECT: Record<string, RegExp> = {
  "sarama_sync_producer.ts": /^pid:\d+ offset:\d+$/m,
  "sarama_async_producer.ts": /^successes: 10, errors: 0$/m,
  "sarama_partition_consumer.ts": /Value:c$/m,
  "sarama_consumer_group.ts": /^committed:/m,
  "sarama_offset_manager.ts": /^committed now: \d+ modified metadata$/m,
  "sarama_partitioners.ts": /^NewManualPartitioner\s+0 1 0 1/m,
  "sarama_client.ts": /^web_log\/0: next offset \d+$/m,
  "kafkago_conn.ts": /^\d+ three!$/m,
  "kafkago_topics.ts": /^my-topic$/m,
  "kafkago_reader_partition.ts": /^message at offset 46: k46 = message 46$/m,
  "kafkago_reader_group.ts": /^message at topic\/partition\/offset topic-A\/0\/\d+: /m,
  "kafkago_read_by_time.ts": /minute 5\n.*minute 6\n.*minute 7$/m,
  "kafkago_writer_balancers.ts": /^Murmur2Balancer\s+topic-A\/\d topic-B\/\d topic-C\/\d$/m,
  "kafkago_writer_compression.ts": /^zstd\s+offset \d+, 1000 bytes read back$/m,
  "kafkago_tls.ts": /^written to topic-A\/\d+ at \d+$/m,
  "kafkago_sasl_plain.ts": /with PLAIN; \d+ topics visible$/m,
  "kafkago_sasl_scram.ts": /read back at \d+: over SCRAM-SHA-512$/m,
  "java_producer_callback.ts": /^sync: topic: my_topic1\tpartition: \d$/m,
  "java_acks.ts":
    /^acks=0: partition 0, offset -1\nacks=1: .*\nacks=all: partition 0, offset \d+$/m,
  "java_idempotence.ts": /^read 100 records back, in order, once each$/m,
  "java_transactions.ts": /sees: committed 1\n.*sees: committed 2\n?$/,
  "java_custom_partitioner.ts": /^key ccc -> partition 0$/m,
};

async function envOf(): Promise<Record<string, string>> {
  const b = await broker();
  const env: Record<string, string> = { KAFKA_BROKERS: b.listeners.PLAINTEXT, NO_COLOR: "1" };
  if (b.listeners.SASL_PLAINTEXT) env.KAFKA_SASL_BROKERS = b.listeners.SASL_PLAINTEXT;
  if (b.listeners.SSL) env.KAFKA_SSL_BROKERS = b.listeners.SSL;
  if (b.tls.caFile) env.KAFKA_CA_FILE = b.tls.caFile;
  if (b.tls.clientCertFile && b.tls.clientKeyFile) {
    env.KAFKA_CLIENT_CERT_FILE = b.tls.clientCertFile;
    env.KAFKA_CLIENT_KEY_FILE = b.tls.clientKeyFile;
  }
  if (b.user) {
    env.KAFKA_SASL_USERNAME = b.user.username;
    env.KAFKA_SASL_PASSWORD = b.user.password;
  }
  return env;
}

Deno.test("examples: every file is listed here with what it must print", () => {
  assert.deepEqual(examples, Object.keys(EXPECT).sort());
});

Deno.test("examples: type-check", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", ...examples.map((e) => new URL(e, dir).pathname)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
});

for (const name of examples) {
  Deno.test(`examples: ${name} runs and ends by itself`, async () => {
    const env = await envOf();
    const needs = name.includes("tls")
      ? env.KAFKA_SSL_BROKERS && env.KAFKA_CA_FILE
      : name.includes("sasl")
      ? env.KAFKA_SASL_BROKERS && env.KAFKA_SASL_USERNAME
      : true;
    if (!needs) return; // an external cluster without that listener
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(name, dir).pathname],
      env,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${name} failed:\n${stdout}\n${stderr}`);
    assert.match(stdout, EXPECT[name]!, `${name} printed:\n${stdout}\n${stderr}`);
  });
}
