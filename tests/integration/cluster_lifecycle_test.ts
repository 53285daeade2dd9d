// The cluster layer against the real broker: bootstrap past dead addresses, typed failures
// when nothing answers, AbortSignal and close() ending calls at once, no leaked sockets or
// timers over many clients, connection lanes keeping metadata off a long poll's socket,
// periodic metadata refresh, coordinator and controller lookup.
import assert from "node:assert/strict";
import { Admin } from "../../admin/mod.ts";
import { Cluster } from "../../cluster/cluster.ts";
import { Api } from "../../protocol/apis.ts";
import { ClosedError, ConnectionError, KafkaError, TimeoutError } from "../../protocol/errors.ts";
import type { LogFields, Logger } from "../../protocol/logger.ts";
import { broker } from "../helpers/broker.ts";

const b = await broker();
const uid = () => crypto.randomUUID().slice(0, 8);
const DEAD = ["127.0.0.1:1", "127.0.0.1:2"];

function recorder(): {
  logger: Logger;
  entries: { level: string; message: string; fields: LogFields }[];
} {
  const entries: { level: string; message: string; fields: LogFields }[] = [];
  const at = (level: string) => (message: string, fields: LogFields = {}) =>
    entries.push({ level, message, fields });
  return {
    entries,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

Deno.test("bootstrap goes past dead addresses to the next one", async () => {
  const { logger, entries } = recorder();
  await using admin = new Admin({ brokers: [...DEAD, ...b.bootstrap("PLAINTEXT")], logger });
  const c = await admin.describeCluster();
  assert.ok(c.brokers.length >= 1);
  assert.ok(c.clusterId.length > 0);
  const unreachable = entries.filter((e) => e.message === "broker unreachable")
    .map((e) => e.fields.broker);
  assert.deepEqual(unreachable, DEAD);

  await using cluster = new Cluster({ brokers: [DEAD[0]!, ...b.bootstrap("PLAINTEXT")] });
  await cluster.refreshMetadata(null);
  assert.equal(cluster.info().clusterId, c.clusterId);
  assert.deepEqual(
    cluster.info().brokers.map((x) => x.nodeId).sort(),
    c.brokers.map((x) => x.nodeId),
  );
  // KRaft: Metadata names some live broker as the "controller"; it is one of the brokers.
  const controller = await cluster.controller();
  assert.ok(c.brokers.some((x) => x.nodeId === controller));
});

Deno.test("with every address dead, calls fail with a typed error within the deadline", async () => {
  await using admin = new Admin({
    brokers: DEAD,
    retry: { deadlineMs: 1_500, initialBackoffMs: 50 },
  });
  const e = await admin.listTopics().catch((x) => x);
  assert.ok(e instanceof ConnectionError || e instanceof TimeoutError, String(e));
  assert.ok(e instanceof KafkaError && e.retriable);
  const e2 = await admin.describeCluster({ timeoutMs: 300 }).catch((x) => x);
  assert.ok(e2 instanceof KafkaError, String(e2));
});

Deno.test("an AbortSignal ends a call at once, before or during it", async () => {
  await using admin = new Admin({ brokers: DEAD, retry: { deadlineMs: 600_000 } });
  await assert.rejects(
    admin.listTopics({ signal: AbortSignal.abort() }),
    (e) => (e as Error).name === "AbortError",
  );
  const c = new AbortController();
  const reason = new KafkaError("user gave up");
  const call = admin.describeTopics(["x"], { signal: c.signal });
  setTimeout(() => c.abort(reason), 200);
  await assert.rejects(call, (e) => e === reason);
});

Deno.test("close() ends calls in progress with ClosedError, and later calls too", async () => {
  const admin = new Admin({ brokers: DEAD, retry: { deadlineMs: 600_000 } });
  const pending = admin.describeCluster();
  await new Promise((r) => setTimeout(r, 200));
  await admin.close();
  await assert.rejects(pending, ClosedError);
  await assert.rejects(admin.listTopics(), ClosedError);
  await admin.close(); // twice is fine
});

function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

Deno.test("many admins opened, used and closed leak no socket or timer", async () => {
  const bootstrap = b.bootstrap("PLAINTEXT");
  // Warm up lazily-opened runtime resources before counting.
  {
    await using admin = new Admin({ brokers: bootstrap });
    await admin.describeCluster();
  }
  const before = openFds();
  for (let i = 0; i < 25; i++) {
    await using admin = new Admin({ brokers: bootstrap, metadataMaxAgeMs: 50 });
    await admin.describeCluster();
    await admin.listTopics();
    if (i % 5 === 0) await admin.listGroups();
  }
  assert.equal(openFds(), before, "file descriptors were leaked");
  // Deno's op and resource sanitizers (on by default) check the timers and sockets too.
});

Deno.test("lanes: a long poll on one lane does not hold up metadata on another", async () => {
  await using admin = new Admin({ brokers: b.bootstrap("PLAINTEXT") });
  const topic = `lane-${uid()}`;
  const { topicId } = await admin.createTopic(topic, { numPartitions: 1 });
  await using cluster = new Cluster({ brokers: b.bootstrap("PLAINTEXT") });
  try {
    await cluster.refreshMetadata([topic]);
    const leader = await cluster.leaderOf(topic, 0);
    const fetchConn = await cluster.connectToNode(leader, "fetch");
    const defaultConn = await cluster.connectToNode(leader);
    assert.notEqual(fetchConn, defaultConn, "one connection per lane");
    assert.equal(await cluster.connectToNode(leader, "fetch"), fetchConn, "lanes are pooled");
    const longPoll = (conn: typeof fetchConn) =>
      conn.request(Api.Fetch, {
        maxWaitMs: 2_000,
        minBytes: 1,
        topics: [{
          topicId,
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }],
        }],
      }, { version: Math.max(13, fetchConn.versionFor(Api.Fetch)) });

    const order: string[] = [];
    const poll = longPoll(fetchConn).then(() => order.push("fetch"));
    await cluster.send({ node: leader }, Api.Metadata, { topics: [] });
    order.push("metadata");
    await poll;
    assert.deepEqual(order, ["metadata", "fetch"], "metadata waited behind the long poll");

    // On one shared socket Kafka answers in order: the same request waits behind the poll.
    const shared: string[] = [];
    const poll2 = longPoll(fetchConn).then(() => shared.push("fetch"));
    await fetchConn.request(Api.Metadata, { topics: [] });
    shared.push("metadata");
    await poll2;
    assert.deepEqual(shared, ["fetch", "metadata"]);
  } finally {
    await admin.deleteTopic(topic);
  }
});

Deno.test("liveConnection: the open connection connectToNode resolves with, else undefined", async () => {
  await using cluster = new Cluster({ brokers: b.bootstrap("PLAINTEXT") });
  await cluster.refreshMetadata([]);
  const node = cluster.info().brokers[0]!.nodeId;
  assert.equal(cluster.liveConnection(node, "produce"), undefined, "none opened yet");
  assert.equal(cluster.liveConnection(-5, "produce"), undefined, "not in the metadata");
  const produce = await cluster.connectToNode(node, "produce");
  assert.equal(cluster.liveConnection(node, "produce"), produce);
  assert.equal(cluster.liveConnection(node, "produce"), produce, "again, from its cached key");
  assert.equal(cluster.liveConnection(node, "commit"), undefined, "another lane's is its own");
  await produce.close();
  assert.equal(cluster.liveConnection(node, "produce"), undefined, "closed");
  const reopened = await cluster.connectToNode(node, "produce");
  assert.notEqual(reopened, produce);
  assert.equal(cluster.liveConnection(node, "produce"), reopened);

  // Under maxConnectionsPerBroker a lane past the budget shares the default connection.
  await using budgeted = new Cluster({
    brokers: b.bootstrap("PLAINTEXT"),
    maxConnectionsPerBroker: 1,
  });
  await budgeted.refreshMetadata([]);
  const shared = await budgeted.connectToNode(node, "produce");
  assert.equal(shared, await budgeted.connectToNode(node));
  assert.equal(budgeted.liveConnection(node, "produce"), shared);
  assert.equal(budgeted.liveConnection(node, "fetch"), shared);
  await budgeted.close();
  assert.equal(budgeted.liveConnection(node, "produce"), undefined, "client closed");
});

Deno.test("metadata is refreshed periodically for the topics of interest", async () => {
  await using admin = new Admin({ brokers: b.bootstrap("PLAINTEXT") });
  const topic = `periodic-${uid()}`;
  await using cluster = new Cluster({ brokers: b.bootstrap("PLAINTEXT"), metadataMaxAgeMs: 100 });
  try {
    await cluster.refreshMetadata([]);
    cluster.addInterest([topic]);
    assert.equal(cluster.metadata.topic(topic), undefined);
    await admin.createTopic(topic, { numPartitions: 2 });
    const end = Date.now() + 15_000;
    while (!cluster.metadata.topic(topic) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(cluster.metadata.topic(topic)?.partitions.length, 2, "no periodic refresh");
    await admin.growTopic(topic, 3);
    while (cluster.metadata.topic(topic)?.partitions.length !== 3 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(cluster.metadata.topic(topic)?.partitions.length, 3);
  } finally {
    await admin.deleteTopic(topic);
  }
});

Deno.test("coordinators are looked up once and cached until forgotten", async () => {
  await using admin = new Admin({ brokers: b.bootstrap("PLAINTEXT") });
  const topic = `coord-${uid()}`;
  const group = `coord-${uid()}`;
  await admin.createTopic(topic);
  await using cluster = new Cluster({ brokers: b.bootstrap("PLAINTEXT") });
  try {
    await admin.alterGroupOffsets(group, [{ topic, partition: 0, offset: 0n }]);
    const first = await cluster.coordinator("group", group);
    assert.equal(await cluster.coordinator("group", group), first, "cached");
    assert.equal(first.nodeId, (await admin.describeGroup(group)).coordinator);
    cluster.forgetCoordinator("group", group);
    const again = await cluster.coordinator("group", group);
    assert.notEqual(again, first, "looked up again");
    assert.equal(again.nodeId, first.nodeId);
    const res = await cluster.sendToCoordinator("group", group, Api.DescribeGroups, {
      groups: [group],
    });
    assert.equal(res.groups[0]?.groupState, "Empty");
  } finally {
    await admin.deleteGroup(group).catch(() => {});
    await admin.deleteTopic(topic);
  }
});
