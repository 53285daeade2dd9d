/**
 * sarama `Client` (seed 000): `Topics()`, `Brokers()`, and per-topic partitions and offsets.
 *
 * Run: `deno run -A examples/sarama_client.ts`
 */

import { Admin } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

await ensureTopic("web_log", 3);
await using client = new Admin({ brokers });
for (const t of await client.listTopics()) console.log(t.name); // client.Topics()
for (const b of (await client.describeCluster()).brokers) console.log(`${b.host}:${b.port}`); // Brokers()
for (const o of await client.listTopicOffsets("web_log", "latest")) {
  console.log(`web_log/${o.partition}: next offset ${o.offset}`); // client.GetOffset(..., OffsetNewest)
}
