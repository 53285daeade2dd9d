/**
 * The pinned Kafka release's jars for the unit tests that run Java fixtures written against
 * 4.x classes, fetched (from the Maven cache or Maven Central) when missing: with
 * `KAFKA_VERSION=3.9.2` on a fresh clone only the 3.9.2 jars would otherwise be there.
 *
 * ```ts
 * import { pinnedJars } from "./pinned_jars.ts";
 * console.log(`java -cp '${await pinnedJars()}/*' ...`);
 * ```
 *
 * @module
 */

import { ensureJars } from "../../scripts/kafka/jars.ts";
import { PINNED_KAFKA_VERSION } from "../../scripts/kafka/versions.ts";

let fetched: Promise<string> | undefined;

/**
 * The folder of the pinned release's jars (`.kafka/jars/<pinned>/libs`), fetched once per
 * process when missing. Rejects (a `LauncherError`) when Java or Maven is missing.
 *
 * @example
 * ```ts
 * import { pinnedJars } from "./pinned_jars.ts";
 * const cp = `${await pinnedJars()}/*`;
 * console.log(cp);
 * ```
 */
export function pinnedJars(): Promise<string> {
  fetched ??= ensureJars(PINNED_KAFKA_VERSION);
  return fetched;
}
