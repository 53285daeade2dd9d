/**
 * kafka-go `Reader` with a `GroupID` (seed 004): `ReadMessage` (commits automatically),
 * `FetchMessage` + `CommitMessages` (explicit: committing a message commits everything below
 * it in its partition), and `CommitInterval` (periodic commits: `autoCommitIntervalMs`).
 *
 * Run: `deno run -A examples/kafkago_reader_group.ts`
 */

import { Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "topic-A";
await ensureTopic(topic, 1);
{
  await using w = new Producer({ brokers, defaultTopic: topic });
  await w.send([{ value: "Hello World!" }, { value: "One!" }, { value: "Two!" }]);
}

await using r = new Consumer({
  brokers,
  groupId: "consumer-group-id",
  topics: [topic],
  autoOffsetReset: "earliest",
  autoCommit: false, // FetchMessage + CommitMessages; `autoCommitIntervalMs: 1000` = CommitInterval
  maxPartitionFetchBytes: 10e6, // MaxBytes
});
// Read what is there now, then stop (the group's lag reaches 0).
const reader = r.getReader();
for (;;) {
  const m = await Promise.race([
    reader.read(),
    new Promise<null>((ok) => setTimeout(() => ok(null), 1000)),
  ]);
  if (m === null) {
    if (r.lag().every((l) => l.lag === 0n) && r.lag().length > 0) break;
    continue;
  }
  if (m.done) break;
  const { topic: t, partition, offset, value } = m.value;
  console.log(
    `message at topic/partition/offset ${t}/${partition}/${offset}: ${
      new TextDecoder().decode(value!)
    }`,
  );
  await r.commit(m.value); // r.CommitMessages(ctx, m)
}
reader.releaseLock();
