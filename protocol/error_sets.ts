/**
 * The groups of error codes the clients handle alike, by name, in one place.
 *
 * The generated table (`error_codes.ts`) carries what the jar states per code: retriable, and
 * whether the Java exception is an `InvalidMetadataException` (refresh metadata). The groups
 * below are client behaviour, not a class in the jar: the Java client lists them by hand in its
 * coordinators and fetchers, so they are written by hand here too, with the Java place that
 * acts on the same codes.
 *
 * @module
 */

import { ErrorCode } from "./error_codes.ts";

/**
 * The group or transaction coordinator is loading, gone or elsewhere: forget the cached
 * coordinator, look it up again and retry. Java's `AbstractCoordinator` and `TransactionManager`
 * mark the coordinator unknown on `COORDINATOR_NOT_AVAILABLE` / `NOT_COORDINATOR` and retry on
 * `COORDINATOR_LOAD_IN_PROGRESS`; the three are unrelated exception classes, so no flag in the
 * table finds them.
 *
 * @example
 * ```ts
 * import { COORDINATOR_ERRORS, ErrorCode } from "@denokafka/kafka/protocol";
 * console.log(COORDINATOR_ERRORS.has(ErrorCode.NOT_COORDINATOR)); // true
 * ```
 */
export const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

/**
 * A partition's leader as the client knows it is wrong or stale (Fetch, ListOffsets): look the
 * leader up again before the next request. These are the codes Java's `FetchCollector` and
 * `OffsetFetcherUtils` answer with a metadata update. The table's refresh-metadata flag is wider
 * (it also holds `NETWORK_EXCEPTION`, `LISTENER_NOT_FOUND` and the leader-election errors), which
 * say nothing about one partition's leader.
 *
 * @example
 * ```ts
 * import { ErrorCode, LEADER_ERRORS } from "@denokafka/kafka/protocol";
 * console.log(LEADER_ERRORS.has(ErrorCode.FENCED_LEADER_EPOCH)); // true
 * ```
 */
export const LEADER_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
]);

/**
 * The broker dropped or refused the incremental fetch session (KIP-227, KIP-516): start a new
 * full session at once, without backoff, as Java's `FetchSessionHandler.handleError` does.
 *
 * @example
 * ```ts
 * import { ErrorCode, FETCH_SESSION_ERRORS } from "@denokafka/kafka/protocol";
 * console.log(FETCH_SESSION_ERRORS.has(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)); // true
 * ```
 */
export const FETCH_SESSION_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  ErrorCode.INVALID_FETCH_SESSION_EPOCH,
  ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
]);
