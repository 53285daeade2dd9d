/**
 * The Java producer of seed 003: `send(record, callback)` (asynchronous, the callback gets the
 * metadata or the exception) and `send(record).get()` (synchronous). A `send()` promise is
 * both: `.then()` is the callback, `await` is `.get()`.
 *
 * Run: `deno run -A examples/java_producer_callback.ts`
 */

import { Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "my_topic1";
await ensureTopic(topic, 3);
await using producer = new Producer({ brokers });

// Asynchronous: five sends in flight at once, each with its callback.
const sends = [];
for (let i = 0; i < 5; i++) {
  sends.push(
    producer.send({ topic, key: `k${i}`, value: `v${i}` })
      .then((metadata) => console.log(`topic: ${metadata.topic}\tpartition: ${metadata.partition}`))
      .catch((exception) => console.error("failed:", exception)), // retries already happened
  );
}
await Promise.all(sends);

// Synchronous: producer.send(record).get()
for (let i = 0; i < 5; i++) {
  const metadata = await producer.send({ topic, key: `k${i}`, value: `v${i}` });
  console.log(`sync: topic: ${metadata.topic}\tpartition: ${metadata.partition}`);
}
