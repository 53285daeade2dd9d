// Copyright the @denokafka/kafka authors. MIT license.
/**
 * The consumer against a broker that refuses it, over SASL_PLAINTEXT: a topic it may not read
 * fails the stream with TOPIC_AUTHORIZATION_FAILED at once (the start's first pass takes
 * leaders from the metadata cache, which keeps no error codes: bench/PROFILE.md, Session 16),
 * and wrong credentials with one AuthenticationError and one logged failure, nothing left
 * open.
 */
import assert from "node:assert/strict";
import { Admin } from "../../admin/mod.ts";
import { Consumer } from "../../consumer/mod.ts";
import type { Logger } from "../../protocol/logger.ts";
import { AuthenticationError, ProtocolError } from "../../protocol/errors.ts";
import { broker } from "../helpers/broker.ts";
import { take } from "../helpers/consumer_testkit.ts";
import { until } from "../helpers/wait.ts";

const b = await broker();
const uid = () => crypto.randomUUID().slice(0, 8);
const ready = b.listeners.SASL_PLAINTEXT !== undefined && b.admin !== undefined &&
  b.user !== undefined;

function logged(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (msg: string) => void lines.push(`${level}: ${msg}`);
  return {
    lines,
    logger: { debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") },
  };
}

Deno.test({
  name: "consumer security: a topic denied by an ACL fails the stream typed, not as unknown",
  ignore: !ready,
  async fn() {
    const sasl = (who: { username: string; password: string }) => ({
      mechanism: "SCRAM-SHA-512" as const,
      username: who.username,
      password: who.password,
    });
    await using admin = new Admin({ brokers: b.bootstrap("SASL_PLAINTEXT"), sasl: sasl(b.admin!) });
    const topic = `acl-consumer-${uid()}`;
    await admin.createTopics([{ name: topic, numPartitions: 1 }]);
    const binding = {
      resourceType: "topic",
      resourceName: topic,
      principal: `User:${b.user!.username}`,
      host: "*",
      operation: "all",
      permission: "deny",
    } as const;
    await admin.createAcls([binding]);
    try {
      await using alice = new Admin({
        brokers: b.bootstrap("SASL_PLAINTEXT"),
        sasl: sasl(b.user!),
      });
      await until("the DENY ACL to apply", async () => {
        const e = await alice.describeTopic(topic).then(() => undefined, (e) => e);
        return e instanceof ProtocolError && e.errorName === "TOPIC_AUTHORIZATION_FAILED"
          ? e
          : undefined;
      });
      const { logger, lines } = logged();
      await using c = new Consumer({
        brokers: b.bootstrap("SASL_PLAINTEXT"),
        sasl: sasl(b.user!),
        logger,
      });
      c.assign([{ topic, partition: 0, offset: "earliest" }]);
      await assert.rejects(take(c, 1, 30_000), (e: unknown) => {
        assert.ok(e instanceof ProtocolError, String(e));
        assert.equal((e as ProtocolError).errorName, "TOPIC_AUTHORIZATION_FAILED");
        return true;
      });
      assert.deepEqual(lines, ["error: consumer failed"]);
    } finally {
      await admin.deleteAcls([{ resourceName: topic }]);
      await admin.deleteTopics([topic]);
    }
  },
});

Deno.test({
  name: "consumer security: wrong credentials fail with one AuthenticationError",
  ignore: !ready,
  async fn() {
    const { logger, lines } = logged();
    await using c = new Consumer({
      brokers: b.bootstrap("SASL_PLAINTEXT"),
      sasl: { mechanism: "SCRAM-SHA-512", username: b.user!.username, password: "wrong" },
      logger,
    });
    c.assign([{ topic: "any", partition: 0, offset: "earliest" }]);
    await assert.rejects(take(c, 1, 30_000), AuthenticationError);
    assert.deepEqual(lines, ["error: consumer failed"]);
  },
});

Deno.test({
  name: "consumer security: a TLS mismatch fails the stream, reported once",
  ignore: b.listeners.SSL === undefined || b.tls.caPem === undefined,
  async fn() {
    for (
      const options of [
        { brokers: b.bootstrap("PLAINTEXT"), tls: { caCerts: [b.tls.caPem!] } },
        { brokers: b.bootstrap("SSL") },
      ]
    ) {
      const { logger, lines } = logged();
      await using c = new Consumer({
        ...options,
        connectTimeoutMs: 1_000,
        retry: { deadlineMs: 2_000, initialBackoffMs: 50 },
        logger,
      });
      c.assign([{ topic: "any", partition: 0, offset: "earliest" }]);
      await assert.rejects(take(c, 1, 30_000));
      // The start's own retries may warn; one failure is reported, nothing else.
      const other = lines.filter((l) => l !== "warn: broker unreachable");
      assert.deepEqual(other, ["error: consumer failed"], JSON.stringify(options.brokers));
    }
  },
});
