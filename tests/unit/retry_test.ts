// Retry policy: backoff growth and jitter bounds, the overall deadline, abort, attempt limits,
// and that non-retriable failures are never retried.
import assert from "node:assert/strict";
import { backoffMs, retryPolicy, sleep, withRetry } from "../../cluster/retry.ts";
import { KafkaError, ProtocolError, TimeoutError } from "../../protocol/errors.ts";

const retriable = () => new KafkaError("flaky", { retriable: true });

Deno.test("backoff grows exponentially, is capped, and jitter stays within its bounds", () => {
  const p = retryPolicy({ initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, jitter: 0.2 });
  for (let attempt = 1; attempt <= 12; attempt++) {
    const base = Math.min(1000, 100 * 2 ** (attempt - 1));
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < 2000; i++) {
      const b = backoffMs(p, attempt);
      lo = Math.min(lo, b);
      hi = Math.max(hi, b);
    }
    assert.ok(lo >= base * 0.8 && hi <= base * 1.2, `attempt ${attempt}: ${lo}..${hi} vs ${base}`);
    // 2000 samples spread over +-20 %: both halves of the range are hit.
    assert.ok(lo < base * 0.9 && hi > base * 1.1, `attempt ${attempt}: no spread ${lo}..${hi}`);
  }
  const exact = retryPolicy({ jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffMs(exact, a)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
});

Deno.test("retryPolicy rejects nonsense", () => {
  assert.throws(() => retryPolicy({ initialBackoffMs: -1 }), RangeError);
  assert.throws(() => retryPolicy({ initialBackoffMs: 500, maxBackoffMs: 100 }), RangeError);
  assert.throws(() => retryPolicy({ multiplier: 0.5 }), RangeError);
  assert.throws(() => retryPolicy({ jitter: 1.5 }), RangeError);
  assert.throws(() => retryPolicy({ deadlineMs: 0 }), RangeError);
  assert.throws(() => retryPolicy({ maxAttempts: 0 }), RangeError);
});

Deno.test("retriable failures are retried until success", async () => {
  let n = 0;
  const v = await withRetry(retryPolicy({ initialBackoffMs: 1, maxBackoffMs: 2 }), () => {
    n++;
    if (n < 4) throw retriable();
    return Promise.resolve("ok");
  });
  assert.equal(v, "ok");
  assert.equal(n, 4);
});

Deno.test("non-retriable failures are not retried", async () => {
  const p = retryPolicy({ initialBackoffMs: 1 });
  for (
    const error of [
      new KafkaError("fatal"),
      new ProtocolError(29), // TOPIC_AUTHORIZATION_FAILED
      new TypeError("bad argument"),
      new Error("not a Kafka error"),
    ]
  ) {
    let n = 0;
    await assert.rejects(
      withRetry(p, () => {
        n++;
        throw error;
      }),
      (e) => e === error,
    );
    assert.equal(n, 1, `${error.message} was retried`);
  }
  // A retriable protocol error is retried: the flag comes from Kafka's error table.
  let n = 0;
  await withRetry(p, () => {
    if (++n < 2) throw new ProtocolError(6); // NOT_LEADER_OR_FOLLOWER
    return Promise.resolve();
  });
  assert.equal(n, 2);
});

Deno.test("onError decides, and sees the attempt number and the time left", async () => {
  const seen: { attempt: number; remainingMs: number }[] = [];
  let n = 0;
  await assert.rejects(
    withRetry(retryPolicy({ initialBackoffMs: 1, deadlineMs: 10_000 }), () => {
      n++;
      throw new Error("plain");
    }, {
      onError: (_e, ctx) => {
        seen.push(ctx);
        return ctx.attempt < 3;
      },
    }),
    /plain/,
  );
  assert.equal(n, 3);
  assert.deepEqual(seen.map((s) => s.attempt), [1, 2, 3]);
  assert.ok(seen.every((s) => s.remainingMs > 0 && s.remainingMs <= 10_000));
  assert.ok(seen[2]!.remainingMs <= seen[0]!.remainingMs);
});

Deno.test("maxAttempts ends retries", async () => {
  let n = 0;
  await assert.rejects(
    withRetry(retryPolicy({ initialBackoffMs: 1, maxAttempts: 3 }), () => {
      n++;
      throw retriable();
    }),
    (e) => e instanceof KafkaError && e.retriable,
  );
  assert.equal(n, 3);
});

Deno.test("the deadline ends retries: no attempt starts after it, TimeoutError names the last error", async () => {
  const deadlineMs = 300;
  const starts: number[] = [];
  const begin = Date.now();
  await assert.rejects(
    withRetry(retryPolicy({ initialBackoffMs: 20, maxBackoffMs: 20, deadlineMs }), () => {
      starts.push(Date.now() - begin);
      throw retriable();
    }),
    (e) =>
      e instanceof TimeoutError && e.timeoutMs === deadlineMs &&
      e.cause instanceof KafkaError && e.cause.message === "flaky" && /flaky/.test(e.message),
  );
  assert.ok(starts.length >= 2, `only ${starts.length} attempts`);
  // With a 20 ms backoff, 300 ms allow at most ~16 attempts: retries stop at the deadline.
  assert.ok(starts.length <= 17, `${starts.length} attempts`);
  // The retry's clock starts between `begin` and its first attempt (starts[0]), so an attempt
  // at 301 ms from `begin` can be at 299 ms on the retry's clock, which the deadline is about.
  const slack = starts[0]!;
  assert.ok(starts.every((t) => t < deadlineMs + slack), `an attempt started late: ${starts}`);
});

Deno.test("an attempt still running at the deadline is aborted and reported as TimeoutError", async () => {
  let aborted = false;
  await assert.rejects(
    withRetry(
      retryPolicy({ deadlineMs: 50 }),
      (_attempt, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          }, { once: true });
        }),
    ),
    (e) => e instanceof TimeoutError && e.timeoutMs === 50,
  );
  assert.ok(aborted);
});

Deno.test("a per-call deadline overrides the policy's", async () => {
  await assert.rejects(
    withRetry(
      retryPolicy({ deadlineMs: 60_000 }),
      (_a, signal) =>
        new Promise((_r, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      {
        deadlineMs: 30,
      },
    ),
    TimeoutError,
  );
});

Deno.test("abort during the backoff rejects at once with the signal's reason", async () => {
  const c = new AbortController();
  let n = 0;
  const reason = new KafkaError("stop");
  // The deadline is well past the backoff (and its jitter), or the loop would give up at once
  // with the attempt's error instead of sleeping.
  const policy = retryPolicy({
    initialBackoffMs: 60_000,
    maxBackoffMs: 60_000,
    deadlineMs: 600_000,
  });
  const run = withRetry(policy, () => {
    n++;
    setTimeout(() => c.abort(reason), 10);
    throw retriable();
  }, { signal: c.signal });
  await assert.rejects(run, (e) => e === reason);
  assert.equal(n, 1);
});

Deno.test("abort during an attempt rejects with the reason and does not retry", async () => {
  const c = new AbortController();
  let n = 0;
  const run = withRetry(retryPolicy({ initialBackoffMs: 1 }), (_a, signal) => {
    n++;
    return new Promise((_r, reject) => {
      signal.addEventListener("abort", () => reject(new KafkaError("x", { retriable: true })));
    });
  }, { signal: c.signal });
  setTimeout(() => c.abort(), 5);
  await assert.rejects(run, (e) => e instanceof DOMException && e.name === "AbortError");
  assert.equal(n, 1);
});

Deno.test("an already aborted signal runs nothing", async () => {
  let n = 0;
  await assert.rejects(
    withRetry(retryPolicy(), () => {
      n++;
      return Promise.resolve();
    }, { signal: AbortSignal.abort() }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  assert.equal(n, 0);
});

Deno.test("sleep resolves, and rejects early on abort without leaving its timer", async () => {
  await sleep(1);
  const c = new AbortController();
  const p = sleep(60_000, c.signal);
  c.abort(new KafkaError("woken"));
  await assert.rejects(p, /woken/);
  await assert.rejects(sleep(5, AbortSignal.abort()), (e) => (e as Error).name === "AbortError");
});
