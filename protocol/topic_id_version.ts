/**
 * The one rule for APIs that switch from topic names to topic ids at some version (KIP-516:
 * Fetch v13, Produce v13, OffsetFetch and OffsetCommit v10): those versions carry the id only,
 * so a request may use them only when every topic in it has a known id; otherwise the client
 * speaks the version just before, which still carries names.
 *
 * @module
 */

import { ZERO_UUID } from "./uuid.ts";

/**
 * `version`, or `firstIdVersion - 1` when `version` would address topics by id and some topic
 * in the request has no known id (`undefined`, empty or the zero UUID).
 *
 * @example
 * ```ts
 * import { versionForTopicIds, ZERO_UUID } from "@denokafka/kafka/protocol";
 * console.log(versionForTopicIds(13, 13, ["LPaDtNQ7QRmw5YV2c3Ef5A"])); // 13
 * console.log(versionForTopicIds(13, 13, [ZERO_UUID])); // 12
 * console.log(versionForTopicIds(11, 13, [undefined])); // 11
 * ```
 */
export function versionForTopicIds(
  version: number,
  firstIdVersion: number,
  topicIds: Iterable<string | undefined>,
): number {
  if (version < firstIdVersion) return version;
  for (const id of topicIds) {
    if (id === undefined || id === "" || id === ZERO_UUID) return firstIdVersion - 1;
  }
  return version;
}
