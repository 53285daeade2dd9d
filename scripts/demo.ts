/**
 * `deno task demo`: the client end to end against a real Kafka, through Web Streams.
 *
 * 1. finds a broker (`KAFKA_BROKERS`, or the test bed's single node, started if needed);
 * 2. creates a topic with the admin client;
 * 3. pipes 100k generated records into the producer's WritableStream (idempotent, zstd, over
 *    SASL_SSL with SCRAM-SHA-512 on the test bed), showing progress;
 * 4. reads them back in a KIP-848 consumer group, through `pipeThrough` / `pipeTo`;
 * 5. runs one committed and one aborted transaction, read back with read_committed;
 * 6. shows the group's committed offsets, and deletes the topic.
 *
 * @module
 */

import { Admin, type ClientOptions, Consumer, type ConsumerRecord, Producer } from "../mod.ts";
import { up } from "./kafka/cluster.ts";
import { externalFromEnv } from "./kafka/env.ts";
import { LauncherError } from "./kafka/errors.ts";

const RECORDS = Number(Deno.env.get("DEMO_RECORDS") ?? 100_000);
const decoder = new TextDecoder();

/** Client options for the broker: SASL_SSL + SCRAM on the test bed, plaintext otherwise. */
async function clientOptions(): Promise<ClientOptions> {
  const ext = externalFromEnv();
  if (ext) {
    const brokers = ext.listeners.PLAINTEXT.split(",");
    console.log(`Kafka: ${brokers.join(", ")} (from KAFKA_BROKERS, plaintext)`);
    return { brokers };
  }
  const state = await up({ nodes: 1 });
  const brokers = state.listeners.SASL_SSL.split(",");
  console.log(`Kafka ${state.version}: ${brokers.join(", ")} (test bed, SASL_SSL + SCRAM-SHA-512)`);
  return {
    brokers,
    clientId: "denokafka-demo",
    tls: { caCerts: [await Deno.readTextFile(state.tls.caFile)] },
    sasl: {
      mechanism: "scram-sha-512",
      username: state.user.username,
      password: state.user.password,
    },
  };
}

/** A stream of generated records, pulled by the producer as fast as its buffer allows. */
function generate(topic: string, count: number): ReadableStream<{
  topic: string;
  key: string;
  value: string;
  headers: { key: string; value: string }[];
}> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      for (let n = 0; n < 1000 && i < count; n++, i++) {
        controller.enqueue({
          topic,
          key: `user-${i % 1000}`,
          value: JSON.stringify({ seq: i, at: Date.now(), note: "hello from Deno" }),
          headers: [{ key: "source", value: "demo" }],
        });
      }
      if (i >= count) controller.close();
    },
  }, { highWaterMark: 0 });
}

/** Passes items through, printing a progress line every `every` items. */
function progress<T>(label: string, total: number, every: number): TransformStream<T, T> {
  let n = 0;
  const t0 = performance.now();
  return new TransformStream({
    transform(item, controller) {
      controller.enqueue(item);
      if (++n % every === 0 || n === total) {
        const s = (performance.now() - t0) / 1000;
        console.log(
          `  ${label} ${n.toLocaleString()} / ${total.toLocaleString()}` +
            `  (${Math.round(n / s).toLocaleString()} records/s)`,
        );
      }
    },
  });
}

async function main(): Promise<void> {
  const client = await clientOptions();
  const topic = `demo-${crypto.randomUUID().slice(0, 8)}`;
  const groupId = `demo-group-${crypto.randomUUID().slice(0, 8)}`;
  await using admin = new Admin(client);

  console.log(`\n1. create topic ${topic} (3 partitions)`);
  await admin.createTopic(topic, { numPartitions: 3, replicationFactor: 1 });

  console.log(`\n2. produce ${RECORDS.toLocaleString()} records through producer.writable`);
  {
    await using producer = new Producer({ ...client, compression: "zstd" });
    await generate(topic, RECORDS)
      .pipeThrough(progress("produced", RECORDS, Math.max(1, RECORDS / 5)))
      .pipeTo(producer.writable); // closing the writable flushes and waits for every ack
    const m = producer.metrics();
    console.log(`  acked: ${m.recordsSent.toLocaleString()} records in ${m.requestsSent} requests`);
  }

  console.log(`\n3. consume them in KIP-848 group ${groupId} through pipeThrough/pipeTo`);
  {
    const consumer = new Consumer({
      ...client,
      groupId,
      topics: [topic],
      groupProtocol: "consumer",
      autoOffsetReset: "earliest",
    });
    let seen = 0;
    let last: string | undefined;
    await consumer
      .pipeThrough(progress<ConsumerRecord>("consumed", RECORDS, Math.max(1, RECORDS / 5)))
      .pipeTo(
        new WritableStream({
          write(record, controller) {
            last = decoder.decode(record.value ?? undefined);
            // Stopping the pipe cancels the consumer: it commits what was read and leaves.
            if (++seen === RECORDS) controller.error(new DOMException("done", "AbortError"));
          },
        }),
      )
      .catch((e) => {
        if (!(e instanceof DOMException && e.name === "AbortError")) throw e;
      });
    await consumer.close();
    console.log(`  last value: ${last}`);
  }

  console.log("\n4. transactions: one committed, one aborted; read back with read_committed");
  {
    await using tx = new Producer({ ...client, transactionalId: `demo-tx-${topic}` });
    await tx.initTransactions();
    await tx.transaction(async (t) => {
      await t.send([1, 2, 3].map((n) => ({ topic, key: "tx", value: `committed ${n}` })));
    });
    await tx.transaction(async (t) => {
      await t.send([1, 2, 3].map((n) => ({ topic, key: "tx", value: `aborted ${n}` })));
      throw new Error("changed my mind");
    }).catch((e) => console.log(`  aborted: ${(e as Error).message}`));
    await using reader = new Consumer({ ...client, isolationLevel: "read_committed" });
    reader.assign(
      [0, 1, 2].map((partition) => ({
        topic,
        partition,
        offset: "earliest" as const,
        end: "latest" as const,
      })),
    );
    const txValues: string[] = [];
    for await (const r of reader) {
      if (r.key && decoder.decode(r.key) === "tx") txValues.push(decoder.decode(r.value!));
    }
    console.log(`  read_committed sees: ${txValues.join(", ")}`);
  }

  console.log(`\n5. committed offsets of ${groupId}`);
  for (const o of await admin.listGroupOffsets(groupId)) {
    console.log(`  ${o.topic}[${o.partition}] -> ${o.offset}`);
  }
  await admin.deleteTopic(topic);
  console.log(`\ndone; topic ${topic} deleted.`);
  if (!externalFromEnv()) {
    console.log("The broker keeps running; stop it with `deno task kafka:down`.");
  }
}

try {
  await main();
} catch (e) {
  if (!(e instanceof LauncherError)) throw e;
  console.error(`demo: ${e.message}`);
  Deno.exit(1);
}
