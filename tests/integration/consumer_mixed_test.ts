/**
 * Mixed classic groups: our consumer and kcat (librdkafka) in one group, with the same
 * assignor (range, roundrobin, cooperative-sticky). Each side leads once: first kcat (it joins
 * first) assigns with librdkafka's assignor from our subscription; then kcat is replaced and
 * our consumer leads, assigning to librdkafka from its subscription (and, for
 * cooperative-sticky, its owned partitions and user data). Both times the partitions are split
 * between the two with no overlap, and the records each side reads are of its own partitions.
 */

import assert from "node:assert/strict";
import { Consumer, type TopicPartition } from "../../consumer/mod.ts";
import { ensureKcat } from "../helpers/broker.ts";
import { kcatTest } from "../helpers/tools.ts";
import { BOOTSTRAP, createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";

const PARTITIONS = 6;

/** A kcat group member, with its assignment as it reports it. */
class KcatMember {
  readonly owned = new Set<number>();
  readonly readFrom = new Set<number>();
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<unknown>;

  constructor(cmd: string, group: string, topic: string, strategy: string) {
    this.#child = new Deno.Command(cmd, {
      args: [
        "-b",
        BOOTSTRAP[0]!,
        "-G",
        group,
        "-X",
        `partition.assignment.strategy=${strategy}`,
        "-X",
        "auto.offset.reset=earliest",
        "-X",
        "session.timeout.ms=10000",
        "-X",
        "heartbeat.interval.ms=500",
        "-f",
        "%p %o\\n",
        "-u", // unbuffered output
        topic,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      this.#lines(this.#child.stdout, (l) => {
        const m = /^(\d+) \d+$/.exec(l);
        if (m) this.readFrom.add(Number(m[1]));
      }),
      this.#lines(this.#child.stderr, (l) => this.#onLog(l)),
    ]);
  }

  async #lines(stream: ReadableStream<Uint8Array>, fn: (line: string) => void): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const l of lines) fn(l);
    }
  }

  #onLog(line: string): void {
    if (!line.includes("rebalanced")) return;
    const parts = [...line.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    // Eager: "assigned: t [0], t [1]" / "revoked: ..."; cooperative: "incremental assignment
    // of N partition(s) ...: t [0]" / "incremental revoke ...".
    if (/revoke/.test(line)) {
      for (const p of parts) this.owned.delete(p);
    } else if (/assign/.test(line)) {
      if (!/incremental/.test(line)) this.owned.clear();
      for (const p of parts) this.owned.add(p);
    }
  }

  async stop(): Promise<void> {
    // SIGTERM: kcat leaves the group cleanly.
    this.#child.kill("SIGTERM");
    await this.#child.status;
    await this.#done;
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const strategy of ["range", "roundrobin", "cooperative-sticky"] as const) {
  await kcatTest(`mixed group with kcat (librdkafka): ${strategy}`, async () => {
    const cmd = await ensureKcat();
    const topic = uniq(`mixed-${strategy}`);
    const group = uniq("g");
    await createTopic(topic, PARTITIONS);
    for (let p = 0; p < PARTITIONS; p++) {
      await produce(topic, p, Array.from({ length: 20 }, (_, i) => ({ value: `${p}-${i}` })));
    }
    const ourReads = new Set<number>();
    const ours = new Consumer({
      brokers: BOOTSTRAP,
      groupId: group,
      topics: [topic],
      assignors: [strategy],
      autoOffsetReset: "earliest",
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
    });
    let kcat = new KcatMember(cmd, group, topic, strategy);
    let reading: Promise<void> | undefined;
    const split = () => {
      const mine = ours.assignment().map((tp: TopicPartition) => tp.partition);
      const theirs = [...kcat.owned];
      return mine.length === PARTITIONS / 2 && theirs.length === PARTITIONS / 2 &&
        new Set([...mine, ...theirs]).size === PARTITIONS;
    };
    try {
      // 1. kcat joins first and leads.
      await waitFor(() => kcat.owned.size === PARTITIONS, "kcat to own every partition");
      reading = (async () => {
        for await (const r of ours) ourReads.add(r.partition);
      })();
      await waitFor(split, "kcat (leader) to split the partitions with us");
      const mine1 = new Set(ours.assignment().map((tp) => tp.partition));
      for (const p of kcat.owned) assert.ok(!mine1.has(p), `partition ${p} on both sides`);
      // kcat read (and committed) everything so far: new records show who reads what.
      ourReads.clear();
      kcat.readFrom.clear();
      for (let p = 0; p < PARTITIONS; p++) await produce(topic, p, [{ value: `new-${p}` }]);
      await waitFor(
        () => ourReads.size + kcat.readFrom.size === PARTITIONS,
        "each side to read the new records",
      );
      assert.deepEqual([...ourReads].sort(), [...mine1].sort());
      assert.deepEqual([...kcat.readFrom].sort(), [...kcat.owned].sort());

      // 2. kcat leaves; we own everything; a new kcat joins: now we lead.
      await kcat.stop();
      await waitFor(() => ours.assignment().length === PARTITIONS, "us to own everything");
      kcat = new KcatMember(cmd, group, topic, strategy);
      await waitFor(split, "us (leader) to split the partitions with kcat");
      const mine2 = new Set(ours.assignment().map((tp) => tp.partition));
      for (const p of kcat.owned) assert.ok(!mine2.has(p), `partition ${p} on both sides`);
      ourReads.clear();
      for (let p = 0; p < PARTITIONS; p++) await produce(topic, p, [{ value: `newer-${p}` }]);
      await waitFor(
        () => ourReads.size + kcat.readFrom.size === PARTITIONS,
        "each side to read the newer records",
      );
      assert.deepEqual([...ourReads].sort(), [...mine2].sort());
      assert.deepEqual([...kcat.readFrom].sort(), [...kcat.owned].sort());
    } finally {
      await kcat.stop();
      await ours.close();
      await reading;
    }
  });
}
