/**
 * Bad input gives a typed error, never a hang: an unknown topic or partition, a commit after
 * close, invalid offsets and options, an offset out of range with no reset policy, a broker
 * that is down at start, and misuse (subscribe without a group, mixing assign and subscribe,
 * reading with nothing to read).
 */

import assert from "node:assert/strict";
import { Consumer } from "../../consumer/mod.ts";
import {
  ClosedError,
  ConnectionError,
  KafkaError,
  ProtocolError,
  TimeoutError,
} from "../../protocol/errors.ts";
import { BOOTSTRAP, createTopic, produce, take, uniq } from "../helpers/consumer_testkit.ts";

Deno.test("errors: an unknown topic fails the stream with UNKNOWN_TOPIC_OR_PARTITION", async () => {
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([{ topic: uniq("no-such-topic"), partition: 0, offset: "earliest" }]);
  await assert.rejects(take(c, 1, 30_000), (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal((e as ProtocolError).errorName, "UNKNOWN_TOPIC_OR_PARTITION");
    return true;
  });
});

Deno.test("errors: a partition the topic does not have fails the stream", async () => {
  const topic = uniq("two-partitions");
  await createTopic(topic, 2);
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([{ topic, partition: 7, offset: "earliest" }]);
  await assert.rejects(take(c, 1, 30_000), (e: unknown) => {
    assert.ok(e instanceof ProtocolError);
    assert.match((e as Error).message, /no partition 7/);
    return true;
  });
});

Deno.test("errors: reading with neither groupId nor assign() is a TypeError, not a hang", async () => {
  for (const options of [{}, { groupId: uniq("g") }]) {
    const c = new Consumer({ brokers: BOOTSTRAP, ...options });
    const started = Date.now();
    // (take() gives up after 5 s: a hang fails the test instead of stalling it.)
    await assert.rejects(take(c, 1, 5_000), (e: unknown) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match((e as Error).message, /assign\(\)/);
      return true;
    });
    assert.ok(Date.now() - started < 1_000, "at once");
    await c.close();
  }
  // assign() right after construction, before the first read, is fine.
  const topic = uniq("assigned-late");
  await createTopic(topic, 1);
  await produce(topic, 0, [{ value: "x" }]);
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([{ topic, partition: 0, offset: "earliest" }]);
  assert.equal((await take(c, 1))[0]?.offset, 0n);
});

Deno.test("errors: a commit after close is a ClosedError", async () => {
  const c = new Consumer({ brokers: BOOTSTRAP, groupId: uniq("g") });
  await c.close();
  await assert.rejects(c.commit(), ClosedError);
  assert.throws(() => c.assign([{ topic: "t", partition: 0 }]), ClosedError);
  assert.throws(() => c.seek({ topic: "t", partition: 0, offset: 1n }), ClosedError);
  await c.close(); // idempotent
});

Deno.test("errors: invalid offsets and options are TypeError / RangeError", async () => {
  await using c = new Consumer({ brokers: BOOTSTRAP, groupId: uniq("g") });
  assert.throws(() => c.assign([{ topic: "t", partition: 0, offset: -5n }]), RangeError);
  assert.throws(() => c.assign([{ topic: "t", partition: -1 }]), RangeError);
  assert.throws(() => c.assign([{ topic: "", partition: 0 }]), TypeError);
  assert.throws(
    () => c.assign([{ topic: "t", partition: 0, offset: { timestamp: -1 } }]),
    RangeError,
  );
  assert.throws(() => c.assign([{ topic: "t", partition: 0 }, { topic: "t", partition: 0 }]));
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => c.assign([{ topic: "t", partition: 0, offset: "soon" as any }]),
    TypeError,
  );
  c.assign([{ topic: "t", partition: 0, offset: 3n }]);
  assert.throws(() => c.seek({ topic: "t", partition: 0, offset: -1n }), RangeError);
  assert.throws(() => c.seek({ topic: "t", partition: 1, offset: 1n }), RangeError);
  assert.throws(() => c.subscribe(["t"]), TypeError, "assign and subscribe do not mix");
  await assert.rejects(c.commit([{ topic: "t", partition: 0, offset: -2n }]), RangeError);
  assert.throws(() => new Consumer({ brokers: BOOTSTRAP, maxBufferedBytes: 1000 }), RangeError);
  assert.throws(() => new Consumer({ brokers: [] }), TypeError);
  assert.throws(() => new Consumer({ brokers: BOOTSTRAP, topics: ["t"] }), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => new Consumer({ brokers: BOOTSTRAP, groupProtocol: "x" as any }), TypeError);
  const noGroup = new Consumer({ brokers: BOOTSTRAP });
  assert.throws(() => noGroup.subscribe(["t"]), TypeError);
  await assert.rejects(noGroup.commit(), TypeError);
  await noGroup.close();
});

Deno.test("errors: an offset out of range with autoOffsetReset 'error' fails", async () => {
  const topic = uniq("range");
  await createTopic(topic, 1);
  await produce(topic, 0, [{ value: "only" }]);
  await using c = new Consumer({ brokers: BOOTSTRAP, autoOffsetReset: "error" });
  c.assign([{ topic, partition: 0, offset: 1_000_000n }]);
  await assert.rejects(take(c, 1, 30_000), (e: unknown) => {
    assert.ok(e instanceof KafkaError, String(e));
    assert.match((e as Error).message, /out of range/);
    return true;
  });
});

Deno.test("errors: an offset out of range resets by policy", async () => {
  const topic = uniq("range-reset");
  await createTopic(topic, 1);
  await produce(topic, 0, [{ value: "a" }, { value: "b" }]);
  await using c = new Consumer({ brokers: BOOTSTRAP, autoOffsetReset: "earliest" });
  c.assign([{ topic, partition: 0, offset: 1_000_000n }]);
  const [r] = await take(c, 1, 30_000);
  assert.equal(r!.offset, 0n);
});

Deno.test("errors: a broker that is down at start fails the stream, within the deadline", async () => {
  for (const options of [{}, { groupId: uniq("g"), topics: ["t"] }]) {
    await using c = new Consumer({
      brokers: ["127.0.0.1:1"],
      connectTimeoutMs: 1_000,
      retry: { deadlineMs: 2_000, initialBackoffMs: 50 },
      ...options,
    });
    if (!("topics" in options)) c.assign([{ topic: "t", partition: 0 }]);
    const started = Date.now();
    await assert.rejects(take(c, 1, 30_000), (e: unknown) => {
      assert.ok(e instanceof ConnectionError || e instanceof TimeoutError, String(e));
      return true;
    });
    assert.ok(Date.now() - started < 20_000);
  }
});
