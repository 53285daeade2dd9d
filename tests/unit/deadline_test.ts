// The deadline notion (protocol/deadline.ts) and what it buys: nested retry loops share the
// caller's remaining time; the earliest of a call's limits wins; a backoff never ends a call
// early; fail-fast errors are not retried (one connection, no loop); a malformed frame is a
// DecodeError, as the README says.
import assert from "node:assert/strict";
import { Admin } from "../../admin/mod.ts";
import { retryPolicy, withRetry } from "../../cluster/retry.ts";
import { Deadline, deadlineOf, remainingMs } from "../../protocol/deadline.ts";
import {
  AuthenticationError,
  ConnectionError,
  DecodeError,
  KafkaError,
  TimeoutError,
  UnsupportedVersionError,
} from "../../protocol/errors.ts";
import { fakeBroker, type FakeBrokerMode } from "../helpers/fake_broker.ts";

const flaky = () => new ConnectionError("refused", { broker: "x:1" });

Deno.test("Deadline: the earliest of its own timeout and the caller's wins", async () => {
  using outer = new Deadline({ timeoutMs: 100, what: "outer" });
  using inner = new Deadline({ timeoutMs: 10_000, signal: outer.signal });
  assert.equal(inner.at, outer.at);
  assert.ok(remainingMs(inner.signal) <= 100);
  using shorter = new Deadline({ timeoutMs: 30, signal: outer.signal, what: "inner" });
  assert.ok(shorter.at < outer.at);
  assert.equal(deadlineOf(shorter.signal), shorter.at);
  await new Promise((r) => shorter.signal.addEventListener("abort", r, { once: true }));
  assert.ok(shorter.signal.reason instanceof TimeoutError);
  assert.match((shorter.signal.reason as Error).message, /inner timed out after 30 ms/);
  assert.equal(outer.signal.aborted, false);
  // The caller's abort reaches the inner deadline with the caller's reason.
  const c = new AbortController();
  using child = new Deadline({ timeoutMs: 10_000, signal: c.signal });
  const reason = new Error("caller gave up");
  c.abort(reason);
  assert.equal(child.signal.reason, reason);
});

Deno.test("a retry loop nested in another shares the outer deadline", async () => {
  const start = performance.now();
  const outerPolicy = retryPolicy({ initialBackoffMs: 10, deadlineMs: 400 });
  const innerPolicy = retryPolicy({ initialBackoffMs: 10, deadlineMs: 60_000 });
  let inner = 0;
  const e = await withRetry(outerPolicy, (_a, signal) =>
    // Like a metadata refresh inside a retry: its own loop, under the caller's signal.
    withRetry(innerPolicy, () => {
      inner++;
      return Promise.reject(flaky());
    }, { signal })).catch((x) => x);
  const ms = performance.now() - start;
  assert.ok(e instanceof TimeoutError, String(e));
  assert.equal(e.timeoutMs, 400);
  assert.ok(e.cause instanceof ConnectionError, "the last failure is the cause");
  assert.ok(inner > 1, "the inner loop retried");
  assert.ok(ms >= 390 && ms < 400 + 250, `ended after ${ms} ms`);
});

Deno.test("the earliest of deadlineMs and the policy's deadline applies", async () => {
  const start = performance.now();
  const e = await withRetry(
    retryPolicy({ initialBackoffMs: 10, deadlineMs: 200 }),
    () => Promise.reject(flaky()),
    { deadlineMs: 60_000 },
  ).catch((x) => x);
  assert.ok(e instanceof TimeoutError && e.timeoutMs === 200, String(e));
  assert.ok(performance.now() - start < 200 + 250);
});

Deno.test("a long backoff is cut to the deadline: the call ends at it, not a backoff early", async () => {
  const start = performance.now();
  const e = await withRetry(
    retryPolicy({ initialBackoffMs: 5_000, maxBackoffMs: 5_000, deadlineMs: 300 }),
    () => Promise.reject(flaky()),
  ).catch((x) => x);
  const ms = performance.now() - start;
  assert.ok(e instanceof TimeoutError, String(e));
  assert.ok(ms >= 290 && ms < 300 + 250, `ended after ${ms} ms`);
});

Deno.test("the caller's signal ends a retry loop with its own reason", async () => {
  const c = new AbortController();
  const reason = new KafkaError("user gave up");
  setTimeout(() => c.abort(reason), 100);
  const e = await withRetry(retryPolicy({ initialBackoffMs: 10 }), () => Promise.reject(flaky()), {
    signal: c.signal,
  }).catch((x) => x);
  assert.equal(e, reason);
});

const FAIL_FAST: ReadonlyArray<
  [FakeBrokerMode, abstract new (...args: never[]) => Error, number]
> = [
  // [fake, error class, connections at most: the first attempt, plus a listener probe]
  ["garbage", DecodeError, 1],
  ["tls", AuthenticationError, 1],
  ["sasl", AuthenticationError, 2],
  ["unsupported", UnsupportedVersionError, 1],
];

for (const [mode, error, connections] of FAIL_FAST) {
  Deno.test(`fail fast: "${mode}" fails on the first attempt with ${error.name}, no retry`, async () => {
    await using fake = fakeBroker(mode);
    await using admin = new Admin({ brokers: [fake.address], retry: { deadlineMs: 60_000 } });
    const start = performance.now();
    const e = await admin.listTopics().catch((x) => x);
    const ms = performance.now() - start;
    assert.ok(e instanceof error && e instanceof KafkaError, String(e));
    assert.equal(e.retriable, false);
    assert.ok(ms < 1_000, `took ${ms} ms`);
    assert.ok(fake.accepted <= connections, `${fake.accepted} connections: it was retried`);
  });
}

Deno.test("a malformed frame is a DecodeError (README's table), not a retriable ConnectionError", async () => {
  await using fake = fakeBroker("garbage");
  await using admin = new Admin({ brokers: [fake.address] });
  const e = await admin.describeCluster().catch((x) => x);
  assert.ok(e instanceof DecodeError, String(e));
  assert.ok(!(e instanceof ConnectionError));
  assert.equal(e.retriable, false);
});

Deno.test("a frame cut short by a hang-up is a network failure: retried until the deadline", async () => {
  await using fake = fakeBroker("truncated");
  await using admin = new Admin({ brokers: [fake.address], retry: { initialBackoffMs: 20 } });
  const e = await admin.listTopics({ timeoutMs: 500 }).catch((x) => x);
  assert.ok(e instanceof TimeoutError, String(e));
  assert.ok(e.cause instanceof ConnectionError, String(e.cause));
  assert.match(String(e.message), /in the middle of a frame/);
  assert.ok(fake.accepted > 1, "it was retried");
});
