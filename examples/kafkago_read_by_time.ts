/**
 * kafka-go `SetOffsetAt` (seed 004): read all messages of a time range from one partition.
 * `offset: { timestamp }` starts at the first record at or after a time (ListOffsets by
 * time), `end: { timestamp }` stops before the first record at or after another.
 *
 * Run: `deno run -A examples/kafkago_read_by_time.ts`
 */

import { Admin, Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

// A topic of its own per run (deleted at the end): earlier runs' records would fall in the
// same time window.
const topic = `my-topic1-${Date.now()}`;
await ensureTopic(topic, 1);
const now = Date.now();
{
  // Records one minute apart, over the last ten minutes.
  await using w = new Producer({ brokers, defaultTopic: topic });
  await w.send(Array.from({ length: 10 }, (_, i) => ({
    partition: 0,
    value: `minute ${i}`,
    timestamp: now - (10 - i) * 60_000,
  })));
}

const startTime = now - 5 * 60_000; // time.Now().Add(-5 * time.Minute)
const endTime = now - 2 * 60_000;
await using r = new Consumer({ brokers, maxPartitionFetchBytes: 10e6 });
r.assign([{ topic, partition: 0, offset: { timestamp: startTime }, end: { timestamp: endTime } }]);
for await (const m of r) {
  console.log(
    `message at offset ${m.offset} (${new Date(m.timestamp).toISOString()}): ` +
      new TextDecoder().decode(m.value!),
  );
}

await using admin = new Admin({ brokers });
await admin.deleteTopic(topic);
