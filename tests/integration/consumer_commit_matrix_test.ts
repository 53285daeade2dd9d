/**
 * The commit contract, cell by cell, against the real broker (issue 10 §1): the committed
 * offset of a partition is never beyond the record after the last one the reader received,
 * and manual commits commit exactly what they name.
 *
 * One topic holds six batches of ten records (offsets 0-59), written by our Producer with a
 * long linger and a flush per batch; the fourth batch (30-39) is lz4-compressed. Every cell
 * uses its own group: a member reads from the start, stops right after receiving the record
 * at the cell's stop offset, leaves by the cell's exit path, and then:
 * - the group's committed offset is what the cell's commit mode says;
 * - a new member of the group starts exactly at the first record the first did not receive
 *   (its first record, and its position).
 *
 * Cells: exit path (11, a revocation mid-batch among them) × commit mode (auto-commit,
 * `commit()`, `commit(record)`, none) × stop position (5) × group protocol (classic, KIP-848):
 * 440, run six at a time, each in its own group. "Received" is what the test's own code was
 * handed: the loop body, the reader's read(), or, in a pipe, what the destination's write()
 * processed (a pipe's destination is the reader; see Consumer.pipeTo). Then 10 cells where a
 * subprocess consumer is SIGKILLed. `MATRIX_FILTER=<text>` runs the cells whose name has it.
 */

import { brokerOffer, skipUnless } from "../helpers/broker_offer.ts";
import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions, type ConsumerRecord } from "../../consumer/mod.ts";
import { Producer } from "../../producer/mod.ts";
import { BOOTSTRAP, createTopic, take, uniq } from "../helpers/consumer_testkit.ts";

const TOPIC = uniq("commit-matrix");
/** An empty topic a member moves to, to have its partition of TOPIC revoked. */
const OTHER = uniq("commit-matrix-other");
const TOTAL = 60n;
const TP = { topic: TOPIC, partition: 0 };

type Protocol = "classic" | "consumer";

const offer = await brokerOffer();

/** KIP-848 cells skip, saying why, on a broker without the consumer group protocol (3.x). */
function skipKip848(protocol: Protocol, name: string): boolean {
  return protocol === "consumer" &&
    skipUnless(offer.consumerGroupProtocol, name, offer.why.consumerGroupProtocol);
}

type Mode = "auto" | "commit()" | "commit(record)" | "none";

/** Where the member stops: the offset of the last record it receives. */
const STOPS: Record<string, bigint> = {
  "first of a batch": 20n,
  "middle of a batch": 24n,
  "last of a batch": 29n,
  "batch boundary at the log end": TOTAL - 1n,
  "inside a compressed batch": 34n,
};

/** What an exit path reports: the records the reader's code was handed, in order. */
interface Run {
  received: bigint[];
  /** In a pipe, `commit()` at record N commits what the destination accepted before N. */
  pipe?: boolean;
  /** The record at the stop was refused by the destination (its write threw): not taken. */
  refused?: boolean;
}

/**
 * The callback an exit path calls for every record its reader is handed. It applies the
 * commit mode at the stop record and says whether to stop now.
 */
type OnRecord = (r: ConsumerRecord) => Promise<boolean>;

/** `revoked()`: resolves when the member's partition of the topic was revoked. */
type Exit = (c: Consumer, onRecord: OnRecord, revoked: () => Promise<void>) => Promise<Run>;

/** Reads until `on` says stop; the offset of every record handed out goes to `received`. */
async function readUntilStop(
  reader: ReadableStreamDefaultReader<ConsumerRecord>,
  on: OnRecord,
  received: bigint[],
): Promise<void> {
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("ended early");
    received.push(value.offset);
    if (await on(value)) return;
  }
}

const EXITS: Record<string, Exit> = {
  "break in for await": async (c, on) => {
    const received: bigint[] = [];
    for await (const r of c) {
      received.push(r.offset);
      if (await on(r)) break;
    }
    return { received };
  },
  "return in for await": async (c, on) => {
    const received: bigint[] = [];
    await (async () => {
      for await (const r of c) {
        received.push(r.offset);
        if (await on(r)) return;
      }
    })();
    return { received };
  },
  "throw in for await": async (c, on) => {
    const received: bigint[] = [];
    await assert.rejects(async () => {
      for await (const r of c) {
        received.push(r.offset);
        if (await on(r)) throw new Error("stop");
      }
    }, /stop/);
    return { received };
  },
  "reader.cancel()": async (c, on) => {
    const received: bigint[] = [];
    const reader = c.getReader();
    await readUntilStop(reader, on, received);
    await reader.cancel();
    return { received };
  },
  "releaseLock() then close()": async (c, on) => {
    const received: bigint[] = [];
    const reader = c.getReader();
    await readUntilStop(reader, on, received);
    reader.releaseLock();
    await c.close();
    return { received };
  },
  "close() while a read() is pending": async (c, on) => {
    const received: bigint[] = [];
    const reader = c.getReader();
    await readUntilStop(reader, on, received);
    // The read may be answered at once (a record is ready) or wait (the log end): either
    // way, what it returns was received, and nothing else.
    const pending = reader.read();
    await c.close();
    const last = await pending;
    if (!last.done) received.push(last.value.offset);
    return { received };
  },
  "leaving an await using scope": async (c, on) => {
    const received: bigint[] = [];
    {
      await using scoped = c;
      const reader = scoped.getReader();
      await readUntilStop(reader, on, received);
    }
    return { received };
  },
  "pipeTo aborted by a signal": async (c, on) => {
    const received: bigint[] = [];
    const ac = new AbortController();
    await assert.rejects(
      c.pipeTo(
        new WritableStream({
          async write(r) {
            received.push(r.offset);
            if (await on(r)) ac.abort();
          },
        }),
        { signal: ac.signal },
      ),
    );
    return { received, pipe: true };
  },
  "pipeThrough chain aborted by a signal": async (c, on) => {
    const received: bigint[] = [];
    const ac = new AbortController();
    const seen = new TransformStream<ConsumerRecord, ConsumerRecord>({
      async transform(r, controller) {
        received.push(r.offset);
        const stop = await on(r);
        controller.enqueue(r);
        if (stop) ac.abort();
      },
    });
    await assert.rejects(
      c.pipeThrough(seen, { signal: ac.signal })
        .pipeThrough(new TransformStream())
        .pipeTo(new WritableStream()),
    );
    return { received, pipe: true };
  },
  "pipeTo cancelled by the sink": async (c, on) => {
    const received: bigint[] = [];
    await assert.rejects(
      c.pipeTo(
        new WritableStream({
          async write(r) {
            received.push(r.offset);
            if (await on(r)) throw new Error("sink gave up");
          },
        }),
      ),
      /sink gave up/,
    );
    return { received, pipe: true, refused: true };
  },
  "revocation in the middle of a batch": async (c, on, revoked) => {
    const received: bigint[] = [];
    for await (const r of c) {
      received.push(r.offset);
      if (await on(r)) {
        // The member moves to another topic while it holds this record: its partition is
        // revoked (and committed, with auto-commit) with the rest of the batch queued.
        const gone = revoked();
        c.subscribe([OTHER]);
        await gone;
        break;
      }
    }
    return { received };
  },
};

let prepared: Promise<void> | undefined;

async function setup(): Promise<void> {
  await createTopic(TOPIC, 1);
  await createTopic(OTHER, 1);
  const plain = new Producer({ brokers: BOOTSTRAP, lingerMs: 60_000, batchSize: 1 << 20 });
  const lz4 = new Producer({
    brokers: BOOTSTRAP,
    lingerMs: 60_000,
    batchSize: 1 << 20,
    compression: "lz4",
  });
  try {
    for (let batch = 0; batch < 6; batch++) {
      const p = batch === 3 ? lz4 : plain;
      const sent = p.send(
        Array.from({ length: 10 }, (_, i) => ({
          topic: TOPIC,
          partition: 0,
          key: `k${batch * 10 + i}`,
          value: `record ${batch * 10 + i} `.repeat(20),
        })),
      );
      await p.flush();
      const md = await sent;
      // One flush, one batch: its records are consecutive from the batch's first offset.
      assert.deepEqual(
        md.map((m) => m.offset),
        Array.from({ length: 10 }, (_, i) => BigInt(batch * 10 + i)),
      );
    }
  } finally {
    await plain.close();
    await lz4.close();
  }
}

function options(protocol: Protocol, groupId: string, autoCommit: boolean): ConsumerOptions {
  return {
    brokers: BOOTSTRAP,
    groupId,
    topics: [TOPIC],
    groupProtocol: protocol,
    autoOffsetReset: "earliest",
    autoCommit,
    autoCommitIntervalMs: 50,
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
  };
}

/** Where a new member of the group starts: its position, and the offset of its first record. */
async function nextMemberStart(protocol: Protocol, groupId: string): Promise<bigint> {
  const c = new Consumer(options(protocol, groupId, false));
  try {
    const reader = c.getReader();
    let first: ConsumerRecord | undefined;
    let answered = false;
    reader.read().then((r) => {
      if (!r.done) first = r.value;
      answered = true;
    }, () => {
      answered = true;
    });
    const deadline = Date.now() + 30_000;
    while (!answered) {
      if (Date.now() > deadline) throw new Error("the next member read nothing");
      // At the log end no record comes: the member's position says where it starts.
      const position = c.position(TP);
      if (position !== undefined && position >= TOTAL) return position;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(first, "the next member got a record");
    assert.equal(c.position(TP), first.offset + 1n, "position after the first record");
    return first.offset;
  } finally {
    await c.close();
  }
}

async function committedOffset(groupId: string): Promise<bigint> {
  const c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
  try {
    const [tpo] = await c.committed([TP]);
    return tpo!.offset;
  } finally {
    await c.close();
  }
}

/** One cell: returns the committed offset. */
async function cell(protocol: Protocol, exit: string, mode: Mode, stop: bigint): Promise<void> {
  const groupId = uniq("cm");
  let revokedNow = () => {};
  const revokedOnce = new Promise<void>((resolve) => revokedNow = resolve);
  const c = new Consumer({
    ...options(protocol, groupId, mode === "auto"),
    onPartitionsRevoked: (tps) => {
      if (tps.some((tp) => tp.topic === TOPIC)) revokedNow();
    },
  });
  const on: OnRecord = async (r) => {
    if (r.offset !== stop) return false;
    if (mode === "commit()") await c.commit();
    if (mode === "commit(record)") await c.commit(r);
    return true;
  };
  let run: Run;
  try {
    run = await EXITS[exit]!(c, on, () => revokedOnce);
  } finally {
    await c.close();
  }
  const received = run.received;
  // Every record from the start, in order, and none after the stop but what a pending read
  // returned.
  received.forEach((o, i) => assert.equal(o, BigInt(i), "records in order from 0"));
  const lastReceived = received[received.length - 1] ?? -1n;
  assert.ok(lastReceived >= stop, "reached the stop");
  // What the reader's code took: a record its sink refused was handed but not taken.
  const lastTaken = run.refused ? stop - 1n : lastReceived;

  let expected: bigint;
  switch (mode) {
    case "auto":
      expected = lastTaken + 1n;
      break;
    case "commit()":
      // Everything received; in a pipe, the record being written is not yet accepted.
      expected = run.pipe ? stop : stop + 1n;
      break;
    case "commit(record)":
      expected = stop + 1n;
      break;
    case "none":
      expected = -1n;
      break;
  }
  const committed = await committedOffset(groupId);
  assert.equal(committed, expected, "committed offset");
  assert.ok(committed <= lastReceived + 1n, "never beyond what was received");
  const start = await nextMemberStart(protocol, groupId);
  assert.equal(start, expected < 0n ? 0n : expected, "the next member's start");
}

const FILTER = Deno.env.get("MATRIX_FILTER");
const CONCURRENCY = Number(Deno.env.get("MATRIX_CONCURRENCY") ?? 6);

/** One test per group protocol, named `commit matrix (<protocol> protocol)<suffix>`. */
function matrixTest(
  suffix: string,
  steps: (t: Deno.TestContext, protocol: Protocol) => Promise<void>,
): void {
  for (const protocol of ["classic", "consumer"] as const) {
    const name = `commit matrix (${protocol} protocol)${suffix}`;
    Deno.test({
      name,
      ignore: skipKip848(protocol, name),
      sanitizeOps: false,
      sanitizeResources: false,
      async fn(t) {
        prepared ??= setup();
        await prepared;
        await steps(t, protocol);
      },
    });
  }
}

matrixTest("", async (t, protocol) => {
  const cells: { name: string; run: () => Promise<void> }[] = [];
  for (const exit of Object.keys(EXITS)) {
    for (const mode of ["auto", "commit()", "commit(record)", "none"] as const) {
      for (const [where, stop] of Object.entries(STOPS)) {
        const name = `${exit} × ${mode} × ${where}`;
        if (FILTER && !name.includes(FILTER)) continue;
        cells.push({ name, run: () => cell(protocol, exit, mode, stop) });
      }
    }
  }
  const started = Date.now();
  // Cells run a few at a time (each in its own group); each is a step, named.
  for (let i = 0; i < cells.length; i += CONCURRENCY) {
    await Promise.all(
      cells.slice(i, i + CONCURRENCY).map((c) =>
        t.step({
          name: c.name,
          fn: c.run,
          sanitizeOps: false,
          sanitizeResources: false,
          sanitizeExit: false,
        })
      ),
    );
  }
  console.log(
    `${protocol}: ${cells.length} cells in ${Date.now() - started} ms ` +
      `(${Math.round((Date.now() - started) / Math.max(1, cells.length))} ms per cell, ` +
      `${CONCURRENCY} at a time)`,
  );
});

/**
 * The process killed: a subprocess consumer reads, and is SIGKILLed. Nothing beyond its last
 * commit is committed, and that commit is never beyond what it had received.
 */
async function killed(
  protocol: Protocol,
  how: { hold: bigint; commitEvery?: number; killAfterMs?: number },
): Promise<void> {
  const groupId = uniq("cm-kill");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../helpers/commit_kill_child.ts", import.meta.url).pathname,
      JSON.stringify({
        brokers: BOOTSTRAP,
        topic: TOPIC,
        groupId,
        protocol,
        hold: Number(how.hold),
        ...how.commitEvery !== undefined && { commitEvery: how.commitEvery },
      }),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let got = -1n;
  let lastCommit = -1n;
  let holding = false;
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let buffered = "";
  const watch = (async () => {
    for await (const text of lines) {
      buffered += text;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        if (line.startsWith("got ")) got = BigInt(line.slice(4));
        else if (line.startsWith("committed ")) lastCommit = BigInt(line.slice(10));
        else if (line === "holding") holding = true;
      }
    }
  })();
  const deadline = Date.now() + 60_000;
  while (!holding && got < 0n) {
    if (Date.now() > deadline) throw new Error("the child read nothing");
    await new Promise((r) => setTimeout(r, 10));
  }
  if (how.killAfterMs !== undefined) await new Promise((r) => setTimeout(r, how.killAfterMs));
  else {
    while (!holding) {
      if (Date.now() > deadline) throw new Error("the child did not reach the hold");
      await new Promise((r) => setTimeout(r, 10));
    }
    // Several auto-commit intervals while it holds the record (the rest is buffered).
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill("SIGKILL");
  await child.status;
  await watch;
  const delivered = got + 1n;
  const committed = await committedOffset(groupId);
  assert.ok(committed <= delivered, `committed ${committed} <= received ${delivered}`);
  if (how.commitEvery === undefined) {
    // Auto-commit, killed while holding: its last commit was exactly what it had received.
    assert.equal(committed, delivered, "the last auto-commit is what was received");
  } else {
    // Its last acknowledged commit, or one in flight when it died (also within what it had).
    assert.ok(committed >= lastCommit, `committed ${committed} >= last acknowledged ${lastCommit}`);
  }
  const next = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
  try {
    next.assign([{ ...TP, offset: "committed" }]);
    const [r] = await take(next, 1);
    assert.equal(r?.offset, committed < 0n ? 0n : committed, "the next reader's start");
  } finally {
    await next.close();
  }
}

matrixTest(": the process killed", async (t, protocol) => {
  for (const [where, stop] of Object.entries(STOPS)) {
    if (stop >= TOTAL - 1n) continue; // the next reader needs a record after the stop
    await t.step(
      `auto-commit, killed while holding the ${where} record`,
      () => killed(protocol, { hold: stop }),
    );
  }
  await t.step(
    "commit(record) every 7th, killed while reading",
    () =>
      killed(protocol, {
        hold: TOTAL - 1n,
        commitEvery: 7,
        killAfterMs: Math.floor(Math.random() * 40),
      }),
  );
});
