/**
 * sarama `SyncProducer` (seeds 001, 002, 003): `SendMessage` blocks until the broker
 * acknowledged and returns partition and offset. `RequiredAcks = WaitForAll` is our default
 * (`acks: "all"`); `NewRandomPartitioner` is `partitioner: "random"`.
 *
 * Run: `deno run -A examples/sarama_sync_producer.ts`
 */

import { Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "web_log";
await ensureTopic(topic, 3);

await using producer = new Producer({ brokers, acks: "all", partitioner: "random" });
// msg := &sarama.ProducerMessage{Topic, Key, Value, Headers, Timestamp}
const { partition, offset } = await producer.send({
  topic,
  key: "myKey",
  value: "this is a test log",
  headers: [{ key: "k1", value: "v1" }],
  timestamp: new Date(),
});
console.log(`pid:${partition} offset:${offset}`);
