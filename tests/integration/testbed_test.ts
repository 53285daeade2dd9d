/**
 * Proves the test bed with an independent client (Kafka's own Java tools from the broker's
 * jars) before our client exists: every listener accepts the right credentials and CA, and
 * rejects a wrong SCRAM password and an untrusted CA; the three-node cluster reports all three
 * brokers. JVM start-up costs ~2 s per tool call, so independent calls run concurrently.
 */

import assert from "node:assert/strict";
import {
  type Broker,
  broker,
  clientProps,
  type ClientPropsOptions,
  runJavaTool,
  trio,
  trioWanted,
} from "../helpers/broker.ts";

const TOPIC_COMMAND = "TopicCommand";

interface Case {
  name: string;
  props: ClientPropsOptions;
}

function listTopics(b: Broker, c: Case) {
  return runJavaTool(TOPIC_COMMAND, [
    "--bootstrap-server",
    b.bootstrap(c.props.listener).join(","),
    "--command-config",
    "{config}",
    "--list",
  ], { broker: b, configProps: clientProps(b, c.props), timeoutMs: 90_000 });
}

/** Runs cases two at a time (two cores) and returns [case, result] pairs. */
async function runCases(b: Broker, cases: Case[]) {
  const results: [Case, Awaited<ReturnType<typeof listTopics>>][] = [];
  for (let i = 0; i < cases.length; i += 2) {
    const batch = cases.slice(i, i + 2);
    const out = await Promise.all(batch.map((c) => listTopics(b, c)));
    batch.forEach((c, j) => results.push([c, out[j]!]));
  }
  return results;
}

const b = await broker();

Deno.test("testbed: every listener accepts the right credentials and CA", async () => {
  const cases: Case[] = [{ name: "PLAINTEXT", props: { listener: "PLAINTEXT" } }];
  if (b.listeners.SASL_PLAINTEXT && b.user) {
    for (const m of b.saslMechanisms) {
      cases.push({
        name: `SASL_PLAINTEXT ${m}`,
        props: { listener: "SASL_PLAINTEXT", mechanism: m },
      });
    }
  }
  if (b.listeners.SSL && b.tls.caFile) {
    cases.push({ name: "SSL", props: { listener: "SSL" } });
    if (b.tls.clientBundleFile) {
      cases.push({ name: "SSL mTLS", props: { listener: "SSL", clientCert: true } });
    }
  }
  if (b.listeners.SASL_SSL && b.tls.caFile && b.user) {
    cases.push({
      name: "SASL_SSL SCRAM-SHA-512 (admin)",
      props: {
        listener: "SASL_SSL",
        mechanism: "SCRAM-SHA-512",
        ...(b.admin ? { credentials: b.admin } : {}),
      },
    });
    cases.push({ name: "SASL_SSL PLAIN", props: { listener: "SASL_SSL", mechanism: "PLAIN" } });
  }
  const failures = (await runCases(b, cases))
    .filter(([, r]) => r.code !== 0)
    .map(([c, r]) => `${c.name}: exit ${r.code}\n${r.stderr.slice(-1500)}`);
  assert.deepEqual(failures, [], failures.join("\n\n"));
});

Deno.test({
  name: "testbed: wrong SCRAM passwords and an untrusted CA are rejected",
  ignore: !b.user || !b.listeners.SASL_PLAINTEXT,
  async fn() {
    const wrong = { username: b.user!.username, password: "not-the-password" };
    const cases: Case[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"].map((m) => ({
      name: `SASL_PLAINTEXT ${m} wrong password`,
      props: { listener: "SASL_PLAINTEXT", mechanism: m, credentials: wrong },
    }));
    if (b.listeners.SSL && b.tls.untrustedCaFile) {
      cases.push({
        name: "SSL untrusted CA",
        props: { listener: "SSL", caFile: b.tls.untrustedCaFile },
      });
    }
    const results = await runCases(b, cases);
    for (const [c, r] of results) {
      assert.notEqual(r.code, 0, `${c.name} should fail but exited 0`);
      const text = r.stdout + r.stderr;
      const expected = c.props.listener === "SSL"
        ? /SslAuthenticationException|SSL handshake failed|PKIX path/
        : /SaslAuthenticationException|Authentication failed/;
      assert.match(text, expected, `${c.name}: unexpected failure:\n${text.slice(-1500)}`);
    }
  },
});

Deno.test({
  name: "testbed: all three brokers of the three-node cluster appear in its metadata",
  ignore: !trioWanted(),
  async fn() {
    const t = await trio();
    assert.ok(t, "trio expected");
    // 4.x moved this tool from kafka.admin (Scala) to org.apache.kafka.tools: runJavaTool
    // resolves the short name for the jars' version (scripts/kafka/tool_classes.ts).
    const r = await runJavaTool("BrokerApiVersionsCommand", [
      "--bootstrap-server",
      t.listeners.PLAINTEXT,
    ], {
      broker: t,
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const ids = [...r.stdout.matchAll(/\(id: (\d+) rack/g)].map((m) => Number(m[1])).sort();
    const expected = t.nodeIds.length > 0 ? [...t.nodeIds] : ids;
    assert.ok(ids.length >= 3, `expected 3+ brokers, got ${ids}:\n${r.stdout}`);
    assert.deepEqual(ids, expected);
  },
});
