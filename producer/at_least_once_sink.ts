/**
 * The at-least-once pipeline sink: a source offset is committed once every record derived
 * from it, and from every record before it in its partition, was acknowledged.
 *
 * @module
 */

import type { Delivery } from "./delivery.ts";
import type { TransactionOffset } from "./record.ts";
import type {
  PipelineChunk,
  PipelineEnvelope,
  PipelineSinkOptions,
  SourceRecord,
} from "./pipeline.ts";
import {
  type EnvelopeSteps,
  isEnvelopeList,
  positive,
  queueing,
  SinkFailure,
  type SinkHost,
  toOffset,
  writeEnvelopes,
  yieldNow,
} from "./sink_common.ts";

/** One source record whose derived records are not all acknowledged. */
class PendingSource implements Delivery {
  timestamp = 0;
  left: number;
  readonly source: SourceRecord;
  readonly #partition: PartitionAcks;

  constructor(source: SourceRecord, left: number, partition: PartitionAcks) {
    this.source = source;
    this.left = left;
    this.#partition = partition;
  }

  resolve(): void {
    if (--this.left === 0) this.#partition.advance();
  }

  reject(error: Error): void {
    this.#partition.sink.fail(error);
  }
}

/** A partition's sources in order, and the offset committable so far. */
class PartitionAcks {
  readonly sink: AtLeastOnceSink;
  readonly topic: string;
  readonly partition: number;
  readonly #pending: (PendingSource | undefined)[] = [];
  #head = 0;
  /** The last fully acknowledged source with every one before it (contiguous). */
  done: SourceRecord | undefined;
  /** `done` changed since the last commit. */
  dirty = false;

  constructor(sink: AtLeastOnceSink, topic: string, partition: number) {
    this.sink = sink;
    this.topic = topic;
    this.partition = partition;
  }

  push(p: PendingSource): void {
    this.#pending.push(p);
    if (p.left === 0) this.advance();
  }

  /** Moves past the acknowledged sources at the head. */
  advance(): void {
    const q = this.#pending;
    let h = this.#head;
    let last: PendingSource | undefined;
    while (h < q.length && q[h]!.left === 0) {
      last = q[h];
      q[h++] = undefined;
    }
    if (last === undefined) return;
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      q.splice(0, h);
      h = 0;
    }
    this.#head = h;
    this.done = last.source;
    this.dirty = true;
  }
}

/**
 * Records are sent as they come, each carrying its source's {@linkcode PendingSource} as
 * its delivery; the committer commits, per partition, the last source whose records and
 * predecessors' records were all acknowledged.
 */
export class AtLeastOnceSink {
  readonly stream: WritableStream<PipelineChunk>;
  readonly #host: SinkHost;
  readonly #options: PipelineSinkOptions;
  readonly #intervalMs: number;
  readonly #partitions = new Map<string, PartitionAcks>();
  #lastPart: PartitionAcks | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #committing: Promise<void> | undefined;
  readonly #failure: SinkFailure;

  constructor(host: SinkHost, options: PipelineSinkOptions) {
    this.#host = host;
    this.#options = options;
    this.#failure = new SinkFailure("at-least-once");
    this.#intervalMs = positive(options.commitIntervalMs, "commitIntervalMs", 1000);
    this.stream = new WritableStream<PipelineChunk>({
      start: (c) => {
        this.#failure.controller = c;
        const state = host.transactionState();
        if (state !== undefined) {
          throw new TypeError(
            "an at-least-once sink writes outside transactions: use a producer without a " +
              'transactionalId, or guarantee "exactly-once"',
          );
        }
        this.#timer = setInterval(() => {
          this.#commit().catch((e) => host.warn("a pipeline commit failed; retrying", e));
        }, this.#intervalMs);
      },
      write: (e) => this.#write(e),
      close: () => this.#close(),
      abort: () => this.#abort(),
    }, queueing(options));
  }

  /** Each envelope's records carry its source's {@linkcode PendingSource} as their delivery. */
  readonly #steps: EnvelopeSteps = {
    start: (e) => this.#pending(e),
    end: () => {},
  };

  #write(chunk: PipelineChunk): Promise<void> | undefined {
    if (this.#failure.error) throw this.#failure.error;
    const list: readonly PipelineEnvelope[] = isEnvelopeList(chunk) ? chunk : [chunk];
    let wait: Promise<void> | undefined;
    try {
      wait = writeEnvelopes(this.#host, list, this.#steps);
    } catch (error) {
      this.fail(error);
      throw this.#failure.error;
    }
    if (wait) {
      return wait.catch((error) => {
        this.fail(error);
        throw this.#failure.error;
      });
    }
    return yieldNow(Date.now());
  }

  /** Registers an envelope's source with its partition, in order. */
  #pending(e: PipelineEnvelope): PendingSource {
    const s = e.source;
    let part = this.#lastPart;
    if (part === undefined || part.partition !== s.partition || part.topic !== s.topic) {
      const key = s.topic + "\0" + s.partition;
      part = this.#partitions.get(key);
      if (part === undefined) {
        part = new PartitionAcks(this, s.topic, s.partition);
        this.#partitions.set(key, part);
      }
      this.#lastPart = part;
    }
    const pending = new PendingSource(s, e.records.length, part);
    part.push(pending);
    return pending;
  }

  /** A record failed (or could not be written): nothing more is committed. */
  fail(error: unknown): void {
    if (this.#failure.error) return;
    this.#failure.set(error);
    this.#stop();
    this.#failure.errorStream();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #commit(): Promise<void> {
    this.#committing ??= this.#doCommit().finally(() => {
      this.#committing = undefined;
    });
    return this.#committing;
  }

  async #doCommit(): Promise<void> {
    if (this.#failure.error) return;
    const offsets: TransactionOffset[] = [];
    const parts: PartitionAcks[] = [];
    for (const p of this.#partitions.values()) {
      if (!p.dirty || p.done === undefined) continue;
      offsets.push(toOffset(p.done));
      parts.push(p);
      p.dirty = false;
    }
    if (offsets.length === 0) return;
    try {
      await this.#options.consumer.commit(offsets);
    } catch (error) {
      // Not a loss: the offsets are committed by the next commit, or read again.
      for (const p of parts) p.dirty = true;
      throw error;
    }
    this.#options.onCommit?.(offsets);
  }

  async #close(): Promise<void> {
    this.#stop();
    try {
      await this.#committing?.catch(() => {});
      await this.#host.flush();
      if (this.#failure.error) throw this.#failure.error;
      await this.#commit();
    } catch (error) {
      this.fail(error);
      throw this.#failure.error;
    }
  }

  /**
   * A stopped pipe: what was acknowledged is committed (best effort: the consumer may be
   * closing meanwhile), the rest is read again by the next consumer.
   */
  async #abort(): Promise<void> {
    this.#stop();
    if (this.#failure.error) return;
    try {
      await this.#committing?.catch(() => {});
      await this.#host.flush();
      await this.#commit();
    } catch (error) {
      this.#host.warn("a stopped at-least-once pipeline could not commit", error);
    }
  }
}
