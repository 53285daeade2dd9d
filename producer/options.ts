/**
 * Producer options, with Java's defaults where Java has one.
 *
 * @module
 */

import type { ClientOptions } from "../cluster/options.ts";
import type { Cluster } from "../cluster/cluster.ts";
import type { CompressionName } from "../protocol/compression/mod.ts";
import type { Partitioner, PartitionerName } from "./partitioners.ts";

/**
 * How many replicas must have a record before the broker acknowledges it: `0` (none, no
 * response), `1` (the leader) or `"all"` / `-1` (every in-sync replica).
 *
 * @example
 * ```ts
 * import type { Acks } from "@denokafka/kafka/producer";
 * const acks: Acks = "all";
 * console.log(acks);
 * ```
 */
export type Acks = 0 | 1 | -1 | "all";

/**
 * Options of a {@linkcode Producer}: the client options plus the producer's own.
 *
 * @example
 * ```ts
 * import type { ProducerOptions } from "@denokafka/kafka/producer";
 * const options: ProducerOptions = {
 *   brokers: ["127.0.0.1:9092"],
 *   defaultTopic: "events",
 *   lingerMs: 5,
 *   compression: "zstd",
 * };
 * console.log(options.defaultTopic);
 * ```
 */
export interface ProducerOptions extends ClientOptions {
  /** Topic for records that name none. */
  defaultTopic?: string;
  /** Acknowledgements required; default `"all"`. */
  acks?: Acks;
  /**
   * Idempotent delivery (no duplicates on retry, order kept): InitProducerId and per-partition
   * sequence numbers. Default true; it needs `acks: "all"` and `maxInFlight` <= 5, and is
   * turned off silently when `acks` is set otherwise and this is left unset (as Java does).
   */
  idempotent?: boolean;
  /**
   * How long a partition's batch waits for more records before it is sent, while its leader
   * is busy with other requests (see {@linkcode ProducerOptions.lingerWhenIdle}); default 5 ms.
   */
  lingerMs?: number;
  /**
   * Linger even when the partition's leader has no Produce request in flight. Default false
   * ("idle flush"): a batch goes out at once while its leader is idle, and lingers to fill up
   * only while requests are in flight. A lone awaited `send()` then takes one round trip
   * instead of `lingerMs` more, and under load, when requests are always in flight, batching
   * is as before. Awaiting each send was pathologically slow in other JavaScript clients
   * (every await paid the linger); this is why it is the default. Set true for the Java
   * client's exact `linger.ms` semantics: every batch waits `lingerMs` unless it is full.
   */
  lingerWhenIdle?: boolean;
  /** Target batch size in bytes (before compression); default 16384. */
  batchSize?: number;
  /** Largest Produce request, and so the largest record; default 1 MiB (1048576). */
  maxRequestSize?: number;
  /**
   * Byte budget of records accepted but not yet acknowledged; writes wait (the stream applies
   * backpressure) once it is full. Default 32 MiB. The batch buffers kept for reuse count
   * inside it (as in Java's BufferPool): with the budget's bytes acknowledged, an idle
   * producer keeps up to `bufferMemory` (plus two batch buffers, and two more for each
   * compression worker) of them, and allocates none when the next records come.
   */
  bufferMemory?: number;
  /**
   * Compression codec; default `"none"`. A batch the codec does not make smaller (random or
   * already compressed bytes) goes out uncompressed, as franz-go's do: the broker and every
   * consumer then read it without decompressing (bench/PROFILE.md, "Session 14: lz4 1 KiB").
   */
  compression?: CompressionName;
  /**
   * Codec level (gzip 1-9, zstd -131072..22, lz4 ignored); default the codec's own (zstd 3,
   * as Kafka's). zstd's negative levels store literals raw, as franz-go's default does with
   * blocks it finds no match in: level -1 took 2.3x less CPU than 3 on random letters (which
   * then go out uncompressed) and 1.2x less on JSON records, whose output grew by a third
   * (bench/PROFILE.md, Session 14).
   */
  compressionLevel?: number;
  /**
   * Workers that compress batches of 64 KiB and more while the producer's thread keeps
   * batching and sending (the Java client likewise compresses on the caller's thread while
   * its sender thread does I/O). Smaller batches are compressed on the producer's thread,
   * where handing them over would cost more latency than it saves. The workers start with
   * the first such batch and stop when the producer closes; 0 compresses everything on the
   * producer's thread. Default: the number of CPU cores minus one, at most 2, and none on a
   * machine of 1 or 2 cores, where the producer's thread and the worker compete for the same
   * cores: there a worker cost 13-31 % more CPU per record and 20-80 MiB more RSS for no more
   * throughput (bench/PROFILE.md, Session 11). Without compression none start. A worker
   * has at most two batches at a time (each holds its records and its output); a batch that
   * fills while they are busy is compressed on the producer's thread when it is sent, so a
   * slow worker cannot hold the whole budget twice over (bench/PROFILE.md, Session 16).
   */
  compressionWorkers?: number;
  /**
   * Upper bound on the time from accepting a record to reporting its outcome, retries
   * included; default 120 s.
   */
  deliveryTimeoutMs?: number;
  /**
   * How long a send waits for topic metadata before it fails (TimeoutError, or
   * UnknownTopicError when the broker says there is no such topic); default 60 s, and never
   * longer than the client's `retry.deadlineMs`.
   */
  maxBlockMs?: number;
  /** Partitioner, by name or as a function; default `"default"` (Java's). */
  partitioner?: PartitionerName | Partitioner;
  /** Let the broker create a missing topic (Metadata allowAutoTopicCreation); default true. */
  allowAutoTopicCreation?: boolean;
  /** Makes the producer transactional. */
  transactionalId?: string;
  /** Transaction timeout the coordinator enforces; default 60 s. */
  transactionTimeoutMs?: number;
  /**
   * Share an existing cluster connection pool instead of opening one. The producer does not
   * close it: its `abort()` and `close()` give up the producer's own requests on it instead,
   * at once, however long a broker would keep them waiting.
   */
  cluster?: Cluster;
}

/** Options after defaults are applied and checked. */
export interface ResolvedProducerOptions {
  defaultTopic: string | undefined;
  acks: 0 | 1 | -1;
  idempotent: boolean;
  lingerMs: number;
  lingerWhenIdle: boolean;
  batchSize: number;
  maxRequestSize: number;
  bufferMemory: number;
  compression: CompressionName;
  compressionLevel: number | undefined;
  compressionWorkers: number;
  requestTimeoutMs: number;
  deliveryTimeoutMs: number;
  maxBlockMs: number;
  maxInFlight: number;
  allowAutoTopicCreation: boolean;
  transactionalId: string | undefined;
  transactionTimeoutMs: number;
}

const CODECS = new Set(["none", "gzip", "snappy", "lz4", "zstd"]);

function positive(name: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new RangeError(`${name} must be a number >= ${min}, got ${v}`);
  }
  return v;
}

/** The `compressionWorkers` option, checked, or its default for this machine. */
function compressionWorkers(n: number | undefined): number {
  if (n === undefined) {
    const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
    return cores <= 2 ? 0 : Math.min(2, cores - 1);
  }
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw new RangeError(`compressionWorkers must be an integer in 0..64, got ${n}`);
  }
  return n;
}

/**
 * Applies defaults and checks the producer options. Throws TypeError / RangeError.
 *
 * @example
 * ```ts
 * import { resolveProducerOptions } from "./options.ts";
 * const o = resolveProducerOptions({ brokers: ["127.0.0.1:9092"], acks: 1 });
 * console.log(o.idempotent); // false
 * ```
 */
export function resolveProducerOptions(options: ProducerOptions): ResolvedProducerOptions {
  const acks = options.acks === undefined || options.acks === "all" ? -1 : options.acks;
  if (acks !== -1 && acks !== 0 && acks !== 1) {
    throw new RangeError(`acks must be 0, 1, -1 or "all", got ${String(options.acks)}`);
  }
  const maxInFlight = positive("maxInFlight", options.maxInFlight, 5);
  let idempotent = options.idempotent ?? (acks === -1 && maxInFlight <= 5);
  if (options.transactionalId !== undefined) {
    if (typeof options.transactionalId !== "string" || options.transactionalId === "") {
      throw new TypeError("transactionalId must be a non-empty string");
    }
    if (options.idempotent === false) {
      throw new RangeError("a transactional producer must be idempotent");
    }
    idempotent = true;
  }
  if (idempotent && acks !== -1) {
    throw new RangeError(`idempotence needs acks "all" (got ${acks}); set idempotent: false`);
  }
  if (idempotent && maxInFlight > 5) {
    throw new RangeError(`idempotence needs maxInFlight <= 5 (got ${maxInFlight})`);
  }
  const compression = options.compression ?? "none";
  if (!CODECS.has(compression)) throw new RangeError(`unknown compression "${compression}"`);
  if (options.defaultTopic !== undefined && typeof options.defaultTopic !== "string") {
    throw new TypeError("defaultTopic must be a string");
  }
  const requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs, 30_000);
  const lingerMs = positive("lingerMs", options.lingerMs, 5, 0);
  const deliveryTimeoutMs = positive("deliveryTimeoutMs", options.deliveryTimeoutMs, 120_000);
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs && options.deliveryTimeoutMs !== undefined) {
    throw new RangeError(
      `deliveryTimeoutMs (${deliveryTimeoutMs}) must be at least lingerMs + requestTimeoutMs ` +
        `(${lingerMs + requestTimeoutMs}), as in Java`,
    );
  }
  return {
    defaultTopic: options.defaultTopic,
    acks,
    idempotent,
    lingerMs,
    lingerWhenIdle: options.lingerWhenIdle ?? false,
    batchSize: positive("batchSize", options.batchSize, 16_384),
    maxRequestSize: positive("maxRequestSize", options.maxRequestSize, 1_048_576),
    bufferMemory: positive("bufferMemory", options.bufferMemory, 32 * 1024 * 1024),
    compression,
    compressionLevel: options.compressionLevel,
    compressionWorkers: compressionWorkers(options.compressionWorkers),
    requestTimeoutMs,
    deliveryTimeoutMs: Math.max(deliveryTimeoutMs, lingerMs + requestTimeoutMs),
    maxBlockMs: positive("maxBlockMs", options.maxBlockMs, 60_000, 0),
    maxInFlight,
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
    transactionalId: options.transactionalId,
    transactionTimeoutMs: positive("transactionTimeoutMs", options.transactionTimeoutMs, 60_000),
  };
}
