/**
 * Transactions (seed 003, `transactional.id`): records of a committed transaction become
 * visible together; those of an aborted one never reach a `read_committed` consumer.
 *
 * Run: `deno run -A examples/java_transactions.ts`
 */

import { Admin, Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "transactional";
await ensureTopic(topic, 1);
await using admin = new Admin({ brokers });
const [start] = await admin.listTopicOffsets(topic, "latest");

await using tx = new Producer({
  brokers,
  transactionalId: "transaction_id_01",
  defaultTopic: topic,
});
await tx.initTransactions(); // fences an older producer with the same id
await tx.transaction(async (t) => {
  await t.send([{ value: "committed 1" }, { value: "committed 2" }]);
}); // commitTransaction()
tx.beginTransaction();
await tx.send({ value: "aborted" });
await tx.abortTransaction();

const [end] = await admin.listTopicOffsets(topic, "latest");
await using r = new Consumer({ brokers, isolationLevel: "read_committed" });
r.assign([{ topic, partition: 0, offset: start!.offset, end: end!.offset }]);
for await (const m of r) console.log(`read_committed sees: ${new TextDecoder().decode(m.value!)}`);
