/**
 * Partitioner parity, byte for byte, on 100k random keys (0-40 random bytes) and several
 * partition counts:
 * - Java: BuiltInPartitioner.partitionForKey from kafka-clients (a single-file Java program);
 * - sarama's hash partitioner (FNV-1a, its default) and its reference variant, and kafka-go's
 *   Hash, ReferenceHash, CRC32Balancer and Murmur2Balancer (a Go program built from the Go
 *   module proxy into .cache/go);
 * - librdkafka's `consistent` and `consistent_random` (kcat produces the keys to a real topic
 *   and we read back where each landed).
 */

import assert from "node:assert/strict";
import { broker, ensureKcat, runJavaTool } from "../helpers/broker.ts";
import { kcatTest, optionalToolTest } from "../helpers/tools.ts";
import {
  consistentPartition,
  javaPartitionForKey,
  saramaHashPartition,
  saramaReferenceHashPartition,
} from "../../producer/mod.ts";
import { createTopic, hex, readBack, topicName } from "../peers/readback.ts";

const COUNTS = [1, 3, 7, 12, 100, 1000];
const N = 100_000;
const root = new URL("../../", import.meta.url).pathname;

function randomKeys(n: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const k = new Uint8Array(Math.floor(Math.random() * 41));
    crypto.getRandomValues(k);
    keys.push(k);
  }
  return keys;
}

function compare(
  keys: Uint8Array[],
  lines: string[],
  columns: number,
  expected: ((key: Uint8Array, n: number) => number)[],
  names: string[],
) {
  assert.equal(lines.length, keys.length, "one output line per key");
  const mismatches: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const got = lines[i]!.split(" ").map(Number);
    assert.equal(got.length, COUNTS.length * columns, `line ${i}: ${lines[i]}`);
    COUNTS.forEach((n, c) => {
      for (let j = 0; j < columns; j++) {
        const want = expected[j]!(keys[i]!, n);
        const have = got[c * columns + j];
        if (want !== have && mismatches.length < 10) {
          mismatches.push(`${names[j]} key=${hex(keys[i]!)} n=${n}: peer ${have}, ours ${want}`);
        }
      }
    });
  }
  assert.deepEqual(mismatches, []);
}

Deno.test("partitioner parity: Java murmur2 (BuiltInPartitioner.partitionForKey), 100k keys", async () => {
  const b = await broker();
  const keys = randomKeys(N);
  const r = await runJavaTool(
    `${root}tests/peers/java/Murmur2Partition.java`,
    COUNTS.map(String),
    { broker: b, stdin: keys.map((k) => hex(k)).join("\n") + "\n", timeoutMs: 180_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  compare(keys, r.stdout.trimEnd().split("\n"), 1, [javaPartitionForKey], ["java murmur2"]);
});

await optionalToolTest(
  {
    command: "go",
    probe: ["version"],
    what: "Go (to build the sarama/kafka-go peer from the Go module proxy)",
  },
  "partitioner parity: sarama hash + reference hash, kafka-go Hash/ReferenceHash/CRC32/Murmur2, 100k keys",
  async () => {
    const dir = `${root}tests/peers/partition_go`;
    const env = {
      GOMODCACHE: `${root}.cache/go/mod`,
      GOCACHE: `${root}.cache/go/build`,
      GOFLAGS: "-modcacherw",
      GOTOOLCHAIN: "local",
    };
    const bin = `${root}.cache/go/partition-peer`;
    const build = await new Deno.Command("go", {
      args: ["build", "-o", bin, "."],
      cwd: dir,
      env,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(600_000),
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const keys = randomKeys(N);
    const child = new Deno.Command(bin, {
      args: COUNTS.map(String),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Read while writing: the peer answers line by line and would block on a full pipe.
    const output = child.output();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(keys.map((k) => hex(k)).join("\n") + "\n"));
    await w.close();
    const out = await output;
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    compare(
      keys,
      new TextDecoder().decode(out.stdout).trimEnd().split("\n"),
      6,
      [
        saramaHashPartition,
        saramaReferenceHashPartition,
        saramaHashPartition,
        saramaReferenceHashPartition,
        consistentPartition,
        javaPartitionForKey,
      ],
      [
        "sarama hash",
        "sarama reference hash",
        "kafka-go Hash",
        "kafka-go ReferenceHash",
        "kafka-go CRC32",
        "kafka-go Murmur2",
      ],
    );
  },
);

for (const partitioner of ["consistent", "consistent_random"]) {
  await kcatTest(`partitioner parity: librdkafka ${partitioner} (kcat), 100k keys`, async () => {
    const b = await broker();
    const kcat = await ensureKcat();
    const topic = topicName(`part-${partitioner}`);
    const n = 7;
    await createTopic(b.bootstrap(), topic, n);
    // kcat reads text lines: the keys are random hex strings, hashed as their ASCII bytes.
    const keys = randomKeys(N).map((k) => hex(k) + "k");
    const child = new Deno.Command(kcat, {
      args: [
        "-P",
        "-b",
        b.bootstrap().join(","),
        "-t",
        topic,
        "-K",
        ":",
        "-X",
        `topic.partitioner=${partitioner}`,
        "-X",
        "linger.ms=50",
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(180_000),
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(keys.map((k) => `${k}:v`).join("\n") + "\n"));
    await w.close();
    const out = await child.output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const records = await readBack(b.bootstrap(), topic);
    assert.equal(records.length, N);
    const enc = new TextEncoder();
    const td = new TextDecoder();
    let mismatches = 0;
    for (const r of records) {
      const key = td.decode(r.key!);
      if (consistentPartition(enc.encode(key), n) !== r.partition) mismatches++;
    }
    assert.equal(mismatches, 0);
  });
}
