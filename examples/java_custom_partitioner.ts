/**
 * A custom partitioner (seed 003, `MyPartitioner`): Java's `partitioner.class`. Ours is a
 * function of `{ topic, key, partitionCount }` returning a partition. Java's `partition()`
 * also sees the value; ours sees the key only, so a value-hashing partitioner (the seed's
 * `murmur2(valueBytes) % partitionCount`) picks the record's partition itself.
 *
 * Run: `deno run -A examples/java_custom_partitioner.ts`
 */

import { Admin, murmur2, type Partitioner, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "custom_partitioner";
await ensureTopic(topic, 3);
const toPositive = (n: number) => n & 0x7fffffff; // Utils.toPositive

// Keyed records: a partitioner by key (here: the key's length, for show).
const byKeyLength: Partitioner = ({ key, partitionCount }) =>
  partitionCount > 1 && key ? key.length % partitionCount : 0;
await using p = new Producer({ brokers, partitioner: byKeyLength });
for (const key of ["a", "bb", "ccc"]) {
  const m = await p.send({ topic, key, value: "x" });
  console.log(`key ${key} -> partition ${m.partition}`);
}

// The seed's MyPartitioner: murmur2 of the value.
await using admin = new Admin({ brokers });
const partitionCount = (await admin.describeTopic(topic)).partitions.length;
for (const value of ["v0", "v1", "v2", "v3"]) {
  const bytes = new TextEncoder().encode(value);
  const partition = partitionCount > 1 ? toPositive(murmur2(bytes)) % partitionCount : 0;
  const m = await p.send({ topic, value, partition });
  console.log(`value ${value} -> partition ${m.partition}`);
}
