/**
 * The connection layer against the real broker: ApiVersions on all four listeners, SASL
 * PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512, wrong passwords, TLS trust and hostname checks, mTLS.
 */

import assert from "node:assert/strict";
import { Cluster } from "../../cluster/cluster.ts";
import { Api, type ApiDef } from "../../protocol/apis.ts";
import { Connection, type ConnectionOptions } from "../../net/connection.ts";
import { AuthenticationError, UnsupportedVersionError } from "../../protocol/errors.ts";
import type { Logger } from "../../protocol/logger.ts";
import { broker } from "../helpers/broker.ts";

const b = await broker();

function addr(listener: "PLAINTEXT" | "SASL_PLAINTEXT" | "SSL" | "SASL_SSL") {
  const [host, port] = b.bootstrap(listener)[0]!.split(":");
  return { host: host!, port: Number(port) };
}

const ca = b.tls.caPem;
const user = b.user;
const mechanisms = ["plain", "scram-sha-256", "scram-sha-512"] as const;

async function apiVersionsAndMetadata(opts: ConnectionOptions) {
  await using conn = await Connection.connect(opts);
  // Negotiation happened: the versions cover what the clients need.
  for (const api of [Api.Produce, Api.Fetch, Api.Metadata, Api.ApiVersions]) {
    assert.ok(conn.versionFor(api) >= api.minVersion, api.name);
  }
  const md = await conn.request(Api.Metadata, { topics: [] });
  assert.ok(md.brokers.length >= 1);
  return conn.versions;
}

Deno.test("ApiVersions and Metadata over PLAINTEXT", async () => {
  const versions = await apiVersionsAndMetadata(addr("PLAINTEXT"));
  assert.ok(versions.size >= 40, `negotiated ${versions.size} APIs`);
});

Deno.test({
  name: "ApiVersions over SSL with the test CA, and with a client certificate (mTLS)",
  ignore: !b.listeners.SSL || !ca,
  async fn() {
    await apiVersionsAndMetadata({ ...addr("SSL"), tls: { caCerts: [ca!] } });
    await apiVersionsAndMetadata({ ...addr("SSL"), host: "localhost", tls: { caCerts: [ca!] } });
    if (b.tls.clientCertPem && b.tls.clientKeyPem) {
      await apiVersionsAndMetadata({
        ...addr("SSL"),
        tls: { caCerts: [ca!], cert: b.tls.clientCertPem, key: b.tls.clientKeyPem },
      });
    }
  },
});

for (const mechanism of mechanisms) {
  Deno.test({
    name: `SASL ${mechanism} succeeds on SASL_PLAINTEXT and SASL_SSL`,
    ignore: !user || !b.listeners.SASL_PLAINTEXT,
    async fn() {
      const sasl = { mechanism, username: user!.username, password: user!.password };
      await apiVersionsAndMetadata({ ...addr("SASL_PLAINTEXT"), sasl });
      if (b.listeners.SASL_SSL && ca) {
        await apiVersionsAndMetadata({ ...addr("SASL_SSL"), sasl, tls: { caCerts: [ca] } });
      }
    },
  });

  Deno.test({
    name: `SASL ${mechanism} with a wrong password is an AuthenticationError, without secrets`,
    ignore: !user || !b.listeners.SASL_PLAINTEXT,
    async fn() {
      const password = "definitely-not-the-password";
      const err = await Connection.connect({
        ...addr("SASL_PLAINTEXT"),
        sasl: { mechanism, username: user!.username, password },
      }).then(() => undefined, (e) => e);
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.equal(err.retriable, false);
      assert.ok(!err.message.includes(password));
      assert.ok(!Deno.inspect(err, { depth: 10 }).includes(password));
    },
  });
}

Deno.test({
  name: "a wrong password through the cluster layer fails at once, with no retry loop",
  ignore: !user || !b.listeners.SASL_PLAINTEXT,
  async fn() {
    const events: string[] = [];
    const logger: Logger = {
      debug: (m) => events.push(m),
      info: (m) => events.push(m),
      warn: (m) => events.push(m),
      error: (m) => events.push(m),
    };
    const target = b.bootstrap("SASL_PLAINTEXT")[0]!;
    await using cluster = new Cluster({
      brokers: [target, target],
      sasl: { mechanism: "scram-sha-512", username: user!.username, password: "wrong" },
      retry: { deadlineMs: 60_000 },
      logger,
    });
    await assert.rejects(cluster.refreshMetadata([]), AuthenticationError);
    assert.equal(events.filter((e) => e === "retrying").length, 0, events.join(", "));
    assert.equal(events.filter((e) => e === "broker unreachable").length, 0, events.join(", "));
  },
});

Deno.test({
  name: "TLS without the test CA fails with a clear AuthenticationError",
  ignore: !b.listeners.SSL || !b.tls.untrustedCaPem,
  async fn() {
    for (const caCerts of [[], [b.tls.untrustedCaPem!]]) {
      const err = await Connection.connect({ ...addr("SSL"), tls: { caCerts } })
        .then(() => undefined, (e) => e);
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.match(err.message, /TLS handshake .* failed: .*(certificate|issuer)/i);
    }
  },
});

Deno.test({
  name: "TLS to a name the certificate does not cover fails",
  ignore: !b.listeners.SSL || !ca,
  async fn() {
    const err = await Connection.connect({
      ...addr("SSL"),
      tls: { caCerts: [ca!], serverName: "kafka.invalid" },
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof AuthenticationError, String(err));
    assert.match(err.message, /not valid for name "kafka\.invalid"/);
  },
});

Deno.test("pipelined requests on one connection all complete, in order", async () => {
  await using conn = await Connection.connect({ ...addr("PLAINTEXT"), maxInFlight: 5 });
  const replies = await Promise.all(
    Array.from({ length: 200 }, () => conn.request(Api.Metadata, { topics: [] })),
  );
  assert.equal(replies.length, 200);
  assert.ok(replies.every((r) => r.brokers.length >= 1));
  assert.equal(conn.inFlight, 0);
});

Deno.test("a version above the broker's max fails at once, unsent, and the connection lives on", async () => {
  await using conn = await Connection.connect(addr("PLAINTEXT"));
  const listed = await conn.request(Api.ApiVersions, {
    clientSoftwareName: "denokafka-test",
    clientSoftwareVersion: "0",
  });
  const theirs = new Map(listed.apiKeys.map((k) => [k.apiKey, k]));
  const refused = async (api: ApiDef<unknown, unknown>, body: unknown) => {
    const range = theirs.get(api.key)!;
    const asked = range.maxVersion + 1;
    const err = await conn.request(api, body, { version: asked }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof UnsupportedVersionError, `${api.name} v${asked}: ${err}`);
    assert.equal(err.apiName, api.name);
    assert.equal(err.version, asked);
    assert.match(err.message, new RegExp(`${api.name} v${asked} is not supported`));
    assert.match(err.message, /leave `version` out to use v\d+/);
    // The broker's own range is named when the client could have encoded the version.
    if (asked <= api.maxVersion) {
      assert.match(
        err.message,
        new RegExp(`speaks ${api.name} v${range.minVersion}-v${range.maxVersion}`),
      );
    } else {
      assert.match(err.message, new RegExp(`this client speaks ${api.name} v`));
    }
    return asked <= api.maxVersion;
  };
  const produce = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1_000,
    topicData: [],
  };
  // Produce past the broker's max: Kafka 3.9 (v11) closed the connection when sent v12.
  await refused(Api.Produce as ApiDef<unknown, unknown>, produce);
  // Every API the broker tops out below this client's max (4.3.1: InitProducerId v6, 3.9:
  // Produce v12 and more) is refused on the broker's range, not just the client's.
  let brokerBound = 0;
  for (const api of Object.values(Api)) {
    const range = theirs.get(api.key);
    if (range === undefined || range.maxVersion >= api.maxVersion) continue;
    if (await refused(api as ApiDef<unknown, unknown>, {})) brokerBound++;
  }
  console.log(`${brokerBound} APIs refused on the broker's own range`);
  // Nothing was sent: the broker would have closed the connection on a version it lacks.
  const md = await conn.request(Api.Metadata, { topics: [] });
  assert.ok(md.brokers.length >= 1);
  assert.equal(conn.closed, false);
});

Deno.test({
  name: "KIP-368: the connection re-authenticates before the broker's session lifetime ends",
  ignore: !user || !b.listeners.SASL_SSL || !ca,
  async fn() {
    const events: string[] = [];
    const logger: Logger = {
      debug: (m) => events.push(m),
      info: () => {},
      warn: (m) => events.push(m),
      error: (m) => events.push(m),
    };
    // The test bed gives PLAIN sessions on SASL_SSL a 5 s lifetime (scripts/kafka/config.ts).
    await using conn = await Connection.connect({
      ...addr("SASL_SSL"),
      tls: { caCerts: [ca!] },
      sasl: { mechanism: "plain", username: user!.username, password: user!.password },
      logger,
    });
    const deadline = Date.now() + 12_000;
    let requests = 0;
    while (Date.now() < deadline) {
      // The broker closes a connection whose session expired on its next request, so every
      // request succeeding across two lifetimes proves re-authentication happened.
      const md = await conn.request(Api.Metadata, { topics: [] });
      assert.ok(md.brokers.length >= 1);
      requests++;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(requests > 20);
    assert.ok(events.filter((e) => e === "re-authenticated").length >= 2, events.join(", "));
    assert.equal(conn.closed, false);
  },
});
