/**
 * Where the examples connect: environment variables with local defaults (the launcher's
 * listeners, `deno task kafka:up`). The test suite points them at its test bed.
 *
 * | variable                                          | default                   |
 * | ------------------------------------------------- | ------------------------- |
 * | `KAFKA_BROKERS`                                   | `localhost:9092`          |
 * | `KAFKA_SASL_BROKERS`                              | `localhost:9093`          |
 * | `KAFKA_SSL_BROKERS`                               | `localhost:9094`          |
 * | `KAFKA_CA_FILE`                                   | `.kafka/tls/ca.pem`       |
 * | `KAFKA_CLIENT_CERT_FILE`, `KAFKA_CLIENT_KEY_FILE` | none (no mTLS)            |
 * | `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`      | `alice`, `alice-secret`   |
 *
 * @module
 */

import { Admin } from "../mod.ts";

const list = (name: string, fallback: string) =>
  (Deno.env.get(name) || fallback).split(",").map((s) => s.trim()).filter((s) => s);

/** PLAINTEXT bootstrap brokers. */
export const brokers: string[] = list("KAFKA_BROKERS", "localhost:9092");
/** SASL_PLAINTEXT bootstrap brokers. */
export const saslBrokers: string[] = list("KAFKA_SASL_BROKERS", "localhost:9093");
/** SSL bootstrap brokers. */
export const sslBrokers: string[] = list("KAFKA_SSL_BROKERS", "localhost:9094");
/** PEM file of the CA that signed the brokers' certificates. */
export const caFile: string = Deno.env.get("KAFKA_CA_FILE") || ".kafka/tls/ca.pem";
/** Client certificate and key files for mTLS, when given. */
export const clientCert = {
  cert: Deno.env.get("KAFKA_CLIENT_CERT_FILE") || undefined,
  key: Deno.env.get("KAFKA_CLIENT_KEY_FILE") || undefined,
};
/** SASL user. */
export const username: string = Deno.env.get("KAFKA_SASL_USERNAME") || "alice";
/** SASL password. */
export const password: string = Deno.env.get("KAFKA_SASL_PASSWORD") || "alice-secret";

/** Creates `topic` with `partitions` partitions unless it exists (kafka-topics.sh --create). */
export async function ensureTopic(topic: string, partitions = 1): Promise<void> {
  await using admin = new Admin({ brokers });
  try {
    await admin.createTopic(topic, { numPartitions: partitions });
  } catch (e) {
    if ((e as { errorName?: string }).errorName !== "TOPIC_ALREADY_EXISTS") throw e;
  }
  // A new topic reaches its leaders a moment after CreateTopics answers. This admin knows it
  // created the topic and retries "unknown topic" until then; a client made next (the
  // example's own) would not, so wait here until every partition's leader answers.
  await admin.listTopicOffsets(topic, "latest", { timeoutMs: 15_000 });
}
