/**
 * sarama's partitioners (seeds 000, 002, 003): `NewManualPartitioner` (the record names its
 * partition), `NewRandomPartitioner`, `NewRoundRobinPartitioner`, `NewHashPartitioner` (FNV-1a,
 * sarama's default) and `NewReferenceHashPartitioner`, side by side: where ten keyed records
 * land with each.
 *
 * Run: `deno run -A examples/sarama_partitioners.ts`
 */

import { type PartitionerName, Producer, saramaHashPartition } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "partitioners";
await ensureTopic(topic, 4);
const records = Array.from({ length: 10 }, (_, i) => ({ topic, key: `user-${i}`, value: `v${i}` }));

const partitioners: [string, PartitionerName][] = [
  ["NewRandomPartitioner", "random"],
  ["NewRoundRobinPartitioner", "round_robin"],
  ["NewHashPartitioner", "fnv1a"],
  ["NewReferenceHashPartitioner", "fnv1a_reference"],
];
for (const [sarama, ours] of partitioners) {
  await using p = new Producer({ brokers, partitioner: ours });
  const placed = await p.send(records);
  console.log(sarama.padEnd(28), placed.map((m) => m.partition).join(" "));
}

// NewManualPartitioner: the message's own Partition field.
await using manual = new Producer({ brokers });
const placed = await manual.send(records.map((r, i) => ({ ...r, partition: i % 2 })));
console.log("NewManualPartitioner".padEnd(28), placed.map((m) => m.partition).join(" "));

// The hash partitioner is a plain function too: same answer as the producer's "fnv1a".
const key = new TextEncoder().encode("user-0");
console.log("saramaHashPartition(user-0, 4) =", saramaHashPartition(key, 4));
