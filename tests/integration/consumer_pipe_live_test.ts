/**
 * `seek()`, `pause()`/`resume()` and `commit()` called while a pipe of the consumer runs. The
 * pipe takes ready records straight from the fetch buffer (`FetchBuffer.nextRecord`) and
 * counts one only once the destination's `write()` resolved, so a record can be out of the
 * buffer, in the destination's hands, when its partition moves. The contract:
 *
 * - after `seek(p, offset)` the next record of p the destination gets is at `offset` (what was
 *   handed to the destination before the seek stays delivered);
 * - after `pause(p)` and `resume(p)` every record reaches the destination once, in order;
 * - `commit()` commits no record whose write had not even started.
 *
 * The matrix: the action (seek back, seek forward, pause and resume at once or later,
 * commit) × when (inside the destination's write of record K, or N microtasks after that write
 * returned: the moment between a write and the next record's take) × K (4: in the first batch,
 * which a pull queues whole in the stream for the pipe; 12: in batches of 5, a batch the pipe
 * takes straight from the fetch buffer) × the destination (a sink that writes synchronously,
 * one that waits a macrotask per record; for pause, also a pipeThrough, whose transform holds a
 * record written but not yet read) × the topic (one batch of 20; batches of 5, plain and lz4,
 * so the action falls inside a batch, at its end, or between batches).
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { Compression } from "../../protocol/compression/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";
import { afterMicrotasks, deadline, until } from "../helpers/wait.ts";

const TOTAL = 20;
const LAST = BigInt(TOTAL - 1);
const VALUES = Array.from({ length: TOTAL }, (_, i) => ({ value: `v${i}` }));
const ONE = uniq("pipe-live");
const FIVES = uniq("pipe-live-fives");
const LZ4 = uniq("pipe-live-lz4");
await createTopic(ONE, 1);
await produce(ONE, 0, VALUES, { batchSize: TOTAL });
await createTopic(FIVES, 1);
await produce(FIVES, 0, VALUES, { batchSize: 5 });
await createTopic(LZ4, 1);
await produce(LZ4, 0, VALUES, { batchSize: 5, compression: Compression.Lz4 });
const TOPICS: Record<string, string> = {
  "one batch": ONE,
  "batches of 5": FIVES,
  "lz4 batches of 5": LZ4,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => BigInt(from + i));

/** What the action saw: the records handed to the destination when it ran. */
interface Seen {
  handed: number;
}

/**
 * An action on the consumer while the pipe runs, and the check of what the destination got
 * (offsets in order) and of the consumer afterwards.
 */
interface Action {
  run(c: Consumer, tp: { topic: string; partition: number }): void | Promise<void>;
  /** Whether the destination got everything it should: the pipe stops then. */
  enough(got: bigint[]): boolean;
  check(
    c: Consumer,
    tp: { topic: string; partition: number },
    got: bigint[],
    seen: Seen,
  ): void | Promise<void>;
}

const ACTIONS: Record<string, Action> = {
  "seek back to 2": {
    run: (c, tp) => c.seek({ ...tp, offset: 2n }),
    enough: (got) => got.filter((o) => o === LAST).length > 0 && got.at(-1) === LAST,
    check: (_c, _tp, got, seen) => {
      assert.deepEqual(got, [...range(0, seen.handed), ...range(2, TOTAL)]);
    },
  },
  "seek forward to 15": {
    run: (c, tp) => c.seek({ ...tp, offset: 15n }),
    enough: (got) => got.at(-1) === LAST,
    check: (_c, _tp, got, seen) => {
      assert.deepEqual(got, [...range(0, seen.handed), ...range(15, TOTAL)]);
    },
  },
  "pause and resume at once": {
    run: (c, tp) => {
      c.pause([tp]);
      c.resume([tp]);
    },
    enough: (got) => got.at(-1) === LAST,
    check: (_c, _tp, got) => assert.deepEqual(got, range(0, TOTAL)),
  },
  "pause, resume 100 ms later": {
    run: (c, tp) => {
      c.pause([tp]);
      setTimeout(() => c.resume([tp]), 100);
    },
    enough: (got) => got.at(-1) === LAST,
    check: (_c, _tp, got) => assert.deepEqual(got, range(0, TOTAL)),
  },
};

/** The commit cell: what `commit()` committed, seen from the broker. */
let committedAt: Promise<void> | undefined;
ACTIONS["commit"] = {
  run: (c) => {
    committedAt = c.commit();
  },
  enough: (got) => got.at(-1) === LAST,
  check: async (c, tp, got, seen) => {
    assert.deepEqual(got, range(0, TOTAL));
    await committedAt;
    const [committed] = await c.committed([tp]);
    // The records whose write had resolved, at most those handed to the destination.
    assert.ok(
      committed!.offset <= BigInt(seen.handed) && committed!.offset >= BigInt(seen.handed - 2),
      `committed ${committed!.offset} with ${seen.handed} handed to the destination`,
    );
  },
};

/**
 * The record at whose write the action runs: 4, in the first batch a pull queues whole in the
 * stream for the pipe; 12, which the pipe takes straight from the fetch buffer when it is not
 * in the first batch (batches of 5).
 */
const KS = [4n, 12n];
type When = (f: () => void | Promise<void>) => void;
const WHENS: Record<string, When> = {
  "inside the write of K": (f) => void f(),
  ...Object.fromEntries(
    [0, 2, 5, 8].map((n): [string, When] => [
      `${n} microtasks after the write of K`,
      (f) => afterMicrotasks(n, () => void f()),
    ]),
  ),
};

/** Pipes the consumer into a sink until `action.enough`; runs the action at record K. */
async function pipeInto(
  c: Consumer,
  tp: { topic: string; partition: number },
  action: Action,
  when: When,
  slow: boolean,
  k: bigint,
): Promise<{ got: bigint[]; seen: Seen }> {
  const got: bigint[] = [];
  const seen: Seen = { handed: -1 };
  const ac = new AbortController();
  let acted = false;
  const pipe = c.pipeTo(
    new WritableStream<ConsumerRecord>({
      async write(r) {
        got.push(r.offset);
        if (!acted && r.offset === k) {
          acted = true;
          // `handed` is counted when the action runs: every write() call before it.
          when(() => {
            seen.handed = got.length;
            return action.run(c, tp);
          });
        }
        if (action.enough(got)) ac.abort(new RangeError("enough"));
        if (slow) await sleep(0);
      },
    }),
    { signal: ac.signal, preventCancel: true },
  );
  const timer = setTimeout(() => ac.abort(new Error(`timed out with ${got}`)), 15_000);
  try {
    await assert.rejects(pipe, RangeError);
  } finally {
    clearTimeout(timer);
  }
  return { got, seen };
}

for (const [actionName, action] of Object.entries(ACTIONS)) {
  for (const [whenName, when] of Object.entries(WHENS)) {
    Deno.test(`consumer pipe live: ${actionName} ${whenName}`, async (t) => {
      for (const [topicName, topic] of Object.entries(TOPICS)) {
        for (const [k, slow] of KS.flatMap((k) => [[k, false], [k, true]] as const)) {
          await t.step(`${topicName}, K ${k}, ${slow ? "slow" : "sync"} sink`, async () => {
            await using c = new Consumer({
              brokers: BOOTSTRAP,
              groupId: uniq("pipe-live"),
              autoCommit: false,
            });
            const tp = { topic, partition: 0 };
            c.assign([{ ...tp, offset: 0n }]);
            const { got, seen } = await pipeInto(c, tp, action, when, slow, k);
            await action.check(c, tp, got, seen);
          });
        }
      }
    });
  }
}

Deno.test("consumer pipeThrough live: pause and resume while the transform holds a record", async (t) => {
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const k of KS) {
      await t.step(`${topicName}, K ${k}`, async () => {
        await using c = new Consumer({ brokers: BOOTSTRAP, groupId: uniq("pipe-live") });
        const tp = { topic, partition: 0 };
        c.assign([{ ...tp, offset: 0n }]);
        const reader = c.pipeThrough(new TransformStream<ConsumerRecord, ConsumerRecord>())
          .getReader();
        const got: bigint[] = [];
        while (got.at(-1) !== LAST) {
          const { value, done } = await reader.read();
          assert.ok(!done, `ended with ${got}`);
          got.push(value.offset);
          if (value.offset === k) {
            // The pipe has the next record written to the transform, waiting: it stays delivered.
            await sleep(50);
            c.pause([tp]);
            await sleep(100);
            c.resume([tp]);
          }
        }
        assert.deepEqual(got, range(0, TOTAL));
        await reader.cancel();
      });
    }
  }
});

Deno.test("consumer pipe live: a reader takes some records, then a pipe the rest, in order", async (t) => {
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const pending of [false, true]) {
      await t.step(`${topicName}${pending ? ", a read left pending" : ""}`, async () => {
        await using c = new Consumer({ brokers: BOOTSTRAP, groupId: uniq("pipe-live") });
        const tp = { topic, partition: 0 };
        c.assign([{ ...tp, offset: 0n }]);
        const reader = c.getReader();
        const got: bigint[] = [];
        for (let i = 0; i < 3; i++) got.push((await reader.read()).value!.offset);
        if (pending) {
          const p = reader.read();
          reader.releaseLock();
          // Taken at once when a record was ready; else it fails with the release.
          const r = await p.catch(() => undefined);
          if (r !== undefined && !r.done) got.push(r.value.offset);
        } else reader.releaseLock();
        const ac = new AbortController();
        await assert.rejects(
          c.pipeTo(
            new WritableStream<ConsumerRecord>({
              write(r) {
                got.push(r.offset);
                if (r.offset === LAST) ac.abort(new RangeError("enough"));
              },
            }),
            { signal: ac.signal, preventCancel: true },
          ),
          RangeError,
        );
        assert.deepEqual(got, range(0, TOTAL));
      });
    }
  }
});

Deno.test("consumer pipe live: close() during a write ends the pipe; the commit on close has no record the destination did not accept", async (t) => {
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const k of KS) {
      await t.step(`${topicName}, K ${k}`, async () => {
        const groupId = uniq("pipe-live-close");
        const tp = { topic, partition: 0 };
        const c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommitIntervalMs: 60_000 });
        c.assign([{ ...tp, offset: 0n }]);
        const got: bigint[] = [];
        let closing: Promise<void> | undefined;
        let closed = false;
        await c.pipeTo(
          new WritableStream<ConsumerRecord>({
            async write(r) {
              assert.ok(!closed, `record ${r.offset} written after close() returned`);
              got.push(r.offset);
              if (r.offset === k) {
                closing = c.close().then(() => void (closed = true));
                await sleep(20);
              }
            },
          }),
        );
        await closing;
        assert.deepEqual(got, range(0, got.length), "in order from 0");
        assert.ok(got.length >= Number(k) + 1, `reached ${k}: ${got}`);
        await using check = new Consumer({ brokers: BOOTSTRAP, groupId });
        const [committed] = await check.committed([tp]);
        // At least once: the record in flight when the commit went may be missing, no more.
        assert.ok(
          committed!.offset <= BigInt(got.length) && committed!.offset >= BigInt(got.length - 1),
          `committed ${committed!.offset}, the destination accepted ${got.length}`,
        );
      });
    }
  }
});

/**
 * A destination with no room when the pipe starts: an earlier writer left two writes queued
 * (its sink waits for `open()`) and let go, so `ready` pends. A pipe that took a record before
 * waiting for room wrote it after a `seek()` or `pause()` made during the wait (a stale record).
 */
function fullDest(got: bigint[], onWrite: () => void) {
  let open!: () => void;
  const gate = new Promise<void>((res) => open = res);
  const dest = new WritableStream<ConsumerRecord | string>({
    async write(r) {
      await gate;
      if (typeof r === "string") return;
      got.push(r.offset);
      onWrite();
    },
  }, { highWaterMark: 1 });
  const w = dest.getWriter();
  for (const s of ["earlier a", "earlier b"]) w.write(s).catch(() => {});
  w.ready.catch(() => {});
  w.releaseLock();
  return { dest: dest as WritableStream<ConsumerRecord>, open };
}

type TopicPartition = { topic: string; partition: number };

/** Acts while the pipe waits for room, then opens `dest`: the first offset dest gets (-1: the next). */
const NO_ROOM_ACTIONS: Record<
  string,
  (c: Consumer, tp: TopicPartition, open: () => void) => Promise<number>
> = {
  "seek forward to 15": (c, tp, open) => {
    c.seek({ ...tp, offset: 15n });
    open();
    return Promise.resolve(15);
  },
  "pause, resume 100 ms later": async (c, tp, open) => {
    c.pause([tp]);
    open();
    await sleep(100);
    c.resume([tp]);
    return -1;
  },
};

Deno.test("consumer pipe live: seek()/pause() while dest has no room: no record taken before the wait reaches dest", async (t) => {
  for (const [actionName, act] of Object.entries(NO_ROOM_ACTIONS)) {
    for (const [topicName, topic] of Object.entries(TOPICS)) {
      // 0: the pipe reads the first batch through the stream; 3: a reader took 0-2, the pipe
      // takes the rest of the batch straight from the fetch buffer.
      for (const before of [0, 3]) {
        await t.step(`${actionName}, ${topicName}, ${before} read before`, async () => {
          await using c = new Consumer({
            brokers: BOOTSTRAP,
            groupId: uniq("pipe-live-room"),
            autoCommit: false,
          });
          const tp = { topic, partition: 0 };
          c.assign([{ ...tp, offset: 0n }]);
          if (before > 0) {
            const reader = c.getReader();
            for (let i = 0; i < before; i++) await reader.read();
            reader.releaseLock();
          }
          const got: bigint[] = [];
          const ac = new AbortController();
          const { dest, open } = fullDest(got, () => {
            if (got.at(-1) === LAST) ac.abort(new RangeError("enough"));
          });
          const pipe = c.pipeTo(dest, { signal: ac.signal, preventCancel: true });
          // The pipe waits for room. (A pipe that took a record before that wait did so once the
          // first fetch came; one that waits first reads nothing, so nothing is fetched: 1 s.)
          await until(
            "a fetch",
            () => Promise.resolve(c.lag()[0]?.highWatermark !== undefined || undefined),
            1_000,
            5,
          ).catch(() => {});
          await sleep(50);
          const first = await act(c, tp, open);
          if (first < 0) assert.deepEqual(got, [], "nothing reached dest while paused");
          await deadline(assert.rejects(pipe, RangeError), () => `got ${got}`);
          assert.deepEqual(got, range(first < 0 ? before : first, TOTAL));
        });
      }
    }
  }
});

Deno.test("consumer pipe live: a record whose write resolves after pause() is taken; after seek() it is not", async (t) => {
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const k of KS) {
      for (const action of ["pause", "seek back to 2"] as const) {
        await t.step(`${action}, ${topicName}, K ${k}`, async () => {
          await using c = new Consumer({
            brokers: BOOTSTRAP,
            groupId: uniq("pipe-live-late"),
            autoCommit: false,
          });
          const tp = { topic, partition: 0 };
          c.assign([{ ...tp, offset: 0n }]);
          const got: bigint[] = [];
          const ac = new AbortController();
          let acted!: () => void;
          const actedAt = new Promise<void>((res) => acted = res);
          const pipe = c.pipeTo(
            new WritableStream<ConsumerRecord>({
              async write(r) {
                got.push(r.offset);
                if (r.offset !== k || got.length > Number(k) + 1) return;
                // The destination accepts K only after the action.
                if (action === "pause") c.pause([tp]);
                else c.seek({ ...tp, offset: 2n });
                await sleep(20);
                acted();
              },
            }),
            { signal: ac.signal, preventCancel: true },
          );
          await actedAt;
          await sleep(50);
          if (action === "pause") {
            // The destination has 0..K: the position, and what commit() commits, is after K.
            assert.deepEqual(got, range(0, Number(k) + 1));
            assert.equal(c.position(tp), k + 1n);
            await c.commit();
            const [committed] = await c.committed([tp]);
            assert.equal(committed!.offset, k + 1n);
            c.resume([tp]);
          }
          while (got.at(-1) !== LAST) await sleep(10);
          ac.abort(new RangeError("enough"));
          await assert.rejects(pipe, RangeError);
          if (action === "pause") assert.deepEqual(got, range(0, TOTAL));
          // The seek's position wins: K was the destination's before the seek, then 2 on.
          else assert.deepEqual(got, [...range(0, Number(k) + 1), ...range(2, TOTAL)]);
        });
      }
    }
  }
});

Deno.test("consumer pipe live: the commit on close() has the record whose write resolved before it, not one resolving after close() returned", async (t) => {
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const k of KS) {
      for (const late of [false, true]) {
        const name = `${topicName}, K ${k}, K's write resolves ${
          late ? "after close() returned" : "at once"
        }`;
        await t.step(name, async () => {
          const groupId = uniq("pipe-live-close-write");
          const tp = { topic, partition: 0 };
          const c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommitIntervalMs: 60_000 });
          c.assign([{ ...tp, offset: 0n }]);
          const got: bigint[] = [];
          let closing: Promise<void> | undefined;
          await c.pipeTo(
            new WritableStream<ConsumerRecord>({
              async write(r) {
                got.push(r.offset);
                if (r.offset !== k) return;
                closing = c.close();
                if (late) await closing;
              },
            }),
          );
          await closing;
          assert.deepEqual(got, range(0, Number(k) + 1));
          await using check = new Consumer({ brokers: BOOTSTRAP, groupId });
          const [committed] = await check.committed([tp]);
          // Resolved before the commit: committed. After it: delivered again after a restart
          // (the bound: the one record a pipe has in flight).
          assert.equal(committed!.offset, late ? k : k + 1n);
        });
      }
    }
  }
});

Deno.test("consumer pipe live: a record whose write fails after pause() is delivered again after resume()", async (t) => {
  // pause() evicts: the position goes back to the first record not handed out, the one after
  // K. K's write then fails: K was not delivered, so the next reader must get it.
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const k of KS) {
      for (const resumeFirst of [false, true]) {
        const name = `${topicName}, K ${k}, resumed ${
          resumeFirst ? "before the write fails" : "after the pipe failed"
        }`;
        await t.step(name, async () => {
          await using c = new Consumer({
            brokers: BOOTSTRAP,
            groupId: uniq("pipe-live-fail"),
            autoCommit: false,
          });
          const tp = { topic, partition: 0 };
          c.assign([{ ...tp, offset: 0n }]);
          const got: bigint[] = [];
          const failure = new RangeError("dest failed");
          await assert.rejects(
            c.pipeTo(
              new WritableStream<ConsumerRecord>({
                async write(r) {
                  if (r.offset !== k) return void got.push(r.offset);
                  c.pause([tp]);
                  if (resumeFirst) c.resume([tp]);
                  await sleep(20);
                  throw failure;
                },
              }),
              { preventCancel: true },
            ),
            (e) => e === failure,
          );
          assert.deepEqual(got, range(0, Number(k)));
          // K was not accepted: the position is K.
          assert.equal(c.position(tp), k);
          if (!resumeFirst) c.resume([tp]);
          const ac = new AbortController();
          const pipe = c.pipeTo(
            new WritableStream<ConsumerRecord>({
              write(r) {
                got.push(r.offset);
                if (r.offset === LAST) ac.abort(new RangeError("enough"));
              },
            }),
            { signal: ac.signal, preventCancel: true },
          );
          await deadline(assert.rejects(pipe, RangeError), () => `got ${got}`);
          assert.deepEqual(got, range(0, TOTAL));
        });
      }
    }
  }
});

Deno.test("consumer pipe live: close() while dest has no room: close() ends by its deadline, commits what was read, and the pipe takes nothing", async (t) => {
  for (const [topicName, topic] of Object.entries(TOPICS)) {
    for (const before of [0, 3]) {
      await t.step(`${topicName}, ${before} read before`, async () => {
        const groupId = uniq("pipe-live-close-room");
        const tp = { topic, partition: 0 };
        const c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommitIntervalMs: 60_000 });
        c.assign([{ ...tp, offset: 0n }]);
        if (before > 0) {
          const reader = c.getReader();
          for (let i = 0; i < before; i++) await reader.read();
          reader.releaseLock();
        }
        const got: bigint[] = [];
        const { dest, open } = fullDest(got, () => {});
        const pipe = c.pipeTo(dest);
        await until(
          "a fetch",
          () => Promise.resolve(c.lag()[0]?.highWatermark !== undefined || undefined),
          1_000,
          5,
        ).catch(() => {});
        await sleep(50);
        const t0 = Date.now();
        await deadline(c.close({ timeoutMs: 5_000 }), () => "close() waited", 8_000);
        assert.ok(Date.now() - t0 < 6_000, `close() took ${Date.now() - t0} ms`);
        // The room comes after close(): the stream is closed, the pipe ends without a record.
        open();
        await deadline(pipe, () => `pipe still running, got ${got}`);
        assert.deepEqual(got, []);
        await using check = new Consumer({ brokers: BOOTSTRAP, groupId });
        const [committed] = await check.committed([tp]);
        assert.equal(committed!.offset, before > 0 ? BigInt(before) : -1n);
      });
    }
  }
});
