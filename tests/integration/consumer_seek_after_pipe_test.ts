/**
 * A reader that stops while a fetch is in flight (a pipe stopped with `preventCancel`, a
 * reader released with a read pending) leaves the stream's pull running: the records that
 * fetch brings are handed out after the stop, to nobody. A later `seek()` or `pause()` must
 * still hold for them: after `seek(p, offset)` the next record of p delivered is at `offset`;
 * after `pause(p)` nothing of p is delivered until `resume(p)`, and then nothing is lost. And
 * nothing is committed beyond what the readers received.
 *
 * The matrix: how the reading stops (a pipeTo stopped by its signal, a pipeThrough stopped by
 * its readable's cancel, a reader released with a read pending), each after it received all
 * there was (three batches of four records per partition), so the stop falls between batches
 * with the next fetch waiting at the log end × what follows (seek back, seek forward, pause)
 * × who reads next (a reader, `for await`, another pipe). The records that arrive after the stop are
 * written to partition 0 only, so the one handed out to nobody is partition 0's.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";
import { deadline } from "../helpers/wait.ts";

/** Records per batch, and batches written per partition before the stop and after it. */
const PER_BATCH = 4;
const BATCHES = 3;
const PER_PHASE = PER_BATCH * BATCHES;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Partition 0's and 1's offsets, in the order received. */
interface Got {
  0: bigint[];
  1: bigint[];
}

function split(records: readonly ConsumerRecord[]): Got {
  const got: Got = { 0: [], 1: [] };
  for (const r of records) got[r.partition as 0 | 1].push(r.offset);
  return got;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => BigInt(from + i));

async function write(topic: string, partition: number, from: number, count: number) {
  const values = Array.from({ length: count }, (_, i) => ({ value: `${partition}-${from + i}` }));
  await produce(topic, partition, values, { batchSize: PER_BATCH });
}

/**
 * How the reading stops: it receives records until `enough` says so, then waits (the next
 * read is pending, its fetch in flight at the log end) and stops without cancelling the
 * consumer. Returns the records received.
 */
type Stop = (c: Consumer, enough: (got: ConsumerRecord[]) => boolean) => Promise<ConsumerRecord[]>;

/** How long a stopping reader waits with its next read pending. */
const IDLE_MS = 150;

const STOPS: Record<string, Stop> = {
  "a pipeTo stopped by its signal": async (c, enough) => {
    const got: ConsumerRecord[] = [];
    const ac = new AbortController();
    let full!: () => void;
    const done = new Promise<void>((r) => full = r);
    const pipe = c.pipeTo(
      new WritableStream({
        write(r) {
          got.push(r);
          if (enough(got)) full();
        },
      }),
      { preventCancel: true, signal: ac.signal },
    );
    await deadline(done, () => `the pipe got ${got.length}`);
    await sleep(IDLE_MS);
    ac.abort(new RangeError("stop"));
    await assert.rejects(pipe, RangeError);
    return got;
  },
  "a pipeThrough stopped by its readable's cancel": async (c, enough) => {
    const got: ConsumerRecord[] = [];
    const readable = c.pipeThrough(new TransformStream<ConsumerRecord, ConsumerRecord>(), {
      preventCancel: true,
    });
    const reader = readable.getReader();
    await deadline(
      (async () => {
        while (!enough(got)) {
          const { value, done } = await reader.read();
          if (done) throw new Error("the readable ended");
          got.push(value);
        }
      })(),
      () => `the pipeThrough got ${got.length}`,
    );
    await sleep(IDLE_MS);
    await reader.cancel(new RangeError("stop"));
    // The cancel errors the transform's writable; the pipe lets go of the consumer then.
    await deadline(
      (async () => {
        while (c.locked) await sleep(5);
      })(),
      () => "the pipe let go",
    );
    return got;
  },
  "a reader released with a read pending": async (c, enough) => {
    const got: ConsumerRecord[] = [];
    const reader = c.getReader();
    await deadline(
      (async () => {
        while (!enough(got)) {
          const { value, done } = await reader.read();
          if (done) throw new Error("the consumer ended");
          got.push(value);
        }
      })(),
      () => `the reader got ${got.length}`,
    );
    const pending = reader.read();
    await sleep(IDLE_MS);
    reader.releaseLock();
    await assert.rejects(pending, TypeError);
    return got;
  },
};

/** Who reads next: receives records until `enough` says so, then lets go. */
type Next = (c: Consumer, enough: (got: ConsumerRecord[]) => boolean) => Promise<ConsumerRecord[]>;

const NEXTS: Record<string, Next> = {
  "getReader()": async (c, enough) => {
    const got: ConsumerRecord[] = [];
    const reader = c.getReader();
    try {
      await deadline(
        (async () => {
          while (!enough(got)) {
            const { value, done } = await reader.read();
            if (done) throw new Error("the consumer ended");
            got.push(value);
          }
        })(),
        () => `the next reader got ${got.map((r) => `${r.partition}@${r.offset}`)}`,
      );
    } finally {
      reader.releaseLock();
    }
    return got;
  },
  "for await": async (c, enough) => {
    const got: ConsumerRecord[] = [];
    await deadline(
      (async () => {
        if (enough(got)) return;
        for await (const r of c.values({ preventCancel: true })) {
          got.push(r);
          if (enough(got)) break;
        }
      })(),
      () => `the loop got ${got.map((r) => `${r.partition}@${r.offset}`)}`,
    );
    return got;
  },
  "another pipeTo": async (c, enough) => {
    const got: ConsumerRecord[] = [];
    const ac = new AbortController();
    const pipe = c.pipeTo(
      new WritableStream({
        write(r) {
          got.push(r);
          if (enough(got)) ac.abort(new RangeError("enough"));
        },
      }),
      { preventCancel: true, signal: ac.signal },
    );
    await deadline(
      assert.rejects(pipe, RangeError),
      () => `the next pipe got ${got.map((r) => `${r.partition}@${r.offset}`)}`,
    );
    return got;
  },
};

/** Until partition `p`'s record at `offset` was received. */
const upTo = (p: number, offset: number) => (got: ConsumerRecord[]) =>
  got.some((r) => r.partition === p && r.offset === BigInt(offset));

/** What follows the stop, checked with the next reader. */
type FollowUp = (c: Consumer, topic: string, next: Next) => Promise<void>;

const LAST = 2 * PER_PHASE - 1;

/** A seek of partition 0 to `to`: its next records are exactly `to`.. the last. */
const seekTo = (to: number): FollowUp => async (c, topic, next) => {
  c.seek({ topic, partition: 0, offset: BigInt(to) });
  const got = split(await next(c, upTo(0, LAST)));
  assert.deepEqual(got[0], range(to, LAST + 1), "partition 0 goes on exactly at the seek");
  assert.deepEqual(got[1], [], "partition 1 had nothing more");
  await c.commit();
  const committed = await c.committed([0, 1].map((partition) => ({ topic, partition })));
  assert.deepEqual(committed.map((o) => o.offset), [BigInt(LAST + 1), BigInt(PER_PHASE)]);
};

const FOLLOW_UPS: Record<string, FollowUp> = {
  "seek back": seekTo(2),
  "seek forward": seekTo(PER_PHASE + PER_BATCH + 1),
  "pause": async (c, topic, next) => {
    c.pause([{ topic, partition: 0 }]);
    // Partition 1 gets records: the reader goes on while partition 0 is paused.
    await write(topic, 1, PER_PHASE, PER_BATCH);
    const whilePaused = split(await next(c, upTo(1, PER_PHASE + PER_BATCH - 1)));
    assert.deepEqual(whilePaused[0], [], "nothing of the paused partition");
    assert.deepEqual(whilePaused[1], range(PER_PHASE, PER_PHASE + PER_BATCH));
    await c.commit();
    let committed = await c.committed([0, 1].map((partition) => ({ topic, partition })));
    assert.deepEqual(
      committed.map((o) => o.offset),
      [BigInt(PER_PHASE), BigInt(PER_PHASE + PER_BATCH)],
      "committed what was received",
    );
    c.resume([{ topic, partition: 0 }]);
    const resumed = split(await next(c, upTo(0, LAST)));
    assert.deepEqual(resumed[0], range(PER_PHASE, LAST + 1), "resumed where it paused");
    assert.deepEqual(resumed[1], []);
    await c.commit();
    committed = await c.committed([0, 1].map((partition) => ({ topic, partition })));
    assert.deepEqual(committed.map((o) => o.offset), [
      BigInt(LAST + 1),
      BigInt(PER_PHASE + PER_BATCH),
    ]);
  },
};

for (const [stopName, stop] of Object.entries(STOPS)) {
  for (const [followName, followUp] of Object.entries(FOLLOW_UPS)) {
    Deno.test(`consumer: ${stopName} with a fetch in flight, then ${followName}`, async (t) => {
      for (const [nextName, next] of Object.entries(NEXTS)) {
        await t.step(`read by ${nextName}`, () => run(stop, followUp, next));
      }
    });
  }
}

async function run(stop: Stop, followUp: FollowUp, next: Next): Promise<void> {
  const topic = uniq("seek-after-pipe");
  await createTopic(topic, 2);
  for (const p of [0, 1]) await write(topic, p, 0, PER_PHASE);
  await using c = new Consumer({ brokers: BOOTSTRAP, groupId: uniq("g"), autoCommit: false });
  c.assign([0, 1].map((partition) => ({ topic, partition, offset: 0n })));
  const first = split(
    await stop(c, (got) => got.length === 2 * PER_PHASE),
  );
  assert.deepEqual(first[0], range(0, PER_PHASE));
  assert.deepEqual(first[1], range(0, PER_PHASE));
  // The fetch in flight at the stop brings partition 0's next batches: the pull still running
  // hands one of their records out, to nobody.
  await write(topic, 0, PER_PHASE, PER_PHASE);
  await deadline(
    (async () => {
      while (c.bufferedBytes === 0) await sleep(5);
    })(),
    () => "the records written after the stop were fetched",
  );
  await sleep(50);
  assert.equal(c.position({ topic, partition: 0 }), BigInt(PER_PHASE), "nothing more taken");
  await c.commit();
  const committed = await c.committed([0, 1].map((partition) => ({ topic, partition })));
  assert.deepEqual(committed.map((o) => o.offset), [BigInt(PER_PHASE), BigInt(PER_PHASE)]);
  await followUp(c, topic, next);
}
