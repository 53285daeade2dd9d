/**
 * A group rebalance while a consumer's pipe writes into a slow destination, against the real
 * broker. Member A of a group pipes a topic of 4 partitions (6 batches of 8 records each) into
 * a destination that takes 20 ms per record; member B joins mid-pipe, so partitions are
 * revoked from A while a write is in flight; then the members read to the end. The contract:
 *
 * - nothing is lost: the destinations together accept every record;
 * - a revocation's commit is never beyond what the revoked member's destination accepted of
 *   that partition (checked in `onPartitionsRevoked`, which runs after that commit);
 * - duplicates only from the record a pipe had in flight at a revocation: a record accepted
 *   twice is the first record not committed at some revocation of its partition (the one whose
 *   write resolved after that commit), and there are at most as many as revocations;
 * - after both close, every partition's committed offset is its end.
 *
 * Cells (a matrix, so that a missing cell shows): how A stops owning partitions (B joins and
 * both read on; B joins and then A closes mid-pipe, so B takes everything) × the data (batches
 * of 8, plain and lz4) × the group protocol (classic with the eager `range` assignor, which
 * revokes everything at each rebalance; KIP-848, incremental, when the broker has it).
 */

import assert from "node:assert/strict";
import { brokerOffer, skipUnless } from "../helpers/broker_offer.ts";
import { Consumer, type ConsumerRecord, type TopicPartition } from "../../consumer/mod.ts";
import { Compression, type CompressionCodec } from "../../protocol/compression/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";
import { deadline, until } from "../helpers/wait.ts";

const PARTITIONS = 4;
const PER_PARTITION = 48;
const TOTAL = PARTITIONS * PER_PARTITION;
/** How long the destination takes per record: the write in flight a revocation falls into. */
const WRITE_MS = 20;

const SHAPES: Record<string, string> = {};
const CODECS: [string, CompressionCodec][] = [
  ["batches of 8", Compression.None],
  ["lz4 batches of 8", Compression.Lz4],
];
for (const [name, compression] of CODECS) {
  const topic = uniq("pipe-rebalance");
  await createTopic(topic, PARTITIONS);
  for (let p = 0; p < PARTITIONS; p++) {
    const values = Array.from({ length: PER_PARTITION }, (_, i) => ({ value: `${p}:${i}` }));
    await produce(topic, p, values, { batchSize: 8, compression });
  }
  SHAPES[name] = topic;
}

type Protocol = "classic" | "consumer";
const offer = await brokerOffer();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A record the destination of `member` accepted (its write resolved). */
interface Accepted {
  member: string;
  partition: number;
  offset: bigint;
}

/** What `onPartitionsRevoked` saw: the committed offset, and what the member had accepted. */
interface Revoke {
  member: string;
  partition: number;
  committed: bigint;
  /** The offset after the last record of the partition the member's destination accepted. */
  accepted: bigint;
  /** The committed offset when the member was assigned the partition (another's commit). */
  assigned: bigint;
}

interface Member {
  name: string;
  consumer: Consumer;
  pipe: Promise<void>;
  /** Revocation callbacks with partitions (each: at most one record in flight). */
  revocations: number;
}

/** A member of `groupId` piping `topic` into a slow destination. */
function join(
  name: string,
  protocol: Protocol,
  groupId: string,
  topic: string,
  log: Accepted[],
  revokes: Revoke[],
): Member {
  const accepted = new Map<number, bigint>();
  const assigned = new Map<number, bigint>();
  const member = { name, revocations: 0 } as Member;
  const consumer: Consumer = new Consumer({
    brokers: BOOTSTRAP,
    groupId,
    topics: [topic],
    groupProtocol: protocol,
    ...(protocol === "classic" ? { assignors: ["range"] as const } : {}),
    autoOffsetReset: "earliest",
    autoCommitIntervalMs: 100,
    heartbeatIntervalMs: 200,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    onPartitionsAssigned: async (tps: TopicPartition[]) => {
      if (tps.length === 0) return;
      for (const c of await consumer.committed(tps)) assigned.set(c.partition, c.offset);
    },
    // Runs after the commit on revocation: that commit is what the broker has now.
    onPartitionsRevoked: async (tps: TopicPartition[]) => {
      if (tps.length === 0) return;
      member.revocations++;
      const committed = await consumer.committed(tps);
      for (const c of committed) {
        revokes.push({
          member: name,
          partition: c.partition,
          committed: c.offset,
          accepted: accepted.get(c.partition) ?? 0n,
          assigned: assigned.get(c.partition) ?? -1n,
        });
      }
    },
  });
  member.consumer = consumer;
  member.pipe = consumer.pipeTo(
    new WritableStream<ConsumerRecord>({
      async write(r) {
        await sleep(WRITE_MS);
        log.push({ member: name, partition: r.partition, offset: r.offset });
        if (r.offset + 1n > (accepted.get(r.partition) ?? 0n)) {
          accepted.set(r.partition, r.offset + 1n);
        }
      },
    }),
  ).catch((e) => {
    // close() ends the pipe: the stream closes (resolved) or the write in flight failed.
    if (!(e instanceof Error)) throw e;
  });
  return member;
}

/** Offsets accepted per partition, with how many times each. */
function counts(log: Accepted[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of log) {
    const k = `${a.partition}:${a.offset}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

type Stop = "B joins" | "B joins, then A closes";

async function cell(protocol: Protocol, stop: Stop, topic: string): Promise<void> {
  const groupId = uniq("pipe-rebalance");
  const log: Accepted[] = [];
  const revokes: Revoke[] = [];
  const seen = () => `${log.length} accepted, ${counts(log).size} distinct`;
  const a = join("A", protocol, groupId, topic, log, revokes);
  let b: Member | undefined;
  try {
    await deadline(
      until("A's first records", () => Promise.resolve(log.length >= 20 || undefined), 30_000, 10),
      seen,
      30_000,
    );
    b = join("B", protocol, groupId, topic, log, revokes);
    // The rebalance: B's destination gets records (A lost partitions mid-pipe).
    await until(
      "B's first records",
      () => Promise.resolve(log.some((x) => x.member === "B") || undefined),
      30_000,
      10,
    );
    assert.ok(counts(log).size < TOTAL, `A read everything before B joined: ${seen()}`);
    assert.ok(a.revocations > 0, "A was revoked mid-pipe");
    if (stop === "B joins, then A closes") await a.consumer.close();
    await until(
      "every record",
      () => Promise.resolve(counts(log).size === TOTAL || undefined),
      60_000,
      20,
    );
  } finally {
    await a.consumer.close();
    await b?.consumer.close();
  }
  await a.pipe;
  await b?.pipe;

  // Nothing lost.
  const accepted = counts(log);
  for (let p = 0; p < PARTITIONS; p++) {
    for (let o = 0; o < PER_PARTITION; o++) {
      assert.ok(accepted.has(`${p}:${o}`), `${p}:${o} never reached a destination`);
    }
  }
  // No revocation committed beyond what the revoked member's destination had accepted (or the
  // offset is still the one the member found: it committed nothing new of that partition).
  for (const r of revokes) {
    assert.ok(
      r.committed <= r.accepted || r.committed === r.assigned,
      `${r.member} committed ${r.partition}:${r.committed} having accepted up to ${r.accepted} ` +
        `(assigned at ${r.assigned})`,
    );
  }
  // Duplicates: the record in flight at a revocation, no more.
  const dups = [...accepted].filter(([, n]) => n > 1);
  let extra = 0;
  for (const [k, n] of dups) {
    extra += n - 1;
    const [p, o] = k.split(":").map(Number) as [number, number];
    assert.ok(
      revokes.some((r) => r.partition === p && r.committed === BigInt(o)),
      `${k} accepted ${n} times, not the record in flight at a revocation: ${
        JSON.stringify(revokes, (_, v) => typeof v === "bigint" ? `${v}` : v)
      }`,
    );
  }
  const revocations = a.revocations + (b?.revocations ?? 0);
  assert.ok(extra <= revocations, `${extra} duplicates, ${revocations} revocations`);
  // Both closed: every partition is committed to its end.
  await using check = new Consumer({ brokers: BOOTSTRAP, groupId });
  const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
  for (const c of await check.committed(tps)) {
    assert.equal(c.offset, BigInt(PER_PARTITION), `partition ${c.partition} committed`);
  }
  console.log(
    `  ${protocol}, ${stop}: ${log.length} accepted, ${extra} duplicates, ${revocations} ` +
      `revocations (A ${a.revocations}, B ${b?.revocations ?? 0})`,
  );
}

for (const protocol of ["classic", "consumer"] as const) {
  const name = `consumer pipe rebalance: ${protocol === "classic" ? "classic, eager" : "KIP-848"}`;
  Deno.test({
    name,
    ignore: protocol === "consumer" &&
      skipUnless(offer.consumerGroupProtocol, name, offer.why.consumerGroupProtocol),
    fn: async (t) => {
      for (const stop of ["B joins", "B joins, then A closes"] as const) {
        for (const [shape, topic] of Object.entries(SHAPES)) {
          await t.step(`${stop}, ${shape}`, () => cell(protocol, stop, topic));
        }
      }
    },
  });
}
