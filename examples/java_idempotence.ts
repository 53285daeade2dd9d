/**
 * `enable.idempotence` (seed 003): on by default (it needs acks=all and at most 5 requests in
 * flight): the broker drops duplicates of a retried batch and keeps order, by producer id and
 * sequence numbers.
 *
 * Run: `deno run -A examples/java_idempotence.ts`
 */

import { Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "idempotent";
await ensureTopic(topic, 1);
await using p = new Producer({
  brokers,
  defaultTopic: topic,
  idempotent: true,
  acks: "all",
  maxInFlight: 5,
});
const sent = await p.send(Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: `${i}` })));
const first = sent[0]!.offset;

await using r = new Consumer({ brokers });
r.assign([{ topic, partition: 0, offset: first, end: first + 100n }]);
let expected = 0;
for await (const m of r) {
  if (new TextDecoder().decode(m.value!) !== String(expected++)) throw new Error("out of order");
}
console.log(`read ${expected} records back, in order, once each`);
