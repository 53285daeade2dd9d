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

/**
 * What the position resolver ({@linkcode Positions}) calls back on the consumer. The consumer
 * implements it as `ConsumerPositionsHost` (consumer.ts). Every call comes from the resolver's
 * loop ({@linkcode Positions.run}), except `fail` from `truncated` (a fetch found the log
 * truncated under the position, KIP-320).
 */
export interface PositionsHost {
  /** Every assigned partition: read on each turn of the loop to find what needs a lookup. */
  partitions(): Iterable<PartitionState>;
  /**
   * Whether the partitions were chosen by `assign()`: a topic or partition the metadata does
   * not know is then the caller's error (after a short grace), not one to wait out.
   */
  readonly manual: boolean;
  /**
   * Drops what was fetched ahead for `state`: called when a new leader epoch sends it to
   * validation (KIP-320), so no record from before the check is handed out.
   */
  evict(state: PartitionState): void;
  /** Positions were resolved: fetch loops and a waiting reader look again. */
  changed(): void;
  /**
   * An unrecoverable error (an unknown manually assigned partition, an error that is not
   * retriable, a truncation with `autoOffsetReset: "error"`): the stream fails with it.
   */
  fail(error: unknown): void;
}

/**
 * After an end time has passed, how long records stamped before it may still be on their way
 * (a producer's linger and a request's round trip) before the end is looked up.
 */
const END_GRACE_MS = 1_000;

type Query = OffsetQuery & { state: PartitionState; kind: "start" | "end"; gen: number };

/**
 * Resolves where each partition starts and ends, and who leads it.
 *
 * @example
 * ```ts ignore
 * const positions = new Positions(cluster, options, host);
 * positions.setStart(state, "earliest");
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

  /** Sets where `state` starts; lookups (committed, by time...) are left to the resolver. */
  setStart(state: PartitionState, offset: StartOffset | undefined): void {
    if (typeof offset === "bigint") {
      state.startAt(offset, -1);
      return;
    }
    state.gen++;
    state.moves++;
    if (offset === "committed") {
      state.phase = "committed";
      return;
    }
    state.phase = "reset";
    state.resetReason = "requested";
    if (offset === undefined) {
      state.resetTo = this.#options.autoOffsetReset;
      state.resetReason = "no start offset";
    } else if (offset === "earliest" || offset === "latest") state.resetTo = offset;
    else state.resetTo = { timestamp: timestampOf(offset) };
  }

  /** KIP-320: the log under our position was truncated (an unclean leader change). */
  truncated(state: PartitionState, epoch: number, endOffset: bigint): void {
    const where = `${state.topic}-${state.partition}`;
    if (this.#options.autoOffsetReset === "error") {
      this.#host.fail(
        new KafkaError(
          `log truncation detected on ${where}: position ${state.position} is beyond the end ` +
            `(${endOffset}) of leader epoch ${epoch}`,
        ),
      );
      return;
    }
    this.#cluster.logger.warn("log truncation detected, resuming at the divergence point", {
      partition: where,
      position: `${state.position}`,
      endOffset: `${endOffset}`,
    });
    state.startAt(endOffset, epoch);
  }

  /**
   * An end `{ timestamp }` in the future (issue 10 §5): read until it has passed, and every
   * record before it was handed out. Until then the partition is fetched without an end; the
   * first record at or after the time ends it (the fetch buffer cuts there); else, once the
   * time has passed (plus a grace for records stamped just before it and still on their way),
   * ListOffsets by time gives the end as for a past time, or the log end when no record is at
   * or after it. Returns true while the lookup must wait.
   */
  #endLater(state: PartitionState): boolean {
    const spec = state.endSpec;
    if (spec === undefined || typeof spec === "bigint" || spec === "latest") return false;
    const t = timestampOf(spec);
    const at = t + END_GRACE_MS;
    const now = Date.now();
    // Past (and past the grace): looked up now, and nothing is fetched before (as always).
    if (now >= at) return false;
    state.endTime = t;
    if (state.endResolveAt !== at) {
      state.endResolveAt = at;
      setTimeout(() => this.#wake.notify(), at - now);
    }
    return true;
  }

  /**
   * The resolver loop: runs until `signal` aborts or the stream fails. `metadataFresh`: the
   * caller has just refreshed the metadata of every assigned topic (the consumer's start), so
   * the first pass takes leaders from the cache instead of asking again; a partition the
   * cache does not have is looked up on the next pass, as always.
   */
  async run(signal: AbortSignal, options: { metadataFresh?: boolean } = {}): Promise<void> {
    let failures = 0;
    let lastRefresh = Date.now();
    let cached = options.metadataFresh ?? false;
    while (!signal.aborted) {
      // Only the first pass: later ones (say, once a group assigned partitions) ask.
      const fresh = cached;
      cached = false;
      const now = Date.now();
      const work = [...this.#host.partitions()].filter((state) =>
        state.needsMetadata || state.leader < 0 || state.phase === "committed" ||
        state.phase === "reset" ||
        state.phase === "validate" ||
        (state.endSpec !== undefined && state.end === undefined && state.endResolveAt <= now)
      );
      const stale = Date.now() - lastRefresh >= this.#options.metadataMaxAgeMs;
      if (work.length === 0 && !stale) {
        await this.#wake.wait(signal, this.#options.metadataMaxAgeMs).catch(() => {});
        continue;
      }
      try {
        const fromCache = fresh && !stale;
        if (stale || work.some((state) => state.needsMetadata || state.leader < 0)) {
          await this.#refreshLeaders(signal, fromCache);
          lastRefresh = Date.now();
          // The fetcher opens its connections to the leaders while the offsets are looked up.
          this.#host.changed();
        }
        await this.#resolvePositions(
          work.filter((state) => !state.removed && state.leader >= 0),
          signal,
        );
        failures = 0;
        this.#host.changed();
        // Not in the cache: asked for at once on the next pass.
        if (!fromCache && work.some((state) => !state.removed && state.leader < 0)) {
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
  async #refreshLeaders(signal: AbortSignal, fromCache = false): Promise<void> {
    const topics = [...new Set([...this.#host.partitions()].map((state) => state.topic))];
    if (topics.length === 0) return;
    const errors: ReadonlyMap<string, number> = fromCache
      ? new Map()
      : await this.#cluster.refreshMetadata(topics, { signal });
    for (const state of this.#host.partitions()) {
      const t = this.#cluster.metadata.topic(state.topic);
      const info = this.#cluster.metadata.partition(state.topic, state.partition);
      if (!info) {
        const code = errors.get(state.topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (
          code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && code !== ErrorCode.NONE &&
          !new ProtocolError(code).retriable
        ) {
          throw new ProtocolError(code, `Metadata ${state.topic}`);
        }
        if (this.#host.manual) {
          // Asked for a topic or partition that does not exist: a caller error. A short grace
          // covers metadata that lags a topic's creation.
          state.unknownSince ||= Date.now();
          if (Date.now() - state.unknownSince >= this.#unknownTopicGraceMs()) {
            throw new Final(
              new ProtocolError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                t ? `${state.topic} has no partition ${state.partition}` : `topic ${state.topic}`,
              ),
            );
          }
        }
        state.leader = -1;
        continue;
      }
      state.unknownSince = 0;
      const epochGrew = info.leaderEpoch > state.leaderEpoch && state.leaderEpoch >= 0;
      state.leader = info.leader;
      state.leaderEpoch = info.leaderEpoch;
      state.needsMetadata = false;
      if (epochGrew && state.phase === "ready" && state.positionEpoch >= 0) {
        // KIP-320: a new leader may have a shorter log: check our position against it.
        this.#host.evict(state);
        state.phase = "validate";
      }
    }
  }

  #unknownTopicGraceMs(): number {
    return Math.min(this.#cluster.retryPolicy.deadlineMs, 5_000);
  }

  async #resolvePositions(work: PartitionState[], signal: AbortSignal): Promise<void> {
    // 1. Committed offsets.
    const committed = work.filter((state) => state.phase === "committed");
    if (committed.length > 0) {
      const groupId = this.#options.groupId!;
      const gens = new Map(committed.map((state) => [state, state.gen]));
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
      for (const state of committed) {
        if (state.removed || state.gen !== gens.get(state) || state.phase !== "committed") continue;
        const c = res.get(state.key);
        if (c && c.offset >= 0n) {
          state.committed = c.offset;
          state.startAt(c.offset, c.leaderEpoch);
          // KIP-320: the committed offset may be beyond a truncated log.
          if (c.leaderEpoch >= 0 && (state.phase as string) === "ready") state.phase = "validate";
        } else {
          state.phase = "reset";
          state.resetTo = this.#options.autoOffsetReset;
          state.resetReason = "no committed offset";
        }
      }
    }
    // 2. Resets and end offsets: ListOffsets.
    const queries: Query[] = [];
    for (const state of work) {
      if (state.removed) continue;
      if (
        state.endSpec !== undefined && state.end === undefined && state.endResolveAt <= Date.now()
      ) {
        if (typeof state.endSpec === "bigint") state.end = state.endSpec;
        else if (!this.#endLater(state)) {
          queries.push({
            topic: state.topic,
            partition: state.partition,
            currentLeaderEpoch: state.leaderEpoch,
            timestamp: state.endSpec === "latest" ? LATEST : BigInt(timestampOf(state.endSpec)),
            state,
            kind: "end",
            gen: state.gen,
          });
        }
      }
      if (state.phase === "reset") {
        const to: ResetTarget = state.resetTo;
        if (to === "error") {
          throw new KafkaError(
            `${state.topic}-${state.partition}: ${state.resetReason} and autoOffsetReset is "error"`,
          );
        }
        queries.push({
          topic: state.topic,
          partition: state.partition,
          currentLeaderEpoch: state.leaderEpoch,
          timestamp: to === "earliest" ? EARLIEST : to === "latest" ? LATEST : BigInt(to.timestamp),
          state,
          kind: "start",
          gen: state.gen,
        });
      }
    }
    // One query per partition per request: starts and ends go in separate requests.
    for (const kind of ["start", "end"] as const) {
      const batch = queries.filter((q) => q.kind === kind);
      if (batch.length > 0) await this.#listAndApply(batch, signal);
    }
    // 3. Validation (KIP-320): OffsetForLeaderEpoch.
    const validate = work.filter((state) => !state.removed && state.phase === "validate");
    if (validate.length > 0) {
      const gens = new Map(validate.map((state) => [state, state.gen]));
      const answers = await offsetForLeaderEpoch(
        this.#cluster,
        validate.map((state) => ({
          topic: state.topic,
          partition: state.partition,
          leaderEpoch: state.positionEpoch,
          currentLeaderEpoch: state.leaderEpoch,
        })),
        signal,
      );
      for (const state of validate) {
        const a = answers.get(state.key);
        if (!a || state.removed || state.gen !== gens.get(state) || state.phase !== "validate") {
          continue;
        }
        if (a.errorCode !== ErrorCode.NONE) {
          const err = new ProtocolError(
            a.errorCode,
            `OffsetForLeaderEpoch ${state.topic}-${state.partition}`,
          );
          if (!err.retriable) throw err;
          state.needsMetadata = LEADER_ERRORS.has(a.errorCode);
          continue;
        }
        if (a.endOffset < 0n || a.leaderEpoch < 0) {
          // The leader knows nothing of our epoch: fall back to the reset policy.
          state.phase = "reset";
          state.resetTo = this.#options.autoOffsetReset;
          state.resetReason = `leader epoch ${state.positionEpoch} is unknown to the leader`;
          continue;
        }
        if (a.endOffset < state.position) this.truncated(state, a.leaderEpoch, a.endOffset);
        else {state.phase = state.end !== undefined && state.position >= state.end
            ? "done"
            : "ready";}
      }
      if (validate.some((state) => state.phase === "reset")) this.#wake.notify();
    }
  }

  async #listAndApply(
    queries: Query[],
    signal: AbortSignal,
  ): Promise<void> {
    const answers = await listOffsets(this.#cluster, this.#options.isolationLevel, queries, signal);
    const latest: typeof queries = [];
    for (const q of queries) {
      const a = answers.get(q.state.key);
      if (!a || q.state.removed || q.state.gen !== q.gen) continue;
      if (a.errorCode !== ErrorCode.NONE) {
        const err = new ProtocolError(a.errorCode, `ListOffsets ${q.topic}-${q.partition}`);
        if (!err.retriable) throw err;
        q.state.needsMetadata = LEADER_ERRORS.has(a.errorCode);
        continue;
      }
      if (!("offset" in a)) continue;
      // No record at or after the timestamp: the end of the log.
      if (a.offset < 0n && q.timestamp !== LATEST) {
        latest.push({ ...q, timestamp: LATEST });
        continue;
      }
      if (a.offset >= 0n) this.#applyOffset(q.state, q.kind, a.offset);
    }
    if (latest.length > 0) await this.#listAndApply(latest, signal);
  }

  #applyOffset(state: PartitionState, kind: "start" | "end", offset: bigint): void {
    if (kind === "end") {
      state.end = offset;
      if (state.phase === "ready" && state.position >= offset) state.phase = "done";
      return;
    }
    // The epoch of the record before `offset` is unknown: -1 keeps the fetch from claiming one.
    state.startAt(offset, -1);
  }
}
