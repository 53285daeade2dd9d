/**
 * The pipeline the crash tests (tests/integration/pipeline_crash_test.ts) run as a subprocess
 * and SIGKILL: a group consumer of `--input`, each record copied (key and value) to
 * `--output` through `producer.sink()` with `--guarantee` (exactly-once from `mapConsumer`,
 * at-least-once through `mapRecords`) (`--throttle N`: pause 5 ms every
 * N records). It prints `READY` once its
 * committed offsets are known, `COMMIT <n>` after each commit, and `DONE` (then exits 0) once
 * the group's committed offsets reach the input's end.
 *
 * ```sh
 * deno run -A tests/helpers/pipeline_worker.ts --brokers 127.0.0.1:9092 --input in \
 *   --output out --group g --guarantee exactly-once --txn-id t
 * ```
 *
 * @module
 */

import { Admin } from "../../admin/mod.ts";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { mapConsumer, mapRecords, type PipelineGuarantee, Producer } from "../../producer/mod.ts";

const args: Record<string, string> = {};
for (let i = 0; i + 1 < Deno.args.length; i += 2) {
  args[Deno.args[i]!.replace(/^--/, "")] = Deno.args[i + 1]!;
}
const brokers = args.brokers!.split(",");
const input = args.input!;
const output = args.output!;
const groupId = args.group!;
const guarantee = args.guarantee as PipelineGuarantee;

// The input's end per partition, and what the group has committed so far.
const admin = new Admin({ brokers });
const ends = new Map<number, bigint>();
for (const e of await admin.listTopicOffsets(input, "latest")) ends.set(e.partition, e.offset);
const committed = new Map<number, bigint>();
const offsets = await admin.listGroupOffsets(groupId).catch(() => []);
for (const o of offsets) if (o.topic === input) committed.set(o.partition, o.offset);
await admin.close();

const done = () => [...ends].every(([p, end]) => (committed.get(p) ?? 0n) >= end);

const consumer = new Consumer({
  brokers,
  groupId,
  // Static membership (KIP-345): the restarted worker takes the killed one's place at once,
  // without waiting for its session to time out.
  groupInstanceId: `${groupId}-worker`,
  sessionTimeoutMs: 10_000,
  topics: [input],
  autoCommit: false,
  autoOffsetReset: "earliest",
});
const producer = new Producer({
  brokers,
  defaultTopic: output,
  lingerMs: 5,
  ...guarantee === "exactly-once" && { transactionalId: args["txn-id"]! },
});
const stop = new AbortController();
let commits = 0;
console.log("READY");
if (done()) stop.abort();
const sink = producer.sink({
  consumer,
  guarantee,
  transactionRecords: 2_000,
  transactionMs: 50,
  commitIntervalMs: 50,
  onCommit: (offs) => {
    for (const o of offs) committed.set(o.partition, o.offset);
    console.log(`COMMIT ${++commits}`);
    if (done()) stop.abort();
  },
});
// `--throttle N`: a 5 ms pause every N records, so that a fast pipeline is still running
// when the test kills it.
const throttle = Number(args.throttle ?? 0);
let seen = 0;
const copy = (r: ConsumerRecord) => {
  const out = { key: r.key, value: r.value };
  if (throttle > 0 && ++seen % throttle === 0) {
    return new Promise<typeof out>((resolve) => setTimeout(() => resolve(out), 5));
  }
  return out;
};
// Both sources: the batched one for exactly-once, the per-record TransformStream for
// at-least-once.
const envelopes = guarantee === "exactly-once"
  ? mapConsumer(consumer, copy)
  : consumer.pipeThrough(mapRecords(copy));
try {
  await envelopes.pipeTo(sink, { signal: stop.signal });
} catch (e) {
  if (!stop.signal.aborted) throw e;
}
await producer.close();
await consumer.close();
console.log("DONE");
