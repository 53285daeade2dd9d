// The consumer's pipe loop (consumer/readers.ts pipeCounting) without a broker: a record is
// reported taken only once the destination's write() resolved, and the pipe shuts down as the
// native pipe does (close, abort, cancel, the signal; preventClose/Abort/Cancel). The fetch
// buffer is a stand-in that records take/took; the commit matrix proves it against a broker.
import assert from "node:assert/strict";
import { pipeCounting } from "../../consumer/readers.ts";
import type { FetchBuffer } from "../../consumer/fetch_buffer.ts";
import type { ConsumerRecord } from "../../consumer/types.ts";

function rec(i: number): ConsumerRecord {
  return { topic: "t", partition: 0, offset: BigInt(i), value: null } as unknown as ConsumerRecord;
}

function fakeBuffer() {
  const log: string[] = [];
  let counting = 0;
  const buffer = {
    take: (r: ConsumerRecord) => {
      log.push(`take ${r.offset}`);
      return { ps: {}, gen: 0 };
    },
    took: (_from: unknown, r: ConsumerRecord) => log.push(`took ${r.offset}`),
    countingStarted: () => counting++,
    countingEnded: () => counting--,
    // A plain stream's queue is not the buffer's: every read may wait.
    queuedInStream: 0,
    abandon: (unsent: { record: ConsumerRecord } | undefined) =>
      log.push(`abandon ${unsent?.record.offset ?? "-"}`),
    // Where the last record of `next` (the pipe's direct take) came from.
    from: { ps: {}, gen: 0 },
  };
  return { buffer: buffer as unknown as FetchBuffer, log, counting: () => counting };
}

/** A source of `n` records, then (`end`) closed, errored, or waiting forever. */
function source(n: number, end: "close" | "error" | "wait", cancels: unknown[] = []) {
  let i = 0;
  return new ReadableStream<ConsumerRecord>({
    pull(c) {
      if (i < n) return c.enqueue(rec(i++));
      if (end === "close") c.close();
      else if (end === "error") c.error(new RangeError("source broke"));
      else return new Promise(() => {});
    },
    cancel(reason) {
      cancels.push(reason);
    },
  }, { highWaterMark: 0 });
}

function sink(events: string[], opts: { failAt?: number; slow?: boolean } = {}) {
  return new WritableStream<ConsumerRecord>({
    async write(r) {
      if (opts.slow) await new Promise((res) => setTimeout(res, 1));
      if (Number(r.offset) === opts.failAt) throw new TypeError("dest broke");
      events.push(`wrote ${r.offset}`);
    },
    close() {
      events.push("closed");
    },
    abort(reason) {
      events.push(`aborted ${reason instanceof Error ? reason.message : String(reason)}`);
    },
  });
}

Deno.test("consumer pipe: each record is counted once its write resolved; the end closes dest", async () => {
  const { buffer, log, counting } = fakeBuffer();
  const events: string[] = [];
  const src = source(3, "close");
  const dest = sink(events, { slow: true });
  await pipeCounting(src, () => src.getReader(), dest, {}, buffer);
  assert.deepEqual(log, ["take 0", "took 0", "take 1", "took 1", "take 2", "took 2"]);
  assert.deepEqual(events, ["wrote 0", "wrote 1", "wrote 2", "closed"]);
  assert.equal(counting(), 0);
  assert.equal(src.locked, false);
  assert.equal(dest.locked, false);

  const events2: string[] = [];
  const src2 = source(1, "close");
  const dest2 = sink(events2);
  await pipeCounting(
    src2,
    () => src2.getReader(),
    dest2,
    { preventClose: true },
    fakeBuffer().buffer,
  );
  assert.deepEqual(events2, ["wrote 0"], "preventClose leaves dest open");
  assert.equal(dest2.locked, false);
});

/** The pipe's direct take (`FetchBuffer.nextRecord`): records `from` to `to - 1`, logged. */
function direct(log: string[], from: number, to: number): () => ConsumerRecord | undefined {
  let i = from;
  return () => {
    if (i >= to) return undefined;
    log.push(`next ${i}`);
    return rec(i++);
  };
}

Deno.test("consumer pipe: records taken straight from the buffer are counted once written, in order with the stream's", async () => {
  const { buffer, log } = fakeBuffer();
  const events: string[] = [];
  // The stream's records come after the buffer's ready ones (offsets 10, 11).
  let i = 10;
  const src = new ReadableStream<ConsumerRecord>({
    pull(c) {
      if (i < 12) c.enqueue(rec(i++));
      else c.close();
    },
  }, { highWaterMark: 0 });
  const dest = sink(events, { slow: true });
  await pipeCounting(src, () => src.getReader(), dest, {}, buffer, direct(log, 0, 2));
  assert.deepEqual(log, [
    "next 0",
    "took 0",
    "next 1",
    "took 1",
    "take 10",
    "took 10",
    "take 11",
    "took 11",
  ]);
  assert.deepEqual(events, ["wrote 0", "wrote 1", "wrote 10", "wrote 11", "closed"]);
});

Deno.test("consumer pipe: a failed write of a record taken from the buffer is not counted", async () => {
  for (const preventCancel of [false, true]) {
    const { buffer, log } = fakeBuffer();
    const cancels: unknown[] = [];
    const src = source(0, "wait", cancels);
    const dest = sink([], { failAt: 1 });
    await assert.rejects(
      pipeCounting(src, () => src.getReader(), dest, { preventCancel }, buffer, direct(log, 0, 5)),
      TypeError,
    );
    assert.deepEqual(log, ["next 0", "took 0", "next 1", ...preventCancel ? ["abandon 1"] : []]);
    assert.equal(cancels.length, preventCancel ? 0 : 1);
  }
});

Deno.test("consumer pipe: the signal stops a pipe between records taken from the buffer", async () => {
  const { buffer, log } = fakeBuffer();
  const events: string[] = [];
  const ac = new AbortController();
  const src = source(0, "wait");
  const dest = new WritableStream<ConsumerRecord>({
    write(r) {
      events.push(`wrote ${r.offset}`);
      if (r.offset === 1n) ac.abort(new RangeError("stop"));
    },
  });
  await assert.rejects(
    pipeCounting(
      src,
      () => src.getReader(),
      dest,
      { signal: ac.signal, preventCancel: true },
      buffer,
      direct(log, 0, 100),
    ),
    RangeError,
  );
  // Record 1 was written before the abort took effect: counted; nothing after it was taken.
  assert.deepEqual(events, ["wrote 0", "wrote 1"]);
  assert.deepEqual(log, ["next 0", "took 0", "next 1", "took 1", "abandon -"]);
});

/**
 * A destination with no room: an earlier writer left two writes queued (its sink waits for
 * `open`) and let go, so `desiredSize` is below zero and `ready` pends until they are done.
 */
function fullSink(events: string[]) {
  let open!: () => void;
  const gate = new Promise<void>((res) => open = res);
  const dest = new WritableStream<ConsumerRecord | string>({
    async write(r) {
      await gate;
      events.push(typeof r === "string" ? r : `wrote ${r.offset}`);
    },
  }, { highWaterMark: 1 });
  const w = dest.getWriter();
  w.write("earlier a").catch(() => {});
  w.write("earlier b").catch(() => {});
  w.ready.catch(() => {});
  w.releaseLock();
  return { dest: dest as WritableStream<ConsumerRecord>, open };
}

Deno.test("consumer pipe: a record is taken only once dest has room, right before its write", async (t) => {
  // A record taken before the wait for room would be written after a seek()/pause() during
  // that wait: the pipe must not take it (nextRecord/take) until the write can start.
  for (const path of ["buffer", "stream"] as const) {
    await t.step(`taken from the ${path}`, async () => {
      const { buffer, log } = fakeBuffer();
      const events: string[] = [];
      const { dest, open } = fullSink(events);
      const src = source(path === "stream" ? 2 : 0, "wait");
      const ac = new AbortController();
      const piped = pipeCounting(
        src,
        () => src.getReader(),
        dest,
        { signal: ac.signal, preventCancel: true },
        buffer,
        path === "buffer" ? direct(log, 0, 2) : undefined,
      );
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
      assert.deepEqual(log, [], "nothing taken while dest has no room");
      open();
      while (events.length < 4) await new Promise((r) => setTimeout(r, 1));
      ac.abort(new RangeError("stop"));
      await assert.rejects(piped, RangeError);
      assert.deepEqual(events, ["earlier a", "earlier b", "wrote 0", "wrote 1"]);
      const takeOf = path === "buffer" ? "next" : "take";
      assert.deepEqual(log, [`${takeOf} 0`, "took 0", `${takeOf} 1`, "took 1", "abandon -"]);
    });
  }
});

Deno.test("consumer pipe: stopped while dest has no room (the signal, dest failing): nothing taken, the pipe ends", async (t) => {
  for (const how of ["the signal", "dest fails"] as const) {
    for (const path of ["buffer", "stream"] as const) {
      await t.step(`${how}, records in the ${path}`, async () => {
        const { buffer, log } = fakeBuffer();
        // An earlier writer left a write queued that settles only when told (fails or never).
        let fail!: (e: unknown) => void;
        const gate = new Promise<void>((_, rej) => fail = rej);
        const dest = new WritableStream<ConsumerRecord | string>({
          async write() {
            await gate;
          },
        }, { highWaterMark: 1 });
        const w = dest.getWriter();
        w.write("earlier a").catch(() => {});
        w.write("earlier b").catch(() => {});
        w.ready.catch(() => {});
        w.releaseLock();
        const src = source(path === "stream" ? 2 : 0, "wait");
        const ac = new AbortController();
        const piped = pipeCounting(
          src,
          () => src.getReader(),
          dest as WritableStream<ConsumerRecord>,
          // preventAbort: aborting dest would wait for its write in flight, which never ends.
          { signal: ac.signal, preventCancel: true, preventAbort: true },
          buffer,
          path === "buffer" ? direct(log, 0, 2) : undefined,
        );
        for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
        const reason = new RangeError(how);
        if (how === "the signal") ac.abort(reason);
        else fail(reason);
        await assert.rejects(piped, (e) => e === reason);
        assert.deepEqual(log, ["abandon -"], "nothing taken");
        assert.equal(src.locked, false);
        assert.equal(dest.locked, false);
      });
    }
  }
});

Deno.test("consumer pipe: a source error aborts dest (unless preventAbort) and rejects", async () => {
  for (const preventAbort of [false, true]) {
    const events: string[] = [];
    const src = source(1, "error");
    const dest = sink(events);
    await assert.rejects(
      pipeCounting(src, () => src.getReader(), dest, { preventAbort }, fakeBuffer().buffer),
      RangeError,
    );
    assert.deepEqual(events, preventAbort ? ["wrote 0"] : ["wrote 0", "aborted source broke"]);
    assert.equal(dest.locked, false);
  }
});

Deno.test("consumer pipe: a failed write cancels the source (unless preventCancel), uncounted", async () => {
  for (const preventCancel of [false, true]) {
    const { buffer, log } = fakeBuffer();
    const cancels: unknown[] = [];
    const src = source(5, "wait", cancels);
    const dest = sink([], { failAt: 1 });
    await assert.rejects(
      pipeCounting(src, () => src.getReader(), dest, { preventCancel }, buffer),
      TypeError,
    );
    assert.deepEqual(
      log,
      ["take 0", "took 0", "take 1", ...preventCancel ? ["abandon 1"] : []],
      "the failed record is not counted (and is fetched again for the next reader)",
    );
    assert.equal(cancels.length, preventCancel ? 0 : 1);
    assert.equal(src.locked, false);
  }
});

Deno.test("consumer pipe: the signal stops a pipe waiting for records, both ends as asked", async () => {
  for (const prevent of [false, true]) {
    const { buffer, log, counting } = fakeBuffer();
    const cancels: unknown[] = [];
    const events: string[] = [];
    const src = source(2, "wait", cancels);
    const dest = sink(events);
    const ac = new AbortController();
    const piped = pipeCounting(src, () => src.getReader(), dest, {
      signal: ac.signal,
      preventAbort: prevent,
      preventCancel: prevent,
    }, buffer);
    while (log.length < 4) await new Promise((r) => setTimeout(r, 1));
    ac.abort(new RangeError("stop"));
    await assert.rejects(piped, RangeError);
    assert.deepEqual(log, [
      "take 0",
      "took 0",
      "take 1",
      "took 1",
      ...prevent ? ["abandon -"] : [],
    ]);
    assert.deepEqual(
      events,
      prevent ? ["wrote 0", "wrote 1"] : ["wrote 0", "wrote 1", "aborted stop"],
    );
    assert.equal(cancels.length, prevent ? 0 : 1);
    assert.equal(counting(), 0);
    assert.equal(src.locked, false);
    assert.equal(dest.locked, false);
  }
  // Already aborted: nothing is read.
  const { buffer, log } = fakeBuffer();
  const src = source(2, "close");
  const ac = new AbortController();
  ac.abort(new RangeError("early"));
  await assert.rejects(
    pipeCounting(src, () => src.getReader(), sink([]), { signal: ac.signal }, buffer),
    RangeError,
  );
  assert.deepEqual(log, []);
});

Deno.test("consumer pipe: a locked source or destination is refused", async () => {
  const src = source(1, "close");
  const dest = sink([]);
  dest.getWriter();
  await assert.rejects(
    pipeCounting(src, () => src.getReader(), dest, {}, fakeBuffer().buffer),
    TypeError,
  );
  const src2 = source(1, "close");
  src2.getReader();
  await assert.rejects(
    pipeCounting(src2, () => src2.getReader(), sink([]), {}, fakeBuffer().buffer),
    TypeError,
  );
});

// ---------------------------------------------------------------------------------------------
// The shutdown matrix against the native pipe: every way a pipe stops (a row) × preventClose,
// preventAbort, preventCancel (8 columns). Each cell runs the same scenario through the native
// `ReadableStream.prototype.pipeTo` and through the consumer's loop and compares what the
// WHATWG algorithm fixes: how the promise settles (and with which reason), what the
// destination's sink was told (close, abort and its reason), what the source was told (cancel
// and its reason), and that both locks are released. Records written: the consumer's loop
// writes one record at a time, so it may write fewer than the native pipe (which writes what it
// read ahead), never others.

interface Scenario {
  src: ReadableStream<ConsumerRecord>;
  dest: WritableStream<ConsumerRecord>;
  signal?: AbortSignal;
  /** Runs once the pipe settled (the "after the end" row). */
  after?: () => void;
}

interface Seen {
  written: string[];
  dest: string[];
  cancels: string[];
}

const why = (e: unknown) => e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);

/** A row: builds a fresh scenario that logs into `seen`. */
type Row = (seen: Seen) => Scenario;

function loggingSource(
  seen: Seen,
  n: number,
  end: "close" | "error" | "wait",
  opts: { cancelFails?: boolean } = {},
): ReadableStream<ConsumerRecord> {
  let i = 0;
  return new ReadableStream<ConsumerRecord>({
    pull(c) {
      if (i < n) return c.enqueue(rec(i++));
      if (end === "close") c.close();
      else if (end === "error") c.error(new RangeError("source broke"));
      else return new Promise(() => {});
    },
    cancel(reason) {
      seen.cancels.push(why(reason));
      if (opts.cancelFails) throw new EvalError("cancel failed");
    },
  }, { highWaterMark: 0 });
}

function loggingSink(
  seen: Seen,
  opts: {
    onWrite?: (i: number, c: WritableStreamDefaultController) => void;
    abortFails?: boolean;
    highWaterMark?: number;
  } = {},
): WritableStream<ConsumerRecord> {
  return new WritableStream<ConsumerRecord>({
    write(r, c) {
      seen.written.push(String(r.offset));
      opts.onWrite?.(Number(r.offset), c);
    },
    close() {
      seen.dest.push("closed");
    },
    abort(reason) {
      seen.dest.push(`aborted ${why(reason)}`);
      if (opts.abortFails) throw new EvalError("abort failed");
    },
  }, { highWaterMark: opts.highWaterMark ?? 1 });
}

const ROWS: Record<string, Row> = {
  "the source ends": (s) => ({ src: loggingSource(s, 3, "close"), dest: loggingSink(s) }),
  "the source errors": (s) => ({ src: loggingSource(s, 3, "error"), dest: loggingSink(s) }),
  "the source errors, dest's abort fails": (s) => ({
    src: loggingSource(s, 1, "error"),
    dest: loggingSink(s, { abortFails: true }),
  }),
  "dest's write throws": (s) => ({
    src: loggingSource(s, 5, "wait"),
    dest: loggingSink(s, {
      onWrite: (i) => {
        if (i === 1) throw new TypeError("dest broke");
      },
    }),
  }),
  "dest's write throws, the source's cancel fails": (s) => ({
    src: loggingSource(s, 5, "wait", { cancelFails: true }),
    dest: loggingSink(s, {
      onWrite: (i) => {
        if (i === 1) throw new TypeError("dest broke");
      },
    }),
  }),
  "dest errors itself while the pipe waits for a record": (s) => ({
    src: loggingSource(s, 2, "wait"),
    dest: loggingSink(s, {
      onWrite: (i, c) => {
        if (i === 1) setTimeout(() => c.error(new TypeError("dest gave up")), 5);
      },
    }),
  }),
  "dest is closed before the pipe": (s) => {
    const dest = loggingSink(s);
    const w = dest.getWriter();
    w.close();
    w.releaseLock();
    return { src: loggingSource(s, 3, "close"), dest };
  },
  "dest is errored before the pipe": (s) => {
    const dest = loggingSink(s);
    const w = dest.getWriter();
    w.abort(new TypeError("dest was aborted")).catch(() => {});
    w.releaseLock();
    return { src: loggingSource(s, 3, "close"), dest };
  },
  "the signal aborted before the pipe": (s) => {
    const ac = new AbortController();
    ac.abort(new RangeError("early"));
    return { src: loggingSource(s, 3, "close"), dest: loggingSink(s), signal: ac.signal };
  },
  "the signal aborted before the pipe, both actions fail": (s) => {
    const ac = new AbortController();
    ac.abort(new RangeError("early"));
    return {
      src: loggingSource(s, 3, "close", { cancelFails: true }),
      dest: loggingSink(s, { abortFails: true }),
      signal: ac.signal,
    };
  },
  "the signal aborts while the pipe waits for a record": (s) => {
    const ac = new AbortController();
    return {
      src: loggingSource(s, 2, "wait"),
      dest: loggingSink(s, {
        onWrite: (i) => {
          if (i === 1) setTimeout(() => ac.abort(new RangeError("stop")), 5);
        },
      }),
      signal: ac.signal,
    };
  },
  "the signal aborts during a write": (s) => {
    const ac = new AbortController();
    return {
      src: loggingSource(s, 5, "wait"),
      dest: loggingSink(s, {
        onWrite: (i) => {
          if (i === 1) ac.abort(new RangeError("stop"));
        },
      }),
      signal: ac.signal,
    };
  },
  "the signal aborts while dest has no room (highWaterMark 0)": (s) => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new RangeError("stop")), 20);
    return {
      src: loggingSource(s, 5, "wait"),
      dest: loggingSink(s, { highWaterMark: 0 }),
      signal: ac.signal,
    };
  },
  "the signal aborts after the end": (s) => {
    const ac = new AbortController();
    return {
      src: loggingSource(s, 2, "close"),
      dest: loggingSink(s),
      signal: ac.signal,
      after: () => ac.abort(new RangeError("late")),
    };
  },
};

async function runPipe(
  row: Row,
  prevent: { preventClose: boolean; preventAbort: boolean; preventCancel: boolean },
  ours: boolean,
): Promise<{ outcome: string; seen: Seen; locked: boolean[] }> {
  const seen: Seen = { written: [], dest: [], cancels: [] };
  const { src, dest, signal, after } = row(seen);
  const options: StreamPipeOptions = { ...prevent, ...signal && { signal } };
  // A pipe that never settles fails the cell (the native one settles in every row).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<string>((r) => timer = setTimeout(() => r("hung"), 2_000));
  const piped = ours
    ? pipeCounting(src, () => src.getReader(), dest, options, fakeBuffer().buffer)
    : src.pipeTo(dest, options);
  const outcome = await Promise.race([
    piped.then(() => "resolved", (e) => `rejected ${why(e)}`),
    hung,
  ]);
  clearTimeout(timer);
  after?.();
  // Sink and source callbacks of the shutdown run a few ticks after it.
  await new Promise((r) => setTimeout(r, 10));
  return { outcome, seen, locked: [src.locked, dest.locked] };
}

for (const [name, row] of Object.entries(ROWS)) {
  Deno.test(`consumer pipe matrix: ${name}, as the native pipe`, async (t) => {
    for (const preventClose of [false, true]) {
      for (const preventAbort of [false, true]) {
        for (const preventCancel of [false, true]) {
          const prevent = { preventClose, preventAbort, preventCancel };
          await t.step(JSON.stringify(prevent), async () => {
            const native = await runPipe(row, prevent, false);
            const ours = await runPipe(row, prevent, true);
            assert.equal(ours.outcome, native.outcome, "how the pipe settles");
            assert.deepEqual(ours.seen.dest, native.seen.dest, "what dest's sink was told");
            assert.deepEqual(ours.seen.cancels, native.seen.cancels, "what the source was told");
            assert.deepEqual(ours.locked, [false, false], "both locks released");
            assert.deepEqual(
              ours.seen.written,
              native.seen.written.slice(0, ours.seen.written.length),
              "written: a prefix of the native pipe's",
            );
          });
        }
      }
    }
  });
}
