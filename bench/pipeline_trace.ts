/**
 * Runs the `ours` bench peer (bench/compare/peers/ours.ts, same flags) with the producer's
 * transaction steps timed: per transaction, the records in it, how long the sink's commit
 * took (flush, sendOffsetsToTransaction, commitTransaction, each from the start of the
 * commit) and the time from one commit's end to the next one's start. Prints a summary to
 * stderr. Used for X1 (`PROFILER=pipeline_trace bench/profile.sh X1-100B`); see
 * bench/PROFILE.md, Session 11.
 *
 * @module
 */

import { Producer } from "../producer/mod.ts";
import { Connection } from "../net/connection.ts";

/** Requests sent per API (and Produce's batches and records). */
const requests = new Map<string, number>();
let produceBatches = 0;
let produceBytes = 0;
const conn = Connection.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
const request = conn.request!;
conn.request = function (this: unknown, api: unknown, body: unknown, ...rest: unknown[]) {
  const name = (api as { name: string }).name;
  requests.set(name, (requests.get(name) ?? 0) + 1);
  if (name === "Produce") {
    const b = body as { topicData: { partitionData: { records: Uint8Array | null }[] }[] };
    for (const t of b.topicData) {
      for (const p of t.partitionData) {
        produceBatches++;
        produceBytes += p.records?.length ?? 0;
      }
    }
  }
  const res = request.call(this, api, body, ...rest) as Promise<unknown>;
  if (name === "AddPartitionsToTxn") {
    const t0 = performance.now();
    res.then((r) => {
      addMs.push(performance.now() - t0);
      const codes = (r as {
        resultsByTopicV3AndBelow: { resultsByPartition: { partitionErrorCode: number }[] }[];
      }).resultsByTopicV3AndBelow.flatMap((t) =>
        t.resultsByPartition.map((p) => p.partitionErrorCode)
      );
      const code = codes.find((c) => c !== 0) ?? 0;
      addCodes.set(code, (addCodes.get(code) ?? 0) + 1);
    }, () => {});
  }
  return res;
};
/** AddPartitionsToTxn answers by error code (51: CONCURRENT_TRANSACTIONS), and their times. */
const addCodes = new Map<number, number>();
const addMs: number[] = [];

interface Txn {
  start: number;
  flush?: number;
  offsets?: number;
  end?: number;
}
const txns: Txn[] = [];
let current: Txn | undefined;
let lastEnd = 0;
const gaps: number[] = [];
const proto = Producer.prototype as unknown as Record<string, (...a: unknown[]) => Promise<void>>;
const wrap = (name: string, step: (t: Txn, now: number) => void, starts = false) => {
  const orig = proto[name]!;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    const now = performance.now();
    if (starts && current === undefined && txns.length > 0 && this !== undefined) {
      current = { start: now };
      txns.push(current);
      if (lastEnd > 0) gaps.push(now - lastEnd);
    }
    const t = current;
    const p = orig.apply(this, args);
    p.then(() => t && step(t, performance.now() - t.start), () => {});
    return p;
  };
};
// flush() starts the sink's commit (see producer/exactly_once_sink.ts #doCommit).
wrap("flush", (t, ms) => t.flush = ms, true);
wrap("sendOffsetsToTransaction", (t, ms) => t.offsets = ms);
wrap("commitTransaction", (t, ms) => {
  t.end = ms;
  lastEnd = performance.now();
  current = undefined;
});
const begin = proto.beginTransaction!;
proto.beginTransaction = function (this: unknown, ...args: unknown[]) {
  if (txns.length === 0) txns.push({ start: 0, end: 0 });
  return begin.apply(this, args);
};

await import("./compare/peers/ours.ts");

const done = txns.filter((t) => t.end !== undefined && t.start > 0);
const med = (xs: number[]) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
console.error(
  `TXN commits ${done.length}; per commit ms (median): flush ${
    med(done.map((t) => t.flush!)).toFixed(1)
  }` +
    `, offsets ${med(done.map((t) => t.offsets!)).toFixed(1)}, end ${
      med(done.map((t) => t.end!)).toFixed(1)
    }` +
    `; commit time total ${sum(done.map((t) => t.end!)).toFixed(0)} ms` +
    `; between commits median ${med(gaps).toFixed(1)} ms, total ${sum(gaps).toFixed(0)} ms`,
);
console.error(
  `REQ ${
    [...requests].map(([k, v]) => `${k} ${v}`).join(", ")
  }; Produce partition batches ${produceBatches}, ` +
    `mean ${(produceBytes / Math.max(1, produceBatches) / 1024).toFixed(1)} KiB`,
);
console.error(
  `ADD AddPartitionsToTxn by error code ${[...addCodes].map(([k, v]) => `${k}: ${v}`).join(", ")}` +
    `; round trip median ${med(addMs).toFixed(1)} ms`,
);
