/**
 * kafka-go `Reader` on one partition (seed 004): `NewReader{Topic, Partition, MaxBytes}`,
 * `SetOffset(42)`, then `ReadMessage` in a loop. `maxPartitionFetchBytes` is `MaxBytes`; the
 * `end` bound stops the loop when the log's end is reached, so the example ends.
 *
 * Run: `deno run -A examples/kafkago_reader_partition.ts`
 */

import { Admin, Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "topic-reader-partition"; // the seed's topic-A, on its own for fixed offsets
await ensureTopic(topic, 1);
async function latest(): Promise<bigint> {
  await using admin = new Admin({ brokers });
  return (await admin.listTopicOffsets(topic, "latest"))[0]!.offset;
}
if ((await latest()) < 50n) {
  await using w = new Producer({ brokers, defaultTopic: topic });
  await w.send(
    Array.from({ length: 50 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `message ${i}` })),
  );
}

await using r = new Consumer({ brokers, maxPartitionFetchBytes: 10e6 });
r.assign([{ topic, partition: 0, offset: 42n, end: "latest" }]); // r.SetOffset(42)
for await (const m of r) {
  const td = new TextDecoder();
  console.log(`message at offset ${m.offset}: ${td.decode(m.key!)} = ${td.decode(m.value!)}`);
  if (m.offset >= 46n) break; // break closes the reader, as r.Close()
}
