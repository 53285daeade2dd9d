/**
 * kafka-go `Writer` with its balancers (seed 004): `LeastBytes`, `Hash` (= sarama's
 * `NewHashPartitioner`), `ReferenceHash`, `CRC32Balancer` (librdkafka's `consistent_random`),
 * `Murmur2Balancer` (Java's default placement), writing to several topics in one call and
 * letting the broker create missing topics (`AllowAutoTopicCreation`).
 *
 * Run: `deno run -A examples/kafkago_writer_balancers.ts`
 */

import { type PartitionerName, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

for (const t of ["topic-A", "topic-B", "topic-C"]) await ensureTopic(t, 3);
const messages = [
  { topic: "topic-A", key: "Key-A", value: "Hello World!" },
  { topic: "topic-B", key: "Key-B", value: "One!" },
  { topic: "topic-C", key: "Key-C", value: "Two!" },
];
const balancers: [string, PartitionerName][] = [
  ["LeastBytes", "least_bytes"],
  ["Hash", "fnv1a"],
  ["ReferenceHash", "fnv1a_reference"],
  ["CRC32Balancer", "consistent_random"],
  ["Murmur2Balancer", "murmur2_random"],
];
for (const [goName, partitioner] of balancers) {
  await using w = new Producer({ brokers, partitioner, allowAutoTopicCreation: true });
  const placed = await w.send(messages); // w.WriteMessages(ctx, messages...)
  console.log(goName.padEnd(16), placed.map((m) => `${m.topic}/${m.partition}`).join(" "));
}
