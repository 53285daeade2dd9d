/**
 * After a pipe of the consumer stops early without cancelling it (`preventCancel`), the
 * consumer goes on: the next reader gets the first record the pipe's destination did not
 * accept, then the rest, in order, each once; and `commit()` commits exactly what was
 * accepted. The pipe reads whole batches from the stream's queue, so a record it read but
 * could not deliver, and the records still queued behind it, must not be lost.
 *
 * The matrix: how the pipe stops (the destination refuses a record; the destination errors
 * after accepting one; the signal aborts, N microtasks after a write returned, which sweeps
 * the moment between a read and its write) × who reads next (a reader, `for await`, another
 * pipe) × the topic (one batch of 20 records, so the pipe stops inside it; or two lz4 batches
 * of 10, the second fetched ahead while the pipe stops inside the first) × where it stops: at
 * record 5, in the first batch a pull queues whole in the stream's queue for the pipe; or at
 * record 12, which in batches of 5 the pipe takes straight from the fetch buffer
 * (`FetchBuffer.nextRecord`), not through the stream.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { Compression } from "../../protocol/compression/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";
import { afterMicrotasks } from "../helpers/wait.ts";

const TOPIC = uniq("pipe-resume");
const LZ4_TOPIC = uniq("pipe-resume-lz4");
const FIVES_TOPIC = uniq("pipe-resume-fives");
const LZ4_FIVES_TOPIC = uniq("pipe-resume-lz4-fives");
const TOTAL = 20;
/** Where the pipe stops (see the matrix above). */
let STOP = 5n;
const STOP_AT = [5n, 12n];
const VALUES = Array.from({ length: TOTAL }, (_, i) => ({ value: `v${i}` }));
await createTopic(TOPIC, 1);
await produce(TOPIC, 0, VALUES, { batchSize: TOTAL });
await createTopic(LZ4_TOPIC, 1);
await produce(LZ4_TOPIC, 0, VALUES, { batchSize: 10, compression: Compression.Lz4 });
await createTopic(FIVES_TOPIC, 1);
await produce(FIVES_TOPIC, 0, VALUES, { batchSize: 5 });
await createTopic(LZ4_FIVES_TOPIC, 1);
await produce(LZ4_FIVES_TOPIC, 0, VALUES, { batchSize: 5, compression: Compression.Lz4 });
const TOPICS: Record<string, string> = {
  "one batch": TOPIC,
  "two lz4 batches": LZ4_TOPIC,
  "batches of 5": FIVES_TOPIC,
  "lz4 batches of 5": LZ4_FIVES_TOPIC,
};

/** How the pipe stops: the records the destination accepted. */
type Stop = (c: Consumer) => Promise<bigint[]>;

const STOPS: Record<string, Stop> = {
  "the destination refuses a record": async (c) => {
    const accepted: bigint[] = [];
    await assert.rejects(
      c.pipeTo(
        new WritableStream({
          write(r) {
            if (r.offset === STOP) throw new TypeError("refused");
            accepted.push(r.offset);
          },
        }),
        { preventCancel: true },
      ),
      TypeError,
    );
    return accepted;
  },
  "the destination errors after accepting a record": async (c) => {
    const accepted: bigint[] = [];
    await assert.rejects(
      c.pipeTo(
        new WritableStream({
          write(r, controller) {
            accepted.push(r.offset);
            if (r.offset === STOP) controller.error(new TypeError("gave up"));
          },
        }),
        { preventCancel: true },
      ),
      TypeError,
    );
    return accepted;
  },
  ...Object.fromEntries(Array.from({ length: 12 }, (_, n): [string, Stop] => [
    `the signal aborts ${n} microtasks after a write`,
    async (c) => {
      const accepted: bigint[] = [];
      const ac = new AbortController();
      await assert.rejects(
        c.pipeTo(
          new WritableStream({
            write(r) {
              accepted.push(r.offset);
              if (r.offset === STOP) afterMicrotasks(n, () => ac.abort(new RangeError("stop")));
            },
          }),
          { preventCancel: true, signal: ac.signal },
        ),
        RangeError,
      );
      return accepted;
    },
  ])),
};

/** Who reads next: the offsets of the records it gets, up to the last one in the topic. */
type Next = (c: Consumer) => Promise<bigint[]>;

const LAST = BigInt(TOTAL - 1);

const NEXTS: Record<string, Next> = {
  "getReader()": async (c) => {
    const reader = c.getReader();
    const got: bigint[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got.push(value.offset);
      if (value.offset >= LAST) break;
    }
    reader.releaseLock();
    return got;
  },
  "for await": async (c) => {
    const got: bigint[] = [];
    for await (const r of c.values({ preventCancel: true })) {
      got.push(r.offset);
      if (r.offset >= LAST) break;
    }
    return got;
  },
  "another pipeTo": async (c) => {
    const got: bigint[] = [];
    const ac = new AbortController();
    await assert.rejects(
      c.pipeTo(
        new WritableStream<ConsumerRecord>({
          write(r) {
            got.push(r.offset);
            if (r.offset >= LAST) ac.abort(new RangeError("enough"));
          },
        }),
        { preventCancel: true, signal: ac.signal },
      ),
      RangeError,
    );
    return got;
  },
};

for (const [stopName, stop] of Object.entries(STOPS)) {
  for (const [nextName, next] of Object.entries(NEXTS)) {
    Deno.test(`consumer pipe resume: ${stopName}, then ${nextName}`, async (t) => {
      for (const [topicName, topic] of Object.entries(TOPICS)) {
        for (const at of STOP_AT) {
          await t.step(`${topicName}, stop at ${at}`, () => {
            STOP = at;
            return resume(topic, stop, next);
          });
        }
      }
    });
  }
}

async function resume(topic: string, stop: Stop, next: Next): Promise<void> {
  const groupId = uniq("pipe-resume");
  await using c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
  c.assign([{ topic, partition: 0, offset: 0n }]);
  const accepted = await stop(c);
  accepted.forEach((o, i) => assert.equal(o, BigInt(i), "accepted in order from 0"));
  assert.ok(accepted.length >= Number(STOP), "reached the stop");
  const firstMissing = BigInt(accepted.length);
  assert.equal(c.position({ topic, partition: 0 }), firstMissing, "position");
  await c.commit();
  const [committed] = await c.committed([{ topic, partition: 0 }]);
  assert.equal(committed!.offset, firstMissing, "committed what the destination accepted");
  const rest = await next(c);
  assert.deepEqual(
    rest,
    Array.from({ length: TOTAL - accepted.length }, (_, i) => firstMissing + BigInt(i)),
    "the next reader gets every record not accepted, in order",
  );
}

Deno.test("consumer pipeThrough: backpressure from the readable, its cancel cancels the consumer", async () => {
  await using c = new Consumer({ brokers: BOOTSTRAP, groupId: uniq("pipe-through") });
  c.assign([{ topic: TOPIC, partition: 0, offset: 0n }]);
  const tp = { topic: TOPIC, partition: 0 };
  const readable = c.pipeThrough(new TransformStream<ConsumerRecord, ConsumerRecord>());
  assert.equal(c.locked, true, "locked at once, as by the native pipeThrough");
  // Nobody reads the readable: the transform takes nothing, so nothing counts as taken.
  await new Promise((r) => setTimeout(r, 500));
  assert.ok((c.position(tp) ?? 0n) === 0n, `position ${c.position(tp)} with no reader`);
  const reader = readable.getReader();
  for (let i = 0; i < 3; i++) assert.equal((await reader.read()).value?.offset, BigInt(i));
  await new Promise((r) => setTimeout(r, 200));
  // Taken: what the transform accepted, at most the reader's three and the one it holds.
  const at = c.position(tp)!;
  assert.ok(at >= 3n && at <= 4n, `position ${at} after three reads`);
  await reader.cancel(new RangeError("enough"));
  // The readable's cancel errors the transform's writable: the pipe cancels the consumer.
  const deadline = Date.now() + 10_000;
  while (c.locked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(c.locked, false, "the pipe let go");
  assert.equal((await c.getReader().read()).done, true, "the consumer's stream is cancelled");
});

Deno.test("consumer pipeThrough: an error of the consumer errors the readable", async () => {
  // A consumer with neither assign() nor a group fails its first read with a TypeError.
  await using c = new Consumer({ brokers: BOOTSTRAP });
  const readable = c.pipeThrough(new TransformStream<ConsumerRecord, ConsumerRecord>());
  await assert.rejects(readable.getReader().read(), TypeError);
});
