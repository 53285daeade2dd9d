/**
 * Reads every value of a topic (all partitions, from the start to the end as of now) with
 * this client's consumer, `read_committed`: how the pipeline tests check their output.
 *
 * ```ts ignore
 * import { readValues } from "./read_topic.ts";
 * console.log((await readValues(["127.0.0.1:9092"], "out")).length);
 * ```
 *
 * @module
 */

import { Admin } from "../../admin/mod.ts";
import { Consumer } from "../../consumer/mod.ts";

/** Every value of `topic` as text, read_committed, partition after partition. */
export async function readValues(brokers: string[], topic: string): Promise<string[]> {
  const dec = new TextDecoder();
  await using admin = new Admin({ brokers });
  const t = await admin.describeTopic(topic);
  await using c = new Consumer({ brokers, isolationLevel: "read_committed" });
  c.assign(t.partitions.map((p) => ({
    topic,
    partition: p.partition,
    offset: "earliest" as const,
    end: "latest" as const,
  })));
  const out: string[] = [];
  for await (const r of c) out.push(dec.decode(r.value!));
  return out;
}
