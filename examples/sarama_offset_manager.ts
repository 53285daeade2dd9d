/**
 * sarama `OffsetManager` / `PartitionOffsetManager` (seed 001): `NextOffset()` reads the
 * group's committed offset for one partition, `MarkOffset(offset, metadata)` stores the next
 * one. Here: `committed()` and `commit([{ offset, metadata }])` on a consumer that reads the
 * partition directly (no group membership: `assign`).
 *
 * Run: `deno run -A examples/sarama_offset_manager.ts`
 */

import { Admin, Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "offset_manager"; // the seed's 0606_test
const partition = 2;
await ensureTopic(topic, 3);
{
  await using p = new Producer({ brokers, defaultTopic: topic });
  await p.send(Array.from({ length: 3 }, (_, i) => ({ partition, value: `offset-managed ${i}` })));
}

await using consumer = new Consumer({ brokers, groupId: "group111", autoCommit: false });
// partitionOffsetManager.NextOffset(): the committed offset, -1 when none
const [next] = await consumer.committed([{ topic, partition }]);
console.log(`next offset: ${next!.offset} ${next!.metadata ?? ""}`);
consumer.assign([{
  topic,
  partition,
  offset: next!.offset >= 0n ? next!.offset : "earliest", // ConsumePartition(topic, 2, next)
  end: "latest",
}]);
for await (const msg of consumer) {
  console.log(
    `Consumed message offset ${msg.offset} message:${new TextDecoder().decode(msg.value!)}`,
  );
  // partitionOffsetManager.MarkOffset(next, "modified metadata")
  await consumer.commit([{
    topic,
    partition,
    offset: msg.offset + 1n,
    metadata: "modified metadata",
  }]);
}
// The bounded read has ended, and with it the consumer: ask the group through an admin client.
await using admin = new Admin({ brokers });
const [after] = await admin.listGroupOffsets("group111", { partitions: [{ topic, partition }] });
console.log(`committed now: ${after!.offset} ${after!.metadata}`);
