/**
 * `deno task demo`: will show the client end to end against the test bed's broker.
 *
 * The producer, consumer and admin clients are still being written, so for now this script
 * does the set-up part for real (starts or reuses the launcher's single-node Kafka, exactly as
 * the tests do) and prints what the finished demo will do. Stop the broker afterwards with
 * `deno task kafka:down`.
 *
 * @module
 */

import { LauncherError, up } from "./kafka/cluster.ts";
import { externalFromEnv } from "./kafka/env.ts";

const PLAN = [
  "create a topic with the admin client",
  "produce a batch of records (idempotent, compressed) over SASL_SSL with SCRAM-SHA-512",
  "consume them back in a KIP-848 consumer group as a Web ReadableStream",
  "run a transaction (read-committed consumer sees only committed records)",
  "describe the cluster, the group and its offsets",
];

try {
  const ext = externalFromEnv();
  const bootstrap = ext ? ext.listeners.PLAINTEXT : (await up({ nodes: 1 })).listeners.PLAINTEXT;
  console.log(`Kafka is reachable at ${bootstrap}${ext ? " (KAFKA_BROKERS)" : ""}.`);
  console.log("The demo is a placeholder until the clients land. It will:");
  for (const [i, step] of PLAN.entries()) console.log(`  ${i + 1}. ${step}`);
  if (!ext) console.log("The broker keeps running; stop it with `deno task kafka:down`.");
} catch (e) {
  if (!(e instanceof LauncherError)) throw e;
  console.error(`demo: ${e.message}`);
  Deno.exit(1);
}
