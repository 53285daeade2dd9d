/**
 * The one place where the Kafka release used by the test bed is pinned.
 *
 * 4.3.1 is the newest release whose broker and tools jars are both on Maven Central
 * (kafka_2.13 4.4.0 is published, kafka-tools 4.4.0 is not). Override with `KAFKA_VERSION`,
 * e.g. `KAFKA_VERSION=3.9.2` for a compatibility run.
 */
export const PINNED_KAFKA_VERSION = "4.3.1";

/** The Kafka version to use: `KAFKA_VERSION` when set, else the pinned one. */
export function kafkaVersion(): string {
  return Deno.env.get("KAFKA_VERSION") || PINNED_KAFKA_VERSION;
}

/** The project root (two levels above this file). */
export const PROJECT_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Where the launcher caches the jars of one Kafka version. */
export function defaultJarDir(version: string = kafkaVersion()): string {
  return `${PROJECT_ROOT}/.kafka/jars/${version}/libs`;
}
