/**
 * The runtime subset: what must work on every runtime, against the real broker. It takes the
 * library as a parameter (the source under Deno, the npm build under Node, Bun and workerd),
 * so one file proves the same behaviour everywhere. Written for every runtime: no Deno API,
 * no `await using` (Node 22 lacks it), type-only imports (erased by Node's type stripping).
 *
 * Parts: produce and consume with every codec; batches of 256 KiB; a consumer group of two; a transaction read
 * back with read_committed; SCRAM-SHA-512 over TLS; admin create, describe and delete.
 *
 * @module
 */

import type * as Kafka from "../../mod.ts";

/** What the driver passes in. */
export interface SubsetConfig {
  /** The runtime's name, for topic names and the report. */
  runtime: string;
  /** PLAINTEXT bootstrap. */
  brokers: string[];
  /** SASL_SSL bootstrap, CA and user; `skipTls` says why this runtime cannot do it. */
  saslSsl?: { brokers: string[]; caPem: string; username: string; password: string };
  /** One line: why this runtime skips SCRAM over TLS. */
  skipTls?: string;
  /**
   * The runtime itself trusts the test CA (workerd's network service has it in its
   * `trustedCertificates`): connect with `tls: true` rather than passing `caCerts`.
   */
  caTrustedByRuntime?: boolean;
  /** Parts to run (default all). */
  parts?: string[];
}

/** One part's outcome. */
export interface PartResult {
  part: string;
  status: "ok" | "skip" | "fail";
  detail: string;
  ms: number;
}

type Lib = typeof Kafka;
type Extra = Partial<Kafka.ClientOptions>;

const enc = new TextEncoder();
const dec = new TextDecoder();

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Reads `n` records from an assigned consumer, then closes it. */
async function readN(
  consumer: Kafka.Consumer,
  n: number,
  what: string,
): Promise<Kafka.ConsumerRecord[]> {
  const out: Kafka.ConsumerRecord[] = [];
  const reader = consumer.getReader();
  try {
    await withTimeout(
      (async () => {
        while (out.length < n) {
          const r = await reader.read();
          if (r.done) break;
          out.push(r.value);
        }
      })(),
      30_000,
      what,
    );
  } finally {
    reader.releaseLock();
    await consumer.close();
  }
  return out;
}

async function codecs(k: Lib, cfg: SubsetConfig, extra: Extra, admin: Kafka.Admin) {
  const names: Kafka.CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];
  for (const compression of names) {
    const topic = `rt-${cfg.runtime}-codec-${compression}-${suffix()}`;
    await admin.createTopic(topic, { numPartitions: 1, replicationFactor: 1 });
    const producer = new k.Producer({ ...extra, brokers: cfg.brokers, compression });
    const values = Array.from({ length: 200 }, (_, i) => `${compression}-${i}-${"x".repeat(i)}`);
    try {
      await producer.send(values.map((v, i) => ({ topic, key: `k${i % 7}`, value: v })));
    } finally {
      await producer.close();
    }
    const consumer = new k.Consumer({ ...extra, brokers: cfg.brokers });
    consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    const got = await readN(consumer, values.length, `reading ${compression}`);
    check(got.length === values.length, `${compression}: ${got.length} of ${values.length}`);
    for (let i = 0; i < values.length; i++) {
      check(dec.decode(got[i]!.value!) === values[i], `${compression}: record ${i} intact`);
    }
    await admin.deleteTopic(topic);
  }
  return "none, gzip, snappy, lz4, zstd: 200 records each, read back intact";
}

async function group(k: Lib, cfg: SubsetConfig, extra: Extra, admin: Kafka.Admin) {
  const topic = `rt-${cfg.runtime}-group-${suffix()}`;
  const groupId = `rt-${cfg.runtime}-g-${suffix()}`;
  await admin.createTopic(topic, { numPartitions: 2, replicationFactor: 1 });
  // The members start once the broker's metadata shows both partitions: a group leader that
  // assigns before it sees them assigns nothing, and (a consumer bug, reported) does not
  // rebalance when they appear.
  await withTimeout(
    (async () => {
      while (
        (await admin.describeTopic(topic)).partitions.filter((p) => p.leader >= 0).length < 2
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    15_000,
    "the topic's partitions getting leaders",
  );
  const owned = [new Set<number>(), new Set<number>()];
  // What the members said, for the failure message.
  const t0 = Date.now();
  const said: string[] = [];
  const logger = (m: number) => {
    const line = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
      said.push(`${Date.now() - t0}ms c${m} ${level} ${msg} ${JSON.stringify(fields ?? {}, big)}`);
    return { debug: line("D"), info: line("I"), warn: line("W"), error: line("E") };
  };
  const consumers = [0, 1].map((m) =>
    new k.Consumer({
      ...extra,
      logger: logger(m),
      brokers: cfg.brokers,
      groupId,
      topics: [topic],
      autoOffsetReset: "earliest",
      onPartitionsAssigned: (parts) => {
        for (const p of parts) owned[m]!.add(p.partition);
      },
      onPartitionsRevoked: (parts) => {
        for (const p of parts) owned[m]!.delete(p.partition);
      },
    })
  );
  const seen: Array<Set<string>> = [new Set(), new Set()];
  const readers = consumers.map((c) => c.getReader());
  const loops = readers.map(async (r, m) => {
    for (;;) {
      const res = await r.read().catch(() => ({ done: true as const, value: undefined }));
      if (res.done) return;
      seen[m]!.add(dec.decode(res.value.value!));
    }
  });
  try {
    await withTimeout(
      (async () => {
        while (owned[0]!.size !== 1 || owned[1]!.size !== 1) {
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
      60_000,
      "both members owning a partition",
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}; owned ${owned.map((o) => [...o].join("+")).join(" / ")}; log: ${
          said.slice(-25).join(" | ")
        }`,
      );
    });
    const producer = new k.Producer({ ...extra, brokers: cfg.brokers });
    try {
      await producer.send(
        Array.from({ length: 40 }, (_, i) => ({ topic, partition: i % 2, value: `g${i}` })),
      );
    } finally {
      await producer.close();
    }
    await withTimeout(
      (async () => {
        while (seen[0]!.size + seen[1]!.size < 40) await new Promise((r) => setTimeout(r, 50));
      })(),
      30_000,
      "the group reading 40 records",
    );
    check(seen[0]!.size === 20 && seen[1]!.size === 20, "each member read its partition's 20");
  } finally {
    for (const r of readers) r.releaseLock();
    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all(loops);
  }
  await admin.deleteTopic(topic);
  return "two members, one partition each, 20 records each";
}

async function transaction(k: Lib, cfg: SubsetConfig, extra: Extra, admin: Kafka.Admin) {
  const topic = `rt-${cfg.runtime}-txn-${suffix()}`;
  await admin.createTopic(topic, { numPartitions: 1, replicationFactor: 1 });
  const tx = new k.Producer({
    ...extra,
    brokers: cfg.brokers,
    transactionalId: `rt-${cfg.runtime}-tx-${suffix()}`,
    defaultTopic: topic,
  });
  try {
    await tx.initTransactions();
    await tx.transaction(async (t) => {
      await t.send([{ value: "committed-1" }, { value: "committed-2" }]);
    });
    await tx.transaction(async (t) => {
      await t.send({ value: "aborted" });
      throw new Error("abort this one");
    }).catch((e) => check(e instanceof Error && e.message === "abort this one", "rethrown"));
    await tx.transaction(async (t) => {
      await t.send({ value: "committed-3" });
    });
  } finally {
    await tx.close();
  }
  const consumer = new k.Consumer({
    ...extra,
    brokers: cfg.brokers,
    isolationLevel: "read_committed",
  });
  consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
  const got = (await readN(consumer, 3, "read_committed")).map((r) => dec.decode(r.value!));
  check(
    got.join(",") === "committed-1,committed-2,committed-3",
    `read_committed saw ${got.join(",")}`,
  );
  await admin.deleteTopic(topic);
  return "commit, abort, commit: read_committed sees only the committed 3";
}

async function scramTls(k: Lib, cfg: SubsetConfig, extra: Extra, admin: Kafka.Admin) {
  if (cfg.skipTls !== undefined) return { skip: cfg.skipTls };
  const s = cfg.saslSsl;
  if (s === undefined) return { skip: "the broker has no SASL_SSL listener" };
  const topic = `rt-${cfg.runtime}-scram-${suffix()}`;
  await admin.createTopic(topic, { numPartitions: 1, replicationFactor: 1 });
  const secure: Kafka.ClientOptions = {
    ...extra,
    brokers: s.brokers,
    tls: cfg.caTrustedByRuntime ? true : { caCerts: [s.caPem] },
    sasl: { mechanism: "scram-sha-512", username: s.username, password: s.password },
  };
  const producer = new k.Producer({ ...secure, defaultTopic: topic });
  try {
    await producer.send({ key: "tls", value: enc.encode("over SASL_SSL") });
  } finally {
    await producer.close();
  }
  const consumer = new k.Consumer(secure);
  consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
  const [r] = await readN(consumer, 1, "reading over SASL_SSL");
  check(r !== undefined && dec.decode(r.value!) === "over SASL_SSL", "the record over TLS");
  await admin.deleteTopic(topic);
  return "produced and consumed over SASL_SSL with SCRAM-SHA-512 and the test CA";
}

async function adminPart(_k: Lib, cfg: SubsetConfig, _extra: Extra, admin: Kafka.Admin) {
  const topic = `rt-${cfg.runtime}-admin-${suffix()}`;
  await admin.createTopic(topic, { numPartitions: 3, replicationFactor: 1 });
  const d = await admin.describeTopic(topic);
  check(d.partitions.length === 3, `described ${d.partitions.length} partitions`);
  await admin.deleteTopic(topic);
  const left = await withTimeout(
    (async () => {
      for (;;) {
        const names = await admin.listTopics();
        if (!names.some((t) => (typeof t === "string" ? t : t.name) === topic)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
    })(),
    15_000,
    "the topic disappearing",
  );
  check(left, "deleted");
  return "created 3 partitions, described them, deleted the topic";
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? String(v) : v;
}

function suffix(): string {
  return Math.random().toString(36).slice(2, 8);
}

/**
 * Batches of 256 KiB: Produce writes them to the socket from their own buffers (zeroCopy, in
 * pieces around the frame), and an acknowledged batch's buffer is reused by a later one. Every
 * transport must write the pieces whole and in order, and never read a buffer after it let go.
 */
async function bigBatches(k: Lib, cfg: SubsetConfig, extra: Extra, admin: Kafka.Admin) {
  const topic = `rt-${cfg.runtime}-big-${suffix()}`;
  await admin.createTopic(topic, { numPartitions: 1, replicationFactor: 1 });
  const n = 2000;
  const filler = new Uint8Array(1020);
  for (let i = 0; i < filler.length; i++) filler[i] = (i * 31 + 7) & 0xff;
  const value = (i: number) => {
    const v = new Uint8Array(4 + filler.length);
    new DataView(v.buffer).setUint32(0, i);
    v.set(filler, 4);
    return v;
  };
  const producer = new k.Producer({
    ...extra,
    brokers: cfg.brokers,
    batchSize: 256 * 1024,
    lingerMs: 50,
  });
  try {
    // Four rounds: the later ones reuse the buffers of acknowledged batches.
    for (let r = 0; r < 4; r++) {
      const from = (r * n) / 4;
      await producer.send(
        Array.from({ length: n / 4 }, (_, i) => ({ topic, value: value(from + i) })),
      );
    }
  } finally {
    await producer.close();
  }
  const consumer = new k.Consumer({ ...extra, brokers: cfg.brokers });
  consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
  const got = await readN(consumer, n, "reading big batches");
  check(got.length === n, `${got.length} of ${n}`);
  for (let i = 0; i < n; i++) {
    const b = got[i]!.value!;
    check(b.length === 4 + filler.length, `record ${i}: ${b.length} bytes`);
    check(new DataView(b.buffer, b.byteOffset).getUint32(0) === i, `record ${i} in order`);
    for (let j = 0; j < filler.length; j++) check(b[4 + j] === filler[j], `record ${i} intact`);
  }
  await admin.deleteTopic(topic);
  return `${n} records of 1 KiB in 256 KiB batches, read back intact and in order`;
}

const PARTS = {
  admin: adminPart,
  codecs,
  "big-batches": bigBatches,
  group,
  transaction,
  "scram-tls": scramTls,
} as const;

/**
 * Runs the subset and reports each part; never throws (a failed part says why).
 *
 * @example
 * ```ts ignore
 * import * as kafka from "../../mod.ts";
 * import { runSubset } from "./subset.ts";
 * console.log(await runSubset(kafka, { runtime: "deno", brokers: ["127.0.0.1:9092"] }));
 * ```
 */
export async function runSubset(
  k: Lib,
  cfg: SubsetConfig,
  extra: Extra = {},
): Promise<PartResult[]> {
  const results: PartResult[] = [];
  const admin = new k.Admin({ ...extra, brokers: cfg.brokers });
  try {
    for (const [part, fn] of Object.entries(PARTS)) {
      if (cfg.parts && !cfg.parts.includes(part)) continue;
      const t0 = Date.now();
      try {
        const r = await fn(k, cfg, extra, admin);
        results.push(
          typeof r === "string"
            ? { part, status: "ok", detail: r, ms: Date.now() - t0 }
            : { part, status: "skip", detail: r.skip, ms: Date.now() - t0 },
        );
      } catch (e) {
        const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        results.push({ part, status: "fail", detail, ms: Date.now() - t0 });
      }
    }
  } finally {
    await admin.close();
  }
  return results;
}
