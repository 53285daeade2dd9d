/**
 * The fetcher's handling of fetch-level errors against a scripted cluster
 * (tests/helpers/fake_cluster.ts): a broker that drops the incremental fetch session
 * (KIP-227) or fails a whole Fetch. These need a broker restart or a session cache eviction to
 * happen for real; protocol behaviour itself is proven in tests/integration/consumer_*.
 */

import assert from "node:assert/strict";
import { ByteBudget } from "../../consumer/budget.ts";
import { Fetcher, type FetcherHost } from "../../consumer/fetcher.ts";
import { resolveConsumerOptions } from "../../consumer/options.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeRecordBatch } from "../../protocol/record_batch_builder.ts";
import type { FetchRequest } from "../../protocol/messages/mod.ts";
import { FakeCluster, type FakeRequest } from "../helpers/fake_cluster.ts";
import { until } from "../helpers/wait.ts";

const BACKOFF_5S = { initialBackoffMs: 5_000, maxBackoffMs: 5_000, jitter: 0 };

/** A fetcher over one ready partition of `t`, led by node 1; what the host is told is kept. */
async function setup(cluster: FakeCluster) {
  cluster.addTopic("t", 1);
  await cluster.refreshMetadata(["t"]);
  const ps = new PartitionState("t", 0);
  ps.phase = "ready";
  ps.leader = 1;
  ps.leaderEpoch = 0;
  ps.fetchOffset = 0n;
  // A broker failure or a partition error asks for a lookup (resolve) or evicts: counted here.
  const told = { failed: [] as unknown[], resolves: 0, evictions: 0 };
  const host: FetcherHost = {
    partitions: () => [ps],
    partition: (topic, partition) => topic === "t" && partition === 0 ? ps : undefined,
    decodeReserve: 0,
    addChunk: () => {},
    evict: () => void told.evictions++,
    truncated: () => {},
    resolve: () => void told.resolves++,
    fail: (e) => void told.failed.push(e),
  };
  const options = resolveConsumerOptions({ brokers: ["fake-1:9001"], fetchMaxWaitMs: 10 });
  const fetcher = new Fetcher(cluster, options, new ByteBudget(64 * 1024 * 1024), host);
  return { fetcher, told };
}

/**
 * A Fetch answer: a session id and a top-level error code, no records; like a broker with
 * nothing to return, after the request's `maxWaitMs`.
 */
function fetchAnswer(sessionId: number, errorCode: number = ErrorCode.NONE) {
  return async (req: FakeRequest) => {
    await new Promise((r) => setTimeout(r, (req.body as FetchRequest).maxWaitMs));
    return { errorCode, sessionId, responses: [], throttleTimeMs: 0 };
  };
}

function sessionOf(req: FakeRequest): [number, number] {
  const body = req.body as FetchRequest;
  return [body.sessionId ?? 0, body.sessionEpoch ?? -1];
}

Deno.test("fetcher: FETCH_SESSION_ID_NOT_FOUND starts a new full session at once, no failure", async () => {
  // A long backoff, so that "at once" is told apart from "after a backoff".
  await using cluster = new FakeCluster(1, { retry: BACKOFF_5S });
  const { fetcher, told } = await setup(cluster);
  cluster.on("Fetch", fetchAnswer(77));
  cluster.once("Fetch", fetchAnswer(77)); // full fetch: session 77 created
  cluster.once("Fetch", fetchAnswer(0, ErrorCode.FETCH_SESSION_ID_NOT_FOUND)); // broker lost it
  fetcher.wake();
  await until(
    "four fetches",
    () => Promise.resolve(cluster.seen("Fetch").length >= 4 || undefined),
    10_000,
    5,
  );
  await fetcher.close();
  const sessions = cluster.seen("Fetch").slice(0, 4).map(sessionOf);
  // New session (0, 0); incremental (77, 1); the broker forgot it: new full session (0, 0).
  assert.deepEqual(sessions, [[0, 0], [77, 1], [0, 0], [77, 1]]);
  assert.deepEqual(told, { failed: [], resolves: 0, evictions: 0 });
  const fetches = cluster.seen("Fetch");
  const gap = fetches[2]!.at - fetches[1]!.at;
  assert.ok(gap < 2_500, `${gap} ms between the lost session and the new one`);
});

Deno.test("fetcher: a Fetch failing as a whole backs off, drops the session and fetches again", async () => {
  await using cluster = new FakeCluster(1, { retry: { initialBackoffMs: 400, jitter: 0 } });
  const { fetcher, told } = await setup(cluster);
  cluster.on("Fetch", fetchAnswer(5));
  cluster.once("Fetch", fetchAnswer(5));
  cluster.once("Fetch", fetchAnswer(0, ErrorCode.UNKNOWN_SERVER_ERROR));
  fetcher.wake();
  await until(
    "three fetches",
    () => Promise.resolve(cluster.seen("Fetch").length >= 3 || undefined),
    10_000,
    5,
  );
  await fetcher.close();
  assert.deepEqual(cluster.seen("Fetch").slice(0, 3).map(sessionOf), [[0, 0], [5, 1], [0, 0]]);
  // Not the consumer's end: the stream goes on, after the first backoff (400 ms, no jitter).
  assert.deepEqual(told.failed, []);
  const fetches = cluster.seen("Fetch");
  const gap = fetches[2]!.at - fetches[1]!.at;
  assert.ok(gap >= 400, `${gap} ms between the failed fetch and the next`);
});

Deno.test("fetcher: a catch-up lane asks for at most 8 MiB a response", async () => {
  // Every answer brings data, so the lane's response size doubles from 1 MiB; it stops at
  // 8 MiB: with 256 partitions (C6) a 16 MiB response was ~17 MiB more peak RSS for the same
  // CPU (bench/PROFILE.md, session 15, consumer peak RSS).
  await using cluster = new FakeCluster(1);
  cluster.addTopic("t", 1);
  await cluster.refreshMetadata(["t"]);
  const ps = new PartitionState("t", 0);
  ps.phase = "ready";
  ps.leader = 1;
  ps.leaderEpoch = 0;
  ps.fetchOffset = 0n;
  const budget = new ByteBudget(64 * 1024 * 1024);
  const host: FetcherHost = {
    partitions: () => [ps],
    partition: (topic, partition) => topic === "t" && partition === 0 ? ps : undefined,
    decodeReserve: 0,
    // The reader takes each response at once: the budget never holds the fetcher back.
    addChunk: (c) => {
      const f = c.frame;
      if (--f.refs > 0) return;
      if (f.lane) f.lane.held -= f.bytes;
      budget.release(f.bytes);
    },
    evict: () => {},
    truncated: () => {},
    resolve: () => {},
    fail: (e) => {
      throw e;
    },
  };
  const options = resolveConsumerOptions({
    brokers: ["fake-1:9001"],
    fetchMaxWaitMs: 10,
    maxPartitionFetchBytes: 64 * 1024 * 1024,
  });
  const fetcher = new Fetcher(cluster, options, budget, host);
  cluster.on("Fetch", (req: FakeRequest) => {
    const body = req.body as FetchRequest;
    const p = body.topics[0]!.partitions[0]!;
    const batch = encodeRecordBatch([{ timestamp: 0, key: null, value: new Uint8Array(10) }], {
      baseOffset: p.fetchOffset,
    });
    // As from the socket: the records are a view into a response buffer of maxBytes.
    const frame = new Uint8Array(body.maxBytes ?? batch.length);
    frame.set(batch);
    return {
      errorCode: 0,
      sessionId: 0,
      throttleTimeMs: 0,
      responses: [{
        topic: "t",
        topicId: body.topics[0]!.topicId,
        partitions: [{
          partitionIndex: 0,
          errorCode: 0,
          highWatermark: 1_000_000n,
          lastStableOffset: -1n,
          logStartOffset: 0n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: frame.subarray(0, batch.length),
        }],
      }],
    };
  });
  fetcher.wake();
  await until(
    "eight fetches",
    () => Promise.resolve(cluster.seen("Fetch").length >= 8 || undefined),
    10_000,
    5,
  );
  await fetcher.close();
  const sizes = cluster.seen("Fetch").slice(0, 8).map((r) =>
    (r.body as FetchRequest).maxBytes ?? 0
  );
  const MiB = 1024 * 1024;
  // 1, 2, 4 MiB (less the response's own headers), then 8 MiB on.
  assert.ok(sizes[0]! <= MiB && sizes[1]! <= 2 * MiB && sizes[1]! > MiB, `${sizes}`);
  assert.ok(sizes[2]! <= 4 * MiB && sizes[2]! > 2 * MiB, `${sizes}`);
  assert.ok(sizes.slice(3).every((s) => s > 7 * MiB && s <= 8 * MiB), `${sizes}`);
});
