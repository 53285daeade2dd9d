/**
 * Crash tests of the pipelines: tests/helpers/pipeline_worker.ts copies 100k records (value =
 * the record's id) from an input topic to an output topic, as a subprocess. It is SIGKILLed
 * at random moments (after a random number of its commits, plus a random delay, so the kill
 * falls while records are written, while a transaction commits, or between commits) at least
 * 5 times, restarted each time, and finally left to finish.
 *
 * - exactly-once: the output read `read_committed` holds every input id exactly once;
 * - at-least-once: no id is missing; the duplicates are counted and printed.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import { Producer, type ProducerRecord } from "../../producer/mod.ts";
import { createTopic, topicName } from "../peers/readback.ts";
import { readValues } from "../helpers/read_topic.ts";

const b = await broker();
const brokers = b.bootstrap();
const TOTAL = 100_000;
const KILLS = 5;
const worker = new URL("../helpers/pipeline_worker.ts", import.meta.url).pathname;

/** Seeded, so a failure can be replayed (the seed is printed). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  /** How the process ended: killed by us, or done. */
  killed: boolean;
  commits: number;
}

/**
 * One worker process. With `killAfter`, SIGKILL it `delayMs` after its `killAfter`-th commit
 * (or when it says DONE first, which then counts as finished); without, wait for DONE.
 */
async function runWorker(
  args: string[],
  kill: { after: number; delayMs: number } | undefined,
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", worker, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let commits = 0;
  let done = false;
  let killed = false;
  let buffer = "";
  const decoder = new TextDecoder();
  const deadline = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 90_000);
  try {
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("COMMIT")) commits++;
        if (line === "DONE") done = true;
        if (kill && !killed && !done && commits >= kill.after) {
          killed = true;
          setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch { /* exited meanwhile */ }
          }, kill.delayMs);
        }
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  const status = await child.status;
  const err = await stderr;
  if (killed && status.signal === "SIGKILL") return { killed: true, commits };
  assert.ok(done && status.success, `worker failed (${status.code}): ${err.slice(-2000)}`);
  return { killed: false, commits };
}

async function crash(guarantee: "exactly-once" | "at-least-once"): Promise<string[]> {
  const input = topicName(`crash-in-${guarantee}`);
  const output = topicName(`crash-out-${guarantee}`);
  await createTopic(brokers, input, 3);
  await createTopic(brokers, output, 3);
  {
    await using p = new Producer({ brokers, defaultTopic: input });
    const records: ProducerRecord[] = [];
    for (let i = 0; i < TOTAL; i++) records.push({ key: `${i}`, value: `${i}` });
    await ReadableStream.from(records).pipeTo(p.writable);
  }
  const args = [
    "--brokers",
    brokers.join(","),
    "--input",
    input,
    "--output",
    output,
    "--group",
    topicName("crash-group"),
    "--guarantee",
    guarantee,
    "--txn-id",
    topicName("crash-txn"),
    // Slowed down (5 ms every 200 records), a run is still going when it is killed after its
    // first commits, however fast the machine: 5 kills never see the whole input done.
    "--throttle",
    "200",
  ];
  const seed = Date.now() % 1_000_000;
  const rnd = random(seed);
  let kills = 0;
  let runs = 0;
  while (true) {
    runs++;
    assert.ok(runs <= KILLS + 10, `the input was not processed after ${runs - 1} runs`);
    const kill = kills < KILLS
      ? { after: 1 + Math.floor(rnd() * 4), delayMs: Math.floor(rnd() * 40) }
      : undefined;
    const run = await runWorker(args, kill);
    if (!run.killed) break;
    kills++;
  }
  console.log(`${guarantee}: seed ${seed}, ${kills} SIGKILLs, ${runs} runs`);
  assert.ok(kills >= KILLS, `only ${kills} kills: the worker finished too early`);
  return await readValues(brokers, output);
}

Deno.test("pipeline crash, exactly-once: 100k records, SIGKILLed 5 times, each exactly once", async () => {
  const values = await crash("exactly-once");
  const seen = new Uint8Array(TOTAL);
  for (const v of values) seen[Number(v)]!++;
  const lost = seen.filter((c) => c === 0).length;
  const duplicated = values.length - (TOTAL - lost);
  console.log(
    `exactly-once: ${values.length} records read_committed, lost ${lost}, duplicated ${duplicated}`,
  );
  assert.equal(lost, 0);
  assert.equal(duplicated, 0);
  assert.equal(values.length, TOTAL);
});

Deno.test("pipeline crash, at-least-once: 100k records, SIGKILLed 5 times, none lost", async () => {
  const values = await crash("at-least-once");
  const seen = new Uint8Array(TOTAL);
  for (const v of values) seen[Number(v)] = Math.min(255, seen[Number(v)]! + 1);
  const lost = seen.filter((c) => c === 0).length;
  const duplicated = values.length - (TOTAL - lost);
  console.log(`at-least-once: ${values.length} records, lost ${lost}, duplicated ${duplicated}`);
  assert.equal(lost, 0);
});
