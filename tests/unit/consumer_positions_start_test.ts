// Copyright the @denokafka/kafka authors. MIT license.
/**
 * The resolver's first pass at the consumer's start (`run(signal, { metadataFresh: true })`,
 * bench/PROFILE.md Session 16): it takes leaders from the metadata the start just fetched.
 * What that refresh reported must still reach the user as before, and a partition missing
 * from the cache must be looked up again without a busy loop.
 */
import assert from "node:assert/strict";
import { resolveConsumerOptions } from "../../consumer/options.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import { Positions, type PositionsHost } from "../../consumer/positions.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { FakeCluster } from "../helpers/fake_cluster.ts";
import { until } from "../helpers/wait.ts";

// A backoff long enough to tell "at once" from "after a backoff"; a grace of one second.
const RETRY = { initialBackoffMs: 200, maxBackoffMs: 200, jitter: 0, deadlineMs: 1_000 };

/** The consumer's start: refresh, then the resolver over `states` (assigned by hand). */
async function start(cluster: FakeCluster, states: PartitionState[]) {
  const failed: unknown[] = [];
  const host: PositionsHost = {
    partitions: () => states,
    manual: true,
    evict: () => {},
    changed: () => {},
    fail: (e) => void failed.push(e),
  };
  const options = resolveConsumerOptions({ brokers: ["fake-1:9001"] });
  const positions = new Positions(cluster, options, host);
  const abort = new AbortController();
  await cluster.refreshMetadata([...new Set(states.map((s) => s.topic))]);
  const loop = positions.run(abort.signal, { metadataFresh: true });
  return {
    failed,
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

function at(topic: string, partition: number, offset: bigint): PartitionState {
  const s = new PartitionState(topic, partition);
  s.startAt(offset, -1);
  return s;
}

Deno.test("positions at start: a topic the refresh was denied fails at once, typed", async () => {
  await using cluster = new FakeCluster(1, { retry: RETRY });
  cluster.on("Metadata", (req) => {
    const body = cluster.metadataAnswer(req) as { topics: { errorCode: number }[] };
    for (const t of body.topics) t.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    return body;
  });
  const run = await start(cluster, [at("denied", 0, 0n)]);
  await until("a failure", () => Promise.resolve(run.failed.length > 0 || undefined), 5_000, 5);
  await run.stop();
  assert.ok(run.failed[0] instanceof ProtocolError, String(run.failed[0]));
  assert.equal((run.failed[0] as ProtocolError).code, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  // Not after a backoff, nor after the grace of an unknown topic: the start's refresh, then
  // the one the pass from the cache (which has no error codes) left to the next pass.
  assert.equal(cluster.seen("Metadata").length, 2);
});

Deno.test("positions at start: a topic that stays unknown fails after the grace, no busy loop", async () => {
  await using cluster = new FakeCluster(1, { retry: RETRY });
  const run = await start(cluster, [at("missing", 0, 0n)]);
  await until("a failure", () => Promise.resolve(run.failed.length > 0 || undefined), 5_000, 5);
  await run.stop();
  assert.ok(run.failed[0] instanceof ProtocolError, String(run.failed[0]));
  assert.equal((run.failed[0] as ProtocolError).code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // The start's refresh, then one a backoff over the 1 s grace (and one at once, after the
  // pass from the cache): about 7, never hundreds.
  const asked = cluster.seen("Metadata").length;
  assert.ok(asked <= 10, `${asked} metadata requests`);
});

Deno.test("positions at start: a topic created just after the start is picked up", async () => {
  await using cluster = new FakeCluster(1, { retry: RETRY });
  const state = at("late", 0, 0n);
  const run = await start(cluster, [state]);
  cluster.addTopic("late", 1);
  await until("a leader", () => Promise.resolve(state.leader >= 0 || undefined), 5_000, 5);
  await run.stop();
  assert.deepEqual(run.failed, []);
  assert.equal(state.leader, 1);
});
