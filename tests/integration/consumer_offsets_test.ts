/**
 * Positions and offsets: reading a time window (ListOffsets by time, like kafka-go's
 * SetOffsetAt), seek / pause / resume, position and lag, manual commits and their metadata,
 * read_committed against aborted transactions written by Java's KafkaProducer, and KIP-320
 * truncation detection with OffsetForLeaderEpoch.
 */

import assert from "node:assert/strict";
import { Consumer, type ConsumerRecord } from "../../consumer/mod.ts";
import { KafkaError } from "../../protocol/errors.ts";
import {
  b,
  BOOTSTRAP,
  createTopic,
  produce,
  take,
  text,
  uniq,
} from "../helpers/consumer_testkit.ts";

const T0 = 1_700_000_000_000;

async function readAll(consumer: Consumer): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for await (const r of consumer) out.push(r);
  return out;
}

Deno.test("offsets: a time window reads exactly the records in it", async () => {
  const topic = uniq("window");
  await createTopic(topic, 1);
  // 100 records one second apart, 10 per batch: window bounds fall inside batches.
  await produce(
    topic,
    0,
    Array.from({ length: 100 }, (_, i) => ({ value: `r${i}`, timestamp: T0 + i * 1000 })),
    { batchSize: 10 },
  );
  const windowOf = async (from: number | Date, to: number | Date) => {
    await using c = new Consumer({ brokers: BOOTSTRAP });
    c.assign([{ topic, partition: 0, offset: { timestamp: from }, end: { timestamp: to } }]);
    return (await readAll(c)).map((r) => r.timestamp);
  };
  const got = await windowOf(T0 + 25_000, T0 + 60_000);
  assert.deepEqual(got, Array.from({ length: 35 }, (_, i) => T0 + (25 + i) * 1000));
  // Bounds between two records' times, and Date objects.
  const between = await windowOf(new Date(T0 + 24_500), new Date(T0 + 27_500));
  assert.deepEqual(between, [T0 + 25_000, T0 + 26_000, T0 + 27_000]);
  // A window after the last record is empty (and the read ends).
  assert.deepEqual(await windowOf(T0 + 500_000, T0 + 600_000), []);
  // An end before everything: nothing either.
  assert.deepEqual(await windowOf(T0 - 10_000, T0 - 5_000), []);
});

Deno.test("offsets: seek, pause, resume, position and lag", async () => {
  const topic = uniq("seek");
  await createTopic(topic, 2);
  for (const p of [0, 1]) {
    await produce(topic, p, Array.from({ length: 100 }, (_, i) => ({ value: `${p}-${i}` })), {
      batchSize: 10,
    });
  }
  await using c = new Consumer({ brokers: BOOTSTRAP, isolationLevel: "read_uncommitted" });
  c.assign([{ topic, partition: 0, offset: "earliest" }]);
  const first = await take(c, 10);
  assert.deepEqual(first.map((r) => r.offset), Array.from({ length: 10 }, (_, i) => BigInt(i)));
  assert.equal(c.position({ topic, partition: 0 }), 10n);
  const lag = c.lag()[0]!;
  assert.equal(lag.highWatermark, 100n);
  assert.equal(lag.lag, 90n);
  // The first batch was taken whole: the seek applies to the very next record.
  c.seek({ topic, partition: 0, offset: 50n });
  const [r50] = await take(c, 1);
  assert.equal(r50!.offset, 50n);
  assert.equal(text(r50!.value), "0-50");
  assert.equal(c.position({ topic, partition: 0 }), 51n);
  // Take the rest of that batch, then seek to the end and back to a time.
  await take(c, 9);
  c.seek({ topic, partition: 0, offset: "earliest" });
  assert.equal((await take(c, 1))[0]!.offset, 0n);
  await take(c, 9);

  // Pause partition 0, add partition 1: only partition 1 flows; resume brings 0 back.
  c.assign([
    { topic, partition: 0, offset: 10n },
    { topic, partition: 1, offset: "earliest" },
  ]);
  c.pause([{ topic, partition: 0 }]);
  assert.deepEqual(c.paused(), [{ topic, partition: 0 }]);
  const onlyOne = await take(c, 100);
  assert.ok(onlyOne.every((r) => r.partition === 1));
  c.resume([{ topic, partition: 0 }]);
  const rest = await take(c, 90);
  assert.ok(rest.every((r) => r.partition === 0));
  assert.equal(rest[0]!.offset, 10n);
  assert.equal(c.position({ topic, partition: 0 }), 100n);
  assert.deepEqual(c.lag().map((l) => l.lag), [0n, 0n]);
});

Deno.test("offsets: pause and seek in the middle of a batch, reading with for await", async () => {
  const topic = uniq("pause-mid");
  await createTopic(topic, 2);
  for (const p of [0, 1]) {
    await produce(topic, p, Array.from({ length: 30 }, (_, i) => ({ value: `${p}-${i}` })), {
      batchSize: 10,
    });
  }
  await using c = new Consumer({ brokers: BOOTSTRAP });
  c.assign([0, 1].map((partition) => ({ topic, partition, offset: "earliest" as const })));
  c.pause([{ topic, partition: 1 }]);
  // The async iterator queues a whole batch; pausing after 3 records must neither hand out
  // the other 7 while paused nor lose them.
  const it = c[Symbol.asyncIterator]();
  const next = async () => (await it.next()).value!;
  for (let i = 0; i < 3; i++) {
    const r = await next();
    assert.deepEqual([r.partition, r.offset], [0, BigInt(i)]);
  }
  c.pause([{ topic, partition: 0 }]);
  c.resume([{ topic, partition: 1 }]);
  for (let i = 0; i < 30; i++) assert.equal((await next()).partition, 1);
  c.resume([{ topic, partition: 0 }]);
  const r3 = await next();
  assert.deepEqual([r3.partition, r3.offset], [0, 3n]);
  // Seek back in the middle of the next batch: records queued before the seek are dropped.
  assert.equal((await next()).offset, 4n);
  c.seek({ topic, partition: 0, offset: 1n });
  assert.equal((await next()).offset, 1n);
  assert.equal(c.position({ topic, partition: 0 }), 2n);
  await it.return!();
});

Deno.test("offsets: manual commits of a record and of offsets with metadata", async () => {
  const topic = uniq("commit");
  const groupId = uniq("g");
  await createTopic(topic, 1);
  await produce(topic, 0, Array.from({ length: 20 }, (_, i) => ({ value: `${i}` })), {
    batchSize: 5,
  });
  {
    await using c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
    c.assign([{ topic, partition: 0, offset: "earliest" }]);
    const rs = await take(c, 5);
    // Committing a record commits the offset after it ("the next offset to read").
    await c.commit(rs[4]!);
    let [committed] = await c.committed([{ topic, partition: 0 }]);
    assert.equal(committed!.offset, 5n);
    await c.commit([{ topic, partition: 0, offset: 12n, metadata: "checkpoint 12" }]);
    [committed] = await c.committed([{ topic, partition: 0 }]);
    assert.equal(committed!.offset, 12n);
    assert.equal(committed!.metadata, "checkpoint 12");
  }
  // A new consumer of the group starts at the committed offset (no auto-commit on close
  // moved it: autoCommit is off).
  await using c2 = new Consumer({ brokers: BOOTSTRAP, groupId });
  c2.assign([{ topic, partition: 0 }]);
  const [r] = await take(c2, 1);
  assert.equal(r!.offset, 12n);
  // commit() with no argument commits what was taken: offset 13.
  await c2.commit();
  assert.equal((await c2.committed([{ topic, partition: 0 }]))[0]!.offset, 13n);
});

Deno.test("offsets: a bounded read ends its stream, and the consumer stays open until close()", async () => {
  const topic = uniq("bounded-open");
  const groupId = uniq("g");
  await createTopic(topic, 2);
  for (const partition of [0, 1]) {
    await produce(topic, partition, Array.from({ length: 6 }, (_, i) => ({ value: `${i}` })));
  }
  const tps = [{ topic, partition: 0 }, { topic, partition: 1 }];
  {
    await using c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
    c.assign([
      { topic, partition: 0, offset: "earliest", end: "latest" },
      { topic, partition: 1, offset: 2n, end: 5n },
    ]);
    assert.equal((await readAll(c)).length, 6 + 3);
    // Past the end, as with the Java client before close(): the offsets API still answers.
    // (A read-finished consumer used to close itself in the background, so these raced a
    // ClosedError; the pause gives a background close the time it took.)
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(c.position(tps[0]!), 6n);
    assert.equal(c.position(tps[1]!), 5n);
    assert.deepEqual(c.lag().map((l) => [l.partition, l.lag]).sort(), [[0, 0n], [1, 1n]]);
    assert.deepEqual((await c.committed(tps)).map((o) => o.offset), [-1n, -1n]);
    await c.commit(); // what was read
    assert.deepEqual((await c.committed(tps)).map((o) => o.offset), [6n, 5n]);
    await c.commit([{ topic, partition: 1, offset: 4n }]);
    assert.deepEqual((await c.committed(tps)).map((o) => o.offset), [6n, 4n]);
    await c.close();
    await assert.rejects(c.committed(tps), (e: unknown) => e instanceof KafkaError);
  }
  {
    // With auto-commit, close() after the end commits what was read.
    await using c = new Consumer({ brokers: BOOTSTRAP, groupId });
    c.assign([{ topic, partition: 0, offset: 1n, end: 3n }]);
    assert.deepEqual((await readAll(c)).map((r) => r.offset), [1n, 2n]);
    await c.close();
  }
  await using check = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
  assert.deepEqual((await check.committed(tps)).map((o) => o.offset), [3n, 4n]);
});

const TXN_JAVA = `
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class Txn {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", a[0]);
    p.put("transactional.id", a[2]);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> pr = new KafkaProducer<>(p)) {
      pr.initTransactions();
      String[] plan = a[3].split(",");
      int c = 0, x = 0;
      for (String step : plan) {
        pr.beginTransaction();
        boolean commit = step.equals("commit");
        for (int i = 0; i < 5; i++) {
          String v = commit ? "committed-" + (c++) : "aborted-" + (x++);
          pr.send(new ProducerRecord<>(a[1], 0, null, v)).get();
        }
        if (commit) pr.commitTransaction(); else pr.abortTransaction();
      }
    }
  }
}
`;

Deno.test("offsets: read_committed skips what Java's transactional producer aborted", async () => {
  const topic = uniq("txn");
  await createTopic(topic, 1);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/Txn.java`, TXN_JAVA);
    const out = await new Deno.Command("java", {
      args: [
        "-cp",
        `${b.jarsDir}/*`,
        `${dir}/Txn.java`,
        BOOTSTRAP.join(","),
        topic,
        uniq("tx"),
        "commit,abort,commit,abort,abort,commit",
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const read = async (isolationLevel: "read_committed" | "read_uncommitted") => {
    await using c = new Consumer({ brokers: BOOTSTRAP, isolationLevel });
    c.assign([{ topic, partition: 0, offset: "earliest", end: "latest" }]);
    const records = await readAll(c);
    return { values: records.map((r) => text(r.value)) };
  };
  const committed = await read("read_committed");
  assert.deepEqual(committed.values, Array.from({ length: 15 }, (_, i) => `committed-${i}`));
  const all = await read("read_uncommitted");
  assert.equal(all.values.length, 30);
  assert.equal(all.values.filter((v) => v!.startsWith("aborted")).length, 15);
  // Control records (transaction markers) are never handed out: offsets skip them.
  assert.ok(all.values.every((v) => v!.startsWith("committed") || v!.startsWith("aborted")));
});

Deno.test("offsets: a committed offset beyond a truncated log is detected (KIP-320)", async () => {
  const topic = uniq("truncate");
  const groupId = uniq("g");
  await createTopic(topic, 1);
  await produce(topic, 0, Array.from({ length: 10 }, (_, i) => ({ value: `${i}` })));
  // Learn the partition's leader epoch from a record, then commit an offset "read" under that
  // epoch that the log does not reach: as after an unclean leader election truncated it.
  let epoch: number;
  {
    await using c = new Consumer({ brokers: BOOTSTRAP, groupId, autoCommit: false });
    c.assign([{ topic, partition: 0, offset: "earliest" }]);
    epoch = (await take(c, 1))[0]!.leaderEpoch;
    await c.commit([{ topic, partition: 0, offset: 50n, leaderEpoch: epoch }]);
  }
  await produce(topic, 0, Array.from({ length: 5 }, (_, i) => ({ value: `later-${i}` })));
  // With a reset policy: resume where that epoch ends in the leader's log (for the current
  // epoch, the log end: 15), not at the reset target (an out-of-range reset to "earliest"
  // would restart at 0).
  {
    await using c = new Consumer({ brokers: BOOTSTRAP, groupId, autoOffsetReset: "earliest" });
    c.assign([{ topic, partition: 0 }]);
    const first = take(c, 1);
    const tp = { topic, partition: 0 };
    for (let i = 0; i < 300 && c.position(tp) === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(c.position(tp), 15n);
    await produce(topic, 0, [{ value: "after" }]);
    const [r] = await first;
    assert.equal(r!.offset, 15n);
    assert.equal(text(r!.value), "after");
  }
  // Without one (error), it is a typed error.
  {
    await using c = new Consumer({
      brokers: BOOTSTRAP,
      groupId,
      autoOffsetReset: "error",
      autoCommit: false,
    });
    c.assign([{ topic, partition: 0 }]);
    await c.commit([{ topic, partition: 0, offset: 50n, leaderEpoch: epoch }]);
    await assert.rejects(take(c, 1, 30_000), (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.match((e as Error).message, /truncation/);
      return true;
    });
  }
});
