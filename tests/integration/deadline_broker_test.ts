// The deadline and fail-fast contracts against the real broker: its TLS listener reached in
// plaintext and its plaintext listener with TLS, its SASL listeners without SASL (and with a
// mechanism it does not enable), a run without --allow-net (a subprocess), and the broker
// stopped. Fail-fast cases fail on the first attempt, in under 1 s on loopback, with a typed,
// non-retriable error whose message says what to do; the deadline cells run the same
// operation × source matrix as tests/unit/deadline_matrix_test.ts (fake servers).
import assert from "node:assert/strict";
import { Admin } from "../../admin/mod.ts";
import { Consumer } from "../../consumer/mod.ts";
import { Producer } from "../../producer/mod.ts";
import type { ClientOptions } from "../../cluster/options.ts";
import { AuthenticationError, ConnectionError, TimeoutError } from "../../protocol/errors.ts";
import { broker } from "../helpers/broker.ts";
import {
  CELL_COUNT,
  checkCell,
  describeResults,
  type Expectation,
  FAIL_FAST_MS,
  runCells,
  tolerance,
} from "../helpers/deadline_matrix.ts";

const b = await broker();
const ca = b.tls.caPem;
const DEADLINE_MS = 2_000;

/** Runs the matrix against one real-broker condition. */
async function matrix(
  t: Deno.TestContext,
  condition: string,
  client: ClientOptions,
  expect: Expectation,
): Promise<void> {
  // Fail-fast conditions get a long deadline, so failing fast stays clearly apart from waiting
  // for the deadline on a loaded machine too.
  const deadlineMs = expect.kind === "fail-fast" ? 10_000 : DEADLINE_MS;
  const { results, lagMs } = await runCells(client, deadlineMs, expect);
  console.log(describeResults(condition, results, lagMs));
  assert.equal(results.length, CELL_COUNT);
  for (const r of results) {
    await t.step(`${condition} × ${r.name}`, () => checkCell(r, expect, lagMs));
  }
}

/** One call that must fail fast: the error, and how long it took. */
async function failsFast(call: () => Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const start = performance.now();
  const error = await call().then(() => undefined, (e) => e as Error);
  const ms = Math.round(performance.now() - start);
  assert.ok(error !== undefined, "the call succeeded");
  console.log(`  fail-fast: ${ms} ms: ${error.name}: ${error.message}`);
  assert.ok(ms <= FAIL_FAST_MS, `took ${ms} ms to fail: ${error}`);
  assert.equal((error as { retriable?: boolean }).retriable, false, String(error));
  return { error, ms };
}

Deno.test({
  name: "fail fast (real broker): a plaintext client on the TLS listener is told to set tls",
  ignore: b.listeners.SSL === undefined,
  async fn(t) {
    const brokers = b.bootstrap("SSL");
    await using admin = new Admin({ brokers });
    const { error } = await failsFast(() => admin.listTopics());
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /speaks TLS: set the tls option/);
    await matrix(t, "plaintext client on the SSL listener", { brokers }, {
      kind: "fail-fast",
      error: AuthenticationError,
      hint: /speaks TLS/,
    });
  },
});

Deno.test({
  name: "fail fast (real broker): a TLS client on the plaintext listener is told it has no TLS",
  ignore: ca === undefined,
  async fn(t) {
    const client = { brokers: b.bootstrap("PLAINTEXT"), tls: { caCerts: [ca!] } };
    await using admin = new Admin(client);
    const { error } = await failsFast(() => admin.listTopics());
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /does not speak TLS here/);
    await matrix(t, "TLS client on the PLAINTEXT listener", client, {
      kind: "fail-fast",
      error: AuthenticationError,
      hint: /does not speak TLS here/,
    });
  },
});

Deno.test({
  name: "fail fast (real broker): SASL required but not configured names the mechanisms",
  ignore: b.listeners.SASL_PLAINTEXT === undefined,
  async fn(t) {
    const brokers = b.bootstrap("SASL_PLAINTEXT");
    await using admin = new Admin({ brokers });
    const { error } = await failsFast(() => admin.listTopics());
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /requires SASL authentication.*set the sasl option/);
    for (const m of b.saslMechanisms) assert.ok(error.message.includes(m), error.message);
    await matrix(t, "no SASL on the SASL_PLAINTEXT listener", { brokers }, {
      kind: "fail-fast",
      error: AuthenticationError,
      hint: /requires SASL/,
    });
  },
});

Deno.test({
  name: "fail fast (real broker): SASL_SSL with TLS but without SASL",
  ignore: b.listeners.SASL_SSL === undefined || ca === undefined,
  async fn() {
    await using admin = new Admin({ brokers: b.bootstrap("SASL_SSL"), tls: { caCerts: [ca!] } });
    const { error } = await failsFast(() => admin.describeCluster());
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /requires SASL authentication/);
  },
});

Deno.test({
  name: "fail fast (real broker): a mechanism the broker does not enable lists the ones it does",
  ignore: b.listeners.SASL_PLAINTEXT === undefined || b.saslMechanisms.includes("OAUTHBEARER"),
  async fn() {
    await using admin = new Admin({
      brokers: b.bootstrap("SASL_PLAINTEXT"),
      sasl: { mechanism: "oauthbearer", token: () => ({ value: "x", lifetimeMs: 60_000 }) },
    });
    const { error } = await failsFast(() => admin.listTopics());
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /OAUTHBEARER is not enabled on the broker; it offers:/);
    for (const m of b.saslMechanisms) assert.ok(error.message.includes(m), error.message);
  },
});

Deno.test("fail fast: without --allow-net the error names the flag (a subprocess)", async () => {
  const [address] = b.bootstrap("PLAINTEXT");
  const script = await Deno.makeTempFile({ prefix: "no-net-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { Admin } from ${JSON.stringify(new URL("../../admin/mod.ts", import.meta.url).href)};
const admin = new Admin({ brokers: [${JSON.stringify(address)}] });
const start = performance.now();
const e = await admin.listTopics().then(() => undefined, (x) => x);
const ms = Math.round(performance.now() - start);
await admin.close();
console.log(JSON.stringify({ name: e?.name, message: e?.message, retriable: e?.retriable, ms }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--no-prompt", "--no-check", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text.split("\n").at(-1)!);
    console.log(`  fail-fast: ${r.ms} ms: ${r.name}: ${r.message}`);
    assert.equal(r.name, ConnectionError.name);
    assert.equal(r.retriable, false);
    assert.ok(r.message.includes(`--allow-net=${address}`), r.message);
    assert.ok(r.ms <= FAIL_FAST_MS, `took ${r.ms} ms`);
  } finally {
    await Deno.remove(script);
  }
});

Deno.test({
  name: "deadline matrix (real broker): the broker stopped",
  ignore: !b.managed,
  async fn(t) {
    const brokers = b.bootstrap("PLAINTEXT");
    const id = b.nodeIds[0]!;
    // Clients that were talking to the broker when it stopped: an admin, and a group member.
    await using warm = new Admin({ brokers, retry: { deadlineMs: 60_000 } });
    const topic = `deadline-${crypto.randomUUID().slice(0, 8)}`;
    await warm.createTopic(topic, { numPartitions: 1, replicationFactor: 1 });
    {
      await using p = new Producer({ brokers });
      await p.send({ topic, value: "x" });
    }
    const member = new Consumer({
      brokers,
      groupId: `g-${topic}`,
      topics: [topic],
      autoOffsetReset: "earliest",
      retry: { deadlineMs: DEADLINE_MS },
    });
    const reader = member.getReader();
    assert.equal((await reader.read()).done, false);
    reader.releaseLock();
    // A second member whose close({ timeoutMs }) is shorter than its retry.deadlineMs.
    const patient = new Consumer({
      brokers,
      groupId: `g2-${topic}`,
      topics: [topic],
      autoOffsetReset: "earliest",
      retry: { deadlineMs: 60_000 },
    });
    const patientReader = patient.getReader();
    assert.equal((await patientReader.read()).done, false);
    patientReader.releaseLock();
    await b.stopNode(id);
    try {
      const start = performance.now();
      const e = await warm.listTopics({ timeoutMs: DEADLINE_MS }).catch((x) => x);
      const ms = Math.round(performance.now() - start);
      console.log(`  warm admin: listTopics × timeoutMs: ${ms} ms: ${e}`);
      assert.ok(e instanceof TimeoutError, String(e));
      assert.ok(
        ms >= DEADLINE_MS - 50 && ms <= DEADLINE_MS + tolerance(DEADLINE_MS) + 500,
        `${ms}`,
      );
      // Closing commits what was read and leaves the group: with the broker gone, that ends
      // by the client's retry.deadlineMs.
      const closing = performance.now();
      await member.close();
      const closeMs = Math.round(performance.now() - closing);
      console.log(`  group member: close × retry.deadlineMs: ${closeMs} ms`);
      assert.ok(closeMs <= DEADLINE_MS + tolerance(DEADLINE_MS) + 500, `close took ${closeMs} ms`);
      const closing2 = performance.now();
      await patient.close({ timeoutMs: DEADLINE_MS });
      const close2Ms = Math.round(performance.now() - closing2);
      console.log(`  group member: close × timeoutMs: ${close2Ms} ms`);
      assert.ok(
        close2Ms <= DEADLINE_MS + tolerance(DEADLINE_MS) + 500,
        `close took ${close2Ms} ms`,
      );
      await matrix(t, "broker stopped", { brokers }, { kind: "deadline" });
    } finally {
      await b.startNode(id);
    }
  },
});
