/**
 * kafka-go topic management (seed 004): create a topic (no need to find and dial the
 * controller: the admin client routes it), and list topics (`conn.ReadPartitions()`).
 *
 * Run: `deno run -A examples/kafkago_topics.ts`
 */

import { Admin } from "../mod.ts";
import { brokers } from "./env.ts";

await using admin = new Admin({ brokers });
try {
  // controllerConn.CreateTopics(kafka.TopicConfig{Topic, NumPartitions: 1, ReplicationFactor: 1})
  await admin.createTopic("my-topic", { numPartitions: 1, replicationFactor: 1 });
} catch (e) {
  if ((e as { errorName?: string }).errorName !== "TOPIC_ALREADY_EXISTS") throw e;
}
const topics = await admin.listTopics(); // the set of p.Topic over conn.ReadPartitions()
for (const t of topics) console.log(t.name);
