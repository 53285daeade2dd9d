/**
 * sarama `Consumer.ConsumePartition` (seeds 000, 002): one partition consumer per partition
 * (`consumer.Partitions(topic)`), from `OffsetOldest` or `OffsetNewest`. One `Consumer` with
 * `assign()` reads them all; `end` bounds the read so the example ends by itself.
 *
 * Run: `deno run -A examples/sarama_partition_consumer.ts`
 */

import { Admin, Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "web_log";
await ensureTopic(topic, 3);
await using admin = new Admin({ brokers });
const partitionList = (await admin.describeTopic(topic)).partitions.map((p) => p.partition);
console.log(partitionList); // consumer.Partitions("web_log")

// OffsetNewest: start where the log ends now, then see what is written after.
const ends = await admin.listTopicOffsets(topic, "latest");
await using producer = new Producer({ brokers, defaultTopic: topic });
await producer.send(["a", "b", "c"].map((value) => ({ value })));

await using newest = new Consumer({ brokers });
newest.assign(partitionList.map((partition) => ({
  topic,
  partition,
  offset: ends.find((e) => e.partition === partition)!.offset, // OffsetNewest, as of before
  end: "latest", // stop at the end: a bounded read
})));
for await (const msg of newest) {
  console.log(
    `Partition:${msg.partition} Offset:${msg.offset} Key:${msg.key} ` +
      `Value:${new TextDecoder().decode(msg.value!)}`,
  );
}

// OffsetOldest: everything still in the log, first five records.
await using oldest = new Consumer({ brokers });
oldest.assign(
  partitionList.map((partition) => ({ topic, partition, offset: "earliest", end: "latest" })),
);
let n = 0;
for await (const msg of oldest) {
  console.log(`oldest: partition ${msg.partition} offset ${msg.offset}`);
  if (++n === 5) break;
}
