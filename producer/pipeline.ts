/**
 * Pipelines as Web Streams: a consumer's records, mapped to the records they become, written
 * by the sink `producer.sink()` makes, which commits the source offsets under a named
 * delivery guarantee.
 *
 * ```ts ignore
 * await consumer
 *   .pipeThrough(mapRecords((r) => ({ key: r.key, value: r.value })))
 *   .pipeTo(producer.sink({ consumer, guarantee: "exactly-once" }), { signal });
 * // The same, the records the consumer has ready in one chunk (faster):
 * await mapConsumer(consumer, (r) => ({ key: r.key, value: r.value }))
 *   .pipeTo(producer.sink({ consumer, guarantee: "exactly-once" }), { signal });
 * ```
 *
 * Provenance: what flows into the sink are {@linkcode PipelineEnvelope}s (alone or in
 * arrays), one per consumed record, `{ source, records }`: the record it came from and the
 * zero, one or many records it became. The sink never has to guess which output belongs to
 * which input, whatever the transform does (filter, map, fan out, asynchronous work), and a
 * source whose envelope carries no records is still committed. {@linkcode mapRecords} (a
 * `TransformStream`) and {@linkcode mapConsumer} (a batched source) build the envelopes from
 * a plain function.
 *
 * - at-least-once: records are sent as they come; a source offset is committed (through the
 *   consumer's `commit()`) once every record derived from it, and from every record before
 *   it in its partition, was acknowledged by the broker.
 * - exactly-once: records and source offsets are written in one transaction per
 *   `transactionRecords` source records or `transactionMs` (KIP-98, KIP-447
 *   `sendOffsetsToTransaction`); read the output with `read_committed`.
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import type { ConsumerGroupMetadata, ProducerRecord, TransactionOffset } from "./record.ts";

/**
 * The delivery guarantee of a pipeline (see {@linkcode PipelineSinkOptions.guarantee}).
 *
 * @example
 * ```ts
 * import type { PipelineGuarantee } from "@denokafka/kafka/producer";
 * const g: PipelineGuarantee = "exactly-once";
 * console.log(g);
 * ```
 */
export type PipelineGuarantee = "at-least-once" | "exactly-once";

/**
 * Where a record came from: a consumed record (a `ConsumerRecord` fits).
 *
 * @example
 * ```ts
 * import type { SourceRecord } from "@denokafka/kafka/producer";
 * const s: SourceRecord = { topic: "in", partition: 0, offset: 41n };
 * console.log(s.offset + 1n); // 42n, the offset committed for it
 * ```
 */
export interface SourceRecord {
  /** The source topic. */
  readonly topic: string;
  /** The source partition. */
  readonly partition: number;
  /** The source record's offset. */
  readonly offset: bigint;
  /** Its leader epoch (-1 or absent when unknown), committed with the offset (KIP-320). */
  readonly leaderEpoch?: number;
}

/**
 * One consumed record and the records it became (none, one or many): what a pipeline's sink
 * takes, so that every record written keeps its provenance.
 *
 * @example
 * ```ts
 * import type { PipelineEnvelope } from "@denokafka/kafka/producer";
 * const e: PipelineEnvelope = {
 *   source: { topic: "in", partition: 0, offset: 7n },
 *   records: [{ topic: "out", value: "a" }, { topic: "out", value: "b" }],
 * };
 * console.log(e.records.length);
 * ```
 */
export interface PipelineEnvelope<S extends SourceRecord = SourceRecord> {
  /** The consumed record. */
  readonly source: S;
  /** The records to produce for it, in order (may be empty: the source is still committed). */
  readonly records: readonly ProducerRecord[];
}

/**
 * What a pipeline's sink takes: one envelope (from {@linkcode mapRecords}) or a batch of them
 * (from {@linkcode mapConsumer}).
 *
 * @example
 * ```ts
 * import type { PipelineChunk } from "@denokafka/kafka/producer";
 * const c: PipelineChunk = [{ source: { topic: "in", partition: 0, offset: 0n }, records: [] }];
 * console.log(Array.isArray(c));
 * ```
 */
export type PipelineChunk = PipelineEnvelope | readonly PipelineEnvelope[];

/**
 * What a pipeline's sink needs of its consumer (a `Consumer` fits): commits for
 * at-least-once, the group identity for exactly-once.
 *
 * @example
 * ```ts
 * import type { PipelineConsumer } from "@denokafka/kafka/producer";
 * const fake: PipelineConsumer = {
 *   commit: async () => {},
 *   groupMetadata: () => ({ groupId: "g", generationId: -1, memberId: "", groupInstanceId: null }),
 * };
 * console.log(fake.groupMetadata().groupId);
 * ```
 */
export interface PipelineConsumer {
  /** Commits offsets (the next offset to read per partition). */
  commit(
    offsets: readonly TransactionOffset[],
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** The consumer's group identity, for `sendOffsetsToTransaction`. */
  groupMetadata(): ConsumerGroupMetadata;
}

/**
 * Options of `producer.sink()`.
 *
 * @example
 * ```ts
 * import type { PipelineConsumer, PipelineSinkOptions } from "@denokafka/kafka/producer";
 * const make = (consumer: PipelineConsumer): PipelineSinkOptions => ({
 *   consumer,
 *   guarantee: "exactly-once",
 *   transactionMs: 100,
 * });
 * console.log(typeof make);
 * ```
 */
export interface PipelineSinkOptions {
  /**
   * The consumer the envelopes' sources come from. It must not commit by itself
   * (`autoCommit: false`): the sink commits. For exactly-once it must read `read_committed`
   * (the default) and have a `groupId`.
   */
  readonly consumer: PipelineConsumer;
  /**
   * - `"at-least-once"`: a source offset is committed only after every record derived from it
   *   was acknowledged (per partition, in order: the highest contiguous fully acknowledged
   *   offset + 1). A crash re-reads what was not committed, so records may be written twice,
   *   never lost.
   * - `"exactly-once"`: the producer must have a `transactionalId`. Records and source offsets
   *   are committed together in one transaction per `transactionRecords` or `transactionMs`,
   *   whichever comes first; a `read_committed` reader sees each source's records once.
   */
  readonly guarantee: PipelineGuarantee;
  /** Exactly-once: source records per transaction at most. Default 100,000. */
  readonly transactionRecords?: number;
  /** Exactly-once: how long a transaction stays open at most, in ms. Default 100. */
  readonly transactionMs?: number;
  /** At-least-once: how often acknowledged offsets are committed, in ms. Default 1000. */
  readonly commitIntervalMs?: number;
  /**
   * Envelopes the sink's queue holds before the pipe stops reading (Web Streams
   * backpressure): they let the transform go on while a transaction commits (the consumer
   * fetches into its own buffer meanwhile). Default 2,048: a deeper queue keeps more records
   * alive for the garbage collector to copy and costs CPU (bench/PROFILE.md, Session 11).
   */
  readonly highWaterMark?: number;
  /** Called after each commit (a transaction, or a consumer commit) with what it committed. */
  readonly onCommit?: (offsets: readonly TransactionOffset[]) => void;
}

/**
 * The pipeline failed: nothing beyond the last commit is committed (exactly-once: the open
 * transaction was aborted). The consumer's position is past what was lost, so do not go on
 * with it: close it and the producer, and start again with a new consumer, which resumes from
 * the committed offsets. `cause` is the error that failed it.
 *
 * @example
 * ```ts
 * import { PipelineError } from "@denokafka/kafka/producer";
 * const e = new PipelineError("exactly-once", new RangeError("x"));
 * console.log(e.guarantee, e.cause instanceof RangeError); // exactly-once true
 * ```
 */
export class PipelineError extends KafkaError {
  /** The guarantee the failed pipeline had. */
  readonly guarantee: PipelineGuarantee;

  /** Builds the error around its cause; retriable when the cause is. */
  constructor(guarantee: PipelineGuarantee, cause: unknown) {
    const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `${guarantee} pipeline failed (${text}); ${
        guarantee === "exactly-once" ? "its transaction was aborted; " : ""
      }restart it with a new consumer, which resumes from the committed offsets`,
      { cause, retriable: cause instanceof KafkaError && cause.retriable },
    );
    this.guarantee = guarantee;
  }
}
