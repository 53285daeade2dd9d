/**
 * The consumer: a `ReadableStream<ConsumerRecord>` pulled by its reader, fed by per-broker
 * fetch loops within one memory budget, optionally a member of a consumer group.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import {
  AuthenticationError,
  ClosedError,
  DecodeError,
  KafkaError,
  ProtocolError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import type { RecordBatch } from "../protocol/record_batch.ts";
import type { Assignor } from "./assignor.ts";
import { resolveAssignor } from "./assignors/mod.ts";
import { ByteBudget } from "./budget.ts";
import { batchRecords, type Chunk, type FrameRef } from "./chunk.ts";
import { ClassicGroup } from "./classic_group.ts";
import { reserveGcHeadroom } from "./gc_reserve.ts";
import { Fetcher, type FetcherHost, type PartitionErrorInfo } from "./fetcher.ts";
import type { GroupHost, GroupMembership } from "./group.ts";
import { ModernGroup } from "./modern_group.ts";
import { Notifier } from "./notifier.ts";
import {
  commitOffsets,
  EARLIEST,
  fetchCommitted,
  LATEST,
  listOffsets,
  offsetForLeaderEpoch,
  type OffsetQuery,
} from "./offsets.ts";
import {
  type ConsumerOptions,
  resolveConsumerOptions,
  type ResolvedConsumerOptions,
} from "./options.ts";
import { PartitionState, type ResetTarget } from "./partition_state.ts";
import {
  type ConsumerGroupMetadata,
  type ConsumerRecord,
  type EndOffset,
  type PartitionAssignment,
  type PartitionLag,
  type StartOffset,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from "./types.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { LEADER_ERRORS } from "../protocol/error_sets.ts";

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

function timestampOf(spec: { timestamp: number | Date }): number {
  const t = spec.timestamp instanceof Date ? spec.timestamp.getTime() : spec.timestamp;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) {
    throw new RangeError(`a timestamp must be a non-negative integer (ms), got ${String(t)}`);
  }
  return t;
}

function checkStart(offset: StartOffset | undefined): void {
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

function checkEnd(end: EndOffset | undefined): void {
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

function checkTopicPartition(tp: TopicPartition): void {
  if (tp === null || typeof tp !== "object") throw new TypeError("expected { topic, partition }");
  if (typeof tp.topic !== "string" || tp.topic === "") {
    throw new TypeError("topic must be a non-empty string");
  }
  if (!Number.isInteger(tp.partition) || tp.partition < 0) {
    throw new RangeError(`partition must be a non-negative integer, got ${tp.partition}`);
  }
}

/** The memory a decoded batch holds beyond its fetch response: its decompressed buffer. */
function decompressedBytes(batch: RecordBatch, frame: ArrayBufferLike): number {
  if (batch.compression === 0) return 0;
  const records = batch.records;
  for (let i = 0; i < records.length && i < 4; i++) {
    const v = records[i]!.value ?? records[i]!.key;
    if (v && v.buffer !== frame) return v.buffer.byteLength;
  }
  return 0;
}

/**
 * A Kafka consumer that is a Web `ReadableStream` of records.
 *
 * The reader pulls; the consumer fetches ahead only within `maxBufferedBytes`, one budget for
 * fetched, decompressed and queued bytes together, so a slow reader stops the fetching
 * instead of growing memory. `for await` works, and so does `pipeThrough`/`pipeTo`; breaking
 * out of the loop (cancel) or `close()` commits what was taken and leaves the group.
 *
 * Read chosen partitions with {@linkcode Consumer.assign}, or join a group with `groupId` and
 * `topics` (a list or a RegExp). Records are handed out per record batch: everything the
 * reader has *taken* from the stream counts as consumed (auto-commit commits exactly that).
 *
 * @example
 * ```ts ignore
 * import { Consumer } from "@denokafka/kafka/consumer";
 * await using consumer = new Consumer({
 *   brokers: ["127.0.0.1:9092"],
 *   groupId: "billing",
 *   topics: ["invoices"],
 *   autoOffsetReset: "earliest",
 * });
 * for await (const record of consumer) {
 *   console.log(record.offset, new TextDecoder().decode(record.value ?? new Uint8Array()));
 * }
 * ```
 */
export class Consumer extends ReadableStream<ConsumerRecord> {
  readonly #o: ResolvedConsumerOptions;
  readonly #options: ConsumerOptions;
  readonly #cluster: Cluster;
  readonly #budget: ByteBudget;
  readonly #fetcher: Fetcher;
  readonly #controller: ReadableStreamDefaultController<ConsumerRecord>;
  readonly #assignors: Assignor[];
  readonly #parts = new Map<string, PartitionState>();
  /** Partitions with fetched data, served round-robin. */
  #ready: PartitionState[] = [];
  /** New data, new state or an error: wakes a waiting pull. */
  readonly #data = new Notifier();
  /** Every pull (the reader took everything queued). */
  readonly #pulled = new Notifier();
  /** Position lookups to do. */
  readonly #resolverWake = new Notifier();
  readonly #abort = new AbortController();
  #group: GroupMembership | undefined;
  #subscription: readonly string[] | RegExp | undefined;
  #manual = false;
  #started = false;
  #everConnected = false;
  #resolver: Promise<void> | undefined;
  #startup: Promise<void> | undefined;
  #autoCommitTimer: ReturnType<typeof setTimeout> | undefined;
  #commitChain: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #closed = false;
  /** Set once the group was left: commits are refused from then on. */
  #commitsClosed = false;
  #streamDone = false;
  #error: unknown;
  /** The batch handed out by the last pull: its records may still sit in the stream's queue. */
  #lastBatch: { ps: PartitionState; gen: number; records: ConsumerRecord[] } | undefined;
  /** Decompressed bytes to release at the next pull (when their records were all taken). */
  #pendingRelease = 0;
  /** Fetch responses to release at the next pull. */
  #pendingFrames: FrameRef[] = [];
  /** Room kept free for the next decompressed batch: the largest seen (capped). */
  #decodeReserve = 0;
  /** Drops this consumer's share of the collector's headroom (see gc_reserve.ts). */
  #releaseHeadroom: () => void = () => {};

  /**
   * Creates a consumer. Nothing connects until the stream is first read. Throws TypeError or
   * RangeError for invalid options.
   */
  constructor(options: ConsumerOptions) {
    const o = resolveConsumerOptions(options);
    // The source's callbacks run after construction; `ref` hands them the instance.
    const ref: { self?: Consumer; controller?: ReadableStreamDefaultController<ConsumerRecord> } =
      {};
    super({
      start(c) {
        ref.controller = c;
      },
      pull: () => ref.self!.#pull(),
      cancel: () => ref.self!.#cancel(),
    }, { highWaterMark: 0 });
    ref.self = this;
    this.#controller = ref.controller!;
    this.#o = o;
    this.#options = options;
    this.#assignors = o.assignors.map(resolveAssignor);
    this.#cluster = new Cluster(options);
    this.#budget = new ByteBudget(o.maxBufferedBytes);
    this.#fetcher = new Fetcher(this.#cluster, o, this.#budget, this.#fetcherHost());
    if (options.topics !== undefined) this.#subscription = options.topics;
  }

  // ---------------------------------------------------------------------------------------
  // Public API

  /** Bytes fetched, decompressed and queued now (what `maxBufferedBytes` bounds). */
  get bufferedBytes(): number {
    return this.#budget.held;
  }

  /** The most bytes ever buffered at once. */
  get peakBufferedBytes(): number {
    return this.#budget.peak;
  }

  /** The budget (`maxBufferedBytes`). */
  get maxBufferedBytes(): number {
    return this.#budget.limit;
  }

  /**
   * Subscribes to topics (a list, or every topic matching a RegExp) as a group member. Needs
   * `groupId`; replaces an earlier subscription; cannot be mixed with {@linkcode assign}.
   */
  subscribe(topics: readonly string[] | RegExp): void {
    this.#checkOpen();
    if (this.#o.groupId === undefined) {
      throw new TypeError("subscribe() needs options.groupId (or use assign())");
    }
    if (this.#manual) throw new TypeError("subscribe() cannot be mixed with assign()");
    if (!(topics instanceof RegExp)) {
      if (!Array.isArray(topics) || topics.some((t) => typeof t !== "string" || t === "")) {
        throw new TypeError("topics must be an array of topic names or a RegExp");
      }
      topics = [...topics];
    }
    this.#subscription = topics;
    if (this.#group) this.#group.subscriptionChanged();
    else if (this.#started && this.#everConnected) this.#startGroup();
  }

  /**
   * Reads exactly these partitions (manual assignment, no group membership), each from its
   * `offset` and up to its `end`. Replaces the previous assignment. Commits still work with a
   * `groupId`. When every partition has an `end` and reached it, the stream closes.
   */
  assign(partitions: readonly PartitionAssignment[]): void {
    this.#checkOpen();
    if (this.#subscription !== undefined) {
      throw new TypeError("assign() cannot be mixed with a subscription");
    }
    if (!Array.isArray(partitions)) throw new TypeError("assign() takes an array of partitions");
    const seen = new Set<string>();
    for (const a of partitions) {
      checkTopicPartition(a);
      checkStart(a.offset);
      checkEnd(a.end);
      if (a.offset === "committed" && this.#o.groupId === undefined) {
        throw new TypeError(`offset "committed" needs options.groupId`);
      }
      const k = tpKey(a.topic, a.partition);
      if (seen.has(k)) throw new TypeError(`${a.topic}-${a.partition} is assigned twice`);
      seen.add(k);
    }
    this.#manual = true;
    for (const [k, ps] of this.#parts) {
      if (!seen.has(k)) this.#remove(ps);
    }
    for (const a of partitions) {
      const k = tpKey(a.topic, a.partition);
      const ps = this.#parts.get(k) ?? new PartitionState(a.topic, a.partition);
      this.#parts.set(k, ps);
      ps.endSpec = a.end;
      ps.end = undefined;
      this.#evict(ps);
      this.#setStart(ps, a.offset ?? (this.#o.groupId !== undefined ? "committed" : undefined));
    }
    this.#cluster.addInterest(partitions.map((p) => p.topic));
    this.#changed();
  }

  /** The partitions assigned now (by {@linkcode assign} or by the group). */
  assignment(): TopicPartition[] {
    return [...this.#parts.values()].map((ps) => ({ topic: ps.topic, partition: ps.partition }));
  }

  /**
   * Moves an assigned partition's position: the next record read is at `offset` (or at the
   * earliest/latest record, or the first at or after a timestamp). Records already queued
   * for the reader (at most one batch) still come first.
   */
  seek(target: TopicPartition & { offset: StartOffset }): void {
    this.#checkOpen();
    checkTopicPartition(target);
    checkStart(target.offset);
    const ps = this.#parts.get(tpKey(target.topic, target.partition));
    if (!ps) throw new RangeError(`${target.topic}-${target.partition} is not assigned`);
    this.#evict(ps);
    this.#setStart(ps, target.offset);
    this.#changed();
  }

  /** Stops fetching and returning these partitions until {@linkcode resume}. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      checkTopicPartition(tp);
      const ps = this.#parts.get(tpKey(tp.topic, tp.partition));
      if (!ps) continue;
      ps.paused = true;
      // Paused data must not hold the budget other partitions need.
      this.#evict(ps);
    }
    this.#changed();
  }

  /** Resumes paused partitions. */
  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      checkTopicPartition(tp);
      const ps = this.#parts.get(tpKey(tp.topic, tp.partition));
      if (ps) ps.paused = false;
    }
    this.#changed();
  }

  /** The partitions paused now. */
  paused(): TopicPartition[] {
    return [...this.#parts.values()].filter((ps) => ps.paused).map((ps) => ({
      topic: ps.topic,
      partition: ps.partition,
    }));
  }

  /** The offset of the next record the reader will take from a partition, when known. */
  position(tp: TopicPartition): bigint | undefined {
    checkTopicPartition(tp);
    this.#syncTaken();
    const ps = this.#parts.get(tpKey(tp.topic, tp.partition));
    return ps && ps.taken >= 0n ? ps.taken : undefined;
  }

  /** Position, high watermark and lag of every assigned partition. */
  lag(): PartitionLag[] {
    this.#syncTaken();
    return [...this.#parts.values()].map((ps) => {
      const position = ps.taken >= 0n ? ps.taken : undefined;
      const hw = ps.highWatermark;
      return {
        topic: ps.topic,
        partition: ps.partition,
        position,
        highWatermark: hw,
        lag: position !== undefined && hw !== undefined
          ? (hw > position ? hw - position : 0n)
          : undefined,
      };
    });
  }

  /**
   * Commits offsets to the group. Without an argument: everything the reader has taken.
   * With a record: that record and everything before it in its partition (it commits
   * `record.offset + 1`, Kafka's "next offset to read"). With offsets: exactly those, as
   * next offsets to read, with optional metadata. Committing offset N commits everything
   * below N for that partition.
   */
  async commit(
    what?: ConsumerRecord | readonly TopicPartitionOffset[],
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    // Commits stay open while closing: the revocation callback on close may commit.
    if (this.#commitsClosed) throw new ClosedError("consumer");
    if (this.#o.groupId === undefined) throw new TypeError("commit() needs options.groupId");
    let offsets: TopicPartitionOffset[];
    if (what === undefined) offsets = this.#takenOffsets(undefined, true);
    else if (Array.isArray(what)) {
      offsets = (what as readonly TopicPartitionOffset[]).map((o) => {
        checkTopicPartition(o);
        if (typeof o.offset !== "bigint" || o.offset < 0n) {
          throw new RangeError(`a commit offset must be a bigint >= 0, got ${String(o.offset)}`);
        }
        if (o.metadata !== undefined && typeof o.metadata !== "string") {
          throw new TypeError("commit metadata must be a string");
        }
        return { ...o };
      });
    } else {
      const r = what as ConsumerRecord;
      checkTopicPartition(r);
      if (typeof r.offset !== "bigint" || r.offset < 0n) {
        throw new RangeError(`a record offset must be a bigint >= 0, got ${String(r.offset)}`);
      }
      offsets = [{
        topic: r.topic,
        partition: r.partition,
        offset: r.offset + 1n,
        leaderEpoch: r.leaderEpoch,
      }];
    }
    await this.#commit(offsets, options.signal);
  }

  /** The group's committed offsets for these partitions (-1n: none), from the broker. */
  async committed(
    partitions: readonly TopicPartition[],
    options: { signal?: AbortSignal } = {},
  ): Promise<TopicPartitionOffset[]> {
    if (this.#commitsClosed) throw new ClosedError("consumer");
    if (this.#o.groupId === undefined) throw new TypeError("committed() needs options.groupId");
    partitions.forEach(checkTopicPartition);
    const groupId = this.#o.groupId;
    const res = await this.#cluster.retry(
      (_a, signal) =>
        fetchCommitted(
          this.#cluster,
          groupId,
          partitions,
          { memberId: null, memberEpoch: -1 },
          signal,
        ),
      { coordinator: ["group", groupId], ...options.signal && { signal: options.signal } },
    );
    return partitions.map((tp) => {
      const c = res.get(tpKey(tp.topic, tp.partition));
      return {
        topic: tp.topic,
        partition: tp.partition,
        offset: c?.offset ?? -1n,
        ...c?.metadata ? { metadata: c.metadata } : {},
        ...c && c.leaderEpoch >= 0 ? { leaderEpoch: c.leaderEpoch } : {},
      };
    });
  }

  /** The group identity, for a transactional producer's `sendOffsetsToTransaction`. */
  groupMetadata(): ConsumerGroupMetadata {
    return this.#group?.metadata() ?? {
      groupId: this.#o.groupId ?? "",
      generationId: -1,
      memberId: "",
      groupInstanceId: this.#o.groupInstanceId,
    };
  }

  /**
   * Stops fetching, commits what the reader took (auto-commit), runs the revocation callback,
   * leaves the group, ends the stream and closes every connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Closes the consumer (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------
  // Start-up, shutdown, failure

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError("consumer");
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#releaseHeadroom = reserveGcHeadroom(this.#o.gcHeadroomBytes);
    this.#startup = this.#bootstrap();
  }

  async #bootstrap(): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const topics = this.#subscription instanceof RegExp
        ? null
        : [...new Set([...(this.#subscription ?? []), ...this.#assignment().map((t) => t.topic)])];
      // A cluster that cannot be reached at all fails the stream (after the retry deadline).
      await this.#cluster.refreshMetadata(topics, { signal });
      this.#everConnected = true;
    } catch (e) {
      this.#fail(e);
      return;
    }
    this.#resolver = this.#resolveLoop();
    if (this.#subscription !== undefined) this.#startGroup();
    if (this.#o.autoCommit) this.#scheduleAutoCommit();
    this.#changed();
  }

  #assignment(): TopicPartition[] {
    return this.assignment();
  }

  #startGroup(): void {
    if (this.#group || this.#closed) return;
    const host = this.#groupHost();
    this.#group = this.#o.groupProtocol === "consumer"
      ? new ModernGroup(this.#cluster, this.#o, host)
      : new ClassicGroup(this.#cluster, this.#o, this.#assignors, host);
    this.#group.start();
  }

  #fail(e: unknown): void {
    if (this.#error !== undefined || this.#closing) return;
    this.#error = e;
    this.#cluster.logger.error("consumer failed", { error: (e as Error)?.message });
    try {
      this.#controller.error(e);
    } catch { /* already closed */ }
    this.#streamDone = true;
    this.#data.notify();
    // Release everything in the background; close() returns the same promise.
    this.close().catch(() => {});
  }

  async #cancel(): Promise<void> {
    this.#streamDone = true;
    await this.close();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    if (this.#autoCommitTimer !== undefined) clearTimeout(this.#autoCommitTimer);
    this.#autoCommitTimer = undefined;
    await this.#startup?.catch(() => {});
    await this.#fetcher.close();
    this.#releaseHeadroom();
    this.#syncTaken();
    const errored = this.#error !== undefined;
    if (this.#group) {
      await this.#group.close(this.#o.leaveGroupOnClose);
    } else if (this.#o.autoCommit && this.#everConnected && !errored) {
      await this.#commit(this.#takenOffsets(undefined, false)).catch((e) => {
        this.#cluster.logger.warn("commit on close failed", { error: (e as Error).message });
      });
    }
    await this.#commitChain.catch(() => {});
    this.#commitsClosed = true;
    this.#abort.abort(new ClosedError("consumer"));
    this.#resolverWake.notify();
    this.#data.notify();
    await this.#resolver?.catch(() => {});
    if (!this.#streamDone) {
      this.#streamDone = true;
      try {
        this.#controller.close();
      } catch { /* errored or cancelled */ }
    }
    for (const ps of [...this.#parts.values()]) this.#remove(ps);
    this.#releasePulled();
    await this.#cluster.close();
  }

  // ---------------------------------------------------------------------------------------
  // Delivery (the stream's pull)

  async #pull(): Promise<void> {
    this.#start();
    this.#releasePulled();
    this.#pulled.notify();
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#streamDone) return;
      const ps = this.#nextReady();
      if (ps) {
        if (await this.#deliver(ps)) return;
        continue;
      }
      if (this.#allDone()) {
        this.#streamDone = true;
        this.#controller.close();
        // A bounded read is over: commit and release everything.
        this.close().catch(() => {});
        return;
      }
      if (this.#closed) return;
      await this.#data.wait(this.#abort.signal, 1_000).catch(() => {});
    }
  }

  /** Everything queued before this pull was taken: account for it and free its memory. */
  #releasePulled(): void {
    const lb = this.#lastBatch;
    if (lb) {
      this.#lastBatch = undefined;
      const last = lb.records[lb.records.length - 1]!;
      if (lb.gen === lb.ps.gen && !lb.ps.removed && last.offset + 1n > lb.ps.taken) {
        lb.ps.taken = last.offset + 1n;
        lb.ps.takenEpoch = last.leaderEpoch;
      }
    }
    let freed = this.#pendingRelease;
    this.#pendingRelease = 0;
    for (const f of this.#pendingFrames) freed += this.#unrefFrame(f);
    this.#pendingFrames = [];
    if (freed > 0) {
      this.#budget.release(freed);
      this.#fetcher.wake();
    }
  }

  /** Drops a chunk's claim on its frame; returns the bytes to release. */
  #unrefFrame(f: FrameRef): number {
    f.refs--;
    if (f.refs !== 0) return 0;
    if (f.lane) f.lane.held -= f.bytes;
    return f.bytes;
  }

  /** What the reader took so far from the last batch (the rest is in the stream's queue). */
  #syncTaken(): void {
    const lb = this.#lastBatch;
    if (!lb || lb.gen !== lb.ps.gen || lb.ps.removed) return;
    const queued = Math.max(0, -(this.#controller.desiredSize ?? 0));
    const taken = lb.records.length - queued;
    if (taken <= 0) return;
    const r = lb.records[taken - 1]!;
    if (r.offset + 1n > lb.ps.taken) {
      lb.ps.taken = r.offset + 1n;
      lb.ps.takenEpoch = r.leaderEpoch;
    }
  }

  #nextReady(): PartitionState | undefined {
    const q = this.#ready;
    for (let i = 0; i < q.length;) {
      const ps = q[i]!;
      if (ps.removed || ps.chunks.length === 0 || ps.phase !== "ready") {
        q.splice(i, 1);
        ps.queued = false;
        continue;
      }
      if (ps.paused || ps.revoking) {
        i++;
        continue;
      }
      // Round-robin: the partition goes to the back after each batch.
      q.splice(i, 1);
      q.push(ps);
      return ps;
    }
    return undefined;
  }

  #allDone(): boolean {
    if (!this.#manual || this.#parts.size === 0) return false;
    for (const ps of this.#parts.values()) {
      if (ps.endSpec === undefined || ps.phase !== "done") return false;
    }
    return true;
  }

  /**
   * Hands the next batch of `ps` to the reader. Returns true when records were enqueued;
   * false when the head chunk ran out or held nothing for the reader.
   */
  async #deliver(ps: PartitionState): Promise<boolean> {
    const chunk = ps.chunks[0]!;
    if (chunk.gen !== ps.gen) {
      ps.chunks.shift();
      this.#budget.release(this.#unrefFrame(chunk.frame));
      return false;
    }
    const readCommitted = this.#o.isolationLevel === 1;
    const frameBuffer = chunk.bytes.buffer;
    for (;;) {
      const batch = await this.#decode(ps, chunk);
      // Decoding may have waited: the partition may be on its way out.
      if (ps.revoking || ps.removed || ps.paused || chunk.gen !== ps.gen) return false;
      if (batch === undefined) {
        ps.chunks.shift();
        const freed = this.#unrefFrame(chunk.frame);
        if (freed > 0) {
          this.#budget.release(freed);
          this.#fetcher.wake();
        }
        return false;
      }
      const extra = decompressedBytes(batch, frameBuffer);
      if (extra > 0) {
        this.#budget.charge(extra);
        if (extra > this.#decodeReserve) {
          this.#decodeReserve = Math.min(extra, Math.floor(this.#budget.limit / 2));
        }
      }
      const next = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
      let out: ConsumerRecord[] | undefined;
      if (!chunk.skip(batch, readCommitted)) {
        out = [];
        batchRecords(batch, ps.topic, ps.partition, ps.position, ps.end ?? -1n, out);
      }
      const end = ps.end;
      if (next > ps.position) {
        ps.position = end !== undefined && next > end ? end : next;
        ps.positionEpoch = batch.partitionLeaderEpoch;
      }
      if (end !== undefined && ps.position >= end) {
        ps.phase = "done";
        this.#dropChunks(ps, 1);
      }
      if (!out || out.length === 0) {
        this.#budget.release(extra);
        // Nothing queued for this partition: the reader has everything before the position.
        if (ps.position > ps.taken) {
          ps.taken = ps.position;
          ps.takenEpoch = ps.positionEpoch;
        }
        if (ps.phase === "done") {
          ps.chunks.shift();
          this.#budget.release(this.#unrefFrame(chunk.frame));
          return false;
        }
        continue;
      }
      this.#pendingRelease += extra;
      this.#lastBatch = { ps, gen: ps.gen, records: out };
      const c = this.#controller;
      for (let i = 0; i < out.length; i++) c.enqueue(out[i]!);
      if (ps.phase === "done") {
        ps.chunks.shift();
        this.#pendingFrames.push(chunk.frame);
      }
      return true;
    }
  }

  /**
   * Decodes the next batch of `chunk` within the free budget. If decompression needs more, the
   * other partitions' fetched data is dropped (to be fetched again) and it is retried once
   * with all the room there is; a batch that still does not fit is an error.
   */
  async #decode(ps: PartitionState, chunk: Chunk): Promise<RecordBatch | undefined> {
    const b = this.#budget;
    const cap = b.limit - b.held - b.reserved;
    try {
      return chunk.nextBatch(this.#o.checkCrcs, cap);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      await this.#fetcher.hold();
      try {
        for (const other of this.#parts.values()) {
          if (other === ps) this.#dropChunks(ps, 1);
          else this.#evict(other, false);
        }
        const room = b.limit - b.held - b.reserved;
        if (room <= cap) throw this.#decodeError(ps, e);
        try {
          return chunk.nextBatch(this.#o.checkCrcs, room);
        } catch (e2) {
          throw this.#decodeError(ps, e2);
        }
      } finally {
        this.#fetcher.unhold();
      }
    }
  }

  #decodeError(ps: PartitionState, e: unknown): DecodeError {
    return new DecodeError(
      `${ps.topic}-${ps.partition} near offset ${ps.position}: ${(e as Error).message} ` +
        `(a decompressed batch must fit in maxBufferedBytes ${this.#budget.limit})`,
      { cause: e },
    );
  }

  // ---------------------------------------------------------------------------------------
  // Partition bookkeeping

  /** Something changed: fetch loops, the resolver and a waiting pull look again. */
  #changed(): void {
    this.#resolverWake.notify();
    this.#fetcher.wake();
    this.#data.notify();
  }

  /** Drops the chunks of `ps` from index `from` on, and fetches again from where they began. */
  #dropChunks(ps: PartitionState, from: number): void {
    if (ps.chunks.length <= from) return;
    const dropped = ps.chunks.splice(from);
    const first = dropped[0]!;
    let freed = 0;
    for (const c of dropped) {
      // The head chunk may back records still queued for the reader: release it at the
      // next pull.
      if (from === 0 && c === first && this.#lastBatch?.ps === ps) {
        this.#pendingFrames.push(c.frame);
      } else freed += this.#unrefFrame(c.frame);
    }
    this.#budget.release(freed);
    if (from === 0) {
      ps.fetchOffset = ps.position;
      ps.fetchEpoch = ps.positionEpoch;
    } else {
      const keep = ps.chunks[from - 1]!;
      ps.fetchOffset = keep.endOffset;
      ps.fetchEpoch = keep.endEpoch;
    }
  }

  /** Drops everything fetched ahead for `ps`; with `bump`, results in flight are ignored too. */
  #evict(ps: PartitionState, bump = true): void {
    this.#dropChunks(ps, 0);
    if (ps.position >= 0n) {
      ps.fetchOffset = ps.position;
      ps.fetchEpoch = ps.positionEpoch;
    }
    if (bump) ps.gen++;
  }

  #remove(ps: PartitionState): void {
    this.#evict(ps);
    ps.removed = true;
    this.#parts.delete(ps.key);
  }

  /** Sets where `ps` starts; lookups (committed, by time...) are left to the resolver. */
  #setStart(ps: PartitionState, offset: StartOffset | undefined): void {
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
      ps.resetTo = this.#o.autoOffsetReset;
      ps.resetReason = "no start offset";
    } else if (offset === "earliest" || offset === "latest") ps.resetTo = offset;
    else ps.resetTo = { timestamp: timestampOf(offset) };
  }

  #fetcherHost(): FetcherHost {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      partitions: () => this.#parts.values(),
      partition: (topic, partition) => this.#parts.get(tpKey(topic, partition)),
      get decodeReserve() {
        return self.#decodeReserve;
      },
      addChunk: (chunk) => {
        const ps = chunk.ps;
        ps.chunks.push(chunk);
        if (!ps.queued) {
          ps.queued = true;
          this.#ready.push(ps);
        }
        this.#data.notify();
      },
      partitionError: (ps, code, hint) => this.#partitionError(ps, code, hint),
      diverged: (ps, epoch, endOffset, requestOffset) =>
        this.#diverged(ps, epoch, endOffset, requestOffset),
      brokerFailed: (node, error) => this.#brokerFailed(node, error),
      fail: (e) => this.#fail(e),
    };
  }

  #partitionError(ps: PartitionState, code: number, hint: PartitionErrorInfo): void {
    const where = `${ps.topic}-${ps.partition}`;
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      // The reset policy decides.
      this.#evict(ps);
      ps.phase = "reset";
      ps.resetTo = this.#o.autoOffsetReset;
      ps.resetReason = `offset ${ps.fetchOffset} is out of range`;
      this.#cluster.logger.info("offset out of range", {
        partition: where,
        offset: `${ps.fetchOffset}`,
      });
      this.#resolverWake.notify();
      return;
    }
    if (LEADER_ERRORS.has(code)) {
      if (hint.leaderId >= 0 && hint.leaderEpoch > ps.leaderEpoch) {
        // KIP-951: the new leader came with the error; no metadata round trip needed.
        ps.leader = hint.leaderId;
        ps.leaderEpoch = hint.leaderEpoch;
        this.#fetcher.wake();
      } else {
        ps.needsMetadata = true;
        this.#resolverWake.notify();
      }
      return;
    }
    const info = new ProtocolError(code, `Fetch ${where}`);
    // Retriable by Kafka's table (UNKNOWN_LEADER_EPOCH, OFFSET_NOT_AVAILABLE...): pause, retry.
    if (info.retriable) {
      ps.backoffUntil = Date.now() + backoffMs(this.#cluster.retryPolicy, 1);
      return;
    }
    this.#fail(info);
  }

  #diverged(ps: PartitionState, epoch: number, endOffset: bigint, requestOffset: bigint): void {
    this.#evict(ps);
    if (endOffset < ps.position) {
      this.#truncated(ps, epoch, endOffset);
    } else if (requestOffset === ps.position) {
      // Our position is still in the log, but under a newer epoch: continue with it.
      ps.fetchEpoch = epoch;
    }
    this.#fetcher.wake();
  }

  /** KIP-320: the log under our position was truncated (an unclean leader change). */
  #truncated(ps: PartitionState, epoch: number, endOffset: bigint): void {
    const where = `${ps.topic}-${ps.partition}`;
    if (this.#o.autoOffsetReset === "error") {
      this.#fail(
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

  #brokerFailed(node: number, error: unknown): void {
    if (
      error instanceof AuthenticationError || error instanceof UnsupportedVersionError ||
      error instanceof TypeError || error instanceof RangeError
    ) {
      this.#fail(error);
      return;
    }
    this.#cluster.logger.warn("fetch failed", { broker: node, error: (error as Error)?.message });
    for (const ps of this.#parts.values()) if (ps.leader === node) ps.needsMetadata = true;
    this.#resolverWake.notify();
  }

  // ---------------------------------------------------------------------------------------
  // The resolver: metadata, committed offsets, resets, validation

  async #resolveLoop(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    let lastRefresh = Date.now();
    while (!signal.aborted) {
      const work = [...this.#parts.values()].filter((ps) =>
        ps.needsMetadata || ps.leader < 0 || ps.phase === "committed" || ps.phase === "reset" ||
        ps.phase === "validate" || (ps.endSpec !== undefined && ps.end === undefined)
      );
      const stale = Date.now() - lastRefresh >= this.#o.metadataMaxAgeMs;
      if (work.length === 0 && !stale) {
        await this.#resolverWake.wait(signal, this.#o.metadataMaxAgeMs).catch(() => {});
        continue;
      }
      try {
        if (stale || work.some((ps) => ps.needsMetadata || ps.leader < 0)) {
          await this.#refreshLeaders(signal);
          lastRefresh = Date.now();
        }
        await this.#resolvePositions(work.filter((ps) => !ps.removed && ps.leader >= 0), signal);
        failures = 0;
        this.#changed();
        if (work.some((ps) => !ps.removed && ps.leader < 0)) {
          await sleep(backoffMs(this.#cluster.retryPolicy, ++failures), signal);
        }
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof Final) {
          this.#fail(e.error);
          return;
        }
        if (e instanceof KafkaError && e.retriable) {
          this.#cluster.logger.warn("position lookup failed, retrying", { error: e.message });
          await sleep(backoffMs(this.#cluster.retryPolicy, ++failures), signal).catch(() => {});
          continue;
        }
        this.#fail(e);
        return;
      }
    }
  }

  async #refreshLeaders(signal: AbortSignal): Promise<void> {
    const topics = [...new Set([...this.#parts.values()].map((ps) => ps.topic))];
    if (topics.length === 0) return;
    const errors = await this.#cluster.refreshMetadata(topics, { signal });
    for (const ps of this.#parts.values()) {
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
        if (this.#manual) {
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
        this.#evict(ps);
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
      const groupId = this.#o.groupId!;
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
          ps.resetTo = this.#o.autoOffsetReset;
          ps.resetReason = "no committed offset";
        }
      }
    }
    // 2. Resets and end offsets: ListOffsets.
    const queries: (OffsetQuery & { ps: PartitionState; kind: "start" | "end"; gen: number })[] =
      [];
    for (const ps of work) {
      if (ps.removed) continue;
      if (ps.endSpec !== undefined && ps.end === undefined) {
        if (typeof ps.endSpec === "bigint") ps.end = ps.endSpec;
        else {
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
          ps.resetTo = this.#o.autoOffsetReset;
          ps.resetReason = `leader epoch ${ps.positionEpoch} is unknown to the leader`;
          continue;
        }
        if (a.endOffset < ps.position) this.#truncated(ps, a.leaderEpoch, a.endOffset);
        else ps.phase = ps.end !== undefined && ps.position >= ps.end ? "done" : "ready";
      }
      if (validate.some((ps) => ps.phase === "reset")) this.#resolverWake.notify();
    }
  }

  async #listAndApply(
    queries: (OffsetQuery & { ps: PartitionState; kind: "start" | "end"; gen: number })[],
    signal: AbortSignal,
  ): Promise<void> {
    const answers = await listOffsets(this.#cluster, this.#o.isolationLevel, queries, signal);
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

  // ---------------------------------------------------------------------------------------
  // Commits

  /** The taken positions worth committing (`onlyChanged`: those not yet committed). */
  #takenOffsets(filter: Set<string> | undefined, onlyChanged: boolean): TopicPartitionOffset[] {
    this.#syncTaken();
    const out: TopicPartitionOffset[] = [];
    for (const ps of this.#parts.values()) {
      if (filter && !filter.has(ps.key)) continue;
      if (ps.taken < 0n) continue;
      if (onlyChanged && ps.committed === ps.taken) continue;
      out.push({
        topic: ps.topic,
        partition: ps.partition,
        offset: ps.taken,
        ...ps.takenEpoch >= 0 ? { leaderEpoch: ps.takenEpoch } : {},
      });
    }
    return out;
  }

  /** Commits in order (one at a time), and records what the broker accepted. */
  #commit(offsets: readonly TopicPartitionOffset[], signal?: AbortSignal): Promise<void> {
    if (offsets.length === 0) return Promise.resolve();
    const run = async () => {
      const groupId = this.#o.groupId!;
      if (this.#group) await this.#group.commit(offsets, signal);
      else {
        await this.#cluster.retry(async (_a, sig) => {
          const errors = await commitOffsets(this.#cluster, groupId, offsets, {
            generationIdOrMemberEpoch: -1,
            memberId: "",
            groupInstanceId: null,
          }, sig);
          for (const [k, code] of errors) {
            if (code !== ErrorCode.NONE) {
              throw new ProtocolError(code, `OffsetCommit ${groupId} ${k.replace("\u0000", "-")}`);
            }
          }
        }, { coordinator: ["group", groupId], ...signal && { signal } });
      }
      for (const o of offsets) {
        const ps = this.#parts.get(tpKey(o.topic, o.partition));
        if (ps) ps.committed = o.offset;
      }
    };
    const p = this.#commitChain.then(run, run);
    this.#commitChain = p.catch(() => {});
    return p;
  }

  #scheduleAutoCommit(): void {
    if (this.#closed) return;
    this.#autoCommitTimer = setTimeout(async () => {
      this.#autoCommitTimer = undefined;
      if (this.#closed) return;
      await this.#commit(this.#takenOffsets(undefined, true)).catch((e) => {
        this.#cluster.logger.warn("auto-commit failed", { error: (e as Error).message });
      });
      this.#scheduleAutoCommit();
    }, this.#o.autoCommitIntervalMs);
  }

  // ---------------------------------------------------------------------------------------
  // Group callbacks

  #groupHost(): GroupHost {
    return {
      logger: this.#cluster.logger,
      resolveSubscription: async (signal) => {
        const sub = this.#subscription;
        if (sub === undefined) return [];
        if (sub instanceof RegExp) {
          await this.#cluster.refreshMetadata(null, { signal });
          const topics = this.#cluster.metadata.topics()
            .filter((t) => !t.isInternal && sub.test(t.name))
            .map((t) => t.name);
          this.#cluster.addInterest(topics);
          return topics;
        }
        this.#cluster.addInterest(sub);
        await this.#cluster.refreshMetadata(sub, { signal });
        return [...sub];
      },
      assigned: async (partitions) => {
        for (const tp of partitions) {
          const k = tpKey(tp.topic, tp.partition);
          if (this.#parts.has(k)) continue;
          const ps = new PartitionState(tp.topic, tp.partition);
          ps.leader = this.#cluster.leaderFor(tp.topic, tp.partition);
          ps.leaderEpoch = this.#cluster.metadata.partition(tp.topic, tp.partition)?.leaderEpoch ??
            -1;
          this.#parts.set(k, ps);
        }
        this.#cluster.logger.info("partitions assigned", { count: partitions.length });
        await this.#callback(this.#options.onPartitionsAssigned, partitions);
        this.#changed();
      },
      revoked: async (partitions, lost) => {
        const keys = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
        // From now on nothing more of these partitions reaches the reader.
        for (const k of keys) {
          const ps = this.#parts.get(k);
          if (ps) ps.revoking = true;
        }
        if (!lost) {
          await this.#waitTaken(keys);
          if (this.#o.autoCommit) {
            await this.#commit(this.#takenOffsets(keys, true)).catch((e) => {
              this.#cluster.logger.warn("commit on revocation failed", {
                error: (e as Error).message,
              });
            });
          }
          await this.#callback(this.#options.onPartitionsRevoked, partitions);
        } else {
          await this.#callback(
            this.#options.onPartitionsLost ?? this.#options.onPartitionsRevoked,
            partitions,
          );
        }
        for (const k of keys) {
          const ps = this.#parts.get(k);
          if (ps) this.#remove(ps);
        }
        this.#changed();
      },
      fail: (e) => this.#fail(e),
    };
  }

  async #callback(
    cb: ((tps: TopicPartition[]) => void | Promise<void>) | undefined,
    partitions: TopicPartition[],
  ): Promise<void> {
    if (!cb || partitions.length === 0) return;
    try {
      await cb(partitions.map((tp) => ({ ...tp })));
    } catch (e) {
      this.#cluster.logger.error("rebalance callback threw", { error: (e as Error)?.message });
    }
  }

  /**
   * Before revoking: lets the reader take what is queued for these partitions (at most one
   * batch), so it is committed rather than read again elsewhere, and nothing of a partition
   * reaches the reader after its revocation callback. Bounded, and skipped when the reader is
   * gone.
   */
  async #waitTaken(keys: Set<string>): Promise<void> {
    const deadline = Date.now() + Math.min(this.#o.rebalanceTimeoutMs / 4, 5_000);
    // While closing, only a reader still attached (a loop, a pipe) will take anything.
    while (!this.#streamDone && (!this.#closed || this.locked)) {
      const lb = this.#lastBatch;
      if (!lb || !keys.has(lb.ps.key)) return;
      if ((this.#controller.desiredSize ?? 0) >= 0) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      await this.#pulled.wait(this.#abort.signal, left).catch(() => {});
    }
  }
}
