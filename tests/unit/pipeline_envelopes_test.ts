// Pipeline building blocks without a broker: mapRecords and mapConsumer keep each output's
// source (1 -> 0, 1 -> 1, 1 -> N, async), mapConsumer batches what is ready and cancels the
// consumer when cancelled; an at-least-once sink whose envelopes carry no records commits the
// last source + 1 per partition through the consumer (nothing is sent, so no broker is needed).
import assert from "node:assert/strict";
import {
  type ConsumerGroupMetadata,
  mapConsumer,
  mapRecords,
  type PipelineEnvelope,
  Producer,
  type SourceRecord,
  type TransactionOffset,
} from "../../producer/mod.ts";
import { yieldNow } from "../../producer/sink_common.ts";

interface Rec extends SourceRecord {
  value: string;
}

function records(n: number, partitions = 1): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: "in",
    partition: i % partitions,
    offset: BigInt(Math.floor(i / partitions)),
    value: `${i}`,
  }));
}

/** 0 -> none, 1 -> one, 2 -> two records (by value % 3). */
const fan = (r: Rec) => {
  const id = Number(r.value);
  if (id % 3 === 0) return null;
  if (id % 3 === 1) return { value: r.value };
  return [{ value: r.value }, { value: `${r.value}'` }];
};

function flat(es: PipelineEnvelope<Rec>[]): string[] {
  return es.flatMap((e) => e.records.map((r) => `${e.source.value}:${r.value}`));
}

Deno.test("mapRecords: one envelope per record, its outputs with it", async () => {
  const out = await Array.fromAsync(ReadableStream.from(records(6)).pipeThrough(mapRecords(fan)));
  assert.equal(out.length, 6);
  assert.deepEqual(out.map((e) => e.records.length), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(flat(out), ["1:1", "2:2", "2:2'", "4:4", "5:5", "5:5'"]);
  const asyncOut = await Array.fromAsync(
    ReadableStream.from(records(3)).pipeThrough(mapRecords(async (r: Rec) => {
      await new Promise((res) => setTimeout(res, 1));
      return fan(r);
    })),
  );
  assert.deepEqual(asyncOut.map((e) => e.records.length), [0, 1, 2]);
});

Deno.test("mapConsumer: batches of what is ready, in order, async functions too", async () => {
  const batches = await Array.fromAsync(mapConsumer(ReadableStream.from(records(10)), fan, {
    maxBatch: 4,
  }));
  assert.ok(batches.every((b) => b.length >= 1 && b.length <= 4));
  const all = batches.flat();
  assert.deepEqual(all.map((e) => e.source.value), records(10).map((r) => r.value));
  assert.deepEqual(
    flat(all),
    flat(
      await Array.fromAsync(ReadableStream.from(records(10)).pipeThrough(mapRecords(fan))),
    ),
  );
  const slow = await Array.fromAsync(
    mapConsumer(ReadableStream.from(records(5)), (r: Rec) => Promise.resolve({ value: r.value })),
  );
  assert.equal(slow.flat().length, 5);
  assert.throws(
    () => mapConsumer(ReadableStream.from(records(1)), fan, { maxBatch: 0 }),
    RangeError,
  );
});

Deno.test("mapConsumer: a source that waits ends the batch; cancelling cancels the consumer", async () => {
  let cancelled: unknown;
  let i = 0;
  const source = new ReadableStream<Rec>({
    async pull(c) {
      // Two records ready at once, then a wait.
      if (i > 0) await new Promise((r) => setTimeout(r, 5));
      c.enqueue(records(i + 2)[i]!);
      c.enqueue(records(i + 2)[i + 1]!);
      i += 2;
    },
    cancel(reason) {
      cancelled = reason;
    },
  }, { highWaterMark: 0 });
  const reader = mapConsumer(source, (r) => ({ value: r.value })).getReader();
  const first = await reader.read();
  assert.equal(first.value!.length, 2, "the batch ends where the source has to wait");
  const second = await reader.read();
  assert.ok(second.value!.length >= 1);
  await reader.cancel("stop");
  assert.equal(cancelled, "stop");
});

Deno.test("mapConsumer: a reader with takeNow() (the consumer's) is taken from without reads", async () => {
  // A stand-in for the consumer's DirectReader: takeNow() hands out ready records, and
  // readQueued() reads through the stream once none is (three ready, then a wait, ...).
  const all = records(9);
  let next = 0;
  let queuedReads = 0;
  let plainReads = 0;
  class Direct extends ReadableStreamDefaultReader<Rec> {
    takeNow(): Rec | undefined {
      return next % 3 !== 0 && next < all.length ? all[next++] : undefined;
    }
    readQueued(): Promise<ReadableStreamReadResult<Rec>> {
      queuedReads++;
      return super.read();
    }
    override read(): Promise<ReadableStreamReadResult<Rec>> {
      plainReads++;
      const v = this.takeNow();
      return v !== undefined ? Promise.resolve({ done: false, value: v }) : this.readQueued();
    }
  }
  class Source extends ReadableStream<Rec> {
    constructor() {
      super({
        async pull(c) {
          await new Promise((r) => setTimeout(r, 1));
          if (next >= all.length) c.close();
          else c.enqueue(all[next++]!);
        },
      }, { highWaterMark: 0 });
    }
    // deno-lint-ignore no-explicit-any
    override getReader(): any {
      return new Direct(this);
    }
  }
  const batches = await Array.fromAsync(mapConsumer(new Source(), (r) => ({ value: r.value })));
  assert.deepEqual(batches.flat().map((e) => e.source.value), all.map((r) => r.value));
  assert.deepEqual(
    batches.map((b) => b.length),
    [3, 3, 3],
    "a batch ends where takeNow() has none",
  );
  assert.ok(plainReads <= 4, `a read per batch, not per record (${plainReads})`);
  assert.ok(queuedReads >= 3);
});

Deno.test("at-least-once sink: sources without records are committed, per partition, + 1", async () => {
  const commits: TransactionOffset[][] = [];
  const consumer = {
    commit: (offsets: readonly TransactionOffset[]) => {
      commits.push([...offsets]);
      return Promise.resolve();
    },
    groupMetadata: (): ConsumerGroupMetadata => ({
      groupId: "g",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
    }),
  };
  await using p = new Producer({ brokers: ["127.0.0.1:1"] });
  let seen: readonly TransactionOffset[] = [];
  const sink = p.sink({
    consumer,
    guarantee: "at-least-once",
    commitIntervalMs: 60_000,
    onCommit: (o) => seen = o,
  });
  await mapConsumer(ReadableStream.from(records(9, 3)), () => null).pipeTo(sink);
  assert.equal(commits.length, 1, "one commit, at close");
  const sorted = [...commits[0]!].sort((a, b) => a.partition - b.partition);
  assert.deepEqual(sorted.map((o) => [o.topic, o.partition, o.offset]), [
    ["in", 0, 3n],
    ["in", 1, 3n],
    ["in", 2, 3n],
  ]);
  assert.deepEqual(seen, commits[0], "onCommit saw the commit");
});

Deno.test("yieldNow: a sink's yield lets timers and socket reads run, without a timer of its own", async () => {
  // The sink yields every 2 ms of a pipe that never waits; a yield through setTimeout(0) took
  // 1-4 ms of idle time each (bench/PROFILE.md, Session 11), setImmediate takes none, and the
  // event loop still polls timers and I/O between them.
  let fired = false;
  setTimeout(() => fired = true, 1);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    using conn = await listener.accept();
    const b = new Uint8Array(8);
    const n = await conn.read(b);
    await conn.write(b.subarray(0, n ?? 0));
  })();
  using client = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  let echoed = false;
  client.write(new Uint8Array([1, 2, 3])).then(() => client.read(new Uint8Array(8)))
    .then(() => echoed = true, () => {});
  let now = Date.now() + 1_000_000; // past any yield another test made
  let yields = 0;
  while ((!fired || !echoed) && yields < 1_000_000) {
    now += 3; // past the 2 ms between yields
    const wait = yieldNow(now);
    assert.ok(wait instanceof Promise);
    await wait;
    yields++;
  }
  assert.ok(fired && echoed, `after ${yields} yields: timer ${fired}, socket ${echoed}`);
  assert.equal(yieldNow(now + 1), undefined, "no yield within 2 ms of the last one");
  await echo;
  listener.close();
});

Deno.test("yieldNow: during a long busy pipe, timers, interval heartbeats and abort signals fire on time", async () => {
  // A pipe that never waits: 0.5 ms of work per chunk, and the sinks' yield (every 2 ms). The
  // deadlines a consumer and producer keep (request timeouts, heartbeats, AbortSignal.timeout)
  // must fire within the project's bound (10 % or 250 ms) of when they are due, not when the
  // pipe ends. Lateness is counted in the pipe's own work (chunks run after a deadline was due),
  // not in wall time: on a loaded machine the OS can stop the whole process for longer than the
  // bound, and that is not the pipe starving its timers.
  const CHUNK_MS = 0.5;
  const start = performance.now();
  let chunks = 0;
  const dueAt = new Map<number, number>(); // deadline (ms) -> chunks run when it fell due
  const firedAt = new Map<number, number>(); // deadline (ms) -> chunks run when it fired
  const timeout = new Promise<void>((r) =>
    setTimeout(() => {
      firedAt.set(300, chunks);
      r();
    }, 300)
  );
  const beats: number[] = []; // chunks run at each heartbeat
  const interval = setInterval(() => beats.push(chunks), 100);
  const signal = AbortSignal.timeout(400);
  signal.addEventListener("abort", () => firedAt.set(400, chunks));
  while (performance.now() - start < 1_200) {
    const until = performance.now() + CHUNK_MS;
    while (performance.now() < until) { /* the envelope's work */ }
    chunks++;
    const elapsed = performance.now() - start;
    for (const due of [300, 400]) if (elapsed >= due && !dueAt.has(due)) dueAt.set(due, chunks);
    const wait = yieldNow(Date.now());
    if (wait) await wait;
    else await null;
  }
  clearInterval(interval);
  await timeout;
  const workLate = (due: number) => (firedAt.get(due)! - dueAt.get(due)!) * CHUNK_MS;
  assert.ok(
    firedAt.has(300) && workLate(300) < 250,
    `the 300 ms timer fired after ${workLate(300)} ms of work`,
  );
  assert.ok(
    firedAt.has(400) && workLate(400) < 250,
    `AbortSignal.timeout(400) after ${workLate(400)} ms of work`,
  );
  // Heartbeats every 100 ms: between two of them (and from the start to the first, and from
  // the last to the end) the pipe did at most 100 ms + the bound of work.
  const marks = [0, ...beats, chunks];
  assert.ok(beats.length >= 1, "no heartbeat at all");
  for (let i = 1; i < marks.length; i++) {
    const work = (marks[i]! - marks[i - 1]!) * CHUNK_MS;
    assert.ok(work < 100 + 250, `${work} ms of work between heartbeats (${beats})`);
  }
});

Deno.test("yieldNow: a wall clock stepped back (NTP, a VM resumed) does not stop the yields", () => {
  const now = Date.now();
  assert.ok(yieldNow(now + 3_600_000) instanceof Promise);
  // An hour earlier by the clock: without a yield, a busy pipe would read no socket and fire
  // no timer for that hour.
  assert.ok(yieldNow(now) instanceof Promise, "yields after the clock went back");
  assert.equal(yieldNow(now + 1), undefined, "and again 2 ms later, not before");
});
