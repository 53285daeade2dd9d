/**
 * Transports against the real broker, all from Deno: the Node transport (`node:net` /
 * `node:tls`, which Deno implements) on plaintext, TLS with the test CA, mTLS, SASL_SSL, and an
 * untrusted CA; the Cloudflare transport over a stand-in `connect()` built on Deno's socket
 * streams (the real `cloudflare:sockets` runs in tests/integration/runtimes_test.ts); a
 * user's own transport through `ClientOptions.transport`; and `maxConnectionsPerBroker`
 * bounding the sockets a consumer group member opens.
 */

import assert from "node:assert/strict";
import {
  Admin,
  AuthenticationError,
  type CloudflareConnect,
  cloudflareTransport,
  Consumer,
  defaultTransport,
  nodeTransport,
  Producer,
  runtime,
  type Transport,
} from "../../mod.ts";
import { Api } from "../../protocol/apis.ts";
import { Connection, type ConnectionOptions } from "../../net/connection.ts";
import { broker } from "../helpers/broker.ts";

const b = await broker();
const ca = b.tls.caPem;

function addr(listener: "PLAINTEXT" | "SSL" | "SASL_SSL") {
  const [host, port] = b.bootstrap(listener)[0]!.split(":");
  return { host: host!, port: Number(port) };
}

async function metadata(opts: ConnectionOptions): Promise<number> {
  const conn = await Connection.connect(opts);
  try {
    return (await conn.request(Api.Metadata, { topics: null })).brokers.length;
  } finally {
    await conn.close();
  }
}

Deno.test("the default transport under Deno is Deno's", () => {
  assert.equal(runtime(), "deno");
  assert.equal(defaultTransport().name, "deno");
});

Deno.test({
  name: "Node transport: plaintext, TLS with the test CA, mTLS, SCRAM over TLS",
  ignore: !b.listeners.SSL || !b.listeners.SASL_SSL || !ca || !b.user,
  async fn() {
    const transport = nodeTransport();
    assert.ok(await metadata({ ...addr("PLAINTEXT"), transport }) >= 1);
    assert.ok(await metadata({ ...addr("SSL"), transport, tls: { caCerts: [ca!] } }) >= 1);
    // A host name the certificate carries, verified as SNI.
    assert.ok(
      await metadata({ ...addr("SSL"), host: "localhost", transport, tls: { caCerts: [ca!] } }) >=
        1,
    );
    assert.ok(
      await metadata({
        ...addr("SSL"),
        transport,
        tls: { caCerts: [ca!], cert: b.tls.clientCertPem!, key: b.tls.clientKeyPem! },
      }) >= 1,
    );
    assert.ok(
      await metadata({
        ...addr("SASL_SSL"),
        transport,
        tls: { caCerts: [ca!] },
        sasl: {
          mechanism: "scram-sha-512",
          username: b.user!.username,
          password: b.user!.password,
        },
      }) >= 1,
    );
  },
});

Deno.test({
  name: "Node transport: an untrusted CA is an AuthenticationError, not retried",
  ignore: !b.listeners.SSL || !b.tls.untrustedCaPem,
  async fn() {
    await assert.rejects(
      metadata({
        ...addr("SSL"),
        transport: nodeTransport(),
        tls: { caCerts: [b.tls.untrustedCaPem!] },
      }),
      AuthenticationError,
    );
  },
});

/** `connect()` as `cloudflare:sockets` has it, over Deno's socket streams (plaintext only). */
const standInConnect: CloudflareConnect = (address, options) => {
  assert.equal(options?.secureTransport, "off");
  const opening = Deno.connect({ hostname: address.hostname, port: address.port });
  const conn = opening.then((c) => c, () => undefined);
  const readable = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const c = await conn;
      const buf = new Uint8Array(64 * 1024);
      const n = c ? await c.read(buf).catch(() => null) : null;
      if (n === null) ctl.close();
      else ctl.enqueue(buf.subarray(0, n));
    },
  });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      const c = await conn;
      let off = 0;
      while (c && off < chunk.length) off += await c.write(chunk.subarray(off));
    },
  });
  return {
    readable,
    writable,
    opened: opening,
    close: async () => (await conn)?.close(),
  };
};

Deno.test("Cloudflare transport: requests over a connect() socket's streams", async () => {
  const transport = cloudflareTransport(standInConnect);
  assert.ok(await metadata({ ...addr("PLAINTEXT"), transport }) >= 1);
});

Deno.test("Cloudflare transport: refuses what Workers cannot do, before connecting", async () => {
  const transport = cloudflareTransport(() => {
    throw new Error("must not connect");
  });
  for (
    const tls of [
      { caCerts: ["-----BEGIN CERTIFICATE-----"] },
      { cert: "c", key: "k" },
      { serverName: "other.example" },
    ]
  ) {
    await assert.rejects(metadata({ ...addr("PLAINTEXT"), transport, tls }), TypeError);
  }
  assert.throws(() => cloudflareTransport(undefined as unknown as CloudflareConnect), TypeError);
});

/** A transport that counts the sockets it opened, delegating to Deno's. */
function counting(): Transport & { opened: number } {
  const inner = defaultTransport();
  const t = {
    name: "counting",
    opened: 0,
    connect(host: string, port: number, o: Parameters<Transport["connect"]>[2]) {
      t.opened++;
      return inner.connect(host, port, o);
    },
  };
  return t;
}

async function groupMemberSockets(budget: number | undefined): Promise<number> {
  const transport = counting();
  const brokers = b.bootstrap();
  const topic = `transport-budget-${crypto.randomUUID().slice(0, 8)}`;
  const admin = new Admin({ brokers });
  try {
    await admin.createTopic(topic, { numPartitions: 2, replicationFactor: 1 });
    const producer = new Producer({ brokers, defaultTopic: topic });
    try {
      await producer.send([{ value: "a", partition: 0 }, { value: "b", partition: 1 }]);
    } finally {
      await producer.close();
    }
    const consumer = new Consumer({
      brokers,
      transport,
      groupId: `${topic}-g`,
      topics: [topic],
      autoOffsetReset: "earliest",
      ...budget !== undefined && { maxConnectionsPerBroker: budget },
    });
    const reader = consumer.getReader();
    try {
      for (let i = 0; i < 2; i++) assert.equal((await reader.read()).done, false);
      await consumer.commit();
    } finally {
      reader.releaseLock();
      await consumer.close();
    }
    await admin.deleteTopic(topic);
  } finally {
    await admin.close();
  }
  return transport.opened;
}

Deno.test("maxConnectionsPerBroker: 1 puts a group member on one socket per broker", async () => {
  const nodes = b.nodeCount || 1;
  const unbounded = await groupMemberSockets(undefined);
  const one = await groupMemberSockets(1);
  assert.ok(unbounded > nodes, `lanes open several sockets (${unbounded})`);
  assert.ok(one <= nodes, `one per broker: ${one} sockets for ${nodes} broker(s)`);
});

Deno.test("options.transport must have a connect method", () => {
  assert.throws(
    () => new Admin({ brokers: ["127.0.0.1:9092"], transport: {} as Transport }),
    TypeError,
  );
});
