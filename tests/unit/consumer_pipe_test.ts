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
    assert.deepEqual(log, ["take 0", "took 0", "take 1"], "the failed record is not counted");
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
    assert.deepEqual(log, ["take 0", "took 0", "take 1", "took 1"]);
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
