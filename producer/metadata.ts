/**
 * The producer's view of its topics: each topic's partitions and leaders, fetched on first use
 * (waiting up to `maxBlockMs` for a topic to appear), kept in step with the cluster's metadata
 * cache, and refreshed when a leader moves.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import { Deadline } from "../protocol/deadline.ts";
import { errorCodeInfo, KafkaError, ProtocolError, TimeoutError } from "../protocol/errors.ts";
import { errorText, type Track } from "./background.ts";
import { PartitionState, TopicState } from "./batch.ts";
import { UnknownTopicError } from "./errors.ts";
import type { ResolvedProducerOptions } from "./options.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/** What the producer learns from its metadata. */
export interface MetadataEvents {
  /** A topic's metadata arrived: records waiting for it can be batched. */
  ready(t: TopicState): void;
  /** A topic cannot be had: records waiting for it fail with `error`. */
  failed(t: TopicState, error: Error): void;
  /** A refresh ended: leaders may have moved. */
  refreshed(): void;
}

/** The topics in use and their partitions. */
export class ProducerMetadata {
  readonly #cluster: Cluster;
  readonly #options: ResolvedProducerOptions;
  readonly #signal: AbortSignal;
  readonly #track: Track;
  readonly #events: MetadataEvents;
  readonly #topics = new Map<string, TopicState>();
  #refresh: Promise<void> | undefined;
  #lastRefresh = 0;
  #seenAt = -1;

  constructor(
    cluster: Cluster,
    options: ResolvedProducerOptions,
    signal: AbortSignal,
    track: Track,
    events: MetadataEvents,
  ) {
    this.#cluster = cluster;
    this.#options = options;
    this.#signal = signal;
    this.#track = track;
    this.#events = events;
  }

  /** The topic's state, starting to fetch its metadata on first use. */
  topic(name: string): TopicState {
    return this.#topics.get(name) ?? this.#load(name);
  }

  /** Every topic in use. */
  topics(): IterableIterator<TopicState> {
    return this.#topics.values();
  }

  #load(name: string): TopicState {
    const t = new TopicState(name, this.#options.batchSize);
    this.#topics.set(name, t);
    this.#cluster.addInterest([name]);
    this.#track(this.#fetch(t));
    return t;
  }

  async #fetch(t: TopicState): Promise<void> {
    // The wait ends by the earliest of maxBlockMs and the client's retry deadline, and every
    // refresh inside it (with its connects and retries) shares the time left.
    const limitMs = Math.min(this.#options.maxBlockMs, this.#cluster.retryPolicy.deadlineMs);
    using deadline = new Deadline({
      timeoutMs: Math.max(0, limitMs - (Date.now() - t.since)),
      signal: this.#signal,
      what: `waiting for metadata of topic "${t.name}"`,
    });
    const closed = this.#signal;
    let lastError: unknown;
    let lastCode: number | undefined;
    for (let attempt = 1; !closed.aborted; attempt++) {
      let code: number | undefined;
      let error: unknown;
      try {
        const errors = await this.#cluster.refreshMetadata([t.name], {
          allowAutoCreate: this.#options.allowAutoTopicCreation,
          signal: deadline.signal,
        });
        code = errors.get(t.name);
        lastCode = code;
      } catch (e) {
        error = e;
        // The deadline's bare abort explains nothing: keep what failed before it.
        if (e !== deadline.signal.reason) lastError = e;
      }
      if (closed.aborted) return;
      if (this.#apply(t)) {
        t.ready = true;
        this.#events.ready(t);
        return;
      }
      const waited = Date.now() - t.since;
      if (code !== undefined && code !== ErrorCode.NONE && !errorCodeInfo(code).retriable) {
        return this.#fail(t, new ProtocolError(code, `topic "${t.name}"`));
      }
      if (
        error !== undefined && !deadline.expired &&
        !(error instanceof KafkaError && error.retriable)
      ) {
        return this.#fail(t, error as Error);
      }
      if (deadline.expired || waited >= limitMs) {
        // The broker's last word on the topic, if the deadline cut the last refresh short.
        const c = code ?? lastCode;
        const missing = c === undefined || c === ErrorCode.NONE ||
          c === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        const why = lastError ?? error;
        const e = !missing
          ? new ProtocolError(c!, `topic "${t.name}" after ${waited} ms`)
          : why === undefined || c === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          ? new UnknownTopicError(t.name, waited)
          : new TimeoutError(
            `no metadata for topic "${t.name}" after ${waited} ms (the earliest of maxBlockMs ` +
              `and retry.deadlineMs: ${limitMs} ms)` +
              (lastError === undefined ? "" : `: ${errorText(lastError)}`),
            { timeoutMs: limitMs, cause: why },
          );
        return this.#fail(t, e);
      }
      const wait = Math.min(backoffMs(this.#cluster.retryPolicy, attempt), deadline.remainingMs);
      try {
        await sleep(Math.max(1, wait), deadline.signal);
      } catch {
        if (closed.aborted) return;
      }
    }
  }

  /** Copies the cache's view of a topic into its state; false when the topic is unknown. */
  #apply(t: TopicState): boolean {
    const info = this.#cluster.metadata.topic(t.name);
    if (info === undefined || info.partitions.length === 0) return false;
    t.topicId = info.topicId;
    const count = Math.max(info.partitions.length, t.partitions.length);
    for (let i = t.partitions.length; i < count; i++) t.partitions.push(new PartitionState(t, i));
    const available: number[] = [];
    for (const p of info.partitions) if (p.leader >= 0) available.push(p.partition);
    t.available = available;
    return true;
  }

  #fail(t: TopicState, error: Error): void {
    t.error = error;
    if (this.#topics.get(t.name) === t) this.#topics.delete(t.name);
    this.#cluster.removeInterest([t.name]);
    this.#events.failed(t, error);
  }

  /** Takes in what the cluster's metadata cache learned since the last call. */
  sync(): void {
    const at = this.#cluster.metadata.updatedAt;
    if (at === this.#seenAt) return;
    this.#seenAt = at;
    for (const t of this.#topics.values()) if (t.ready) this.#apply(t);
  }

  /** Refreshes metadata for every topic in use (after a leader change), at most every 100 ms. */
  refreshSoon(): void {
    if (this.#refresh || this.#signal.aborted) return;
    const wait = Math.max(0, this.#lastRefresh + 100 - Date.now());
    this.#refresh = this.#track((async () => {
      try {
        if (wait > 0) await sleep(wait, this.#signal);
        await this.#cluster.refreshMetadata([...this.#topics.keys()], { signal: this.#signal });
      } catch (e) {
        if (!this.#signal.aborted) {
          this.#cluster.logger.warn("metadata refresh failed", { error: errorText(e) });
        }
      } finally {
        this.#lastRefresh = Date.now();
        this.#refresh = undefined;
        this.#events.refreshed();
      }
    })());
  }
}
