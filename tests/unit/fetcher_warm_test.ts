// Copyright the @denokafka/kafka authors. MIT license.
/**
 * `Fetcher.wake()` opens the fetch lane's connection of a partition whose position is still
 * looked up (bench/PROFILE.md, Session 16). Against a leader that refuses or never answers a
 * connect, that extra attempt must stay silent: no unhandled rejection, no log line above
 * debug, close() on time and nothing left open (Deno.test's sanitizers check the last).
 */
import assert from "node:assert/strict";
import { ByteBudget } from "../../consumer/budget.ts";
import { Fetcher, type FetcherHost } from "../../consumer/fetcher.ts";
import { resolveConsumerOptions } from "../../consumer/options.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import { Cluster } from "../../cluster/cluster.ts";
import type { Transport } from "../../net/transport.ts";
import { FakeCluster } from "../helpers/fake_cluster.ts";

/** A cluster whose node 2 (which leads "t") refuses, or swallows, every connect. */
function clusterWithDeadNode(fake: FakeCluster, dead: "refuse" | "hang") {
  const attempts: string[] = [];
  const logged: string[] = [];
  const inner = fake.transport();
  const transport: Transport = {
    name: "half-dead",
    connect: (host, port, options) => {
      if (port !== 9002) return inner.connect(host, port, options);
      attempts.push(`${host}:${port}`);
      if (dead === "refuse") {
        return Promise.reject(new Deno.errors.ConnectionRefused("connection refused"));
      }
      return new Promise((_, reject) => {
        options?.signal?.addEventListener("abort", () => reject(options.signal!.reason), {
          once: true,
        });
      });
    },
  };
  const log = (level: string) => (msg: string) => void logged.push(`${level}: ${msg}`);
  const cluster = new Cluster({
    brokers: ["fake-1:9001"],
    transport,
    retry: { initialBackoffMs: 5, maxBackoffMs: 5, jitter: 0, deadlineMs: 2_000 },
    connectTimeoutMs: 60_000,
    logger: { debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") },
  });
  return { cluster, attempts, logged };
}

for (const dead of ["refuse", "hang"] as const) {
  Deno.test(`fetcher: warming a lane to a leader that ${dead}s is silent and closes`, async () => {
    await using fake = new FakeCluster(2);
    fake.addTopic("t", 1, [2]);
    const { cluster, attempts, logged } = clusterWithDeadNode(fake, dead);
    await cluster.refreshMetadata(["t"]);
    const ps = new PartitionState("t", 0);
    ps.phase = "reset"; // ListOffsets still to do
    ps.leader = 2;
    ps.leaderEpoch = 0;
    const host: FetcherHost = {
      partitions: () => [ps],
      partition: () => ps,
      decodeReserve: 0,
      addChunk: () => {},
      evict: () => {},
      truncated: () => {},
      resolve: () => {},
      fail: (e) => assert.fail(`fetcher failed: ${e}`),
    };
    const options = resolveConsumerOptions({ brokers: ["fake-1:9001"] });
    const fetcher = new Fetcher(cluster, options, new ByteBudget(1 << 24), host);
    for (let i = 0; i < 5; i++) {
      fetcher.wake();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(attempts.length >= 1, "the lane was warmed");
    // A connect left hanging would hold close() until its 60 s timeout (the test's time shows).
    await fetcher.close();
    await cluster.close();
    assert.deepEqual(logged, []);
  });
}
