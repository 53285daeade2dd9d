/**
 * The one place where the Kafka release used by the test bed is pinned.
 *
 * 4.3.1 is the newest release whose broker and tools jars are both on Maven Central
 * (kafka_2.13 4.4.0 is published, kafka-tools 4.4.0 is not; checked with the versions plugin).
 * Override with `KAFKA_VERSION`, e.g. `KAFKA_VERSION=3.9.2` (the newest 3.x) for a
 * compatibility run.
 *
 * @module
 */

/**
 * The Kafka release the test bed runs unless `KAFKA_VERSION` says otherwise.
 *
 * @example
 * ```ts
 * import { PINNED_KAFKA_VERSION } from "./versions.ts";
 * console.log(PINNED_KAFKA_VERSION); // 4.3.1
 * ```
 */
export const PINNED_KAFKA_VERSION = "4.3.1";

/**
 * The newest 3.x release, used for compatibility runs (`KAFKA_VERSION=3.9.2`).
 *
 * @example
 * ```ts
 * import { NEWEST_3X_VERSION } from "./versions.ts";
 * console.log(NEWEST_3X_VERSION); // 3.9.2
 * ```
 */
export const NEWEST_3X_VERSION = "3.9.2";

/**
 * The Kafka version to use: `KAFKA_VERSION` when set, else the pinned one.
 *
 * @example
 * ```ts
 * import { kafkaVersion } from "./versions.ts";
 * console.log(kafkaVersion());
 * ```
 */
export function kafkaVersion(): string {
  return Deno.env.get("KAFKA_VERSION") || PINNED_KAFKA_VERSION;
}

/**
 * The project root (two levels above this file).
 *
 * @example
 * ```ts
 * import { PROJECT_ROOT } from "./versions.ts";
 * console.log(`${PROJECT_ROOT}/deno.json`);
 * ```
 */
export const PROJECT_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Where the launcher caches the jars of one Kafka version.
 *
 * @example
 * ```ts
 * import { defaultJarDir } from "./versions.ts";
 * console.log(defaultJarDir("4.3.1")); // <root>/.kafka/jars/4.3.1/libs
 * ```
 */
export function defaultJarDir(version: string = kafkaVersion()): string {
  return `${PROJECT_ROOT}/.kafka/jars/${version}/libs`;
}

/**
 * The major version of a Kafka release string ("4.3.1" gives 4).
 *
 * @example
 * ```ts
 * import { kafkaMajor } from "./versions.ts";
 * console.log(kafkaMajor("3.9.2")); // 3
 * ```
 */
export function kafkaMajor(version: string): number {
  const major = Number.parseInt(version.split(".")[0] ?? "", 10);
  if (!Number.isFinite(major)) throw new RangeError(`not a Kafka version: ${version}`);
  return major;
}

/**
 * The oldest Java major version that runs a Kafka release's broker: 4.x needs Java 17
 * (KIP-750), 3.x runs on 11.
 *
 * @example
 * ```ts
 * import { requiredJavaMajor } from "./versions.ts";
 * console.log(requiredJavaMajor("4.3.1")); // 17
 * ```
 */
export function requiredJavaMajor(version: string): number {
  return kafkaMajor(version) >= 4 ? 17 : 11;
}
