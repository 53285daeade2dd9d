/**
 * Readers the consumer does not hand out itself: a `tee()` branch, `ReadableStream.from()` or
 * the async iteration of a `pipeThrough(new TransformStream())`, a `Response` body over such a
 * pipe, `Array.fromAsync` over an async generator that breaks, and a reader taken with the
 * `ReadableStream` prototype's own methods (bypassing the consumer's `getReader`/`values`/
 * `pipeTo`). Each reads, stops, and the test checks what follows:
 *
 * - after `seek(p, offset)` the next record of p received is at `offset`; after `pause(p)`
 *   nothing of p arrives until `resume(p)`, and then p goes on after the last record received
 *   (nothing lost, nothing twice);
 * - nothing is committed beyond what the reader's code received (auto-commit every 100 ms, and
 *   `commit()`), also when the stop closed the consumer (the commit on close).
 *
 * The matrix: how the reader is obtained × how it stops (`cancel()`, `break` out of `for
 * await`, a pipe's abort signal with `preventCancel`, `releaseLock()` with a read pending) ×
 * where (at the log end with the next fetch in flight, the records that follow written after
 * the stop; or mid-log, records still fetched ahead) × what follows (seek back, seek forward,
 * pause, commit). Partition 0 holds 6 batches of 4 records, partition 1 3 batches of 4.
 *
 * Where a web-streams mechanism holds records the consumer cannot reach (a tee's branch queues,
 * a TransformStream's queues the consumer's pipe already wrote to),
 * the cell asserts the limit documented in the consumer's JSDoc and README ("Readers the
 * consumer does not hand out") instead: see `ahead()`.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";
import { deadline } from "../helpers/wait.ts";

const PER_BATCH = 4;
/** Partition 0's last offset, partition 1's (three batches each before the stop). */
const LAST0 = 6 * PER_BATCH - 1;
const LAST1 = 3 * PER_BATCH - 1;
/** How long a stopping reader waits with its next read pending; the auto-commit interval. */
const IDLE_MS = 150;
const AUTO_COMMIT_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Rec {
  partition: number;
  offset: bigint;
}

const show = (rs: readonly Rec[]) => rs.map((r) => `${r.partition}@${r.offset}`).join(" ");

async function write(topic: string, partition: number, from: number, count: number) {
  const values = Array.from({ length: count }, (_, i) => ({ value: `${partition}-${from + i}` }));
  await produce(topic, partition, values, { batchSize: PER_BATCH });
}

type Enough = (got: readonly Rec[]) => boolean;

/** The stream-like surface the stops use (a ReadableStream, or the consumer's native one). */
interface Readable {
  getReader(): ReadableStreamDefaultReader<unknown>;
  values(options?: { preventCancel?: boolean }): AsyncIterable<unknown>;
  pipeTo(dest: WritableStream<unknown>, options?: StreamPipeOptions): Promise<void>;
  cancel(reason?: unknown): Promise<void>;
}

/** How the reader is obtained. */
interface Way {
  /** A fresh readable of the consumer's records. */
  open?(c: Consumer): Readable;
  /** What a chunk of it holds. */
  decode?(chunk: unknown): Rec[];
  /** Whether cancelling it cancels the consumer (which closes it). */
  cancelCloses: boolean;
  /** Whether it is the readable end of the consumer's `pipeThrough` (`preventCancel`). */
  piped?: boolean;
}

const records = (chunk: unknown): Rec[] => [chunk as ConsumerRecord];
const identity = () => new TransformStream<ConsumerRecord, ConsumerRecord>();

const lines = new TextDecoder();
const WAYS: Record<string, Way> = {
  "a tee() branch": {
    open: (c) => {
      const [a, b] = c.tee();
      b.cancel().catch(() => {});
      return a;
    },
    decode: records,
    cancelCloses: true,
  },
  "ReadableStream.from(pipeThrough(TransformStream))": {
    open: (c) => ReadableStream.from(c.pipeThrough(identity(), { preventCancel: true })),
    decode: records,
    cancelCloses: false,
    piped: true,
  },
  "async iteration of pipeThrough(TransformStream)": {
    open: (c) => c.pipeThrough(identity(), { preventCancel: true }),
    decode: records,
    cancelCloses: false,
    piped: true,
  },
  "a Response body over pipeThrough": {
    open: (c) => {
      const encode = new TextEncoder();
      const bytes = c.pipeThrough(
        new TransformStream<ConsumerRecord, Uint8Array>({
          transform: (r, ctl) => ctl.enqueue(encode.encode(`${r.partition}:${r.offset}\n`)),
        }),
        { preventCancel: true },
      );
      return new Response(bytes).body!;
    },
    decode: (chunk) =>
      lines.decode(chunk as Uint8Array).split("\n").filter((l) => l !== "").map((l) => {
        const [p, o] = l.split(":");
        return { partition: Number(p), offset: BigInt(o!) };
      }),
    cancelCloses: false,
    piped: true,
  },
  "the ReadableStream prototype's own methods": {
    open: (c) => ({
      getReader: () =>
        ReadableStream.prototype.getReader.call(c) as ReadableStreamDefaultReader<unknown>,
      values: (o) => ReadableStream.prototype.values.call(c, o) as AsyncIterable<unknown>,
      pipeTo: (d, o) => ReadableStream.prototype.pipeTo.call(c, d, o),
      cancel: (r) => ReadableStream.prototype.cancel.call(c, r),
    }),
    decode: records,
    cancelCloses: true,
  },
  "Array.fromAsync over a breaking async generator": { cancelCloses: true },
};

type StopKind = "cancel" | "break" | "abort signal" | "release";
const STOPS: StopKind[] = ["cancel", "break", "abort signal", "release"];

/** The user's reading of the consumer through one way: reads, stops, reads on. */
interface Session {
  /** Mid-log (`atEnd` false), a pipe's write or a generator waits for the stop once enough. */
  stop(kind: StopKind, enough: Enough, atEnd: boolean): Promise<Rec[]>;
  next(enough: Enough): Promise<Rec[]>;
}

async function readUntil(
  reader: ReadableStreamDefaultReader<unknown>,
  decode: (chunk: unknown) => Rec[],
  got: Rec[],
  enough: Enough,
): Promise<void> {
  await deadline(
    (async () => {
      while (!enough(got)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        got.push(...decode(value));
      }
    })(),
    () => `read ${show(got)}`,
  );
}

function streamSession(c: Consumer, way: Way): Session {
  const decode = way.decode!;
  let s: Readable | undefined;
  const letGo = () =>
    deadline(
      (async () => {
        while (c.locked) await sleep(5);
      })(),
      () => "the pipe let go of the consumer",
    );
  return {
    async stop(kind, enough, atEnd) {
      s = way.open!(c);
      const got: Rec[] = [];
      if (kind === "cancel") {
        const reader = s.getReader();
        await readUntil(reader, decode, got, enough);
        await reader.cancel(new RangeError("stop"));
        s = undefined;
      } else if (kind === "break") {
        await deadline(
          (async () => {
            for await (const chunk of s!.values()) {
              got.push(...decode(chunk));
              if (enough(got)) break;
            }
          })(),
          () => `the loop got ${show(got)}`,
        );
        s = undefined;
      } else if (kind === "abort signal") {
        const ac = new AbortController();
        let full!: () => void;
        const done = new Promise<void>((r) => full = r);
        const pipe = s.pipeTo(
          new WritableStream({
            write(chunk): Promise<void> | undefined {
              got.push(...decode(chunk));
              if (!enough(got)) return undefined;
              full();
              // Mid-log the pipe stops with this write in flight, more records ready.
              if (atEnd) return undefined;
              return new Promise((r) => ac.signal.addEventListener("abort", () => r()));
            },
          }),
          { preventCancel: true, signal: ac.signal },
        );
        await deadline(done, () => `the pipe got ${show(got)}`);
        await sleep(IDLE_MS);
        ac.abort(new RangeError("stop"));
        await assert.rejects(pipe, RangeError);
      } else {
        const reader = s.getReader();
        await readUntil(reader, decode, got, enough);
        // A read pending (at the log end a fetch in flight), then let go.
        const pending = reader.read().then((r) => {
          if (!r.done) got.push(...decode(r.value));
        }, () => {});
        await sleep(IDLE_MS);
        reader.releaseLock();
        await pending;
      }
      if (s === undefined && !way.cancelCloses) await letGo();
      return got;
    },
    async next(enough) {
      s ??= way.open!(c);
      const got: Rec[] = [];
      const reader = s.getReader();
      try {
        await readUntil(reader, decode, got, enough);
      } finally {
        reader.releaseLock();
      }
      return got;
    },
  };
}

/** Array.fromAsync over a generator that takes from `source` until told to stop. */
async function fromAsync(
  source: AsyncIterator<ConsumerRecord>,
  got: Rec[],
  until: { enough: Enough; signal?: AbortSignal; hold?: boolean },
): Promise<void> {
  async function* take(): AsyncGenerator<Rec> {
    const aborted = new Promise<undefined>((resolve) => {
      if (until.signal?.aborted) resolve(undefined);
      until.signal?.addEventListener("abort", () => resolve(undefined));
    });
    try {
      for (;;) {
        // Told to hold once enough: no next record is asked for (mid-log, records are ready).
        const r = until.hold && until.enough(got)
          ? await aborted
          : await Promise.race([source.next(), aborted]);
        if (r === undefined || r.done) return;
        yield r.value;
        if (until.signal === undefined && until.enough(got)) return;
      }
    } finally {
      await source.return?.();
    }
  }
  const gen = take();
  // Array.fromAsync collects; `got` sees each record as the generator yields it.
  const seen: AsyncIterable<Rec> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const r = await gen.next();
        if (!r.done) got.push(r.value);
        return r;
      },
      return: (v?: unknown) => gen.return(v as undefined),
    }),
  };
  await Array.fromAsync(seen);
}

function fromAsyncSession(c: Consumer): Session {
  return {
    async stop(kind, enough, atEnd) {
      const got: Rec[] = [];
      if (kind === "cancel" || kind === "break") {
        // Over the consumer itself: the generator's return (its `break`) cancels it.
        const source = kind === "cancel" ? c.values() : c[Symbol.asyncIterator]();
        await deadline(fromAsync(source, got, { enough }), () => `fromAsync got ${show(got)}`);
        return got;
      }
      // The generator stops while its next record is pending, letting go of the consumer.
      const ac = new AbortController();
      // At the log end its next record is pending (a fetch in flight) when it stops.
      const run = fromAsync(c.values({ preventCancel: true }), got, {
        enough,
        signal: ac.signal,
        hold: !atEnd,
      });
      await deadline(
        (async () => {
          while (!enough(got)) await sleep(5);
        })(),
        () => `fromAsync got ${show(got)}`,
      );
      await sleep(IDLE_MS);
      if (kind === "abort signal") ac.abort(new RangeError("stop"));
      else ac.abort();
      await run;
      return got;
    },
    async next(enough) {
      const got: Rec[] = [];
      await deadline(
        fromAsync(c.values({ preventCancel: true }), got, { enough }),
        () => `fromAsync got ${show(got)}`,
      );
      return got;
    },
  };
}

/** Until partition `p`'s record at `offset` was received. */
const upTo = (...want: [number, number][]) => (got: readonly Rec[]) =>
  want.every(([p, o]) => got.some((r) => r.partition === p && r.offset === BigInt(o)));

const range = (from: bigint, to: number) =>
  Array.from({ length: to - Number(from) }, (_, i) => from + BigInt(i));

const of = (rs: readonly Rec[], p: number) =>
  rs.filter((r) => r.partition === p).map((r) => r.offset);

/** The record after the last one of `p` received (0 if none). */
function after(rs: readonly Rec[], p: number): bigint {
  const mine = of(rs, p);
  return mine.length === 0 ? 0n : mine[mine.length - 1]! + 1n;
}

/** The group's committed offsets (-1n: none), asked by a consumer of its own. */
async function committed(groupId: string, topic: string): Promise<bigint[]> {
  await using peek = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
  const got = await peek.committed([0, 1].map((partition) => ({ topic, partition })));
  return got.map((o) => o.offset);
}

/**
 * Nothing committed beyond the record after the last one received (none: nothing), but for
 * the `ahead` records a documented limit lets count as taken before the reader has them.
 */
function assertNotBeyond(have: bigint[], all: readonly Rec[], what: string, ahead: number) {
  for (const p of [0, 1]) {
    const limit = after(all, p) + BigInt(ahead);
    assert.ok(
      have[p]! <= limit,
      `${what}: partition ${p} committed ${have[p]}, beyond ${limit} (received ${show(all)})`,
    );
  }
}

/**
 * The documented limits (the consumer's JSDoc, README "Readers the consumer does not hand
 * out"): how many records per partition a web-streams mechanism holds beyond what the
 * reader's code received: `taken` of them count as taken (committed), and the next reader
 * gets all `held` first, out of reach of `seek()`/`pause()`. A `tee()` reads one ahead of its
 * branches (a branch's highWaterMark is 1). The readable end of `pipeThrough` let go without
 * cancelling it leaves the consumer's pipe running: the TransformStream accepts one more
 * record into its readable's queue (taken) and the next write waits in its writable's queue
 * (not taken). Everywhere else: none.
 */
function ahead(cell: Cell): { taken: number; held: number } {
  if (cell.way === "a tee() branch") return { taken: 1, held: 1 };
  if (WAYS[cell.way]!.piped && (cell.stop === "abort signal" || cell.stop === "release")) {
    return { taken: 1, held: 2 };
  }
  return { taken: 0, held: 0 };
}

/**
 * `offsets` of partition 0 received after a seek or pause, without the at most `ahead` records
 * a documented limit delivers first: those go on from `from` (the record after the last one
 * received before).
 */
function withoutHeld(offsets: bigint[], from: bigint, ahead: number): bigint[] {
  let n = 0;
  while (n < ahead && n < offsets.length && offsets[n] === from + BigInt(n)) n++;
  return offsets.slice(n);
}

type FollowKind = "seek back" | "seek forward" | "pause" | "commit";
const FOLLOW_UPS: FollowKind[] = ["seek back", "seek forward", "pause", "commit"];

interface Cell {
  way: string;
  stop: StopKind;
  where: "at the log end" | "mid-log";
  follow: FollowKind;
}

/** Everything received, in order, and where partition 0 was told to go on from. */
async function run(cell: Cell): Promise<void> {
  const way = WAYS[cell.way]!;
  const topic = uniq("foreign");
  const groupId = uniq("g");
  await createTopic(topic, 2);
  const atEnd = cell.where === "at the log end";
  await write(topic, 0, 0, atEnd ? LAST1 + 1 : LAST0 + 1);
  await write(topic, 1, 0, LAST1 + 1);
  const c = new Consumer({
    brokers: BOOTSTRAP,
    groupId,
    autoCommitIntervalMs: AUTO_COMMIT_MS,
  });
  try {
    c.assign([0, 1].map((partition) => ({ topic, partition, offset: 0n })));
    const session = way.open ? streamSession(c, way) : fromAsyncSession(c);
    const all: Rec[] = [];
    // At the log end: all there is (the next read waits for a fetch); mid-log: two batches.
    const first = await session.stop(
      cell.stop,
      atEnd ? upTo([0, LAST1], [1, LAST1]) : (got) => got.length >= 2 * PER_BATCH,
      atEnd,
    );
    all.push(...first);
    if (atEnd) {
      // The fetch in flight at the stop brings partition 0's next batches.
      await write(topic, 0, LAST1 + 1, LAST0 - LAST1);
    }
    await sleep(IDLE_MS + 2 * AUTO_COMMIT_MS);
    const { taken, held } = ahead(cell);
    const closes = way.cancelCloses && (cell.stop === "cancel" || cell.stop === "break");
    if (closes) {
      // The stop cancelled the consumer: it closed, committing what was received.
      await c.close();
      assert.throws(() => c.seek({ topic, partition: 0, offset: 0n }));
      const have = await committed(groupId, topic);
      assertNotBeyond(have, all, "the commit on close", taken);
      if (taken === 0) {
        assert.deepEqual(
          have,
          [after(all, 0), after(all, 1)],
          `the commit on close (${show(all)})`,
        );
      }
      return;
    }
    assertNotBeyond(await committed(groupId, topic), all, "auto-commit after the stop", taken);
    await follow(cell.follow, c, session, topic, groupId, all, { taken, held });
  } finally {
    await c.close();
  }
}

async function follow(
  kind: FollowKind,
  c: Consumer,
  session: Session,
  topic: string,
  groupId: string,
  all: Rec[],
  { taken, held }: { taken: number; held: number },
): Promise<void> {
  const p1Next = after(all, 1);
  // To partition 0's end, and partition 1's when it was not reached yet.
  const toEnd = p1Next > LAST1 ? upTo([0, LAST0]) : upTo([0, LAST0], [1, LAST1]);
  if (kind === "seek back" || kind === "seek forward") {
    const to = kind === "seek back" ? 2n : BigInt(LAST1 + 1 + PER_BATCH + 1);
    const p0Next = after(all, 0);
    c.seek({ topic, partition: 0, offset: to });
    const got = await session.next(toEnd);
    all.push(...got);
    assert.deepEqual(
      withoutHeld(of(got, 0), p0Next, held),
      range(to, LAST0 + 1),
      `p0 goes on at the seek: ${show(got)}`,
    );
    assert.deepEqual(of(got, 1), range(p1Next, LAST1 + 1), `p1 goes on: ${show(got)}`);
  } else if (kind === "pause") {
    const p0Next = after(all, 0);
    c.pause([{ topic, partition: 0 }]);
    await write(topic, 1, LAST1 + 1, PER_BATCH);
    const paused = await session.next(upTo([1, LAST1 + PER_BATCH]));
    all.push(...paused);
    assert.deepEqual(
      withoutHeld(of(paused, 0), p0Next, held),
      [],
      `nothing of the paused partition: ${show(paused)}`,
    );
    assert.deepEqual(of(paused, 1), range(p1Next, LAST1 + PER_BATCH + 1));
    await sleep(2 * AUTO_COMMIT_MS);
    assertNotBeyond(await committed(groupId, topic), all, "auto-commit while paused", taken);
    c.resume([{ topic, partition: 0 }]);
    const resumed = await session.next(upTo([0, LAST0]));
    assert.deepEqual(
      of(resumed, 0),
      range(after(all, 0), LAST0 + 1),
      `resumed after the last record received, nothing lost: ${show(resumed)}`,
    );
    all.push(...resumed);
  } else {
    await c.commit();
    const have = await committed(groupId, topic);
    assertNotBeyond(have, all, "commit()", taken);
    if (taken === 0) assert.deepEqual(have, [after(all, 0), after(all, 1)]);
    const got = await session.next(toEnd);
    assert.deepEqual(of(got, 0), range(after(all, 0), LAST0 + 1), `p0 goes on: ${show(got)}`);
    assert.deepEqual(of(got, 1), range(p1Next, LAST1 + 1), `p1 goes on: ${show(got)}`);
    all.push(...got);
  }
  await c.commit();
  assert.deepEqual(
    await committed(groupId, topic),
    [after(all, 0), after(all, 1)],
    `the last commit: what was received (${show(all)})`,
  );
}

const ONLY = Deno.env.get("FOREIGN_ONLY");
for (const wayName of Object.keys(WAYS)) {
  for (const stop of STOPS) {
    for (const where of ["at the log end", "mid-log"] as const) {
      const name = `consumer read by ${wayName}, ${stop} ${where}`;
      Deno.test({
        name,
        ignore: ONLY !== undefined && !name.includes(ONLY),
        fn: async (t) => {
          for (const follow of FOLLOW_UPS) {
            await t.step(follow, () => run({ way: wayName, stop, where, follow }));
          }
        },
      });
    }
  }
}
