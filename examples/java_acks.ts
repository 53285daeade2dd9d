/**
 * `acks` (seed 003): 0 (no answer: the offset is unknown, -1), 1 (the leader wrote it), all
 * (every in-sync replica has it; the default, as in Java).
 *
 * Run: `deno run -A examples/java_acks.ts`
 */

import { type Acks, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "acks";
await ensureTopic(topic, 1);
for (const acks of [0, 1, "all"] as Acks[]) {
  await using p = new Producer({ brokers, acks, defaultTopic: topic });
  const m = await p.send({ value: `acks=${acks}` });
  console.log(`acks=${acks}: partition ${m.partition}, offset ${m.offset}`);
}
