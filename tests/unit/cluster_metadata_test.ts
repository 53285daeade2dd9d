// The metadata cache: merging partial responses, dropping topics on full ones, per-topic
// errors, and refusing to go back to an older leader epoch (KIP-320).
import assert from "node:assert/strict";
import { MetadataCache, type MetadataPayload } from "../../cluster/metadata.ts";

type Topic = MetadataPayload["topics"][number];

function topic(name: string, leaders: number[], epoch = 0, topicId = `id-${name}`): Topic {
  return {
    errorCode: 0,
    name,
    topicId,
    isInternal: false,
    partitions: leaders.map((leaderId, partitionIndex) => ({
      errorCode: 0,
      partitionIndex,
      leaderId,
      leaderEpoch: epoch,
      replicaNodes: [1, 2, 3],
      isrNodes: [1, 2, 3],
      offlineReplicas: [],
    })),
  };
}

function payload(topics: Topic[], brokers = [1, 2, 3]): MetadataPayload {
  return {
    brokers: brokers.map((nodeId) => ({ nodeId, host: `h${nodeId}`, port: 9092, rack: null })),
    clusterId: "c1",
    controllerId: 2,
    topics,
  };
}

Deno.test("a full update sets brokers, cluster id, controller and topics", () => {
  const c = new MetadataCache();
  assert.equal(c.updatedAt, 0);
  const errors = c.update(payload([topic("a", [1, 2]), topic("b", [3])]), true);
  assert.equal(errors.size, 0);
  assert.ok(c.updatedAt > 0);
  assert.deepEqual(c.info(), {
    clusterId: "c1",
    controllerId: 2,
    brokers: [1, 2, 3].map((n) => ({ nodeId: n, host: `h${n}`, port: 9092, rack: null })),
  });
  assert.equal(c.partition("a", 1)?.leader, 2);
  assert.equal(c.partition("b", 0)?.leader, 3);
  assert.equal(c.partition("b", 1), undefined);
  assert.equal(c.partition("zzz", 0), undefined);
  assert.equal(c.topicName("id-a"), "a");
  assert.deepEqual(c.topics().map((t) => t.name).sort(), ["a", "b"]);
});

Deno.test("a partial update merges; a full one drops topics it does not list", () => {
  const c = new MetadataCache();
  c.update(payload([topic("a", [1]), topic("b", [1])]), true);
  c.update(payload([topic("b", [2])]), false);
  assert.equal(c.partition("a", 0)?.leader, 1, "a partial update must keep other topics");
  assert.equal(c.partition("b", 0)?.leader, 2);
  c.update(payload([topic("b", [2])]), true);
  assert.equal(c.topic("a"), undefined, "a full update drops absent topics");
  assert.equal(c.topicName("id-a"), undefined);
});

Deno.test("an update without brokers keeps the known brokers", () => {
  const c = new MetadataCache();
  c.update(payload([]), true);
  c.update(payload([], []), false);
  assert.equal(c.brokers().length, 3);
});

Deno.test("topic errors are reported; a topic with an error and no partitions is dropped", () => {
  const c = new MetadataCache();
  c.update(payload([topic("gone", [1])]), true);
  const errors = c.update(
    payload([
      { ...topic("gone", []), errorCode: 3 },
      { ...topic("creating", [-1]), errorCode: 5 },
    ]),
    false,
  );
  assert.deepEqual([...errors].sort(), [["creating", 5], ["gone", 3]]);
  assert.equal(c.topic("gone"), undefined);
  assert.equal(c.partition("creating", 0)?.leader, -1);
});

Deno.test("an older leader epoch from a lagging broker does not replace a newer one", () => {
  const c = new MetadataCache();
  c.update(payload([topic("t", [1, 1], 5)]), true);
  c.update(payload([topic("t", [2, 2], 4)]), false);
  assert.equal(c.partition("t", 0)?.leader, 1, "epoch 4 must not override epoch 5");
  assert.equal(c.partition("t", 0)?.leaderEpoch, 5);
  c.update(payload([topic("t", [3, 3], 6)]), true);
  assert.equal(c.partition("t", 1)?.leader, 3, "a newer epoch wins");
  // A deleted and recreated topic (new id) starts its epochs again.
  c.update(payload([topic("t", [2, 2], 0, "id-t-2")]), false);
  assert.equal(c.partition("t", 0)?.leader, 2);
  assert.equal(c.topicName("id-t-2"), "t");
});

Deno.test("forget drops one topic", () => {
  const c = new MetadataCache();
  c.update(payload([topic("a", [1]), topic("b", [1])]), true);
  c.forget("a");
  assert.equal(c.topic("a"), undefined);
  assert.equal(c.topicName("id-a"), undefined);
  assert.ok(c.topic("b"));
});

Deno.test("partitions listed out of order are found by index", () => {
  const c = new MetadataCache();
  const t = topic("t", [1, 2, 3]);
  c.update(payload([{ ...t, partitions: [...t.partitions].reverse() }]), true);
  assert.deepEqual(c.topic("t")?.partitions.map((p) => p.partition), [0, 1, 2]);
  assert.equal(c.partition("t", 2)?.leader, 3);
});
