// Leader and coordinator moves on the three-node cluster: a request routed to a broker that
// no longer leads gets NOT_LEADER_OR_FOLLOWER (seen through the logger hook), the metadata is
// refreshed, and the request succeeds at the new leader. Also a stopped leader and group
// coordinator (always restarted in `finally`).
import assert from "node:assert/strict";
import { Admin } from "../../admin/mod.ts";
import { Cluster } from "../../cluster/cluster.ts";
import { Api } from "../../protocol/apis.ts";
import type { LogFields, Logger } from "../../protocol/logger.ts";
import { type Broker, trio, trioWanted } from "../helpers/broker.ts";

const uid = () => crypto.randomUUID().slice(0, 8);

function recorder() {
  const entries: { level: string; message: string; fields: LogFields }[] = [];
  const at = (level: string) => (message: string, fields: LogFields = {}) =>
    entries.push({ level, message, fields });
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
  return { logger, entries };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Waits until broker `node` itself reports `leader` for the partition (it has caught up). */
async function untilBrokerSees(t: Broker, node: number, topic: string, leader: number) {
  await using c = new Cluster({ brokers: t.bootstrap("PLAINTEXT") });
  await until(`broker ${node} to see leader ${leader}`, async () => {
    const md = await c.send({ node }, Api.Metadata, {
      topics: [{ name: topic, topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    });
    return md.topics[0]?.partitions[0]?.leaderId === leader ? true : undefined;
  });
}

/** Moves partition 0's leadership to `replicas[0]` by reordering replicas + preferred election. */
async function moveLeader(
  t: Broker,
  mover: Admin,
  topic: string,
  replicas: number[],
  { expectElection = true } = {},
) {
  await mover.alterPartitionReassignments([{ topic, partition: 0, replicas }]);
  await until("the reassignment to finish", async () => {
    const ongoing = await mover.listPartitionReassignments([{ topic, partition: 0 }]);
    return ongoing.length === 0 ? true : undefined;
  });
  const [r] = await mover.electLeaders("preferred", [{ topic, partition: 0 }]);
  // Only when the leader really changes is an election needed; the placement may already suit.
  if (expectElection) assert.equal(r!.electionNeeded, true);
  // The broker that answers may not have applied the reassignment yet: when the leader was
  // already `replicas[0]` (no election), only the replica order tells the new metadata apart.
  const d = await until("the new leader and replicas in metadata", async () => {
    const [x] = await mover.describeTopics([topic]);
    const p = x!.partitions[0]!;
    return p.leader === replicas[0] && p.replicas.join() === replicas.join() ? x : undefined;
  });
  assert.deepEqual(d.partitions[0]!.replicas, replicas);
  // Every broker must know, or the old leader might still answer as leader.
  for (const node of replicas) await untilBrokerSees(t, node, topic, replicas[0]!);
}

function notLeaderRetries(entries: { message: string; fields: LogFields }[], operation: string) {
  return entries.filter((e) =>
    e.message === "admin item failed, retrying" && e.fields.operation === operation &&
    e.fields.error === "NOT_LEADER_OR_FOLLOWER"
  );
}

Deno.test({
  name: "a routed request to a former leader is retried at the new one after a refresh",
  ignore: !trioWanted(),
  async fn() {
    const t = (await trio())!;
    const [a, b2, c] = [...t.nodeIds].sort((x, y) => x - y) as [number, number, number];
    await using mover = new Admin({ brokers: t.bootstrap("PLAINTEXT") });
    const { logger, entries } = recorder();
    await using admin = new Admin({ brokers: t.bootstrap("PLAINTEXT"), logger });
    const topic = `failover-${uid()}`;
    await mover.createTopic(topic, { assignments: [[a, b2, c]] });
    try {
      await until("a leader", async () => {
        const [d] = await mover.describeTopics([topic]);
        return d!.partitions[0]!.leader === a ? true : undefined;
      });
      // On a freshly started cluster a follower may not know the leader yet; wait for all.
      for (const node of [a, b2, c]) await untilBrokerSees(t, node, topic, a);
      // The admin learns leader `a` and keeps it cached.
      const [before] = await admin.listOffsets([{ topic, partition: 0, spec: "latest" }]);
      assert.equal(notLeaderRetries(entries, "listOffsets").length, 0);

      await moveLeader(t, mover, topic, [b2, c, a]);
      const started = performance.now();
      const [after] = await admin.listOffsets([{ topic, partition: 0, spec: "latest" }]);
      const listMs = performance.now() - started;
      assert.equal(after!.offset, before!.offset);
      const seen = notLeaderRetries(entries, "listOffsets");
      assert.equal(seen.length, 1, JSON.stringify(entries.slice(-10)));
      assert.equal(seen[0]!.fields.item, `${topic}-0`);

      // And back, this time through DeleteRecords.
      await moveLeader(t, mover, topic, [a, b2, c]);
      const started2 = performance.now();
      const [deleted] = await admin.deleteRecords([{ topic, partition: 0, offset: 0n }]);
      const deleteMs = performance.now() - started2;
      assert.equal(deleted!.lowWatermark, 0n);
      assert.equal(notLeaderRetries(entries, "deleteRecords").length, 1);
      console.log(
        `leader move: ListOffsets recovered in ${listMs.toFixed(0)} ms, ` +
          `DeleteRecords in ${deleteMs.toFixed(0)} ms (one NOT_LEADER_OR_FOLLOWER each)`,
      );
    } finally {
      await mover.deleteTopic(topic);
    }
  },
});

Deno.test({
  name: "a stopped leader and group coordinator: calls fail over to the new ones",
  ignore: !trioWanted(),
  async fn() {
    const t = (await trio())!;
    if (!t.managed) return;
    await using mover = new Admin({ brokers: t.bootstrap("PLAINTEXT") });
    const topic = `failover-stop-${uid()}`;
    const group = `failover-stop-${uid()}`;
    await mover.createTopic(topic, { numPartitions: 1, replicationFactor: 3 });
    await mover.alterGroupOffsets(group, [{ topic, partition: 0, offset: 0n }]);
    const coordinator = (await mover.describeGroup(group)).coordinator;
    const others = t.nodeIds.filter((n) => n !== coordinator);
    // Make the coordinator the partition's leader too, so stopping one node moves both.
    await moveLeader(t, mover, topic, [coordinator, ...others], { expectElection: false });
    const { logger, entries } = recorder();
    await using admin = new Admin({ brokers: t.bootstrap("PLAINTEXT"), logger });
    assert.equal((await admin.listGroupOffsets(group))[0]?.offset, 0n);
    await admin.listOffsets([{ topic, partition: 0, spec: "latest" }]);
    await t.stopNode(coordinator);
    let took = 0;
    try {
      const started = performance.now();
      const [offsets, listed] = await Promise.all([
        admin.listGroupOffsets(group),
        admin.listOffsets([{ topic, partition: 0, spec: "latest" }]),
      ]);
      took = performance.now() - started;
      assert.equal(offsets[0]?.offset, 0n);
      assert.equal(listed[0]?.offset, 0n);
      const [d] = await admin.describeTopics([topic]);
      assert.notEqual(d!.partitions[0]!.leader, coordinator);
      assert.notEqual((await admin.describeGroup(group)).coordinator, coordinator);
      assert.ok(
        entries.some((e) => e.message === "broker unreachable" || /retrying/.test(e.message)),
        "the failures were retried",
      );
    } finally {
      await t.startNode(coordinator);
    }
    console.log(`stopped leader + coordinator: calls recovered in ${took.toFixed(0)} ms`);
    await mover.deleteGroup(group).catch(() => {});
    await mover.deleteTopic(topic);
  },
});
