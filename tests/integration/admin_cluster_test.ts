// Cluster-wide admin calls against the real broker: describeCluster (vs ClusterTool),
// describeLogDirs (vs LogDirsCommand), leader elections and reassignments with their per-item
// failures, and producers/transactions of a transaction held open by Kafka's Java producer
// (vs TransactionsCommand).
import assert from "node:assert/strict";
import { Admin, AdminBatchError } from "../../admin/mod.ts";
import type { ProtocolError } from "../../protocol/errors.ts";
import { broker, runJavaTool } from "../helpers/broker.ts";
import { javaProduce } from "../helpers/java_client.ts";
import { until } from "../helpers/wait.ts";

const b = await broker();
const uid = () => crypto.randomUUID().slice(0, 8);
const newAdmin = () => new Admin({ brokers: b.bootstrap("PLAINTEXT") });
const node = b.nodeIds[0] ?? 1;

/** Produces `count` records to one partition with Kafka's Java producer (an independent client). */
async function produce(topic: string, partition: number, count: number): Promise<void> {
  const lines = Array<string>(count).fill("x");
  await javaProduce(b.bootstrap("PLAINTEXT"), topic, partition, lines, { broker: b });
}

Deno.test("describeCluster agrees with ClusterTool and the metadata", async () => {
  await using admin = newAdmin();
  const c = await admin.describeCluster({ includeAuthorizedOperations: true });
  const r = await runJavaTool("ClusterTool", [
    "cluster-id",
    "--bootstrap-server",
    b.listeners.PLAINTEXT,
  ], { broker: b });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(`Cluster ID: ${c.clusterId}`, r.stdout.trim());
  assert.deepEqual(c.brokers.map((x) => x.nodeId), [...b.nodeIds].sort((x, y) => x - y));
  const [first] = b.bootstrap("PLAINTEXT");
  assert.ok(c.brokers.some((x) => `${x.host}:${x.port}` === first && !x.fenced));
  assert.ok(c.brokers.some((x) => x.nodeId === c.controllerId));
  assert.ok(c.authorizedOperations?.includes("describe"), `${c.authorizedOperations}`);
});

Deno.test("describeLogDirs agrees with LogDirsCommand", async () => {
  await using admin = newAdmin();
  const topic = `logdirs-${uid()}`;
  await admin.createTopic(topic, { numPartitions: 2 });
  try {
    await produce(topic, 1, 20);
    const ours = await admin.describeLogDirs({
      partitions: [{ topic, partition: 0 }, { topic, partition: 1 }],
    });
    const r = await runJavaTool("LogDirsCommand", [
      "--bootstrap-server",
      b.listeners.PLAINTEXT,
      "--describe",
      "--topic-list",
      topic,
    ], { broker: b });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("{"))!) as {
      brokers: {
        broker: number;
        logDirs: {
          logDir: string;
          error: string | null;
          partitions: { partition: string; size: number; offsetLag: number; isFuture: boolean }[];
        }[];
      }[];
    };
    const javaView = json.brokers.flatMap((br) =>
      br.logDirs.map((d) => ({
        broker: br.broker,
        path: d.logDir,
        replicas: d.partitions.map((p) => `${p.partition}:${p.size}:${p.offsetLag}:${p.isFuture}`)
          .sort(),
      }))
    );
    const ourView = ours.map((d) => ({
      broker: d.broker,
      path: d.path,
      replicas: d.replicas.map((p) =>
        `${p.topic}-${p.partition}:${p.size}:${p.offsetLag}:${p.isFuture}`
      ).sort(),
    }));
    assert.deepEqual(ourView, javaView);
    assert.ok(ours.every((d) => d.errorCode === 0 && d.totalBytes > 0n));
    const p1 = ours.flatMap((d) => d.replicas).find((p) => p.partition === 1);
    assert.ok(p1 && p1.size > 0n, "the written partition has bytes");
    const only = await admin.describeLogDirs({ brokers: [node] });
    assert.ok(only.every((d) => d.broker === node));
  } finally {
    await admin.deleteTopic(topic);
  }
});

Deno.test("elections and reassignments report each partition's outcome", async () => {
  await using admin = newAdmin();
  const topic = `elect-${uid()}`;
  await admin.createTopic(topic, { numPartitions: 2 });
  try {
    await until("leaders", async () => {
      const t = await admin.describeTopic(topic);
      return t.partitions.every((p) => p.leader >= 0) ? true : undefined;
    });
    // The preferred (and only) replica leads already: nothing to do, and that is no failure.
    const done = await admin.electLeaders("preferred", [{ topic, partition: 0 }, {
      topic,
      partition: 1,
    }]);
    assert.deepEqual(done.map((r) => r.electionNeeded), [false, false]);
    const unclean = await admin.electLeaders("unclean", [{ topic, partition: 0 }]);
    assert.equal(unclean[0]!.electionNeeded, false);
    await admin.electLeaders("preferred", null);

    const e = await admin.electLeaders("preferred", [
      { topic, partition: 0 },
      { topic, partition: 9 },
    ]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError, String(e));
    assert.deepEqual(e.results.map((r) => r.ok), [true, false]);
    assert.equal((e.errors[0] as ProtocolError).errorName, "UNKNOWN_TOPIC_OR_PARTITION");

    // Reassigning to the same replica completes at once; to a broker that does not exist fails.
    await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: [node] }]);
    assert.deepEqual(await admin.listPartitionReassignments([{ topic, partition: 0 }]), []);
    const bad = await admin.alterPartitionReassignments([
      { topic, partition: 0, replicas: [node + 1000] },
      { topic, partition: 1, replicas: null },
    ]).catch((x) => x);
    assert.ok(bad instanceof AdminBatchError, String(bad));
    assert.deepEqual(
      bad.errors.map((x) => (x as ProtocolError).errorName),
      ["INVALID_REPLICA_ASSIGNMENT", "NO_REASSIGNMENT_IN_PROGRESS"],
    );
    await assert.rejects(
      admin.electLeaders("sideways" as "preferred", null),
      TypeError,
    );
  } finally {
    await admin.deleteTopic(topic);
  }
});

const TXN_HOLDER = `
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

public class TxnHolder {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", a[0]);
    p.put("transactional.id", a[1]);
    p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    p.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(a[2], 0, null, "held")).get();
      System.out.println("READY");
      System.out.flush();
      System.in.read();
      producer.abortTransaction();
    }
  }
}
`;

/** Starts a Java producer that holds a transaction open until its stdin closes. */
async function holdTransaction(topic: string, transactionalId: string) {
  const dir = await Deno.makeTempDir({ prefix: "txn-holder-" });
  const file = `${dir}/TxnHolder.java`;
  await Deno.writeTextFile(file, TXN_HOLDER);
  const child = new Deno.Command("java", {
    args: ["-cp", `${b.jarsDir}/*`, file, b.listeners.PLAINTEXT, transactionalId, topic],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("READY")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const release = async () => {
    await child.stdin.close();
    const drain = async () => {
      while (!(await reader.read()).done) { /* the rest of stdout */ }
    };
    const [status, err] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      drain(),
    ]);
    await Deno.remove(dir, { recursive: true });
    return { code: status.code, stderr: err };
  };
  if (!out.includes("READY")) {
    const r = await release();
    throw new Error(`the Java producer did not start a transaction: ${r.stderr.slice(-2000)}`);
  }
  return release;
}

Deno.test({
  name: "an open transaction: producers, transactions and the LSO as TransactionsCommand sees them",
  ignore: b.jarsDir === undefined,
  async fn() {
    await using admin = newAdmin();
    const topic = `txn-${uid()}`;
    const txnId = `txn-${uid()}`;
    await admin.createTopic(topic, { numPartitions: 1 });
    const release = await holdTransaction(topic, txnId);
    let released = false;
    try {
      const listed = (await admin.listTransactions()).find((t) => t.transactionalId === txnId);
      assert.ok(listed, "the transaction is listed");
      assert.equal(listed.state, "Ongoing");
      const ongoing = await admin.listTransactions({ states: ["Ongoing"] });
      assert.ok(ongoing.some((t) => t.transactionalId === txnId));
      const none = await admin.listTransactions({ producerIds: [listed.producerId + 1000n] });
      assert.ok(!none.some((t) => t.transactionalId === txnId));

      const [d] = await admin.describeTransactions([txnId]);
      assert.equal(d!.state, "Ongoing");
      assert.equal(d!.producerId, listed.producerId);
      assert.equal(d!.coordinator, listed.coordinator);
      assert.deepEqual(d!.partitions, [{ topic, partition: 0 }]);
      assert.ok(d!.startTimeMs > 0 && d!.timeoutMs > 0);

      const [p] = await admin.describeProducers([{ topic, partition: 0 }]);
      const mine = p!.producers.find((x) => x.producerId === listed.producerId);
      assert.ok(mine, "the producer is active on the partition");
      assert.equal(mine.currentTransactionStartOffset, 0n);
      assert.equal(mine.producerEpoch, d!.producerEpoch);

      // The open transaction holds back read_committed readers: LSO 0, high watermark 1.
      const [hw] = await admin.listOffsets([{ topic, partition: 0, spec: "latest" }]);
      const [lso] = await admin.listOffsets([{ topic, partition: 0, spec: "latest" }], {
        isolationLevel: "read_committed",
      });
      assert.deepEqual([hw!.offset, lso!.offset], [1n, 0n]);

      const java = await runJavaTool("TransactionsCommand", [
        "--bootstrap-server",
        b.listeners.PLAINTEXT,
        "describe",
        "--transactional-id",
        txnId,
      ], { broker: b });
      assert.equal(java.code, 0, java.stderr);
      const [header, row] = java.stdout.trim().split("\n").map((l) =>
        l.split("\t").map((c) => c.trim())
      );
      const cell = (name: string) => row![header!.indexOf(name)];
      assert.equal(cell("CoordinatorId"), String(d!.coordinator));
      assert.equal(cell("ProducerId"), String(d!.producerId));
      assert.equal(cell("ProducerEpoch"), String(d!.producerEpoch));
      assert.equal(cell("TransactionState"), d!.state);
      assert.equal(cell("TransactionTimeoutMs"), String(d!.timeoutMs));

      const e = await admin.describeTransactions([`nope-${uid()}`, txnId]).catch((x) => x);
      assert.ok(e instanceof AdminBatchError);
      assert.equal((e.errors[0] as ProtocolError).errorName, "TRANSACTIONAL_ID_NOT_FOUND");
      await assert.rejects(
        admin.describeProducers([{ topic: `nope-${uid()}`, partition: 0 }]),
        (x) => x instanceof AdminBatchError,
      );

      const r = await release();
      released = true;
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      const after = await until("the abort to complete", async () => {
        const [x] = await admin.describeTransactions([txnId]);
        return x!.state === "CompleteAbort" || x!.state === "Empty" ? x : undefined;
      });
      assert.deepEqual(after.partitions, []);
      const [lso2] = await admin.listOffsets([{ topic, partition: 0, spec: "latest" }], {
        isolationLevel: "read_committed",
      });
      assert.equal(lso2!.offset, 2n, "record + abort marker, all stable");
    } finally {
      if (!released) await release();
      await admin.deleteTopic(topic);
    }
  },
});
