/**
 * Consumer options, their defaults and validation.
 *
 * @module
 */

import { type ClientOptions, validateClientOptions } from "../cluster/options.ts";
import type { Assignor } from "./assignor.ts";
import type { RebalanceCallback } from "./types.ts";

/** The assignors this client implements, by their protocol names (Java's and librdkafka's). */
export type AssignorName = "range" | "roundrobin" | "sticky" | "cooperative-sticky";

/**
 * Everything a {@linkcode Consumer} can be told. Only `brokers` is required; a `groupId` with
 * `topics` makes a group member, `assign()` reads chosen partitions.
 *
 * @example
 * ```ts
 * import type { ConsumerOptions } from "@denokafka/kafka/consumer";
 * const options: ConsumerOptions = {
 *   brokers: ["127.0.0.1:9092"],
 *   groupId: "billing",
 *   topics: ["invoices"],
 *   autoOffsetReset: "earliest",
 *   maxBufferedBytes: 16 * 1024 * 1024,
 * };
 * console.log(options.groupId);
 * ```
 */
export interface ConsumerOptions extends ClientOptions {
  /** The consumer group. Needed for subscriptions and commits. */
  groupId?: string;
  /** Subscribe to these topics, or to every topic whose name matches (needs `groupId`). */
  topics?: readonly string[] | RegExp;
  /**
   * `classic` (JoinGroup/SyncGroup/Heartbeat, client-side assignors) or `consumer` (KIP-848,
   * ConsumerGroupHeartbeat, broker-side assignment). Default `classic`.
   */
  groupProtocol?: "classic" | "consumer";
  /** Static membership (KIP-345): a stable id per instance, so restarts do not rebalance. */
  groupInstanceId?: string;
  /**
   * Classic protocol assignors, in order of preference. Default `["cooperative-sticky"]`
   * (incremental rebalances: partitions that stay put keep flowing).
   */
  assignors?: readonly (AssignorName | Assignor)[];
  /** KIP-848: the broker-side assignor (`uniform`, `range`); default the broker's. */
  serverAssignor?: string;
  /** Classic protocol: the member is evicted after this long without heartbeat. Default 45 s. */
  sessionTimeoutMs?: number;
  /** Time the group waits for members to rejoin (and KIP-848 revocations). Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Classic protocol: heartbeat period. Default 3 s. (KIP-848: the broker decides.) */
  heartbeatIntervalMs?: number;
  /** Commit what the reader has taken, periodically and on revocation and close. Default true. */
  autoCommit?: boolean;
  /** Auto-commit period. Default 5 s. */
  autoCommitIntervalMs?: number;
  /**
   * What to do without a valid position (no committed offset, or the offset is out of range):
   * start at the `earliest` or `latest` record, or fail with an `error`. Default `latest`.
   */
  autoOffsetReset?: "earliest" | "latest" | "error";
  /**
   * `read_committed` (default) hides aborted transactional records and reads up to the last
   * stable offset; `read_uncommitted` reads everything. Control records are never returned.
   */
  isolationLevel?: "read_committed" | "read_uncommitted";
  /**
   * The one memory budget: bytes fetched, decompressed and queued for the reader, together.
   * Fetching stops when it is reached and resumes as the reader takes records. Default 64 MiB,
   * at least 1 MiB.
   */
  maxBufferedBytes?: number;
  /** Fetch: the broker waits for this many bytes (or `fetchMaxWaitMs`). Default 1. */
  fetchMinBytes?: number;
  /** Fetch: most bytes per response (further capped by the free budget). Default 50 MiB. */
  fetchMaxBytes?: number;
  /** Fetch: most bytes per partition per response. Default 1 MiB. */
  maxPartitionFetchBytes?: number;
  /** Fetch: the longest the broker holds a fetch waiting for `fetchMinBytes`. Default 500 ms. */
  fetchMaxWaitMs?: number;
  /**
   * Fetch sessions (and connections) per broker, each with its own fetch in flight: a
   * broker's partitions are spread over them. Default 2 (a single partition always uses one).
   */
  fetchConcurrency?: number;
  /**
   * Verify each record batch's CRC-32C, to catch corruption on the broker's disk or in
   * transit. Default true, as Java's `check.crcs`. librdkafka defaults to false (the broker
   * already checked the CRC when it accepted the data); here the check costs about a tenth of
   * the consumer's CPU time for 1 KiB records (protocol/crc32c.ts checksums batches at ~10 GB/s
   * with WebAssembly SIMD, ~4 GB/s where that is missing; Java's uses a CPU instruction), so
   * `false` buys that much catch-up throughput.
   */
  checkCrcs?: boolean;
  /**
   * Address space reserved (never written, so no physical memory) while the consumer runs, so
   * that V8 paces its full garbage collections on it rather than on the small JS heap: every
   * fetched byte is an ArrayBuffer, and without it V8 runs a full collection every ~20 MB
   * fetched (13 % more CPU at 1 KiB records than with the default). It shows in V8's external
   * memory (`memoryUsage().external`); dead fetch responses may wait longer to be freed. One
   * reservation per process, the largest asked for by a live consumer. The first such consumer also raises glibc's heap
   * trim threshold for the process (to 64 MiB, by freeing one untouched 32 MiB block), so that
   * freed responses' pages are reused rather than faulted in again. Default 8 x
   * `maxBufferedBytes`; 0 turns both off. Smaller values do not simply trade CPU for memory
   * (1M records, bench/PROFILE.md, "Session 15: gcHeadroomBytes after the response leak"): 0
   * costs 7-13 % CPU and raises the peak with 1 KiB records (96 -> 115 MiB), while 64-256 MiB
   * take 10-30 MiB off with 100 B records on 4 partitions but add 6-20 MiB on 256 partitions
   * (glibc heap fragmentation: "Session 16: consumer peak RSS").
   */
  gcHeadroomBytes?: number;
  /** The client's rack, for fetch-from-follower and rack-aware assignment. */
  rackId?: string;
  /** Called (and awaited) after partitions are assigned to this member. */
  onPartitionsAssigned?: RebalanceCallback;
  /** Called (and awaited) before partitions are taken away; the place to commit. */
  onPartitionsRevoked?: RebalanceCallback;
  /**
   * Called when partitions were lost (session expired, fenced): committing is too late, another
   * member may own them already. Default: `onPartitionsRevoked` (as Java).
   */
  onPartitionsLost?: RebalanceCallback;
  /** Leave the group on close even with a `groupInstanceId`. Default: dynamic members only. */
  leaveGroupOnClose?: boolean;
}

/** The options with every default filled in (internal). */
export interface ResolvedConsumerOptions {
  groupId: string | undefined;
  groupProtocol: "classic" | "consumer";
  groupInstanceId: string | null;
  assignors: readonly (AssignorName | Assignor)[];
  serverAssignor: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  autoOffsetReset: "earliest" | "latest" | "error";
  isolationLevel: 0 | 1;
  maxBufferedBytes: number;
  fetchMinBytes: number;
  fetchMaxBytes: number;
  maxPartitionFetchBytes: number;
  fetchMaxWaitMs: number;
  fetchConcurrency: number;
  checkCrcs: boolean;
  gcHeadroomBytes: number;
  rackId: string | null;
  metadataMaxAgeMs: number;
  leaveGroupOnClose: boolean;
}

const MIN_BUDGET = 1024 * 1024;

function positive(options: ConsumerOptions, key: keyof ConsumerOptions, dflt: number): number {
  const v = options[key];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`options.${key} must be a positive number`);
  }
  return v;
}

/**
 * Validates the options (TypeError / RangeError) and fills in the defaults (internal).
 *
 * @example
 * ```ts ignore
 * const o = resolveConsumerOptions({ brokers: ["127.0.0.1:9092"] });
 * console.log(o.maxBufferedBytes); // 67108864
 * ```
 */
export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  validateClientOptions(options);
  const groupId = options.groupId;
  if (groupId !== undefined && (typeof groupId !== "string" || groupId === "")) {
    throw new TypeError("options.groupId must be a non-empty string");
  }
  if (options.topics !== undefined) {
    if (!(options.topics instanceof RegExp)) {
      if (!Array.isArray(options.topics) || options.topics.some((t) => typeof t !== "string")) {
        throw new TypeError("options.topics must be an array of topic names or a RegExp");
      }
    }
    if (groupId === undefined) {
      throw new TypeError("options.topics needs options.groupId (or use assign())");
    }
  }
  const protocol = options.groupProtocol ?? "classic";
  if (protocol !== "classic" && protocol !== "consumer") {
    throw new TypeError(`options.groupProtocol must be "classic" or "consumer"`);
  }
  const reset = options.autoOffsetReset ?? "latest";
  if (reset !== "earliest" && reset !== "latest" && reset !== "error") {
    throw new TypeError(`options.autoOffsetReset must be "earliest", "latest" or "error"`);
  }
  const iso = options.isolationLevel ?? "read_committed";
  if (iso !== "read_committed" && iso !== "read_uncommitted") {
    throw new TypeError(`options.isolationLevel must be "read_committed" or "read_uncommitted"`);
  }
  const budget = positive(options, "maxBufferedBytes", 64 * 1024 * 1024);
  if (budget < MIN_BUDGET) {
    throw new RangeError(`options.maxBufferedBytes must be at least ${MIN_BUDGET}`);
  }
  const assignors = options.assignors ?? ["cooperative-sticky"];
  if (!Array.isArray(assignors) || assignors.length === 0) {
    throw new TypeError("options.assignors must be a non-empty array");
  }
  const fetchMinBytes = options.fetchMinBytes ?? 1;
  if (!Number.isInteger(fetchMinBytes) || fetchMinBytes < 0) {
    throw new RangeError("options.fetchMinBytes must be a non-negative integer");
  }
  const fetchMaxWaitMs = options.fetchMaxWaitMs ?? 500;
  if (!Number.isInteger(fetchMaxWaitMs) || fetchMaxWaitMs < 0) {
    throw new RangeError("options.fetchMaxWaitMs must be a non-negative integer");
  }
  if (options.groupInstanceId !== undefined && groupId === undefined) {
    throw new TypeError("options.groupInstanceId needs options.groupId");
  }
  return {
    groupId,
    groupProtocol: protocol,
    groupInstanceId: options.groupInstanceId ?? null,
    assignors,
    serverAssignor: options.serverAssignor ?? null,
    sessionTimeoutMs: positive(options, "sessionTimeoutMs", 45_000),
    rebalanceTimeoutMs: positive(options, "rebalanceTimeoutMs", 60_000),
    heartbeatIntervalMs: positive(options, "heartbeatIntervalMs", 3_000),
    autoCommit: groupId !== undefined && (options.autoCommit ?? true),
    autoCommitIntervalMs: positive(options, "autoCommitIntervalMs", 5_000),
    autoOffsetReset: reset,
    isolationLevel: iso === "read_committed" ? 1 : 0,
    maxBufferedBytes: Math.floor(budget),
    fetchMinBytes,
    fetchMaxBytes: Math.floor(positive(options, "fetchMaxBytes", 50 * 1024 * 1024)),
    maxPartitionFetchBytes: Math.floor(
      positive(options, "maxPartitionFetchBytes", 1024 * 1024),
    ),
    fetchMaxWaitMs,
    fetchConcurrency: Math.floor(positive(options, "fetchConcurrency", 2)),
    checkCrcs: options.checkCrcs ?? true,
    gcHeadroomBytes: headroom(options.gcHeadroomBytes, budget),
    rackId: options.rackId ?? null,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
    leaveGroupOnClose: options.leaveGroupOnClose ?? options.groupInstanceId === undefined,
  };
}

function headroom(value: number | undefined, budget: number): number {
  if (value === undefined) return 8 * Math.floor(budget);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError("options.gcHeadroomBytes must be a non-negative number");
  }
  return Math.floor(value);
}
