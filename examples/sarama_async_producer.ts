/**
 * sarama `AsyncProducer` (seeds 000, 001, 003): messages go into `Input()`, outcomes come out
 * of `Successes()` and `Errors()`. Here the input is the producer's writable stream and the
 * outcomes are its delivery reports, in order per partition.
 *
 * Run: `deno run -A examples/sarama_async_producer.ts`
 */

import { Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "0606_test";
await ensureTopic(topic, 3);

const producer = new Producer({ brokers, defaultTopic: topic });
const reports = producer.deliveryReports(); // Return.Successes = true, Return.Errors = true
const handling = (async () => {
  let ok = 0, failed = 0;
  for await (const r of reports) {
    if (r.error) {
      failed++;
      console.log("err:", r.error.message); // case fail := <-p.Errors()
    } else {
      ok++; // case suc := <-p.Successes()
      if (ok <= 3) {
        console.log(`offset: ${r.offset} timestamp: ${r.timestamp} partition: ${r.partition}`);
      }
    }
  }
  console.log(`successes: ${ok}, errors: ${failed}`);
})();

// producer.Input() <- msg, for ten messages (each a new record, as the seed warns).
const input = ReadableStream.from(
  Array.from(
    { length: 10 },
    (_, i) => ({ value: `this is a message ${i} ${new Date().toISOString()}` }),
  ),
);
await input.pipeTo(producer.writable); // resolves when every record is acknowledged
await producer.close(); // AsyncClose: ends the report stream
await handling;
