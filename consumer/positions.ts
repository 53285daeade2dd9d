/**
 * Positions and their resolution (internal): the checks on start and end offsets, and the
 * resolver loop that looks up leaders, committed offsets, resets, end offsets and validates
 * positions after a leader change (KIP-320) before a partition can be fetched.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import { KafkaError, ProtocolError } from "../protocol/errors.ts";
import { LEADER_ERRORS } from "../protocol/error_sets.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { Notifier } from "./notifier.ts";
import {
  EARLIEST,
  fetchCommitted,
  LATEST,
  listOffsets,
  offsetForLeaderEpoch,
  type OffsetQuery,
} from "./offsets.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { PartitionState, ResetTarget } from "./partition_state.ts";
import {
  type EndOffset,
  type PartitionAssignment,
  type StartOffset,
  type TopicPartition,
  tpKey,
} from "./types.ts";

/**
 * Carries an error that is final although its class says retriable (e.g. an unknown topic the
 * caller asked for): the resolver fails the stream with `error` instead of retrying.
 */
class Final extends KafkaError {
  readonly error: unknown;
  constructor(error: unknown) {
    super((error as Error).message, { retriable: false, cause: error });
    this.error = error;
  }
}

function isTimestampSpec(v: unknown): v is { timestamp: number | Date } {
  return typeof v === "object" && v !== null && "timestamp" in v;
}

/** The milliseconds of a `{ timestamp }` bound; RangeError when it is not a valid time. */
export function timestampOf(spec: { timestamp: number | Date }): number {
  const t = spec.timestamp instanceof Date ? spec.timestamp.getTime() : spec.timestamp;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) {
    throw new RangeError(`a timestamp must be a non-negative integer (ms), got ${String(t)}`);
  }
  return t;
}

/** Validates a start offset (TypeError / RangeError). */
export function checkStart(offset: StartOffset | undefined): void {
  if (offset === undefined) return;
  if (typeof offset === "bigint") {
    if (offset < 0n) throw new RangeError(`an offset must be >= 0, got ${offset}`);
    return;
  }
  if (offset === "earliest" || offset === "latest" || offset === "committed") return;
  if (isTimestampSpec(offset)) {
    timestampOf(offset);
    return;
  }
  throw new TypeError(`invalid start offset: ${String(offset)}`);
}

/** Validates an end offset (TypeError / RangeError). */
export function checkEnd(end: EndOffset | undefined): void {
  if (end === undefined || end === "latest") return;
  if (typeof end === "bigint") {
    if (end < 0n) throw new RangeError(`an end offset must be >= 0, got ${end}`);
    return;
  }
  if (isTimestampSpec(end)) {
    timestampOf(end);
    return;
  }
  throw new TypeError(`invalid end offset: ${String(end)}`);
}

/** Validates `{ topic, partition }` (TypeError / RangeError). */
export function checkTopicPartition(tp: TopicPartition): void {
  if (tp === null || typeof tp !== "object") throw new TypeError("expected { topic, partition }");
  if (typeof tp.topic !== "string" || tp.topic === "") {
    throw new TypeError("topic must be a non-empty string");
  }
  if (!Number.isInteger(tp.partition) || tp.partition < 0) {
    throw new RangeError(`partition must be a non-negative integer, got ${tp.partition}`);
  }
}

/**
 * Checks an `assign()` list (TypeError / RangeError); returns the keys of its partitions.
 * `offset: "committed"` needs a group (`hasGroup`).
 */
export function checkAssignment(
  partitions: readonly PartitionAssignment[],
  hasGroup: boolean,
): Set<string> {
  if (!Array.isArray(partitions)) throw new TypeError("assign() takes an array of partitions");
  const seen = new Set<string>();
  for (const a of partitions) {
    checkTopicPartition(a);
    checkStart(a.offset);
    checkEnd(a.end);
    if (a.offset === "committed" && !hasGroup) {
      throw new TypeError(`offset "committed" needs options.groupId`);
    }
    const k = tpKey(a.topic, a.partition);
    if (seen.has(k)) throw new TypeError(`${a.topic}-${a.partition} is assigned twice`);
    seen.add(k);
  }
  return seen;
}

/** What the resolver needs from the consumer. */
export interface PositionsHost {
  /** Every assigned partition. */
  partitions(): Iterable<PartitionState>;
  /** Whether the partitions were chosen by `assign()` (an unknown one is then an error). */
  readonly manual: boolean;
  /** Drops what was fetched ahead for `ps` (its position moves). */
  evict(ps: PartitionState): void;
  /** Positions changed: fetch loops and a waiting reader look again. */
  changed(): void;
  /** An unrecoverable error: the stream fails with it. */
  fail(error: unknown): void;
}

/**
 * After an end time has passed, how long records stamped before it may still be on their way
 * (a producer's linger and a request's round trip) before the end is looked up.
 */
const END_GRACE_MS = 1_000;

type Query = OffsetQuery & { ps: PartitionState; kind: "start" | "end"; gen: number };

/**
 * Resolves where each partition starts and ends, and who leads it.
 *
 * @example
 * ```ts ignore
 * const positions = new Positions(cluster, options, host);
 * positions.setStart(ps, "earliest");
 * const loop = positions.run(signal);
 * ```
 */
export class Positions {
  readonly #cluster: Cluster;
  readonly #options: ResolvedConsumerOptions;
  readonly #host: PositionsHost;
  /** Position lookups to do. */
  readonly #wake = new Notifier();

  /** A resolver for the host's partitions. */
  constructor(cluster: Cluster, options: ResolvedConsumerOptions, host: PositionsHost) {
    this.#cluster = cluster;
    this.#options = options;
    this.#host = host;
  }

  /** Something needs a lookup: the loop looks again. */
  wake(): void {
    this.#wake.notify();
  }

  /** Sets where `ps` starts; lookups (committed, by time...) are left to the resolver. */
  setStart(ps: PartitionState, offset: StartOffset | undefined): void {
    if (typeof offset === "bigint") {
      ps.startAt(offset, -1);
      return;
    }
    ps.gen++;
    if (offset === "committed") {
      ps.phase = "committed";
      return;
    }
    ps.phase = "reset";
    ps.resetReason = "requested";
    if (offset === undefined) {
      ps.resetTo = this.#options.autoOffsetReset;
      ps.resetReason = "no start offset";
    } else if (offset === "earliest" || offset === "latest") ps.resetTo = offset;
    else ps.resetTo = { timestamp: timestampOf(offset) };
  }

  /** KIP-320: the log under our position was truncated (an unclean leader change). */
  truncated(ps: PartitionState, epoch: number, endOffset: bigint): void {
    const where = `${ps.topic}-${ps.partition}`;
    if (this.#options.autoOffsetReset === "error") {
      this.#host.fail(
        new KafkaError(
          `log truncation detected on ${where}: position ${ps.position} is beyond the end ` +
            `(${endOffset}) of leader epoch ${epoch}`,
        ),
      );
      return;
    }
    this.#cluster.logger.warn("log truncation detected, resuming at the divergence point", {
      partition: where,
      position: `${ps.position}`,
      endOffset: `${endOffset}`,
    });
    ps.startAt(endOffset, epoch);
  }

  /**
   * An end `{ timestamp }` in the future (issue 10 §5): read until it has passed, and every
   * record before it was handed out. Until then the partition is fetched without an end; the
   * first record at or after the time ends it (the fetch buffer cuts there); else, once the
   * time has passed (plus a grace for records stamped just before it and still on their way),
   * ListOffsets by time gives the end as for a past time, or the log end when no record is at
   * or after it. Returns true while the lookup must wait.
   */
  #endLater(ps: PartitionState): boolean {
    const spec = ps.endSpec;
    if (spec === undefined || typeof spec === "bigint" || spec === "latest") return false;
    const t = timestampOf(spec);
    const at = t + END_GRACE_MS;
    const now = Date.now();
    // Past (and past the grace): looked up now, and nothing is fetched before (as always).
    if (now >= at) return false;
    ps.endTime = t;
    if (ps.endResolveAt !== at) {
      ps.endResolveAt = at;
      setTimeout(() => this.#wake.notify(), at - now);
    }
    return true;
  }

  /** The resolver loop: runs until `signal` aborts or the stream fails. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let lastRefresh = Date.now();
    while (!signal.aborted) {
      const now = Date.now();
      const work = [...this.#host.partitions()].filter((ps) =>
        ps.needsMetadata || ps.leader < 0 || ps.phase === "committed" || ps.phase === "reset" ||
        ps.phase === "validate" ||
        (ps.endSpec !== undefined && ps.end === undefined && ps.endResolveAt <= now)
      );
      const stale = Date.now() - lastRefresh >= this.#options.metadataMaxAgeMs;
      if (work.length === 0 && !stale) {
        await this.#wake.wait(signal, this.#options.metadataMaxAgeMs).catch(() => {});
        continue;
      }
      try {
        if (stale || work.some((ps) => ps.needsMetadata || ps.leader < 0)) {
          await this.#refreshLeaders(signal);
          lastRefresh = Date.now();
        }
        await this.#resolvePositions(work.filter((ps) => !ps.removed && ps.leader >= 0), signal);
        failures = 0;
        this.#host.changed();
        if (work.some((ps) => !ps.removed && ps.leader < 0)) {
          await sleep(backoffMs(this.#cluster.retryPolicy, ++failures), signal);
        }
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof Final) {
          this.#host.fail(e.error);
          return;
        }
        if (e instanceof KafkaError && e.retriable) {
          this.#cluster.logger.warn("position lookup failed, retrying", { error: e.message });
          await sleep(backoffMs(this.#cluster.retryPolicy, ++failures), signal).catch(() => {});
          continue;
        }
        this.#host.fail(e);
        return;
      }
    }
  }
  async #refreshLeaders(signal: AbortSignal): Promise<void> {
    const topics = [...new Set([...this.#host.partitions()].map((ps) => ps.topic))];
    if (topics.length === 0) return;
    const errors = await this.#cluster.refreshMetadata(topics, { signal });
    for (const ps of this.#host.partitions()) {
      const t = this.#cluster.metadata.topic(ps.topic);
      const info = this.#cluster.metadata.partition(ps.topic, ps.partition);
      if (!info) {
        const code = errors.get(ps.topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (
          code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && code !== ErrorCode.NONE &&
          !new ProtocolError(code).retriable
        ) {
          throw new ProtocolError(code, `Metadata ${ps.topic}`);
        }
        if (this.#host.manual) {
          // Asked for a topic or partition that does not exist: a caller error. A short grace
          // covers metadata that lags a topic's creation.
          ps.unknownSince ||= Date.now();
          if (Date.now() - ps.unknownSince >= this.#unknownTopicGraceMs()) {
            throw new Final(
              new ProtocolError(
                3,
                t ? `${ps.topic} has no partition ${ps.partition}` : `topic ${ps.topic}`,
              ),
            );
          }
        }
        ps.leader = -1;
        continue;
      }
      ps.unknownSince = 0;
      const epochGrew = info.leaderEpoch > ps.leaderEpoch && ps.leaderEpoch >= 0;
      ps.leader = info.leader;
      ps.leaderEpoch = info.leaderEpoch;
      ps.needsMetadata = false;
      if (epochGrew && ps.phase === "ready" && ps.positionEpoch >= 0) {
        // KIP-320: a new leader may have a shorter log: check our position against it.
        this.#host.evict(ps);
        ps.phase = "validate";
      }
    }
  }

  #unknownTopicGraceMs(): number {
    return Math.min(this.#cluster.retryPolicy.deadlineMs, 5_000);
  }

  async #resolvePositions(work: PartitionState[], signal: AbortSignal): Promise<void> {
    // 1. Committed offsets.
    const committed = work.filter((ps) => ps.phase === "committed");
    if (committed.length > 0) {
      const groupId = this.#options.groupId!;
      const gens = new Map(committed.map((ps) => [ps, ps.gen]));
      const res = await this.#cluster.retry(
        (_a, sig) =>
          fetchCommitted(
            this.#cluster,
            groupId,
            committed,
            { memberId: null, memberEpoch: -1 },
            sig,
          ),
        { coordinator: ["group", groupId], signal },
      );
      for (const ps of committed) {
        if (ps.removed || ps.gen !== gens.get(ps) || ps.phase !== "committed") continue;
        const c = res.get(ps.key);
        if (c && c.offset >= 0n) {
          ps.committed = c.offset;
          ps.startAt(c.offset, c.leaderEpoch);
          // KIP-320: the committed offset may be beyond a truncated log.
          if (c.leaderEpoch >= 0 && (ps.phase as string) === "ready") ps.phase = "validate";
        } else {
          ps.phase = "reset";
          ps.resetTo = this.#options.autoOffsetReset;
          ps.resetReason = "no committed offset";
        }
      }
    }
    // 2. Resets and end offsets: ListOffsets.
    const queries: Query[] = [];
    for (const ps of work) {
      if (ps.removed) continue;
      if (ps.endSpec !== undefined && ps.end === undefined && ps.endResolveAt <= Date.now()) {
        if (typeof ps.endSpec === "bigint") ps.end = ps.endSpec;
        else if (!this.#endLater(ps)) {
          queries.push({
            topic: ps.topic,
            partition: ps.partition,
            currentLeaderEpoch: ps.leaderEpoch,
            timestamp: ps.endSpec === "latest" ? LATEST : BigInt(timestampOf(ps.endSpec)),
            ps,
            kind: "end",
            gen: ps.gen,
          });
        }
      }
      if (ps.phase === "reset") {
        const to: ResetTarget = ps.resetTo;
        if (to === "error") {
          throw new KafkaError(
            `${ps.topic}-${ps.partition}: ${ps.resetReason} and autoOffsetReset is "error"`,
          );
        }
        queries.push({
          topic: ps.topic,
          partition: ps.partition,
          currentLeaderEpoch: ps.leaderEpoch,
          timestamp: to === "earliest" ? EARLIEST : to === "latest" ? LATEST : BigInt(to.timestamp),
          ps,
          kind: "start",
          gen: ps.gen,
        });
      }
    }
    // One query per partition per request: starts and ends go in separate requests.
    for (const kind of ["start", "end"] as const) {
      const batch = queries.filter((q) => q.kind === kind);
      if (batch.length > 0) await this.#listAndApply(batch, signal);
    }
    // 3. Validation (KIP-320): OffsetForLeaderEpoch.
    const validate = work.filter((ps) => !ps.removed && ps.phase === "validate");
    if (validate.length > 0) {
      const gens = new Map(validate.map((ps) => [ps, ps.gen]));
      const answers = await offsetForLeaderEpoch(
        this.#cluster,
        validate.map((ps) => ({
          topic: ps.topic,
          partition: ps.partition,
          leaderEpoch: ps.positionEpoch,
          currentLeaderEpoch: ps.leaderEpoch,
        })),
        signal,
      );
      for (const ps of validate) {
        const a = answers.get(ps.key);
        if (!a || ps.removed || ps.gen !== gens.get(ps) || ps.phase !== "validate") continue;
        if (a.errorCode !== ErrorCode.NONE) {
          const err = new ProtocolError(
            a.errorCode,
            `OffsetForLeaderEpoch ${ps.topic}-${ps.partition}`,
          );
          if (!err.retriable) throw err;
          ps.needsMetadata = LEADER_ERRORS.has(a.errorCode);
          continue;
        }
        if (a.endOffset < 0n || a.leaderEpoch < 0) {
          // The leader knows nothing of our epoch: fall back to the reset policy.
          ps.phase = "reset";
          ps.resetTo = this.#options.autoOffsetReset;
          ps.resetReason = `leader epoch ${ps.positionEpoch} is unknown to the leader`;
          continue;
        }
        if (a.endOffset < ps.position) this.truncated(ps, a.leaderEpoch, a.endOffset);
        else ps.phase = ps.end !== undefined && ps.position >= ps.end ? "done" : "ready";
      }
      if (validate.some((ps) => ps.phase === "reset")) this.#wake.notify();
    }
  }

  async #listAndApply(
    queries: Query[],
    signal: AbortSignal,
  ): Promise<void> {
    const answers = await listOffsets(this.#cluster, this.#options.isolationLevel, queries, signal);
    const latest: typeof queries = [];
    for (const q of queries) {
      const a = answers.get(q.ps.key);
      if (!a || q.ps.removed || q.ps.gen !== q.gen) continue;
      if (a.errorCode !== ErrorCode.NONE) {
        const err = new ProtocolError(a.errorCode, `ListOffsets ${q.topic}-${q.partition}`);
        if (!err.retriable) throw err;
        q.ps.needsMetadata = LEADER_ERRORS.has(a.errorCode);
        continue;
      }
      if (!("offset" in a)) continue;
      // No record at or after the timestamp: the end of the log.
      if (a.offset < 0n && q.timestamp !== LATEST) {
        latest.push({ ...q, timestamp: LATEST });
        continue;
      }
      if (a.offset >= 0n) this.#applyOffset(q.ps, q.kind, a.offset);
    }
    if (latest.length > 0) await this.#listAndApply(latest, signal);
  }

  #applyOffset(ps: PartitionState, kind: "start" | "end", offset: bigint): void {
    if (kind === "end") {
      ps.end = offset;
      if (ps.phase === "ready" && ps.position >= offset) ps.phase = "done";
      return;
    }
    // The epoch of the record before `offset` is unknown: -1 keeps the fetch from claiming one.
    ps.startAt(offset, -1);
  }
}
