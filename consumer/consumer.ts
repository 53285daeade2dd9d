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
import type { Chunk } from "./chunk.ts";
import { ClassicGroup } from "./classic_group.ts";
import { Committer, offsetsToCommit } from "./committer.ts";
import { FetchBuffer } from "./fetch_buffer.ts";
import { Fetcher, type FetcherHost } from "./fetcher.ts";
import { reserveGcHeadroom } from "./gc_reserve.ts";
import type { GroupMembership } from "./group.ts";
import { ModernGroup } from "./modern_group.ts";
import { Notifier } from "./notifier.ts";
import type { PartitionState } from "./partition_state.ts";
import {
  type ConsumerOptions,
  resolveConsumerOptions,
  type ResolvedConsumerOptions,
} from "./options.ts";
import { Partitions } from "./partitions.ts";
import { directIterator, DirectReader, pipeCounting } from "./readers.ts";
import {
  checkAssignment,
  checkTopicPartition,
  Positions,
  type PositionsHost,
} from "./positions.ts";
import { RebalanceHost } from "./rebalance.ts";
import type {
  ConsumerCloseOptions,
  ConsumerGroupMetadata,
  ConsumerRecord,
  PartitionAssignment,
  PartitionLag,
  StartOffset,
  TopicPartition,
  TopicPartitionOffset,
} from "./types.ts";

/**
 * A Kafka consumer that is a Web `ReadableStream` of records.
 *
 * The reader pulls; the consumer fetches ahead only within `maxBufferedBytes`, one budget for
 * fetched, decompressed and queued bytes together, so a slow reader stops the fetching
 * instead of growing memory. `for await` works, and so does `pipeThrough`/`pipeTo`.
 *
 * Read chosen partitions with {@linkcode Consumer.assign}, or join a group with `groupId` and
 * `topics` (a list or a RegExp).
 *
 * The commit contract: a record counts as taken when the reader's code receives it (the loop
 * body, a `read()` that resolves, a pipe destination's `write()` that returns), never when it
 * is fetched or queued. Auto-commit and `commit()` commit exactly what was taken, so the
 * committed offset is never beyond the record after the last one received, however the
 * reading stops (`break`, `cancel()`, an aborted pipe, `close()`, a revocation, a crash).
 *
 * Readers the consumer does not hand out: a reader taken with the `ReadableStream` prototype's own
 * methods (`getReader`, `values`, `pipeTo`) gets no record once it let go, and `seek()` and
 * `pause()` hold for the next reader (the prototype's `pipeTo` counts a record when it reads it,
 * before its destination accepted it). But a web-streams mechanism that reads the consumer for its
 * own reader is the reader as far as the consumer can tell: a record counts as taken when it got
 * it, and `seek()`/`pause()` do not reach the records it holds. So `tee()` (see
 * {@linkcode Consumer.tee}) commits what its branches did not receive yet, and the readable end of
 * {@linkcode Consumer.pipeThrough} released without cancelling it leaves the pipe running: the
 * TransformStream accepts one more record (taken) and the next write waits in its writable's queue
 * (not taken), and the readable's next reader gets both, also after a `seek()` or `pause()`.
 * Cancel the readable end, or abort the pipe's signal, to stop reading.
 * `ReadableStream.from(consumer)` and `Array.fromAsync(consumer)` use the consumer's own iterator.
 * `tests/integration/consumer_foreign_readers_test.ts` checks each of these.
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
  readonly #resolved: ResolvedConsumerOptions;
  readonly #options: ConsumerOptions;
  readonly #cluster: Cluster;
  readonly #budget: ByteBudget;
  readonly #fetcher: Fetcher;
  readonly #controller: ReadableStreamDefaultController<ConsumerRecord>;
  readonly #assignors: Assignor[];
  readonly #parts: Partitions;
  readonly #buffer: FetchBuffer;
  readonly #positions: Positions;
  readonly #committer: Committer;
  /** New data, new state or an error: wakes a waiting pull. */
  readonly #data = new Notifier();
  readonly #abort = new AbortController();
  #group: GroupMembership | undefined;
  #subscription: readonly string[] | RegExp | undefined;
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
    const resolved = resolveConsumerOptions(options);
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
    this.#resolved = resolved;
    this.#options = options;
    this.#assignors = resolved.assignors.map(resolveAssignor);
    this.#cluster = new Cluster(options);
    this.#budget = new ByteBudget(resolved.maxBufferedBytes);
    this.#parts = new Partitions(this.#cluster);
    this.#buffer = new FetchBuffer(
      resolved,
      this.#budget,
      this.#controller,
      () => this.#parts.values(),
    );
    this.#positions = new Positions(
      this.#cluster,
      resolved,
      new ConsumerPositionsHost({
        parts: this.#parts,
        buffer: this.#buffer,
        changed: () => this.#changed(),
        fail: (e) => this.#fail(e),
      }),
    );
    this.#committer = new Committer(this.#cluster, resolved, this.#parts, () => this.#group);
    this.#fetcher = new Fetcher(
      this.#cluster,
      resolved,
      this.#budget,
      new ConsumerFetcherHost({
        parts: this.#parts,
        buffer: this.#buffer,
        positions: this.#positions,
        data: this.#data,
        fail: (e) => this.#fail(e),
      }),
    );
    this.#buffer.attach(this.#fetcher);
    this.#parts.attach(this.#buffer, this.#positions);
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
    if (this.#resolved.groupId === undefined) {
      throw new TypeError("subscribe() needs options.groupId (or use assign())");
    }
    if (this.#parts.manual) throw new TypeError("subscribe() cannot be mixed with assign()");
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
   * `groupId`. When every partition has an `end` and reached it, the stream ends; the
   * consumer stays open (commits, `committed()`, `position()`, `lag()`) until
   * {@linkcode close}.
   */
  assign(partitions: readonly PartitionAssignment[]): void {
    this.#checkOpen();
    if (this.#subscription !== undefined) {
      throw new TypeError("assign() cannot be mixed with a subscription");
    }
    const keys = checkAssignment(partitions, this.#resolved.groupId !== undefined);
    this.#parts.assign(partitions, keys, this.#resolved.groupId !== undefined);
    this.#changed();
  }

  /** The partitions assigned now (by {@linkcode assign} or by the group). */
  assignment(): TopicPartition[] {
    return this.#parts.list();
  }

  /**
   * Moves an assigned partition's position: the next record read is at `offset` (or at the
   * earliest/latest record, or the first at or after a timestamp). Records fetched or queued
   * before the seek are not handed out.
   */
  seek(target: TopicPartition & { offset: StartOffset }): void {
    this.#checkOpen();
    this.#parts.seek(target);
    this.#changed();
  }

  /** Stops fetching and returning these partitions until {@linkcode resume}. */
  pause(partitions: readonly TopicPartition[]): void {
    this.#parts.setPaused(partitions, true);
    this.#changed();
  }

  /** Resumes paused partitions. */
  resume(partitions: readonly TopicPartition[]): void {
    this.#parts.setPaused(partitions, false);
    this.#changed();
  }

  /** The partitions paused now. */
  paused(): TopicPartition[] {
    return this.#parts.paused();
  }

  /**
   * The offset after the last record the reader took from a partition (the next one it will
   * get, and what `commit()` commits), when known.
   */
  position(tp: TopicPartition): bigint | undefined {
    return this.#parts.position(tp);
  }

  /** Position, high watermark and lag of every assigned partition. */
  lag(): PartitionLag[] {
    return this.#parts.lag();
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
    if (this.#resolved.groupId === undefined) throw new TypeError("commit() needs options.groupId");
    const offsets = what === undefined
      ? this.#committer.takenOffsets(undefined, true)
      : offsetsToCommit(what);
    await this.#committer.commit(offsets, options.signal);
  }

  /** The group's committed offsets for these partitions (-1n: none), from the broker. */
  async committed(
    partitions: readonly TopicPartition[],
    options: { signal?: AbortSignal } = {},
  ): Promise<TopicPartitionOffset[]> {
    if (this.#commitsClosed) throw new ClosedError("consumer");
    if (this.#resolved.groupId === undefined) {
      throw new TypeError("committed() needs options.groupId");
    }
    partitions.forEach(checkTopicPartition);
    return await this.#committer.committed(partitions, options.signal);
  }

  /** The group identity, for a transactional producer's `sendOffsetsToTransaction`. */
  groupMetadata(): ConsumerGroupMetadata {
    return this.#group?.metadata() ?? {
      groupId: this.#resolved.groupId ?? "",
      generationId: -1,
      memberId: "",
      groupInstanceId: this.#resolved.groupInstanceId,
    };
  }

  /**
   * Stops fetching, commits what the reader took (auto-commit), runs the revocation callback,
   * leaves the group, ends the stream and closes every connection. Idempotent.
   *
   * It ends by the earlier of `timeoutMs` and `retry.deadlineMs`: with the brokers gone, the
   * commit and the LeaveGroup are given up then, and the connections closed under them.
   */
  close(options: ConsumerCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options);
    return this.#closing;
  }

  /**
   * Pipes the records to `dest`, like `ReadableStream.pipeTo`. A record counts as taken (what
   * auto-commit and `commit()` commit) once `dest` accepted it, that is once its `write()`
   * resolved, so a pipe that is aborted or fails commits nothing its destination did not
   * process. One record at a time is in flight to `dest`, taken once `dest` has room: a record
   * whose `write()` resolves after `pause()` counts, after `seek()` it does not, and after the
   * commit on revocation or `close()` it is delivered again to the next owner (at most one).
   */
  override async pipeTo(
    dest: WritableStream<ConsumerRecord>,
    options: StreamPipeOptions = {},
  ): Promise<void> {
    await pipeCounting(
      this,
      () => super.getReader(),
      dest,
      options,
      this.#buffer,
      () => this.#live() ? this.#buffer.nextRecord() : undefined,
    );
  }

  /**
   * Pipes the records through a transform, like `ReadableStream.pipeThrough`, counting a
   * record as taken once the transform's writable accepted it (see {@linkcode pipeTo}).
   *
   * The pipe runs until the readable end is cancelled, the transform fails, the signal aborts or
   * the consumer ends. A reader of the readable end that only lets go (`releaseLock()`, a `break`
   * with `preventCancel`, a pipe from it stopped with `preventCancel`) leaves it running: a
   * `TransformStream` accepts the next record into its readable's queue (so it is taken and
   * committed), the write after it waits in its writable's queue (not taken), and the readable's
   * next reader gets both, even after a `seek()` or `pause()` of their partition. To stop reading,
   * cancel the readable end (a `break` does) or abort the signal.
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
   * Two branches of the records: the web-streams tee, unchanged. Its limit for the commit
   * contract: the tee reads the consumer ahead of its branches (a branch's queue holds what
   * its reader has not read, and a branch's highWaterMark of 1 keeps one record ahead even of
   * the faster branch), so a record counts as taken when the tee reads it. Auto-commit and
   * `commit()` can then commit records a branch's code has not received: at least one, and
   * the slower branch's backlog. `seek()` and `pause()` do not reach records already in a
   * branch's queue: its reader gets them first. For exact commits, pipe the consumer into a
   * `WritableStream` that hands each record to both destinations (its `write()` resolving
   * once both have it), or commit records explicitly with `commit(record)`.
   *
   * @example
   * ```ts ignore
   * const [audit, work] = consumer.tee();
   * ```
   */
  override tee(): [ReadableStream<ConsumerRecord>, ReadableStream<ConsumerRecord>] {
    return super.tee();
  }

  /**
   * The records as an async iterator (what `for await` uses). A record counts as taken when
   * the iterator returns it; `break`, `return` or `throw` in the loop cancel the stream
   * (unless `preventCancel`), which closes the consumer and commits exactly what the loop
   * received (auto-commit).
   */
  // @ts-ignore: tsc's DOM lib (the npm build) types it ReadableStreamAsyncIterator, Deno's AsyncIterableIterator
  override values(
    options: { preventCancel?: boolean } = {},
  ): AsyncIterableIterator<ConsumerRecord> {
    return directIterator(this.#directReader(), options);
  }

  /** A BYOB reader: refused, as by any stream that is not a byte stream. */
  override getReader(options: { mode: "byob" }): ReadableStreamBYOBReader;
  /**
   * Locks the stream to a reader, like `ReadableStream.getReader`. A record counts as taken
   * (what auto-commit and `commit()` commit) when a `read()` returns it.
   */
  override getReader(): ReadableStreamDefaultReader<ConsumerRecord>;
  /** Locks the stream to a reader: see the overload without options. */
  override getReader(
    options?: ReadableStreamGetReaderOptions,
  ): ReadableStreamReader<ConsumerRecord>;
  override getReader(
    options?: ReadableStreamGetReaderOptions,
  ): ReadableStreamReader<ConsumerRecord> {
    if (options?.mode !== undefined) return super.getReader(options);
    return this.#directReader();
  }

  /** A reader taking ready records straight from the fetch buffer (see readers.ts). */
  #directReader(): DirectReader {
    // Through unknown: under tsc's DOM lib (the npm build) `values()` is typed differently.
    const stream = this as unknown as ReadableStream<ConsumerRecord>;
    return new DirectReader(
      stream,
      () => this.#live() ? this.#buffer.takeNext() : undefined,
      (record) => this.#buffer.readFromQueue(record),
    );
  }

  /** Whether records may be handed out now (started, not failed, closed nor cancelled). */
  #live(): boolean {
    return this.#started && this.#error === undefined && !this.#streamDone && !this.#closed;
  }

  /** The records as an async iterator: see {@linkcode values}. */
  // @ts-ignore: tsc's DOM lib (the npm build) types it ReadableStreamAsyncIterator, Deno's AsyncIterableIterator
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
    this.#releaseHeadroom = reserveGcHeadroom(this.#resolved.gcHeadroomBytes);
    this.#startup = this.#bootstrap();
  }

  async #bootstrap(): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const topics = this.#subscription instanceof RegExp
        ? null
        : [...new Set([...(this.#subscription ?? []), ...this.assignment().map((t) => t.topic)])];
      // A cluster that cannot be reached at all fails the stream (after the retry deadline).
      await this.#cluster.refreshMetadata(topics, { signal });
      this.#everConnected = true;
    } catch (e) {
      this.#fail(e);
      return;
    }
    this.#resolver = this.#positions.run(signal, { metadataFresh: true });
    if (this.#subscription !== undefined) this.#startGroup();
    if (this.#resolved.autoCommit && this.#resolved.groupId !== undefined) {
      this.#committer.startAutoCommit();
    }
    this.#changed();
  }

  #startGroup(): void {
    if (this.#group || this.#closed) return;
    const host = new RebalanceHost({
      cluster: this.#cluster,
      options: this.#options,
      resolved: this.#resolved,
      parts: this.#parts,
      committer: this.#committer,
      subscription: () => this.#subscription,
      changed: () => this.#changed(),
      fail: (e) => this.#fail(e),
    });
    this.#group = this.#resolved.groupProtocol === "consumer"
      ? new ModernGroup(this.#cluster, this.#resolved, host)
      : new ClassicGroup(this.#cluster, this.#resolved, this.#assignors, host);
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

  async #shutdown(options: ConsumerCloseOptions): Promise<void> {
    this.#closed = true;
    this.#buffer.closing();
    const limitMs = Math.min(options.timeoutMs ?? Infinity, this.#cluster.retryPolicy.deadlineMs);
    const until = Date.now() + limitMs;
    this.#committer.stopAutoCommit();
    await withinDeadline(this.#startup, until);
    await this.#fetcher.close();
    this.#releaseHeadroom();
    const errored = this.#error !== undefined;
    // The goodbye (commit, revocation callback, LeaveGroup) has what is left of the bound; the
    // connections are closed under whatever still waits after it.
    const goodbye = this.#group
      ? this.#group.close(this.#resolved.leaveGroupOnClose)
      : this.#resolved.autoCommit && this.#everConnected && !errored
      ? this.#committer.commitTaken("commit on close", undefined, false)
      : undefined;
    await withinDeadline(goodbye, until);
    await withinDeadline(this.#committer.settled(), until);
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
    this.#parts.clear();
    await this.#cluster.close();
  }

  // ---------------------------------------------------------------------------------------
  // Delivery (the stream's pull)

  /**
   * The stream's pull: synchronous when records are ready.
   *
   * A pull only hands out a record while a reader holds the stream. One that let go during a
   * pull (a reader released with a read pending, a pipe stopped with `preventCancel`, a native
   * pipe aborted) leaves the pull running; a record it enqueued then would wait in the stream's
   * queue, which the consumer cannot take back, and the next reader would get it even after
   * `seek()` or `pause()` (a reader the consumer did not hand out, e.g. the `ReadableStream`
   * prototype's own `getReader`, cannot be told to skip it: see `FetchBuffer.readFromQueue`).
   * So the pull ends without a record: the next read pulls again. What this cannot see: a
   * reader that attached meanwhile, without a read of its own pending. The record goes to the
   * stream's queue for it then; the consumer's own reader drops it if its partition moved or
   * paused since (`FetchBuffer.readFromQueue`), a native reader gets it.
   */
  #pull(): Promise<void> | undefined {
    if (!this.locked) return undefined;
    if (this.#live()) {
      this.#buffer.pulled();
      if (this.#buffer.handOut()) return undefined;
    }
    return this.#pullSlow();
  }

  async #pullSlow(): Promise<void> {
    if (!this.#parts.manual && this.#subscription === undefined) {
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
      // The reader let go while this pull waited: nothing is enqueued for nobody (see #pull).
      if (!this.locked) return;
      if (this.#buffer.handOut()) return;
      const state = this.#buffer.nextReady();
      if (state) {
        await this.#buffer.fill(state);
        continue;
      }
      if (this.#parts.allDone()) {
        // A bounded read is over: the stream ends, and its fetch loops with nothing left to
        // fetch. The consumer stays open, as the Java client's does until close():
        // commit(), committed(), position() and lag() still work, and close() (or `await
        // using`) commits what was read (auto-commit) and releases the connections.
        this.#streamDone = true;
        this.#controller.close();
        return;
      }
      await this.#data.wait(this.#abort.signal, 1_000).catch(() => {});
    }
  }

  // ---------------------------------------------------------------------------------------
  // Partition bookkeeping

  /** Something changed: fetch loops, the resolver and a waiting pull look again. */
  #changed(): void {
    this.#positions.wake();
    this.#fetcher.wake();
    this.#data.notify();
  }
}

/**
 * The consumer's side of the position resolver: what {@linkcode Positions} calls back (see
 * {@linkcode PositionsHost} for when each member is called).
 */
class ConsumerPositionsHost implements PositionsHost {
  readonly #parts: Partitions;
  readonly #buffer: FetchBuffer;
  readonly #changed: () => void;
  readonly #fail: (error: unknown) => void;

  constructor(from: {
    parts: Partitions;
    buffer: FetchBuffer;
    /** Wakes the fetch loops, the resolver and a waiting pull (the consumer's `#changed`). */
    changed: () => void;
    /** Fails the consumer's stream. */
    fail: (error: unknown) => void;
  }) {
    this.#parts = from.parts;
    this.#buffer = from.buffer;
    this.#changed = from.changed;
    this.#fail = from.fail;
  }

  /** The assigned partitions. */
  partitions(): Iterable<PartitionState> {
    return this.#parts.values();
  }

  /** Whether `assign()` chose the partitions (not a group). */
  get manual(): boolean {
    return this.#parts.manual;
  }

  /** Drops the records fetched ahead for `partition`. */
  evict(partition: PartitionState): void {
    this.#buffer.evict(partition);
  }

  /** Wakes the fetch loops, the resolver and a waiting pull. */
  changed(): void {
    this.#changed();
  }

  /** Fails the consumer's stream. */
  fail(error: unknown): void {
    this.#fail(error);
  }
}

/**
 * The consumer's side of the fetch loops: what {@linkcode Fetcher} calls back (see
 * {@linkcode FetcherHost} for when each member is called).
 */
class ConsumerFetcherHost implements FetcherHost {
  readonly #parts: Partitions;
  readonly #buffer: FetchBuffer;
  readonly #positions: Positions;
  readonly #data: Notifier;
  readonly #fail: (error: unknown) => void;

  constructor(from: {
    parts: Partitions;
    buffer: FetchBuffer;
    positions: Positions;
    /** Wakes a waiting pull. */
    data: Notifier;
    /** Fails the consumer's stream. */
    fail: (error: unknown) => void;
  }) {
    this.#parts = from.parts;
    this.#buffer = from.buffer;
    this.#positions = from.positions;
    this.#data = from.data;
    this.#fail = from.fail;
  }

  partitions(): Iterable<PartitionState> {
    return this.#parts.values();
  }

  partition(topic: string, partition: number): PartitionState | undefined {
    return this.#parts.get(topic, partition);
  }

  get decodeReserve(): number {
    return this.#buffer.decodeReserve;
  }

  addChunk(chunk: Chunk): void {
    this.#buffer.addChunk(chunk);
    this.#data.notify();
  }

  evict(state: PartitionState): void {
    this.#buffer.evict(state);
  }

  truncated(state: PartitionState, epoch: number, endOffset: bigint): void {
    this.#positions.truncated(state, epoch, endOffset);
  }

  resolve(): void {
    this.#positions.wake();
  }

  fail(error: unknown): void {
    this.#fail(error);
  }
}

/** Waits for `work` (its failure ignored) until the epoch-ms `until` at most. */
async function withinDeadline(work: Promise<unknown> | undefined, until: number): Promise<void> {
  if (work === undefined) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, until - Date.now()));
  });
  try {
    await Promise.race([work.then(() => {}, () => {}), late]);
  } finally {
    clearTimeout(timer);
  }
}
