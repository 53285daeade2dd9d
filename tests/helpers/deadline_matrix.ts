/**
 * The deadline matrix: operations × deadline sources, each run against one condition (a fake
 * server's fault, or a real broker's listener), checking that the call ends by its deadline
 * (within max(10%, 250 ms), plus the event-loop lag measured meanwhile, capped so that a 2×
 * overrun still fails) with the right error, or fails fast (under 1 s) with the typed error
 * of a misconfiguration. Shared by tests/unit/deadline_matrix_test.ts (fake servers) and
 * tests/integration/deadline_broker_test.ts (the real broker's listeners, a stopped broker).
 */

import assert from "node:assert/strict";
import { Admin } from "../../admin/mod.ts";
import type { ClientOptions } from "../../cluster/options.ts";
import { Consumer } from "../../consumer/mod.ts";
import { Producer } from "../../producer/mod.ts";
import { TimeoutError } from "../../protocol/errors.ts";

/** What a condition should lead to. */
export type Expectation =
  /** Waiting may heal it: the call runs to its deadline. */
  | { kind: "deadline" }
  /** It cannot heal: the call fails at once with this error class. */
  | { kind: "fail-fast"; error: abstract new (...args: never[]) => Error; hint?: RegExp };

/** One cell's outcome. */
export interface CellResult {
  /** `operation × source`. */
  readonly name: string;
  /** Milliseconds from the call to its end. */
  readonly elapsedMs: number;
  /** The deadline the cell set. */
  readonly deadlineMs: number;
  /** What the call ended with (undefined when it resolved). */
  readonly error: unknown;
  /** Whether the call was expected to resolve (close) rather than reject. */
  readonly resolves: boolean;
  /** The signal reason the cell used, for `× signal` cells. */
  readonly reason: unknown;
}

/** The fail-fast bound on loopback. */
export const FAIL_FAST_MS = 1_000;

/** A cell: runs one operation under one deadline source against `brokers`. */
interface Cell {
  readonly name: string;
  /** Resolves with the error the operation ended with (or undefined when it resolved). */
  run(client: ClientOptions, deadlineMs: number, reason: Error): Promise<unknown>;
  /** Close cells resolve at their deadline instead of rejecting. */
  readonly resolves?: boolean;
}

const LONG = 60_000;
const TOPIC = "deadline-matrix";

function abortAfter(ms: number, reason: Error): AbortSignal {
  const c = new AbortController();
  const t = setTimeout(() => c.abort(reason), ms);
  c.signal.addEventListener("abort", () => clearTimeout(t));
  // The cell's client is closed before the test ends; the timer too.
  cleanups.push(() => clearTimeout(t));
  return c.signal;
}
const cleanups: Array<() => void> = [];

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e;
  }
}

async function withAdmin(
  client: ClientOptions,
  retryDeadlineMs: number,
  fn: (a: Admin) => Promise<unknown>,
): Promise<unknown> {
  const admin = new Admin({ ...client, retry: { deadlineMs: retryDeadlineMs } });
  try {
    return await rejection(fn(admin));
  } finally {
    await admin.close();
  }
}

async function withProducer(
  client: ClientOptions,
  o: { maxBlockMs: number; retryDeadlineMs: number },
  fn: (p: Producer) => Promise<unknown>,
): Promise<unknown> {
  const producer = new Producer({
    ...client,
    maxBlockMs: o.maxBlockMs,
    retry: { deadlineMs: o.retryDeadlineMs },
  });
  try {
    return await rejection(fn(producer));
  } finally {
    await producer.abort();
  }
}

async function withConsumer(
  client: ClientOptions,
  o: { groupId?: string; retryDeadlineMs: number },
  fn: (c: Consumer) => Promise<unknown>,
): Promise<unknown> {
  const consumer = new Consumer({
    ...client,
    ...o.groupId !== undefined && { groupId: o.groupId },
    autoCommit: false,
    retry: { deadlineMs: o.retryDeadlineMs },
  });
  try {
    return await rejection(fn(consumer));
  } finally {
    await consumer.close().catch(() => {});
  }
}

const firstRead = (c: Consumer) => {
  c.assign([{ topic: TOPIC, partition: 0 }]);
  const reader = c.getReader();
  return reader.read().finally(() => reader.releaseLock());
};
const commitOne = (c: Consumer, signal?: AbortSignal) =>
  c.commit([{ topic: TOPIC, partition: 0, offset: 1n }], signal ? { signal } : {});
const sendOne = (p: Producer, signal?: AbortSignal) =>
  p.send({ topic: TOPIC, value: "x" }, signal ? { signal } : {});

/** Every cell of the matrix, by name. */
export const CELLS: readonly Cell[] = [
  {
    name: "listTopics × timeoutMs",
    run: (c, d) => withAdmin(c, LONG, (a) => a.listTopics({ timeoutMs: d })),
  },
  {
    name: "listTopics × signal",
    run: (c, d, r) => withAdmin(c, LONG, (a) => a.listTopics({ signal: abortAfter(d, r) })),
  },
  {
    name: "listTopics × retry.deadlineMs",
    run: (c, d) => withAdmin(c, d, (a) => a.listTopics()),
  },
  {
    name: "describeCluster × timeoutMs",
    run: (c, d) => withAdmin(c, LONG, (a) => a.describeCluster({ timeoutMs: d })),
  },
  {
    name: "describeCluster × signal",
    run: (c, d, r) => withAdmin(c, LONG, (a) => a.describeCluster({ signal: abortAfter(d, r) })),
  },
  {
    name: "describeCluster × retry.deadlineMs",
    run: (c, d) => withAdmin(c, d, (a) => a.describeCluster()),
  },
  {
    name: "send × maxBlockMs",
    run: (c, d) => withProducer(c, { maxBlockMs: d, retryDeadlineMs: LONG }, (p) => sendOne(p)),
  },
  {
    name: "send × signal",
    run: (c, d, r) =>
      withProducer(
        c,
        { maxBlockMs: LONG, retryDeadlineMs: LONG },
        (p) => sendOne(p, abortAfter(d, r)),
      ),
  },
  {
    name: "send × retry.deadlineMs",
    run: (c, d) => withProducer(c, { maxBlockMs: LONG, retryDeadlineMs: d }, (p) => sendOne(p)),
  },
  {
    name: "consumer first read × retry.deadlineMs",
    run: (c, d) => withConsumer(c, { retryDeadlineMs: d }, firstRead),
  },
  {
    name: "consumer commit × signal",
    run: (c, d, r) =>
      withConsumer(
        c,
        { groupId: "g", retryDeadlineMs: LONG },
        (k) => commitOne(k, abortAfter(d, r)),
      ),
  },
  {
    name: "consumer commit × retry.deadlineMs",
    run: (c, d) => withConsumer(c, { groupId: "g", retryDeadlineMs: d }, (k) => commitOne(k)),
  },
  {
    name: "producer close × timeoutMs",
    resolves: true,
    async run(c, d) {
      const producer = new Producer({ ...c, maxBlockMs: LONG, retry: { deadlineMs: LONG } });
      const pending = rejection(sendOne(producer));
      // Give a fail-fast condition its moment to fail the record first.
      const closed = await rejection(producer.close({ timeoutMs: d }));
      if (closed !== undefined) return closed;
      const sent = await pending;
      return sent === undefined ? undefined : { closeResolved: true, send: sent };
    },
  },
];

/** The number of cells per condition. */
export const CELL_COUNT = CELLS.length;

/**
 * Runs every cell against one condition and measures the event-loop lag meanwhile. Deadline
 * cells run at once (they mostly wait, so they can share the machine); fail-fast cells run
 * one after the other, since the fail-fast bound is about one call on loopback, not about a
 * broker closing a dozen connections at once.
 */
export async function runCells(
  client: ClientOptions,
  deadlineMs: number,
  expect: Expectation,
): Promise<{ results: CellResult[]; lagMs: number }> {
  let lagMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last - 20);
    last = now;
  }, 20);
  try {
    const one = async (cell: Cell): Promise<CellResult> => {
      const reason = new Error(`${cell.name}: the test's signal fired`);
      reason.name = "CellAbort";
      const start = performance.now();
      const error = await cell.run(client, deadlineMs, reason);
      return {
        name: cell.name,
        elapsedMs: Math.round(performance.now() - start),
        deadlineMs,
        error,
        resolves: cell.resolves === true,
        reason,
      };
    };
    const results: CellResult[] = [];
    if (expect.kind === "deadline") results.push(...await Promise.all(CELLS.map(one)));
    else for (const cell of CELLS) results.push(await one(cell));
    return { results, lagMs: Math.round(lagMs) };
  } finally {
    clearInterval(ticker);
    for (const c of cleanups.splice(0)) c();
  }
}

/** The contract's tolerance: max(10%, 250 ms). */
export function tolerance(deadlineMs: number): number {
  return Math.max(0.1 * deadlineMs, 250);
}

/**
 * Asserts one cell: the right error, at the right time. Deadline cells may end late by the
 * tolerance plus the measured event-loop lag (capped at half the deadline, so a 2× overrun
 * always fails); they may not end early (that would be some other limit ending them).
 */
export function checkCell(r: CellResult, expect: Expectation, lagMs: number): void {
  const e = r.error as Error | undefined;
  if (expect.kind === "fail-fast") {
    const err = r.resolves ? (e as { send?: unknown })?.send ?? e : e;
    assert.ok(err instanceof expect.error, `${r.name}: expected ${expect.error.name}, got ${e}`);
    assert.equal((err as { retriable?: boolean }).retriable, false, `${r.name}: retriable`);
    if (expect.hint) assert.match((err as Error).message, expect.hint, r.name);
    // On a loaded machine the call itself is late by the event loop's lag; the slack for it is
    // capped so that a fail-fast cell still ends well before half its deadline.
    const slack = Math.max(0, Math.min(lagMs, r.deadlineMs / 2 - FAIL_FAST_MS));
    assert.ok(
      r.elapsedMs < FAIL_FAST_MS + slack,
      `${r.name}: took ${r.elapsedMs} ms to fail fast (event-loop lag ${lagMs} ms)`,
    );
    return;
  }
  const slack = Math.min(lagMs, r.deadlineMs / 2);
  const limit = r.deadlineMs + tolerance(r.deadlineMs) + slack;
  assert.ok(
    r.elapsedMs <= limit,
    `${r.name}: ended after ${r.elapsedMs} ms, deadline ${r.deadlineMs} ms (limit ${limit})`,
  );
  assert.ok(
    r.elapsedMs >= r.deadlineMs - 50,
    `${r.name}: ended after ${r.elapsedMs} ms, before its ${r.deadlineMs} ms deadline: ${e}`,
  );
  if (r.resolves) {
    // close({ timeoutMs }) resolves at its deadline; the record it gave up on fails.
    assert.ok((e as { closeResolved?: boolean })?.closeResolved, `${r.name}: ${e}`);
  } else if (r.name.endsWith("× signal")) {
    assert.equal(e, r.reason, `${r.name}: expected the signal's reason, got ${e}`);
  } else {
    assert.ok(e instanceof TimeoutError, `${r.name}: expected TimeoutError, got ${e}`);
  }
}

/** One line per cell, for the test log and the report. */
export function describeResults(condition: string, results: CellResult[], lagMs: number): string {
  const lines = results.map((r) => {
    const e = r.error as { name?: string; send?: { name?: string } } | undefined;
    const what = e === undefined ? "resolved" : e.send?.name ?? e.name ?? String(e);
    return `  ${condition} | ${r.name} | ${r.elapsedMs} ms (deadline ${r.deadlineMs}) | ${what}`;
  });
  return [`deadline matrix, ${condition} (event-loop lag ${lagMs} ms):`, ...lines].join("\n");
}
