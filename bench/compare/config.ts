/**
 * What the side-by-side benchmark runs: the clients, the workloads and the settings every
 * client gets. See bench/README.md for the reasoning behind each choice.
 *
 * @module
 */

/**
 * The clients compared, by the names used in bench/results/latest.json.
 *
 * @example
 * ```ts
 * import { CLIENTS } from "./config.ts";
 * console.log(CLIENTS.includes("java")); // true
 * ```
 */
export const CLIENTS = [
  "ours",
  "ours-node",
  "ours-bun",
  "java",
  "librdkafka",
  "franz-go",
  "kafkajs",
  "platformatic",
] as const;

/**
 * One of {@linkcode CLIENTS}.
 *
 * @example
 * ```ts
 * import type { ClientName } from "./config.ts";
 * const c: ClientName = "franz-go";
 * console.log(c);
 * ```
 */
export type ClientName = typeof CLIENTS[number];

/**
 * What a peer process does: produce as fast as it can, await single sends, read a full
 * topic from the start, or copy a full topic to another through an exactly-once
 * consume-transform-produce pipeline.
 *
 * @example
 * ```ts
 * import type { Mode } from "./config.ts";
 * const m: Mode = "latency";
 * console.log(m);
 * ```
 */
export type Mode = "produce" | "latency" | "consume" | "pipeline";

/**
 * Compression codecs the workloads use.
 *
 * @example
 * ```ts
 * import type { Codec } from "./config.ts";
 * const c: Codec = "zstd";
 * console.log(c);
 * ```
 */
export type Codec = "none" | "lz4" | "zstd";

/**
 * One workload: a mode, a value size, a codec and how many records are measured after how
 * many warm-up records (in the same process).
 *
 * @example
 * ```ts
 * import { workloads } from "./config.ts";
 * const p1 = workloads(false).find((w) => w.id === "P1")!;
 * console.log(p1.records, p1.size); // 1000000 100
 * ```
 */
export interface Workload {
  /** Short id used in results: P1, P2, P3-lz4-100B, ..., P4, C1-100B, C1-1KiB, X1-100B. */
  id: string;
  /** What it measures, for the README. */
  title: string;
  /** Peer mode. */
  mode: Mode;
  /** Value size in bytes (no key, no headers). */
  size: number;
  /** Producer compression. */
  compression: Codec;
  /** Measured records; for latency workloads, sends in all, split evenly over the rounds. */
  records: number;
  /** Warm-up records, produced or consumed before the measured phase by the same process. */
  warmup: number;
  /** Partitions of the topic; {@linkcode SETTINGS}.partitions (4) when absent. */
  partitions?: number;
  /**
   * The batch size of the producer that fills a consume workload's topic, when not
   * {@linkcode SETTINGS}.batchBytes: a sticky partitioner moves on once per batch, so 1 MiB
   * batches of 1M x 100 B reach only ~100 of 256 partitions.
   */
  fillBatchBytes?: number;
}

const SIZES = [[100, "100B"], [1024, "1KiB"]] as const;
const human = (size: number) => size === 1024 ? "1 KiB" : `${size} B`;

/**
 * The full list of workloads; `quick` shrinks them to 100k records (1k awaited sends) for
 * development runs.
 *
 * @example
 * ```ts
 * import { workloads } from "./config.ts";
 * console.log(workloads(true).map((w) => w.id).join(" "));
 * ```
 */
export function workloads(quick: boolean): Workload[] {
  const n = quick ? 100_000 : 1_000_000;
  const warm = n / 10;
  const sends = quick ? 1_000 : 10_000;
  const out: Workload[] = [
    {
      id: "P1",
      title: "produce 100 B",
      mode: "produce",
      size: 100,
      compression: "none",
      records: n,
      warmup: warm,
    },
    {
      id: "P2",
      title: "produce 1 KiB",
      mode: "produce",
      size: 1024,
      compression: "none",
      records: n,
      warmup: warm,
    },
  ];
  for (const codec of ["lz4", "zstd"] as const) {
    for (const [size, label] of SIZES) {
      out.push({
        id: `P3-${codec}-${label}`,
        title: `produce ${human(size)}, ${codec}`,
        mode: "produce",
        size,
        compression: codec,
        records: n,
        warmup: warm,
      });
    }
  }
  out.push({
    id: "P4",
    title: "awaited single sends, 100 B",
    mode: "latency",
    size: 100,
    compression: "none",
    records: sends,
    warmup: quick ? 100 : 300,
  });
  for (const [size, label] of SIZES) {
    out.push({
      id: `C1-${label}`,
      title: `catch-up consume ${human(size)}`,
      mode: "consume",
      size,
      compression: "none",
      records: n,
      warmup: warm,
    });
  }
  out.push({
    id: "X1-100B",
    title: "exactly-once pipeline 100 B (consume, copy, produce in transactions)",
    mode: "pipeline",
    size: 100,
    compression: "none",
    records: n,
    warmup: warm,
  });
  // Many partitions (issue 14): where per-partition state and small batches show.
  out.push({
    id: "P6",
    title: "produce 100 B over 256 partitions",
    mode: "produce",
    size: 100,
    compression: "none",
    records: n,
    warmup: warm,
    partitions: 256,
  }, {
    id: "C6-100B",
    title: "catch-up consume 100 B over 256 partitions",
    mode: "consume",
    size: 100,
    compression: "none",
    records: n,
    warmup: warm,
    partitions: 256,
    // Java's default batch.size: ~6,700 batches dealt over every partition (with 1 MiB
    // batches Java's fill left 205 of the 256 empty, and C6 measured C1 again).
    fillBatchBytes: 16_384,
  });
  return out;
}

/**
 * The clients that have a peer for a mode; the others are listed as unavailable for its
 * workloads. Only `ours` and `java` have a consume-transform-produce loop (the pipeline).
 *
 * @example
 * ```ts
 * import { supports } from "./config.ts";
 * console.log(supports("java", "pipeline"), supports("kafkajs", "pipeline")); // true false
 * ```
 */
export function supports(client: ClientName, mode: Mode): boolean {
  return mode !== "pipeline" || client === "ours" || client === "java";
}

/**
 * Exactly-once pipeline (X1) settings, the same for every peer: a transaction is committed
 * (with the consumed offsets, KIP-447) every `transactionMs` or `transactionRecords` records.
 *
 * @example
 * ```ts
 * import { PIPELINE } from "./config.ts";
 * console.log(PIPELINE.transactionMs); // 100
 * ```
 */
export const PIPELINE = {
  /** A transaction stays open this long at most (Kafka Streams' EOS commit interval). */
  transactionMs: 100,
  /** Or this many consumed records, whichever comes first. */
  transactionRecords: 100_000,
} as const;

/**
 * Settings every client gets (translated into each client's own option names by the peers).
 *
 * @example
 * ```ts
 * import { SETTINGS } from "./config.ts";
 * console.log(SETTINGS.lingerMs); // 5
 * ```
 */
export const SETTINGS = {
  /** Producer linger: how long a partition's batch waits for more records. */
  lingerMs: 5,
  /** Producer batch size; for clients without one (KafkaJS, platformatic), records per send(). */
  batchBytes: 1_048_576,
  /** Produce requests in flight per connection; for KafkaJS/platformatic, concurrent send()s. */
  inFlight: 5,
  /** Idempotent producer everywhere (Java's and franz-go's default). */
  idempotence: true,
  /** acks=all (with one broker, the same as acks=1). */
  acks: "all",
  /** Producer buffer: Java's buffer.memory default. */
  bufferBytes: 33_554_432,
  /** Partitions of every topic. */
  partitions: 4,
  /** Bytes in the shared payload pool of each size (seeded random letters). */
  poolBytes: 8 * 1_048_576,
  /** Seed of the payload generator. */
  seed: 20240601,
} as const;
