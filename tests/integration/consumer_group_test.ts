/**
 * Consumer groups of our consumers against the real broker, with the classic protocol (an
 * eager and the cooperative assignor) and with KIP-848:
 * - three members share 12 partitions while members join and leave and records keep coming;
 *   ownership is tracked from the rebalance callbacks and checked at every event (never two
 *   owners), and no record is handed to a member that does not own its partition;
 * - with cooperative-sticky and KIP-848, a partition is only revoked to move elsewhere;
 * - no record is lost, and a restarted member resumes exactly at the committed offsets;
 * - static membership: a restart with the same group.instance.id causes no rebalance;
 * - a reader that stalls longer than the session timeout causes no rebalance (heartbeats are
 *   independent of reading).
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions, type TopicPartition } from "../../consumer/mod.ts";
import { UnsupportedFeatureError, UnsupportedVersionError } from "../../protocol/errors.ts";
import { consoleLogger } from "../../protocol/logger.ts";
import {
  addPartitions,
  BOOTSTRAP,
  createTopic,
  produce,
  text,
  uniq,
} from "../helpers/consumer_testkit.ts";
import { brokerOffer, skipUnless, testIf } from "../helpers/broker_offer.ts";

const PARTITIONS = 12;
const offer = await brokerOffer();

/** `Deno.test` options: KIP-848 tests skip, saying why, on a broker without the protocol. */
function only(protocol: "classic" | "consumer", name: string): { ignore: boolean } {
  return {
    ignore: protocol === "consumer" &&
      skipUnless(offer.consumerGroupProtocol, name, offer.why.consumerGroupProtocol),
  };
}

async function waitFor(
  cond: () => boolean,
  what: string,
  timeoutMs = 90_000,
  own?: Ownership,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (own && own.violations.length > 0) assert.deepEqual(own.violations, [], "two owners");
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ownership as the callbacks report it, checked at every event. */
class Ownership {
  readonly owner = new Map<number, string>();
  readonly violations: string[] = [];
  /** Partitions revoked from a member and given back to the same member (cooperative: bad). */
  readonly bounced: string[] = [];
  readonly #lastRevokedFrom = new Map<number, string>();
  events = 0;

  assigned(member: string, tps: TopicPartition[]): void {
    this.events++;
    for (const tp of tps) {
      const cur = this.owner.get(tp.partition);
      if (cur !== undefined) {
        this.violations.push(`${member} got ${tp.partition} while ${cur} owns it`);
      }
      if (this.#lastRevokedFrom.get(tp.partition) === member) {
        this.bounced.push(`${tp.partition} revoked from ${member} and given back`);
      }
      this.owner.set(tp.partition, member);
    }
  }

  revoked(member: string, tps: TopicPartition[]): void {
    this.events++;
    for (const tp of tps) {
      const cur = this.owner.get(tp.partition);
      if (cur !== member) {
        this.violations.push(`${member} gave up ${tp.partition}, owned by ${cur ?? "nobody"}`);
      }
      this.owner.delete(tp.partition);
      this.#lastRevokedFrom.set(tp.partition, member);
    }
  }

  count(member: string): number {
    let n = 0;
    for (const m of this.owner.values()) if (m === member) n++;
    return n;
  }
}

interface Member {
  name: string;
  consumer: Consumer;
  reading: Promise<void>;
}

interface Scenario {
  protocol: "classic" | "consumer";
  assignor?: "range" | "cooperative-sticky";
  /** Whether a partition may only be revoked to move to another member. */
  incremental: boolean;
}

function groupOptions(s: Scenario, groupId: string, topic: string): ConsumerOptions {
  return {
    brokers: BOOTSTRAP,
    groupId,
    topics: [topic],
    groupProtocol: s.protocol,
    ...(s.assignor ? { assignors: [s.assignor] } : {}),
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 20_000,
    autoCommitIntervalMs: 500,
    maxBufferedBytes: 1 << 20,
    ...(Deno.env.get("CLOG") ? { logger: consoleLogger("info") } : {}),
  };
}

async function runGroup(s: Scenario): Promise<void> {
  const topic = uniq(`group-${s.protocol}`);
  const groupId = uniq("g");
  await createTopic(topic, PARTITIONS);
  const produced = new Array<number>(PARTITIONS).fill(0);
  const write = async (perPartition: number) => {
    await Promise.all(produced.map(async (_, p) => {
      const records = Array.from({ length: perPartition }, (_, i) => ({
        key: `k${p}`,
        value: `${p}:${produced[p]! + i}`,
      }));
      await produce(topic, p, records);
      produced[p]! += perPartition;
    }));
  };
  await write(100);

  const own = new Ownership();
  const received = new Map<number, Set<bigint>>();
  const strayReads: string[] = [];
  const lostEvents: string[] = [];
  const members: Member[] = [];
  const start = (name: string): Member => {
    const consumer = new Consumer({
      ...groupOptions(s, groupId, topic),
      onPartitionsAssigned: (tps) => own.assigned(name, tps),
      onPartitionsRevoked: (tps) => own.revoked(name, tps),
      onPartitionsLost: (tps) => {
        lostEvents.push(`${name} lost ${tps.map((t) => t.partition)}`);
        own.revoked(name, tps);
      },
    });
    const reading = (async () => {
      for await (const r of consumer) {
        if (own.owner.get(r.partition) !== name) {
          strayReads.push(`${name} read ${r.partition}@${r.offset}`);
        }
        let set = received.get(r.partition);
        if (!set) received.set(r.partition, set = new Set());
        set.add(r.offset);
        // A reader slower than the fetcher: data is buffered ahead when partitions move.
        if (r.offset % 10n === 0n) await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const m = { name, consumer, reading };
    members.push(m);
    return m;
  };
  const stop = async (m: Member) => {
    await m.consumer.close();
    await m.reading;
    members.splice(members.indexOf(m), 1);
  };
  const balanced = () => {
    const total = [...own.owner.keys()].length;
    if (total !== PARTITIONS) return false;
    const lo = Math.floor(PARTITIONS / members.length);
    return members.every((m) => own.count(m.name) >= lo && own.count(m.name) <= lo + 1);
  };

  // Records keep coming while members join and leave.
  let producing = true;
  const producer = (async () => {
    while (producing) {
      await write(10);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    const a = start("A");
    await waitFor(balanced, "A to own everything", 90_000, own);
    start("B");
    await waitFor(balanced, "A and B to share", 90_000, own);
    start("C");
    await waitFor(balanced, "three members to share", 90_000, own);
    await stop(a);
    await waitFor(balanced, "B and C to take over A's partitions", 90_000, own);
    start("D");
    await waitFor(balanced, "B, C and D to share", 90_000, own);
    producing = false;
    await producer;
    const all = () => produced.every((n, p) => (received.get(p)?.size ?? 0) === n);
    await waitFor(all, "every record to be read", 90_000, own);
    // Let auto-commit run, then stop everyone (close commits too).
    for (const m of [...members]) await stop(m);
  } finally {
    producing = false;
    await producer.catch(() => {});
    for (const m of [...members]) await stop(m).catch(() => {});
  }

  assert.deepEqual(own.violations, [], "a partition had two owners");
  // A member never loses partitions here (it would be fenced or expired) ...
  assert.deepEqual(lostEvents, [], "partitions were lost");
  // ... so no record is handed to a member after its partition was revoked.
  assert.deepEqual(strayReads, [], "a member read a partition it did not own");
  if (s.incremental) assert.deepEqual(own.bounced, [], "a partition that stayed was revoked");
  for (let p = 0; p < PARTITIONS; p++) {
    for (let o = 0n; o < BigInt(produced[p]!); o++) {
      assert.ok(received.get(p)?.has(o), `record ${p}@${o} was lost`);
    }
  }

  // A restarted member resumes exactly where the group committed.
  const e = new Consumer(groupOptions(s, groupId, topic));
  try {
    const committed = await e.committed(
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
    );
    assert.deepEqual(committed.map((c) => c.offset), produced.map((n) => BigInt(n)));
    await write(5);
    const firsts = new Map<number, bigint>();
    let n = 0;
    for await (const r of e) {
      if (!firsts.has(r.partition)) firsts.set(r.partition, r.offset);
      if (++n === PARTITIONS * 5) break;
    }
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(firsts.get(p), BigInt(produced[p]! - 5), `partition ${p} resumed elsewhere`);
    }
  } finally {
    await e.close();
  }
}

Deno.test("group: three classic members, cooperative-sticky", async () => {
  await runGroup({ protocol: "classic", assignor: "cooperative-sticky", incremental: true });
});

Deno.test("group: three classic members, range (eager)", async () => {
  await runGroup({ protocol: "classic", assignor: "range", incremental: false });
});

const KIP848_MEMBERS = "group: three KIP-848 members";
Deno.test(KIP848_MEMBERS, only("consumer", KIP848_MEMBERS), async () => {
  await runGroup({ protocol: "consumer", incremental: true });
});

for (const protocol of ["classic", "consumer"] as const) {
  const name1 = `group (${protocol}): a static member restarts without a rebalance`;
  Deno.test(name1, only(protocol, name1), async () => {
    const topic = uniq("static");
    const groupId = uniq("g");
    await createTopic(topic, 4);
    const opts = (instance: string): ConsumerOptions => ({
      ...groupOptions({ protocol, incremental: true }, groupId, topic),
      groupInstanceId: instance,
      sessionTimeoutMs: 20_000,
    });
    const assignments: string[] = [];
    const track = (name: string) => ({
      onPartitionsAssigned: (tps: TopicPartition[]) => {
        assignments.push(`${name}+${tps.map((t) => t.partition).join(",")}`);
      },
    });
    const a = new Consumer({ ...opts("a"), ...track("a") });
    const b = new Consumer({ ...opts("b"), ...track("b") });
    const readers = [a, b].map((c) => c.pipeTo(new WritableStream()).catch(() => {}));
    try {
      await waitFor(() => a.assignment().length === 2 && b.assignment().length === 2, "a split");
      const generation = a.groupMetadata().generationId;
      const bParts = b.assignment().map((t) => t.partition).sort();
      await b.close(); // a static member does not leave the group on close
      await readers[1];
      const b2 = new Consumer({ ...opts("b"), ...track("b2") });
      const r2 = b2.pipeTo(new WritableStream()).catch(() => {});
      try {
        await waitFor(() => b2.assignment().length === 2, "b's restart to get its partitions");
        assert.deepEqual(b2.assignment().map((t) => t.partition).sort(), bParts);
        // a saw no rebalance: same generation (classic) or epoch (KIP-848), same partitions.
        assert.equal(a.groupMetadata().generationId, generation);
        assert.equal(assignments.filter((x) => x.startsWith("a+")).length, 1);
      } finally {
        await b2.close();
        await r2;
      }
    } finally {
      await a.close();
      await b.close();
      await Promise.all(readers);
    }
  });
}

Deno.test("group: a reader stalled beyond the session timeout causes no rebalance", async () => {
  const topic = uniq("stall");
  const groupId = uniq("g");
  await createTopic(topic, 2);
  await produce(topic, 0, Array.from({ length: 50 }, (_, i) => ({ value: `${i}` })));
  let assignedEvents = 0;
  let revokedEvents = 0;
  const c = new Consumer({
    ...groupOptions({ protocol: "classic", incremental: true }, groupId, topic),
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    onPartitionsAssigned: () => void assignedEvents++,
    onPartitionsRevoked: () => void revokedEvents++,
  });
  try {
    const reader = c.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    const generation = c.groupMetadata().generationId;
    // Stall: take nothing for twice the session timeout.
    await new Promise((r) => setTimeout(r, 12_000));
    const next = await reader.read();
    assert.equal(next.done, false);
    assert.equal(next.value!.offset, first.value!.offset + 1n);
    assert.equal(c.groupMetadata().generationId, generation);
    assert.equal(assignedEvents, 1);
    assert.equal(revokedEvents, 0);
    reader.releaseLock();
  } finally {
    await c.close();
  }
});

for (const protocol of ["classic", "consumer"] as const) {
  const name2 = `group (${protocol}): a pattern subscription picks up new topics and partitions`;
  Deno.test(name2, only(protocol, name2), async () => {
    const prefix = uniq("rx");
    const groupId = uniq("g");
    await createTopic(`${prefix}-a`, 2);
    await createTopic(uniq("other"), 1); // not matched
    const seen = new Set<string>();
    const c = new Consumer({
      ...groupOptions({ protocol, incremental: true }, groupId, "unused"),
      topics: new RegExp(`^${prefix}-`),
      metadataMaxAgeMs: 1_000,
    });
    const reading = (async () => {
      for await (const r of c) seen.add(`${r.topic}/${r.partition}`);
    })();
    try {
      await produce(`${prefix}-a`, 0, [{ value: "a0" }]);
      await waitFor(() => seen.has(`${prefix}-a/0`), "the first topic");
      // A new matching topic, and a new partition of the first one.
      await createTopic(`${prefix}-b`, 1);
      await addPartitions(`${prefix}-a`, 3);
      await waitFor(
        () => c.assignment().length === 4,
        "the new topic and partition to be assigned",
      );
      await produce(`${prefix}-b`, 0, [{ value: "b0" }]);
      await produce(`${prefix}-a`, 2, [{ value: "a2" }]);
      await waitFor(
        () => seen.has(`${prefix}-b/0`) && seen.has(`${prefix}-a/2`),
        "records of the new topic and partition",
      );
      assert.ok([...seen].every((s) => s.startsWith(prefix)));
    } finally {
      await c.close();
      await reading;
    }
  });
}

for (const protocol of ["classic", "consumer"] as const) {
  const name3 = `group (${protocol}): breaking out of the loop leaves the group at once`;
  Deno.test(name3, only(protocol, name3), async () => {
    const topic = uniq("leave");
    const groupId = uniq("g");
    await createTopic(topic, 2);
    await produce(topic, 0, [{ value: "x" }]);
    // A long session: only a LeaveGroup (or leave heartbeat) lets B take over quickly.
    const opts = {
      ...groupOptions({ protocol, incremental: true }, groupId, topic),
      sessionTimeoutMs: 45_000,
    };
    const a = new Consumer(opts);
    for await (const _ of a) break; // cancel: commits, revokes, leaves
    const b = new Consumer(opts);
    const reading = b.pipeTo(new WritableStream()).catch(() => {});
    try {
      const started = Date.now();
      await waitFor(() => b.assignment().length === 2, "B to get both partitions", 30_000);
      assert.ok(Date.now() - started < 30_000);
    } finally {
      await b.close();
      await reading;
    }
  });

  const name4 = `group (${protocol}): a revocation callback can commit what was processed`;
  Deno.test(name4, only(protocol, name4), async () => {
    const topic = uniq("revoke-commit");
    const groupId = uniq("g");
    await createTopic(topic, 2);
    for (const p of [0, 1]) {
      await produce(topic, p, Array.from({ length: 50 }, (_, i) => ({ value: `${i}` })), {
        batchSize: 10,
      });
    }
    const processed = new Map<number, bigint>();
    const opts = {
      ...groupOptions({ protocol, incremental: true }, groupId, topic),
      autoCommit: false,
    };
    const a: Consumer = new Consumer({
      ...opts,
      onPartitionsRevoked: async (tps) => {
        // Commit exactly what was processed, before the partitions move.
        await a.commit(
          tps.filter((tp) => processed.has(tp.partition)).map((tp) => ({
            ...tp,
            offset: processed.get(tp.partition)! + 1n,
          })),
        );
      },
    });
    const reader = a.getReader();
    for (let i = 0; i < 30; i++) {
      const { value } = await reader.read();
      processed.set(value!.partition, value!.offset);
    }
    reader.releaseLock();
    await a.close(); // revokes everything: the callback commits
    const b = new Consumer(opts);
    try {
      const committed = await b.committed([{ topic, partition: 0 }, { topic, partition: 1 }]);
      for (const c of committed) {
        const done = processed.get(c.partition);
        assert.equal(c.offset, done === undefined ? -1n : done + 1n);
      }
    } finally {
      await b.close();
    }
  });
}

for (const protocol of ["classic", "consumer"] as const) {
  const name5 = `group (${protocol}): a subscribed topic created later is picked up`;
  Deno.test(name5, only(protocol, name5), async () => {
    const topic = uniq("later");
    const c = new Consumer({
      ...groupOptions({ protocol, incremental: true }, uniq("g"), topic),
      metadataMaxAgeMs: 1_000,
    });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const r of c) seen.push(`${r.partition}:${text(r.value)}`);
    })();
    try {
      await new Promise((r) => setTimeout(r, 1_500)); // joined, with nothing to read
      await createTopic(topic, 2);
      await waitFor(() => c.assignment().length === 2, "the new topic's partitions");
      await produce(topic, 1, [{ value: "hello" }]);
      await waitFor(() => seen.includes("1:hello"), "its record");
    } finally {
      await c.close();
      await reading;
    }
  });
}

testIf(
  !offer.consumerGroupProtocol,
  `Kafka ${offer.version} offers KIP-848; this test is for brokers without it`,
  "group (consumer): a broker without KIP-848 fails the stream at once with UnsupportedFeatureError",
  async () => {
    const topic = uniq("no848");
    await createTopic(topic, 1);
    const c = new Consumer(
      groupOptions({ protocol: "consumer", incremental: true }, uniq("g"), topic),
    );
    const t0 = Date.now();
    try {
      await assert.rejects(c.pipeTo(new WritableStream()), (e: unknown) => {
        assert.ok(e instanceof UnsupportedFeatureError, `${e}`);
        assert.ok(e instanceof UnsupportedVersionError);
        assert.match(e.message, /consumer group protocol \(KIP-848\)/);
        assert.match(e.message, /groupProtocol: "classic"/);
        return true;
      });
      // At once: the first heartbeat, not after retries up to a deadline.
      assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    } finally {
      await c.close();
    }
  },
);
