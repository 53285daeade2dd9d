// Security through the admin client against the real broker, over SASL_PLAINTEXT: ACLs
// (create, describe, enforce, delete; compared with Kafka's AclCommand), SCRAM users (upsert
// with a client-side salted password that Kafka's own client can log in with, describe,
// delete), client quotas, and that no secret ever reaches the logger.
import assert from "node:assert/strict";
import { Admin, AdminBatchError } from "../../admin/mod.ts";
import type { ClientOptions } from "../../cluster/options.ts";
import type { LogFields, Logger } from "../../protocol/logger.ts";
import { AuthenticationError, ProtocolError } from "../../protocol/errors.ts";
import { broker, clientProps, runJavaTool } from "../helpers/broker.ts";
import { until } from "../helpers/wait.ts";

const b = await broker();
const uid = () => crypto.randomUUID().slice(0, 8);
const ready = b.listeners.SASL_PLAINTEXT !== undefined && b.admin !== undefined &&
  b.user !== undefined;

function sasl(
  who: { username: string; password: string },
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512" | "PLAIN" = "SCRAM-SHA-512",
  extra: Partial<ClientOptions> = {},
): Admin {
  return new Admin({
    brokers: b.bootstrap("SASL_PLAINTEXT"),
    sasl: { mechanism, username: who.username, password: who.password },
    ...extra,
  });
}

/** The topic-authorization failure of a call, or undefined when it succeeded. */
async function denied(call: () => Promise<unknown>): Promise<ProtocolError | undefined> {
  try {
    await call();
    return undefined;
  } catch (e) {
    const err = e instanceof AdminBatchError ? e.errors[0] : e;
    if (err instanceof ProtocolError && err.errorName === "TOPIC_AUTHORIZATION_FAILED") return err;
    throw e;
  }
}

Deno.test({
  name: "a DENY ACL for alice makes her admin calls on the topic fail; deleting it restores them",
  ignore: !ready,
  async fn() {
    await using admin = sasl(b.admin!);
    await using alice = sasl(b.user!, "PLAIN");
    const topic = `acl-${uid()}`;
    const open = `acl-open-${uid()}`;
    await admin.createTopics([{ name: topic, numPartitions: 1 }, { name: open }]);
    const principal = `User:${b.user!.username}`;
    const binding = {
      resourceType: "topic",
      resourceName: topic,
      principal,
      host: "*",
      operation: "all",
      permission: "deny",
    } as const;
    try {
      assert.equal((await alice.describeTopic(topic)).name, topic, "allowed before the ACL");
      await admin.createAcls([binding]);
      // DescribeAcls reads the broker's authorizer, which follows the metadata log a moment
      // behind the controller's answer (seen on 3.9 under load): wait for the ACL.
      const listed = await until("the ACL to be listed", async () => {
        const l = await admin.describeAcls({ resourceType: "topic", resourceName: topic });
        return l.length > 0 ? l : undefined;
      });
      assert.deepEqual(listed, [{ ...binding, patternType: "literal" }]);

      // Kafka's AclCommand lists the same ACL.
      const java = await runJavaTool("AclCommand", [
        "--bootstrap-server",
        b.bootstrap("SASL_PLAINTEXT").join(","),
        "--command-config",
        "{config}",
        "--list",
        "--topic",
        topic,
      ], {
        broker: b,
        configProps: clientProps(b, {
          listener: "SASL_PLAINTEXT",
          mechanism: "SCRAM-SHA-512",
          credentials: b.admin!,
        }),
      });
      assert.equal(java.code, 0, java.stderr);
      assert.match(
        java.stdout,
        new RegExp(`principal=${principal}, host=\\*, operation=ALL, permissionType=DENY`),
      );

      // The ACL reaches the broker's authorizer through the metadata log: wait for it.
      const e = await until(
        "the DENY ACL to apply",
        () => denied(() => alice.describeTopic(topic)),
      );
      assert.equal(e.code, 29);
      assert.ok(await denied(() => alice.listOffsets([{ topic, partition: 0, spec: "latest" }])));
      assert.ok(await denied(() => alice.deleteRecords([{ topic, partition: 0, offset: 0n }])));
      assert.ok(await denied(() => alice.growTopic(topic, 2)));
      assert.ok(await denied(() => alice.describeProducers([{ topic, partition: 0 }])));
      // Other topics are unaffected, and the super user is never denied.
      assert.equal((await alice.describeTopic(open)).name, open);
      assert.equal((await admin.describeTopic(topic)).name, topic);

      const [gone] = await admin.deleteAcls([{ resourceType: "topic", resourceName: topic }]);
      assert.deepEqual(gone, [{ ...binding, patternType: "literal" }]);
      await until(
        "the ACL to be gone from the listing",
        async () => (await admin.describeAcls({ resourceName: topic })).length === 0 || undefined,
      );
      await until("the ACL to be lifted", async () => {
        return await denied(() => alice.describeTopic(topic)) ? undefined : true;
      });
    } finally {
      await admin.deleteAcls([{ resourceType: "topic", resourceName: topic }]);
      await admin.deleteTopics([topic, open]);
    }
  },
});

Deno.test({
  name: "invalid ACL bindings fail per item, with the broker's error",
  ignore: !ready,
  async fn() {
    await using admin = sasl(b.admin!);
    const name = `acl-bad-${uid()}`;
    const e = await admin.createAcls([
      {
        resourceType: "topic",
        resourceName: name,
        principal: "not-a-principal",
        operation: "read",
        permission: "allow",
      },
    ]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError, String(e));
    assert.ok(e.errors[0] instanceof ProtocolError);
    assert.deepEqual(await admin.describeAcls({ resourceName: name }), []);
    // A malformed principal fails at the broker for that binding only; the valid one in the
    // same batch is created.
    const ok = {
      resourceType: "topic" as const,
      resourceName: name,
      principal: "User:x",
      operation: "read" as const,
      permission: "allow" as const,
    };
    const bad = await admin.createAcls([{ ...ok, principal: "x" }, ok]).catch((x) => x);
    assert.ok(bad instanceof AdminBatchError, String(bad));
    assert.deepEqual(bad.results.map((r) => r.ok), [false, true]);
    assert.equal((bad.errors[0] as ProtocolError).errorName, "INVALID_REQUEST");
    assert.deepEqual(await admin.deleteAcls([{ resourceName: name }]), [[{
      ...ok,
      patternType: "literal",
      host: "*",
    }]]);
    // Filter-only values ("any", "match") make no ACL: refused before sending.
    await assert.rejects(admin.createAcls([{ ...ok, resourceType: "any" }]), TypeError);
    await assert.rejects(admin.createAcls([{ ...ok, patternType: "match" }]), TypeError);
    await assert.rejects(admin.createAcls([{ ...ok, permission: "any" }]), TypeError);
    await assert.rejects(
      () =>
        admin.createAcls([{
          ...{ resourceType: "topic" as const, resourceName: name },
          principal: "User:x",
          operation: "reed" as "read",
          permission: "allow",
        }]),
      TypeError,
    );
  },
});

Deno.test({
  name: "SCRAM users: an upserted credential logs Kafka's Java client in; describe; delete",
  ignore: !ready,
  async fn() {
    await using admin = sasl(b.admin!);
    const user = `bob-${uid()}`;
    const password = `pw-${crypto.randomUUID()}`;
    const javaList = (mechanism: string, pw: string) =>
      runJavaTool("TopicCommand", [
        "--bootstrap-server",
        b.bootstrap("SASL_PLAINTEXT").join(","),
        "--command-config",
        "{config}",
        "--list",
      ], {
        broker: b,
        configProps: clientProps(b, {
          listener: "SASL_PLAINTEXT",
          mechanism,
          credentials: { username: user, password: pw },
        }),
        timeoutMs: 60_000,
      });
    try {
      await admin.alterUserScramCredentials({
        upsertions: [
          { user, mechanism: "SCRAM-SHA-256", password },
          { user, mechanism: "SCRAM-SHA-512", password, iterations: 4096 },
        ],
      });
      // The credential travels through the metadata log to the broker answering: wait for it.
      const [desc] = await until("the credentials to show", async () => {
        const d = await admin.describeUserScramCredentials([user]).catch(() => undefined);
        return d?.[0]?.credentials.length === 2 ? d : undefined;
      });
      assert.deepEqual(
        [...desc!.credentials].sort((x, y) => x.mechanism < y.mechanism ? -1 : 1),
        [
          { mechanism: "SCRAM-SHA-256", iterations: 8192 },
          { mechanism: "SCRAM-SHA-512", iterations: 4096 },
        ],
      );
      assert.ok((await admin.describeUserScramCredentials()).some((u) => u.user === user));

      // Kafka's own SCRAM client logs in with the password: the salted password we computed
      // is the one the broker checks against.
      const ok = await javaList("SCRAM-SHA-256", password);
      assert.equal(ok.code, 0, ok.stderr.slice(-2000));
      const ok512 = await javaList("SCRAM-SHA-512", password);
      assert.equal(ok512.code, 0, ok512.stderr.slice(-2000));
      const wrong = await javaList("SCRAM-SHA-256", password + "x");
      assert.notEqual(wrong.code, 0);
      // So does ours.
      {
        await using bob = sasl({ username: user, password }, "SCRAM-SHA-256");
        assert.ok((await bob.describeCluster()).brokers.length > 0);
      }

      await admin.deleteScramCredential(user, "SCRAM-SHA-256");
      const [after] = await until("the deletion to show", async () => {
        const d = await admin.describeUserScramCredentials([user]);
        return d[0]?.credentials.length === 1 ? d : undefined;
      });
      assert.deepEqual(after!.credentials.map((c) => c.mechanism), ["SCRAM-SHA-512"]);
      {
        await using gone = sasl({ username: user, password }, "SCRAM-SHA-256", {
          retry: { deadlineMs: 5_000 },
        });
        await assert.rejects(gone.describeCluster(), AuthenticationError);
      }
      await assert.rejects(
        admin.deleteScramCredential(user, "SCRAM-SHA-256"),
        (e) => e instanceof ProtocolError && e.errorName === "RESOURCE_NOT_FOUND",
      );
      await assert.rejects(
        admin.describeUserScramCredentials([`nobody-${uid()}`]),
        (e) =>
          e instanceof AdminBatchError &&
          (e.errors[0] as ProtocolError).errorName === "RESOURCE_NOT_FOUND",
      );
      await assert.rejects(
        admin.upsertScramCredential({
          user,
          mechanism: "SCRAM-SHA-256",
          password,
          iterations: 100,
        }),
        RangeError,
      );
    } finally {
      await admin.alterUserScramCredentials({
        deletions: [{ user, mechanism: "SCRAM-SHA-512" }],
      }).catch(() => {});
    }
  },
});

Deno.test({
  name: "client quotas: set, describe, remove",
  ignore: !ready,
  async fn() {
    await using admin = sasl(b.admin!);
    const user = `quota-${uid()}`;
    await admin.alterClientQuotas([
      { entity: { user }, ops: { producer_byte_rate: 1048576, consumer_byte_rate: 2097152 } },
    ]);
    const found = await until("the quotas to show", async () => {
      const q = await admin.describeClientQuotas([{ entityType: "user", match: user }]);
      return Object.keys(q[0]?.values ?? {}).length === 2 ? q : undefined;
    });
    assert.deepEqual(found, [{
      entity: { user },
      values: { producer_byte_rate: 1048576, consumer_byte_rate: 2097152 },
    }]);
    await admin.alterClientQuotas([
      { entity: { user }, ops: { producer_byte_rate: null, consumer_byte_rate: null } },
    ]);
    await until("the quotas to go", async () => {
      const q = await admin.describeClientQuotas([{ entityType: "user", match: user }]);
      return q.length === 0 ? true : undefined;
    });
    const e = await admin.alterClientQuotas([
      { entity: { user }, ops: { "no_such_quota": 1 } },
    ]).catch((x) => x);
    assert.ok(e instanceof AdminBatchError, String(e));
  },
});

Deno.test({
  name: "no secret reaches the logger, at any level",
  ignore: !ready,
  async fn() {
    const lines: string[] = [];
    const at = (level: string) => (message: string, fields?: LogFields) =>
      lines.push(JSON.stringify({ level, message, fields }));
    const logger: Logger = {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    };
    const user = `log-${uid()}`;
    const password = `secret-${crypto.randomUUID()}`;
    {
      await using admin = sasl(b.admin!, "SCRAM-SHA-512", {
        logger,
        // A dead first address makes the bootstrap log its fallback too.
        brokers: ["127.0.0.1:1", ...b.bootstrap("SASL_PLAINTEXT")],
      });
      await admin.upsertScramCredential({ user, mechanism: "SCRAM-SHA-256", password });
      await admin.describeUserScramCredentials([user]).catch(() => {});
      await admin.deleteScramCredential(user, "SCRAM-SHA-256");
      await admin.describeTopics([`missing-${uid()}`]).catch(() => {});
    }
    {
      await using wrong = sasl({ username: b.user!.username, password: password }, "PLAIN", {
        logger,
        retry: { deadlineMs: 3_000 },
      });
      await assert.rejects(wrong.listTopics(), AuthenticationError);
    }
    // The log is useful (the dead address, the failed items, the rejected login)...
    assert.ok(lines.some((l) => l.includes("broker unreachable")), lines.join("\n"));
    assert.ok(lines.some((l) => l.includes("UNKNOWN_TOPIC_OR_PARTITION")), lines.join("\n"));
    // ...and secret-free.
    for (const secret of [password, b.admin!.password, b.user!.password]) {
      const leaks = lines.filter((l) => l.includes(secret));
      assert.deepEqual(leaks, [], "a secret was logged");
    }
  },
});
