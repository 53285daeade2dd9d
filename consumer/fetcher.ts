/**
 * The fetcher (internal): one loop per broker that leads assigned partitions, sending one
 * Fetch at a time for all of them through a fetch session (KIP-227) on the `fetch` lane. The
 * next fetch goes out as soon as the previous one is back and the budget has room, so the
 * network works while the reader reads; when the budget is full, fetching simply stops.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import { Api } from "../protocol/apis.ts";
import type { FetchRequestTopic, FetchResponse } from "../protocol/messages/fetch.ts";
import {
  AuthenticationError,
  KafkaError,
  ProtocolError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import { versionForTopicIds } from "../protocol/topic_id_version.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { FETCH_SESSION_ERRORS, LEADER_ERRORS } from "../protocol/error_sets.ts";
import type { ByteBudget } from "./budget.ts";
import { Chunk, type FrameRef, scanBatches } from "./chunk.ts";
import { FetchSession, type SessionPartition } from "./fetch_session.ts";
import { Notifier } from "./notifier.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { PartitionState } from "./partition_state.ts";

/**
 * The largest response a fetch asks for. A consumer that reads as fast as it fetches would
 * otherwise ask for its whole free share (32 MiB by default) each time: measured on 256
 * partitions (C6-100B), that was +0.26 CPU s per million records and +48 MiB of peak RSS
 * against 16 MiB (bench/PROFILE.md, session 10), and 16 MiB was +17 MiB of peak RSS against
 * 8 MiB for no CPU (session 15, consumer peak RSS; 4 MiB took 3 MiB more off for ~+0.01 CPU
 * s/M). A response is in memory whole before its first record is read, so this is what a
 * lane holds while the reader keeps up. The price of a smaller cap is on a long link: with
 * one fetch in flight per lane, a lane moves at most this much per round trip (8 MiB at 50
 * ms: 160 MiB/s). Only a lane fetching more than `cap / maxPartitionFetchBytes` partitions
 * with data behind them reaches it. The frame reader takes a frame of up to 16 MiB into one
 * buffer of its size.
 */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * The first fetch of a lane asks for at most this much, and each response that brought data
 * doubles it, up to {@linkcode MAX_RESPONSE_BYTES}: the reader is not handed anything until a
 * whole response is in, and a first 16 MiB response took ~35 ms on the test bed (against ~4 ms
 * for 1-4 MiB), all of it time to the first record (bench/PROFILE.md, session 11, C6).
 */
const FIRST_RESPONSE_BYTES = 1024 * 1024;

/**
 * What the fetcher calls back on the consumer. The consumer implements it as
 * `ConsumerFetcherHost` (consumer.ts); unit tests script their own
 * (tests/unit/fetcher_errors_test.ts). Every call comes from a fetch loop or from
 * {@linkcode Fetcher.wake}, never from the reader.
 */
export interface FetcherHost {
  /**
   * Every assigned partition, read afresh on each call: `wake` finds the brokers to fetch
   * from, each loop picks its fetchable partitions, and a failed broker's partitions are
   * marked for a metadata lookup. Implemented by the consumer's `Partitions`.
   */
  partitions(): Iterable<PartitionState>;
  /**
   * The partition, if still assigned: called once a partition of every fetch response, to
   * drop results for one that was since revoked. Implemented by the consumer's `Partitions`.
   */
  partition(topic: string, partition: number): PartitionState | undefined;
  /**
   * Bytes to keep free for decompressing the next batch: read before each fetch to size its
   * `maxBytes` below the budget. Implemented by the consumer's `FetchBuffer`.
   */
  readonly decodeReserve: number;
  /**
   * New data for the reader: called for each chunk a fetch response produced, after its bytes
   * were charged to the budget. The consumer queues it in its `FetchBuffer` and wakes a
   * waiting pull.
   */
  addChunk(chunk: Chunk): void;
  /**
   * Drops what was fetched ahead for `state` (and results in flight for it): called when its
   * offset went out of range or its log diverged. Implemented by the consumer's `FetchBuffer`.
   */
  evict(state: PartitionState): void;
  /**
   * KIP-320: the log under the position of `state` was truncated at `endOffset` of `epoch`;
   * called from a fetch response's diverging epoch. The consumer's `Positions` resumes at the
   * divergence point, or fails the stream when `autoOffsetReset` is `"error"`.
   */
  truncated(state: PartitionState, epoch: number, endOffset: bigint): void;
  /**
   * A partition needs a lookup (a new leader, an offset reset): wakes the consumer's
   * `Positions` resolver. Called after a partition or broker error in a fetch.
   */
  resolve(): void;
  /**
   * An unrecoverable error (authentication, an unsupported version, a non-retriable partition
   * error, a loop that broke): the consumer's stream fails with it.
   */
  fail(error: unknown): void;
}

/**
 * Runs the per-broker fetch loops.
 *
 * @example
 * ```ts ignore
 * const fetcher = new Fetcher(cluster, options, budget, host);
 * fetcher.wake(); // partitions changed
 * await fetcher.close();
 * ```
 */
export class Fetcher {
  readonly #cluster: Cluster;
  readonly #options: ResolvedConsumerOptions;
  readonly #budget: ByteBudget;
  readonly #host: FetcherHost;
  /** One loop per broker and fetch lane: `node:lane`. */
  readonly #loops = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<string>();
  readonly #wakeup = new Notifier();
  readonly #idle = new Notifier();
  readonly #abort = new AbortController();
  #hold = 0;

  /** A fetcher for the host's partitions. */
  constructor(
    cluster: Cluster,
    options: ResolvedConsumerOptions,
    budget: ByteBudget,
    host: FetcherHost,
  ) {
    this.#cluster = cluster;
    this.#options = options;
    this.#budget = budget;
    this.#host = host;
  }

  /** Something changed (partitions, leaders, budget, pauses): loops look again. */
  wake(): void {
    if (this.#abort.signal.aborted) return;
    const lanes = new Set<string>();
    let warm: Set<string> | undefined;
    for (const state of this.#host.partitions()) {
      if (state.leader < 0 || state.removed) continue;
      if (state.phase === "ready") lanes.add(`${state.leader}:${this.#laneOf(state)}`);
      else if (state.phase !== "done") {
        (warm ??= new Set()).add(`${state.leader}:${this.#laneOf(state)}`);
      }
    }
    // A partition whose position is still being looked up (ListOffsets, OffsetFetch) will be
    // fetched from its leader next: its lane's connection opens meanwhile, not after (a
    // connection and its ApiVersions are ~2-5 ms on the test bed, on the way to the first
    // record). The cluster shares one attempt per connection, so the loop's own connect joins
    // it; a failure here is the loop's to see and handle.
    if (warm !== undefined) {
      for (const key of warm) {
        if (lanes.has(key) || this.#loops.has(key)) continue;
        const [node, lane] = key.split(":").map(Number) as [number, number];
        this.#cluster.connectToNode(node, `fetch-${lane}`, this.#abort.signal).catch(() => {});
      }
    }
    for (const key of lanes) {
      if (!this.#loops.has(key)) {
        const [node, lane] = key.split(":").map(Number) as [number, number];
        const loop = this.#run(node, lane).finally(() => {
          if (this.#loops.get(key) === loop) this.#loops.delete(key);
        });
        this.#loops.set(key, loop);
      }
    }
    this.#wakeup.notify();
  }

  /**
   * The fetch lane of a partition. A broker's partitions are spread over `fetchConcurrency`
   * sessions, each on its own connection, so that several fetches are in flight per broker:
   * with one, the network idles while a response is read and the next is prepared. Stable
   * (partition index plus a hash of the topic), so sessions do not churn.
   */
  #laneOf(state: PartitionState): number {
    const n = this.#options.fetchConcurrency;
    if (n <= 1) return 0;
    let h = 0;
    for (let i = 0; i < state.topic.length; i++) h = (h * 31 + state.topic.charCodeAt(i)) | 0;
    return ((state.partition + (h >>> 0)) % n + n) % n;
  }

  /**
   * Stops new fetches and resolves once none is in flight, so that everything fetched is in
   * chunks (to be evicted). Pair with {@linkcode unhold}.
   */
  async hold(): Promise<void> {
    this.#hold++;
    while (this.#inFlight.size > 0 && !this.#abort.signal.aborted) {
      await this.#idle.wait(this.#abort.signal, 1000).catch(() => {});
    }
  }

  /** Lets fetching resume after {@linkcode hold}. */
  unhold(): void {
    this.#hold = Math.max(0, this.#hold - 1);
    this.wake();
  }

  /** Stops every loop and waits for them. */
  async close(): Promise<void> {
    this.#abort.abort(new KafkaError("consumer closed"));
    this.#wakeup.notify();
    await Promise.all([...this.#loops.values()]);
  }

  #fetchable(node: number, lane: number): { parts: PartitionState[]; led: boolean } {
    const now = Date.now();
    const parts: PartitionState[] = [];
    let led = false;
    for (const state of this.#host.partitions()) {
      if (state.removed || state.leader !== node || this.#laneOf(state) !== lane) continue;
      if (state.phase === "ready") led = true;
      if (
        state.phase === "ready" && !state.paused && !state.revoking && !state.needsMetadata &&
        state.backoffUntil <= now &&
        // An end bound is resolved (ListOffsets) after the start: until then nothing is
        // fetched, or records past a mid-batch end could be handed out first.
        // An end time still in the future fetches on: the buffer cuts at the first record
        // at or after it.
        (state.end === undefined
          ? state.endSpec === undefined || state.endTime !== undefined
          : state.fetchOffset < state.end)
      ) parts.push(state);
    }
    return { parts, led };
  }

  async #run(node: number, lane: number): Promise<void> {
    const key = `${node}:${lane}`;
    const signal = this.#abort.signal;
    const session = new FetchSession();
    // What this lane holds (its responses not yet read): each lane gets its share of the
    // budget, or the first to fetch would starve the others.
    const lane_ = { held: 0 };
    let throttleUntil = 0;
    let failures = 0;
    let cap = FIRST_RESPONSE_BYTES;
    const policy = this.#cluster.retryPolicy;
    try {
      while (!signal.aborted) {
        if (this.#hold > 0) {
          await this.#wakeup.wait(signal, 1000);
          continue;
        }
        const { parts, led } = this.#fetchable(node, lane);
        if (!led) return;
        if (parts.length === 0) {
          // Paused or backing off: look again when told, or soon (backoffs expire).
          await this.#wakeup.wait(signal, 200);
          continue;
        }
        const now = Date.now();
        if (throttleUntil > now) {
          await sleep(throttleUntil - now, signal);
          continue;
        }
        const share = Math.floor(this.#budget.limit / Math.max(1, this.#loops.size));
        const free = Math.min(this.#budget.free - this.#host.decodeReserve, share - lane_.held);
        const minFetch = Math.min(share / 4, 1024 * 1024);
        if (free < minFetch) {
          await this.#wakeup.wait(signal, 1000);
          continue;
        }
        // The response holds the records (at most maxBytes) plus its own headers: leave room.
        const overhead = 4096 + 128 * parts.length;
        const maxBytes = Math.floor(
          Math.min(this.#options.fetchMaxBytes, free - overhead, cap - overhead),
        );
        const perPartition = Math.min(this.#options.maxPartitionFetchBytes, maxBytes);
        let res: FetchResponse;
        let wanted: SessionPartition[];
        const sent = new Map<PartitionState, { gen: number; offset: bigint }>();
        this.#inFlight.add(key);
        this.#budget.reserve(maxBytes + overhead);
        let settled = false;
        try {
          const conn = await this.#cluster.connectToNode(node, `fetch-${lane}`, signal);
          let version = conn.versionFor(Api.Fetch);
          const ids = parts.map((state) => this.#cluster.metadata.topic(state.topic)?.topicId);
          version = versionForTopicIds(version, 13, ids);
          wanted = parts.map((state, i) => ({
            topic: state.topic,
            topicId: ids[i] ?? ZERO_UUID,
            partition: state.partition,
            fetchOffset: state.fetchOffset,
            lastFetchedEpoch: state.fetchEpoch,
            currentLeaderEpoch: state.leaderEpoch,
            maxBytes: perPartition,
          }));
          for (const state of parts) sent.set(state, { gen: state.gen, offset: state.fetchOffset });
          const req = session.build(wanted);
          const useIds = version >= 13;
          res = await conn.request(Api.Fetch, {
            maxWaitMs: this.#options.fetchMaxWaitMs,
            minBytes: this.#options.fetchMinBytes,
            maxBytes,
            isolationLevel: this.#options.isolationLevel,
            sessionId: req.sessionId,
            sessionEpoch: req.sessionEpoch,
            topics: groupTopics(req.send, useIds, false),
            forgottenTopicsData: groupTopics(req.forget, useIds, true),
            rackId: this.#options.rackId ?? "",
          }, {
            version,
            signal,
            timeoutMs: (this.#cluster.options.requestTimeoutMs ?? 30_000) +
              this.#options.fetchMaxWaitMs,
          });
          if (res.errorCode !== ErrorCode.NONE) {
            this.#budget.settle(maxBytes + overhead, 0);
            settled = true;
            session.reset();
            if (!FETCH_SESSION_ERRORS.has(res.errorCode)) {
              this.#cluster.logger.warn("fetch failed", { broker: node, errorCode: res.errorCode });
              await sleep(backoffMs(policy, ++failures), signal);
            }
            continue;
          }
          session.succeeded(req, wanted, res.sessionId);
          failures = 0;
          if (res.throttleTimeMs > 0) throttleUntil = Date.now() + res.throttleTimeMs;
          if (this.#accept(res, sent, maxBytes + overhead, lane_)) {
            cap = Math.min(cap * 2, MAX_RESPONSE_BYTES);
          }
          settled = true;
        } catch (e) {
          if (!settled) this.#budget.settle(maxBytes + overhead, 0);
          session.reset();
          if (signal.aborted) return;
          this.#brokerFailed(node, e);
          await sleep(backoffMs(policy, ++failures), signal);
        } finally {
          this.#inFlight.delete(key);
          this.#idle.notify();
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      this.#host.fail(e);
    }
  }

  /**
   * Turns a fetch response into chunks, charging its memory to the budget; whether it brought
   * any.
   */
  #accept(
    res: FetchResponse,
    sent: Map<PartitionState, { gen: number; offset: bigint }>,
    reserved: number,
    lane: { held: number },
  ): boolean {
    const host = this.#host;
    const frame: FrameRef = { bytes: 0, refs: 0, lane };
    const chunks: Chunk[] = [];
    for (const t of res.responses) {
      const topic = t.topic || this.#cluster.metadata.topicName(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const state = host.partition(topic, p.partitionIndex);
        const at = state && sent.get(state);
        // Results for a partition that was since sought, reset or revoked are stale.
        if (
          !state || !at || state.removed || state.gen !== at.gen || state.fetchOffset !== at.offset
        ) {
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          this.#partitionError(
            state,
            p.errorCode,
            p.currentLeader?.leaderId ?? -1,
            p.currentLeader?.leaderEpoch ?? -1,
          );
          continue;
        }
        state.highWatermark = p.highWatermark;
        if (p.lastStableOffset >= 0n) state.lastStableOffset = p.lastStableOffset;
        if (p.logStartOffset >= 0n) state.logStartOffset = p.logStartOffset;
        const div = p.divergingEpoch;
        if (div && div.epoch >= 0 && div.endOffset >= 0n) {
          this.#diverged(state, div.epoch, div.endOffset, at.offset);
          continue;
        }
        const records = p.records;
        if (!records || records.length === 0) continue;
        const scan = scanBatches(records);
        // Only a partial batch: the next fetch (with this partition first) gets it whole.
        if (scan.count === 0 || scan.nextOffset <= state.fetchOffset) continue;
        if (frame.bytes === 0) frame.bytes = records.buffer.byteLength;
        const aborted = p.abortedTransactions?.length ? p.abortedTransactions : null;
        chunks.push(
          new Chunk(
            state,
            records.subarray(0, scan.used),
            aborted,
            frame,
            state.fetchOffset,
            state.fetchEpoch,
            scan.nextOffset,
            scan.lastEpoch,
          ),
        );
        state.fetchOffset = scan.nextOffset;
        if (scan.lastEpoch >= 0) state.fetchEpoch = scan.lastEpoch;
      }
    }
    frame.refs = chunks.length;
    if (chunks.length > 0) lane.held += frame.bytes;
    this.#budget.settle(reserved, chunks.length > 0 ? frame.bytes : 0);
    for (const c of chunks) host.addChunk(c);
    return chunks.length > 0;
  }

  // ---------------------------------------------------------------------------------------
  // Fetch errors

  /** A partition error in a fetch response: reset, find the leader, back off, or fail. */
  #partitionError(
    state: PartitionState,
    code: number,
    leaderId: number,
    leaderEpoch: number,
  ): void {
    const where = `${state.topic}-${state.partition}`;
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      // The reset policy decides.
      this.#host.evict(state);
      state.phase = "reset";
      state.resetTo = this.#options.autoOffsetReset;
      state.resetReason = `offset ${state.fetchOffset} is out of range`;
      this.#cluster.logger.info("offset out of range", {
        partition: where,
        offset: `${state.fetchOffset}`,
      });
      this.#host.resolve();
      return;
    }
    if (LEADER_ERRORS.has(code)) {
      if (leaderId >= 0 && leaderEpoch > state.leaderEpoch) {
        // KIP-951: the new leader came with the error; no metadata round trip needed.
        state.leader = leaderId;
        state.leaderEpoch = leaderEpoch;
        this.wake();
      } else {
        state.needsMetadata = true;
        this.#host.resolve();
      }
      return;
    }
    const info = new ProtocolError(code, `Fetch ${where}`);
    // Retriable by Kafka's table (UNKNOWN_LEADER_EPOCH, OFFSET_NOT_AVAILABLE...): pause, retry.
    if (info.retriable) {
      state.backoffUntil = Date.now() + backoffMs(this.#cluster.retryPolicy, 1);
      return;
    }
    this.#host.fail(info);
  }

  /** The log diverged (KIP-320): `endOffset` of `epoch` is where it is still the same. */
  #diverged(state: PartitionState, epoch: number, endOffset: bigint, requestOffset: bigint): void {
    this.#host.evict(state);
    if (endOffset < state.position) {
      this.#host.truncated(state, epoch, endOffset);
    } else if (requestOffset === state.position) {
      // Our position is still in the log, but under a newer epoch: continue with it.
      state.fetchEpoch = epoch;
    }
    this.wake();
  }

  /** A fetch to `node` failed as a whole (connection lost, timeout...). */
  #brokerFailed(node: number, error: unknown): void {
    if (
      error instanceof AuthenticationError || error instanceof UnsupportedVersionError ||
      error instanceof TypeError || error instanceof RangeError
    ) {
      this.#host.fail(error);
      return;
    }
    this.#cluster.logger.warn("fetch failed", { broker: node, error: (error as Error)?.message });
    for (const state of this.#host.partitions()) {
      if (state.leader === node) state.needsMetadata = true;
    }
    this.#host.resolve();
  }
}

/** Groups session partitions into Fetch topics (by id from v13, by name before). */
function groupTopics(
  parts: readonly SessionPartition[],
  useIds: boolean,
  forgotten: true,
): { topic?: string; topicId?: string; partitions: number[] }[];
function groupTopics(
  parts: readonly SessionPartition[],
  useIds: boolean,
  forgotten: false,
): FetchRequestTopic[];
function groupTopics(
  parts: readonly SessionPartition[],
  useIds: boolean,
  forgotten: boolean,
): unknown[] {
  const byTopic = new Map<string, SessionPartition[]>();
  for (const p of parts) {
    const k = useIds ? p.topicId : p.topic;
    let list = byTopic.get(k);
    if (!list) byTopic.set(k, list = []);
    list.push(p);
  }
  const out: unknown[] = [];
  for (const list of byTopic.values()) {
    const first = list[0]!;
    const id = useIds ? { topicId: first.topicId } : { topic: first.topic };
    if (forgotten) out.push({ ...id, partitions: list.map((p) => p.partition) });
    else {
      out.push({
        ...id,
        partitions: list.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.currentLeaderEpoch,
          fetchOffset: p.fetchOffset,
          lastFetchedEpoch: p.lastFetchedEpoch,
          logStartOffset: -1n,
          partitionMaxBytes: p.maxBytes,
        })),
      });
    }
  }
  return out;
}
