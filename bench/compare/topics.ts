/**
 * Creates and deletes the benchmark's topics with this project's own protocol layer (one
 * connection, CreateTopics / Metadata / DeleteTopics), so no JVM starts for it.
 *
 * @module
 */

import { Api, errorCodeInfo, throwIfError, TimeoutError } from "../../protocol/mod.ts";
import { Connection } from "../../net/mod.ts";

function split(bootstrap: string): { host: string; port: number } {
  const i = bootstrap.lastIndexOf(":");
  return { host: bootstrap.slice(0, i), port: Number(bootstrap.slice(i + 1)) };
}

async function withConnection<T>(bootstrap: string, fn: (c: Connection) => Promise<T>): Promise<T> {
  const conn = await Connection.connect({ ...split(bootstrap), clientId: "bench-admin" });
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/**
 * Creates a topic (replication factor 1) and waits until every partition has a leader.
 *
 * @example
 * ```ts ignore
 * import { createTopic } from "./topics.ts";
 * await createTopic("127.0.0.1:9092", "bench-x", 4);
 * ```
 */
export function createTopic(bootstrap: string, name: string, partitions: number): Promise<void> {
  return withConnection(bootstrap, async (conn) => {
    const res = await conn.request(Api.CreateTopics, {
      topics: [{
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      }],
      timeoutMs: 30_000,
    });
    for (const t of res.topics) {
      if (t.errorCode !== 0 && errorCodeInfo(t.errorCode).name !== "TOPIC_ALREADY_EXISTS") {
        throwIfError(t.errorCode, `creating topic ${name}`, t.errorMessage);
      }
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const md = await conn.request(Api.Metadata, {
        topics: [{ name }],
        allowAutoTopicCreation: false,
      });
      const t = md.topics.find((x) => x.name === name);
      if (
        t && t.errorCode === 0 && t.partitions.length === partitions &&
        t.partitions.every((p) => p.leaderId >= 0)
      ) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new TimeoutError(`topic ${name} has no leaders after 30 s`);
  });
}

/**
 * Deletes a topic; a topic that is already gone is fine.
 *
 * @example
 * ```ts ignore
 * import { deleteTopic } from "./topics.ts";
 * await deleteTopic("127.0.0.1:9092", "bench-x");
 * ```
 */
export function deleteTopic(bootstrap: string, name: string): Promise<void> {
  return withConnection(bootstrap, async (conn) => {
    const res = await conn.request(Api.DeleteTopics, {
      topicNames: [name],
      topics: [{ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      timeoutMs: 30_000,
    });
    for (const r of res.responses) {
      if (r.errorCode !== 0 && errorCodeInfo(r.errorCode).name !== "UNKNOWN_TOPIC_OR_PARTITION") {
        throwIfError(r.errorCode, `deleting topic ${name}`, r.errorMessage);
      }
    }
  });
}
