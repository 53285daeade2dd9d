/**
 * sarama `ConsumerGroup` with a `ConsumerGroupHandler` (seed 003): `Setup`, `Cleanup`,
 * `ConsumeClaim` with `MarkMessage`. `Offsets.Initial = OffsetOldest` is
 * `autoOffsetReset: "earliest"`. Marking is `commit(record)` (here explicit; with the default
 * auto-commit, what the loop has taken is committed every `autoCommitIntervalMs`).
 *
 * Run: `deno run -A examples/sarama_consumer_group.ts`
 */

import { Consumer, type ConsumerRecord, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "test_topic";
const groupId = "test_group";
await ensureTopic(topic, 2);
{
  await using p = new Producer({ brokers, defaultTopic: topic });
  await p.send([{ key: "myKey", value: "this is a test msg" }, { value: "another" }]);
}

// MyTopicListener: a handler per topic.
const handlers: Record<string, (m: ConsumerRecord) => void> = {
  [topic]: (m) =>
    console.log(
      `topic: ${m.topic}, key: ${m.key && new TextDecoder().decode(m.key)}, ` +
        `value: ${new TextDecoder().decode(m.value!)}`,
    ),
};

await using group = new Consumer({
  brokers,
  groupId,
  topics: Object.keys(handlers),
  autoOffsetReset: "earliest", // config.Consumer.Offsets.Initial = sarama.OffsetOldest
  autoCommit: false,
  onPartitionsAssigned: (tps) => console.log("consumer group setup", tps), // Setup
  onPartitionsRevoked: (tps) => console.log("consumer group cleanup", tps), // Cleanup
});

// ConsumeClaim: for message := range claim.Messages() { handle; session.MarkMessage }
// Bounded for the example: stop when nothing is left to read (lag 0) or after 10 s.
const deadline = Date.now() + 10_000;
const reader = group.getReader();
while (Date.now() < deadline) {
  const next = await Promise.race([
    reader.read(),
    new Promise<null>((r) => setTimeout(() => r(null), 1000)),
  ]);
  if (next === null) {
    const lag = group.lag();
    if (lag.length > 0 && lag.every((l) => l.lag === 0n)) break;
    continue;
  }
  if (next.done) break;
  handlers[next.value.topic]!(next.value);
  await group.commit(next.value); // MarkMessage + commit: offset + 1, the next to read
}
reader.releaseLock();
console.log(
  "committed:",
  await group.committed([{ topic, partition: 0 }, { topic, partition: 1 }]),
);
