/**
 * kafka-go `Writer.Compression` (seed 004): every codec is built in (no imports to register
 * them, and readers decompress whatever they meet).
 *
 * Run: `deno run -A examples/kafkago_writer_compression.ts`
 */

import { type CompressionName, Consumer, Producer } from "../mod.ts";
import { brokers, ensureTopic } from "./env.ts";

const topic = "compressed";
await ensureTopic(topic, 1);
for (const compression of ["gzip", "snappy", "lz4", "zstd"] as CompressionName[]) {
  await using w = new Producer({ brokers, defaultTopic: topic, compression });
  const value = `${compression} `.repeat(200);
  const { offset } = await w.send({ partition: 0, value });
  await using r = new Consumer({ brokers });
  r.assign([{ topic, partition: 0, offset, end: offset + 1n }]);
  for await (const m of r) {
    console.log(compression.padEnd(7), `offset ${m.offset}, ${m.value!.length} bytes read back`);
  }
}
