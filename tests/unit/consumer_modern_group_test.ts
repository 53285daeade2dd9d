/**
 * The KIP-848 member against a scripted coordinator (no broker): commits stay correct when the
 * member epoch moves or the member is fenced.
 * - STALE_MEMBER_EPOCH on a commit: the commit is retried with the epoch of the next heartbeat
 *   and succeeds; the offsets are never dropped (the @platformatic bug skips them).
 * - Fenced (FENCED_MEMBER_EPOCH): the partitions are lost, not committed; the member rejoins
 *   at epoch 0; a commit for a partition it no longer owns is not sent with a stale identity.
 */

import assert from "node:assert/strict";
import type { Cluster } from "../../cluster/cluster.ts";
import { retryPolicy } from "../../cluster/retry.ts";
import { ModernGroup } from "../../consumer/modern_group.ts";
import { resolveConsumerOptions } from "../../consumer/options.ts";
import type { TopicPartition } from "../../consumer/types.ts";
import { Api } from "../../protocol/apis.ts";
import { silentLogger } from "../../protocol/logger.ts";

const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

/** A scripted group coordinator speaking ConsumerGroupHeartbeat and OffsetCommit. */
class FakeCoordinator {
  epoch = 1;
  /** The epoch the member was told about last. */
  told = 0;
  fenceNext = false;
  heartbeats: { memberEpoch: number; owned: number[] | null }[] = [];
  commits: { epoch: number; offsets: bigint[] }[] = [];
  committed = new Map<number, bigint>();

  request(api: unknown, body: Record<string, unknown>): Promise<unknown> {
    if (api === Api.ConsumerGroupHeartbeat) {
      const tps = body.topicPartitions as { partitions: number[] }[] | null;
      this.heartbeats.push({
        memberEpoch: body.memberEpoch as number,
        owned: tps ? tps.flatMap((t) => t.partitions) : null,
      });
      if ((body.memberEpoch as number) < 0) return Promise.resolve(this.#hb(0, null));
      if (this.fenceNext) {
        this.fenceNext = false;
        return Promise.resolve({ ...this.#hb(0, null), errorCode: 110 });
      }
      const first = this.told === 0 || (body.memberEpoch as number) === 0;
      this.told = this.epoch;
      return Promise.resolve(
        this.#hb(
          this.epoch,
          first ? { topicPartitions: [{ topicId: TOPIC_ID, partitions: [0, 1] }] } : null,
        ),
      );
    }
    if (api === Api.OffsetCommit) {
      const epoch = body.generationIdOrMemberEpoch as number;
      const topics = body.topics as {
        partitions: { partitionIndex: number; committedOffset: bigint }[];
      }[];
      const parts = topics.flatMap((t) => t.partitions);
      this.commits.push({ epoch, offsets: parts.map((p) => p.committedOffset) });
      const code = epoch === this.epoch ? 0 : 113; // STALE_MEMBER_EPOCH
      if (code === 0) {
        for (const p of parts) this.committed.set(p.partitionIndex, p.committedOffset);
      }
      return Promise.resolve({
        throttleTimeMs: 0,
        topics: topics.map((t) => ({
          name: "",
          topicId: TOPIC_ID,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: code,
          })),
        })),
      });
    }
    throw new Error(`unexpected request ${String((api as { name: string }).name)}`);
  }

  #hb(epoch: number, assignment: unknown) {
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      memberId: "m-1",
      memberEpoch: epoch,
      heartbeatIntervalMs: 50,
      assignment,
    };
  }
}

function fakeCluster(coord: FakeCoordinator): Cluster {
  const conn = {
    versionFor: (api: unknown) => (api === Api.OffsetCommit ? 10 : 1),
    request: (api: unknown, body: Record<string, unknown>) => coord.request(api, body),
  };
  const stub = {
    retryPolicy: retryPolicy({ initialBackoffMs: 5, deadlineMs: 5_000 }),
    logger: silentLogger,
    metadata: {
      topic: (name: string) => (name === "t" ? { topicId: TOPIC_ID } : undefined),
      topicName: (id: string) => (id === TOPIC_ID ? "t" : undefined),
    },
    coordinator: () => Promise.resolve({ nodeId: 1, host: "fake", port: 1, rack: null }),
    connectTo: () => Promise.resolve(conn),
    forgetCoordinator: () => {},
    refreshMetadata: () => Promise.resolve(new Map()),
    retry: <T>(fn: (attempt: number, signal: AbortSignal) => Promise<T>) =>
      fn(1, new AbortController().signal),
    sendToCoordinator: (_t: string, _k: string, api: unknown, body: Record<string, unknown>) =>
      coord.request(api, body),
  };
  return stub as unknown as Cluster;
}

function setup() {
  const coord = new FakeCoordinator();
  const events: string[] = [];
  const owned = new Set<number>();
  const options = resolveConsumerOptions({
    brokers: ["fake:1"],
    groupId: "g",
    topics: ["t"],
    groupProtocol: "consumer",
  });
  const group = new ModernGroup(fakeCluster(coord), options, {
    logger: silentLogger,
    resolveSubscription: () => Promise.resolve(["t"]),
    assigned: (tps: TopicPartition[]) => {
      for (const tp of tps) owned.add(tp.partition);
      events.push(`assigned ${tps.map((t) => t.partition)}`);
      return Promise.resolve();
    },
    revoked: (tps: TopicPartition[], lost: boolean) => {
      for (const tp of tps) owned.delete(tp.partition);
      events.push(`${lost ? "lost" : "revoked"} ${tps.map((t) => t.partition)}`);
      return Promise.resolve();
    },
    fail: (e: unknown) => events.push(`failed ${(e as Error).message}`),
  });
  return { coord, events, owned, group };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), "condition not reached");
}

Deno.test("KIP-848: a commit with a stale member epoch is retried with the new one", async () => {
  const { coord, events, owned, group } = setup();
  group.start();
  try {
    await until(() => owned.size === 2);
    assert.equal(group.metadata().generationId, 1);
    // The coordinator moves the member to epoch 2; the member has not heard yet.
    coord.epoch = 2;
    await group.commit([
      { topic: "t", partition: 0, offset: 10n },
      { topic: "t", partition: 1, offset: 20n },
    ]);
    assert.deepEqual(coord.commits.map((c) => c.epoch), [1, 2]);
    assert.deepEqual(coord.commits[1]!.offsets, [10n, 20n]);
    assert.equal(coord.committed.get(0), 10n);
    assert.equal(coord.committed.get(1), 20n);
    assert.equal(group.metadata().generationId, 2);
    assert.deepEqual(events, ["assigned 0,1"]);
  } finally {
    await group.close(true);
  }
});

Deno.test("KIP-848: fencing loses the partitions (no commit) and rejoins at epoch 0", async () => {
  const { coord, events, owned, group } = setup();
  group.start();
  try {
    await until(() => owned.size === 2);
    coord.fenceNext = true;
    await until(() => events.includes("lost 0,1"));
    // Rejoined with epoch 0 and no owned partitions, then given them again.
    await until(() => owned.size === 2 && events.length === 3);
    assert.deepEqual(events, ["assigned 0,1", "lost 0,1", "assigned 0,1"]);
    const rejoin = coord.heartbeats.find((h, i) => i > 0 && h.memberEpoch === 0)!;
    assert.deepEqual(rejoin.owned, []);
    assert.equal(coord.commits.length, 0, "nothing committed for lost partitions");
    // Commits work again with the current epoch.
    await group.commit([{ topic: "t", partition: 0, offset: 5n }]);
    assert.equal(coord.committed.get(0), 5n);
  } finally {
    await group.close(true);
  }
});
