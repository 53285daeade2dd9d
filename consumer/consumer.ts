/**
 * The consumer: a `ReadableStream<ConsumerRecord>` pulled by its reader, fed by per-broker
 * fetch loops within one memory budget, optionally a member of a consumer group.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import { ClosedError } from "../protocol/errors.ts";
import type { Assignor } from "./assignor.ts";
import { resolveAssignor } from "./assignors/mod.ts";
import { ByteBudget } from "./budget.ts";
import { ClassicGroup } from "./classic_group.ts";
import { Committer, type CommitterHost } from "./committer.ts";
import { FetchBuffer } from "./fetch_buffer.ts";
import { Fetcher, type FetcherHost } from "./fetcher.ts";
import { reserveGcHeadroom } from "./gc_reserve.ts";
import type { GroupHost, GroupMembership } from "./group.ts";
import { ModernGroup } from "./modern_group.ts";
import { Notifier } from "./notifier.ts";
import {
  type ConsumerOptions,
  resolveConsumerOptions,
  type ResolvedConsumerOptions,
} from "./options.ts";
import { PartitionState } from "./partition_state.ts";
import { relayTo } from "./pipe.ts";
import {
  checkEnd,
  checkStart,
  checkTopicPartition,
  Positions,
  type PositionsHost,
} from "./positions.ts";
import type {
  ConsumerGroupMetadata,
  ConsumerRecord,
  PartitionAssignment,
  PartitionLag,
  StartOffset,
  TopicPartition,
  TopicPartitionOffset,
} from "./types.ts";
import { tpKey } from "./types.ts";

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
  readonly #buffer: FetchBuffer;
  readonly #positions: Positions;
  readonly #committer: Committer;
  /** New data, new state or an error: wakes a waiting pull. */
  readonly #data = new Notifier();
  readonly #abort = new AbortController();
  #group: GroupMembership | undefined;
  #subscription: readonly string[] | RegExp | undefined;
  #manual = false;
  #started = false;
  #everConnected = false;
  #resolver: Promise<void> | undefined;
  #startup: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** Set once the group was left: commits are refused from then on. */
  #commitsClosed = false;
  #streamDone = false;
  #error: unknown;
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
    this.#buffer = new FetchBuffer(o, this.#budget, this.#controller, () => this.#parts.values());
    this.#positions = new Positions(this.#cluster, o, this.#positionsHost());
    this.#committer = new Committer(this.#cluster, o, this.#committerHost());
    this.#fetcher = new Fetcher(this.#cluster, o, this.#budget, this.#fetcherHost());
    this.#buffer.attach(this.#fetcher);
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
      ps.endTime = undefined;
      ps.endResolveAt = 0;
      this.#buffer.evict(ps);
      this.#positions.setStart(
        ps,
        a.offset ?? (this.#o.groupId !== undefined ? "committed" : undefined),
      );
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
    this.#buffer.evict(ps);
    this.#positions.setStart(ps, target.offset);
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
      this.#buffer.evict(ps);
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
    const ps = this.#parts.get(tpKey(tp.topic, tp.partition));
    return ps && ps.taken >= 0n ? ps.taken : undefined;
  }

  /** Position, high watermark and lag of every assigned partition. */
  lag(): PartitionLag[] {
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
    if (what === undefined) {
      offsets = this.#committer.takenOffsets(undefined, true);
    } else if (Array.isArray(what)) {
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
    await this.#committer.commit(offsets, options.signal);
  }

  /** The group's committed offsets for these partitions (-1n: none), from the broker. */
  async committed(
    partitions: readonly TopicPartition[],
    options: { signal?: AbortSignal } = {},
  ): Promise<TopicPartitionOffset[]> {
    if (this.#commitsClosed) throw new ClosedError("consumer");
    if (this.#o.groupId === undefined) throw new TypeError("committed() needs options.groupId");
    partitions.forEach(checkTopicPartition);
    return await this.#committer.committed(partitions, options.signal);
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

  /**
   * Pipes the records to `dest`, like `ReadableStream.pipeTo`. A record counts as taken (what
   * auto-commit and `commit()` commit) once `dest` accepted it, that is once its `write()`
   * resolved, so a pipe that is aborted or fails commits nothing its destination did not
   * process. One record at a time is in flight to `dest`.
   */
  override async pipeTo(
    dest: WritableStream<ConsumerRecord>,
    options: StreamPipeOptions = {},
  ): Promise<void> {
    if (this.locked) throw new TypeError("the consumer is locked to a reader");
    if (dest.locked) throw new TypeError("the destination is locked to a writer");
    const buffer = this.#buffer;
    const relay = relayTo(dest, options, {
      take: (r) => buffer.take(r),
      took: (from, r) => buffer.took(from, r),
    });
    buffer.countingStarted();
    try {
      await super.pipeTo(relay, {
        ...options.preventCancel !== undefined && { preventCancel: options.preventCancel },
        ...options.signal !== undefined && { signal: options.signal },
      });
    } finally {
      buffer.countingEnded();
    }
  }

  /**
   * Pipes the records through a transform, like `ReadableStream.pipeThrough`, counting a
   * record as taken once the transform's writable accepted it (see {@linkcode pipeTo}).
   */
  override pipeThrough<T>(
    transform: { writable: WritableStream<ConsumerRecord>; readable: ReadableStream<T> },
    options: StreamPipeOptions = {},
  ): ReadableStream<T> {
    if (this.locked) throw new TypeError("the consumer is locked to a reader");
    if (transform.writable.locked) throw new TypeError("the transform's writable is locked");
    this.pipeTo(transform.writable, options).catch(() => {});
    return transform.readable;
  }

  /**
   * The records as an async iterator (what `for await` uses). A record counts as taken when
   * the iterator returns it; `break`, `return` or `throw` in the loop cancel the stream
   * (unless `preventCancel`), which closes the consumer and commits exactly what the loop
   * received (auto-commit).
   */
  override values(
    options: { preventCancel?: boolean } = {},
  ): AsyncIterableIterator<ConsumerRecord> {
    const reader = this.getReader();
    const buffer = this.#buffer;
    buffer.countingStarted();
    let attached = true;
    const detach = () => {
      if (attached) buffer.countingEnded();
      attached = false;
    };
    const done = (): IteratorResult<ConsumerRecord> => ({ done: true, value: undefined });
    const onRead = (
      r: ReadableStreamReadResult<ConsumerRecord>,
    ): Promise<IteratorResult<ConsumerRecord>> | IteratorResult<ConsumerRecord> => {
      if (r.done) {
        detach();
        reader.releaseLock();
        return done();
      }
      // Closed while records were queued: they are not handed out (nor committed).
      if (this.#closed && !this.#streamDone) {
        detach();
        return reader.cancel().then(done, done);
      }
      const from = buffer.take(r.value);
      if (from === undefined) return reader.read().then(onRead);
      buffer.took(from, r.value);
      return r;
    };
    const iterator: AsyncIterableIterator<ConsumerRecord> = {
      next: () => attached ? reader.read().then(onRead) : Promise.resolve(done()),
      return: async (value?: unknown) => {
        const wasAttached = attached;
        detach();
        if (wasAttached) {
          if (options.preventCancel) reader.releaseLock();
          else await reader.cancel(value);
        }
        return { done: true, value: value as undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** The records as an async iterator: see {@linkcode values}. */
  override [Symbol.asyncIterator](
    options: { preventCancel?: boolean } = {},
  ): AsyncIterableIterator<ConsumerRecord> {
    return this.values(options);
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
    this.#resolver = this.#positions.run(signal);
    if (this.#subscription !== undefined) this.#startGroup();
    if (this.#o.autoCommit && this.#o.groupId !== undefined) this.#committer.startAutoCommit();
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
    // The stream's queue was emptied: what sat in it was not taken.
    this.#buffer.dropQueued();
    await this.close();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#committer.stopAutoCommit();
    await this.#startup?.catch(() => {});
    await this.#fetcher.close();
    this.#releaseHeadroom();
    const errored = this.#error !== undefined;
    if (this.#group) {
      await this.#group.close(this.#o.leaveGroupOnClose);
    } else if (this.#o.autoCommit && this.#everConnected && !errored) {
      await this.#committer.commitTaken("commit on close", undefined, false);
    }
    await this.#committer.settled();
    this.#commitsClosed = true;
    this.#abort.abort(new ClosedError("consumer"));
    this.#positions.wake();
    this.#data.notify();
    await this.#resolver?.catch(() => {});
    if (!this.#streamDone) {
      this.#streamDone = true;
      try {
        this.#controller.close();
      } catch { /* errored or cancelled */ }
    }
    this.#buffer.dropQueued();
    for (const ps of [...this.#parts.values()]) this.#remove(ps);
    await this.#cluster.close();
  }

  // ---------------------------------------------------------------------------------------
  // Delivery (the stream's pull)

  /** The stream's pull: synchronous when records are ready. */
  #pull(): Promise<void> | undefined {
    if (this.#started && this.#error === undefined && !this.#streamDone && !this.#closed) {
      this.#buffer.pulled();
      if (this.#buffer.handOut()) return undefined;
    }
    return this.#pullSlow();
  }

  async #pullSlow(): Promise<void> {
    if (!this.#manual && this.#subscription === undefined) {
      // Nothing could ever arrive: say so instead of waiting forever (issue 10 §4).
      const e = new TypeError(
        "the consumer has nothing to read: call assign() with partitions before reading, " +
          "or set groupId and topics (or call subscribe())",
      );
      this.#fail(e);
      throw e;
    }
    this.#start();
    this.#buffer.pulled();
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      // Closing: nothing more is handed out, so the commit on close is what was read.
      if (this.#streamDone || this.#closed) return;
      if (this.#buffer.handOut()) return;
      const ps = this.#buffer.nextReady();
      if (ps) {
        await this.#buffer.fill(ps);
        continue;
      }
      if (this.#allDone()) {
        this.#streamDone = true;
        this.#controller.close();
        // A bounded read is over: commit and release everything.
        this.close().catch(() => {});
        return;
      }
      await this.#data.wait(this.#abort.signal, 1_000).catch(() => {});
    }
  }

  #allDone(): boolean {
    if (!this.#manual || this.#parts.size === 0) return false;
    for (const ps of this.#parts.values()) {
      if (ps.endSpec === undefined || ps.phase !== "done") return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Partition bookkeeping

  /** Something changed: fetch loops, the resolver and a waiting pull look again. */
  #changed(): void {
    this.#positions.wake();
    this.#fetcher.wake();
    this.#data.notify();
  }

  #remove(ps: PartitionState): void {
    this.#buffer.evict(ps);
    ps.removed = true;
    this.#parts.delete(ps.key);
  }

  #fetcherHost(): FetcherHost {
    const buffer = this.#buffer;
    return {
      partitions: () => this.#parts.values(),
      partition: (topic, partition) => this.#parts.get(tpKey(topic, partition)),
      get decodeReserve() {
        return buffer.decodeReserve;
      },
      addChunk: (chunk) => {
        buffer.addChunk(chunk);
        this.#data.notify();
      },
      evict: (ps) => buffer.evict(ps),
      truncated: (ps, epoch, endOffset) => this.#positions.truncated(ps, epoch, endOffset),
      resolve: () => this.#positions.wake(),
      fail: (e) => this.#fail(e),
    };
  }

  #positionsHost(): PositionsHost {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      partitions: () => this.#parts.values(),
      get manual() {
        return self.#manual;
      },
      evict: (ps) => this.#buffer.evict(ps),
      changed: () => this.#changed(),
      fail: (e) => this.#fail(e),
    };
  }

  #committerHost(): CommitterHost {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      partitions: () => this.#parts.values(),
      partition: (topic, partition) => this.#parts.get(tpKey(topic, partition)),
      get group() {
        return self.#group;
      },
    };
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
          if (this.#o.autoCommit) {
            await this.#committer.commitTaken("commit on revocation", keys);
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
}
