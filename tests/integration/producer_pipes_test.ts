/**
 * Pipes are not single-use: after a `pipeTo(producer.writable)` aborted by its signal (or a
 * writable closed by a finished pipe, or aborted by hand), the next `producer.writable` is a
 * fresh stream over the same producer, and a second pipe delivers every record.
 */

import assert from "node:assert/strict";
import { broker } from "../helpers/broker.ts";
import { Producer, type ProducerRecord } from "../../producer/mod.ts";
import { createTopic, endOffsets, topicName } from "../peers/readback.ts";

const b = await broker();
const brokers = b.bootstrap();

/** A source of `n` records that never ends by itself once `n` is reached when `endless`. */
function source(n: number, endless = false): ReadableStream<ProducerRecord> {
  let i = 0;
  return new ReadableStream<ProducerRecord>({
    async pull(c) {
      if (i >= n) {
        if (!endless) c.close();
        else await new Promise((r) => setTimeout(r, 10));
        return;
      }
      c.enqueue({ value: `v${i++}` });
    },
  }, { highWaterMark: 0 });
}

Deno.test("producer pipes: a second pipe works after one aborted by its signal", async () => {
  const topic = topicName("pipes");
  await createTopic(brokers, topic, 1);
  await using p = new Producer({ brokers, defaultTopic: topic });
  const first = p.writable;
  const ac = new AbortController();
  const piping = source(100, true).pipeTo(first, { signal: ac.signal });
  // Abort once the 100 records are in.
  while (p.metrics().recordsSent + p.bufferedBytes === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  ac.abort(new RangeError("stop"));
  await assert.rejects(piping, RangeError);
  await p.flush();
  const second = p.writable;
  assert.notEqual(second, first, "a new stream after the aborted one");
  assert.equal(p.writable, second, "the same stream while it is open");
  await source(50).pipeTo(second);
  // A finished pipe closed its stream: the next pipe gets another one.
  await source(25).pipeTo(p.writable);
  // A stream aborted by hand, too.
  await p.writable.abort(new RangeError("by hand"));
  await source(25).pipeTo(p.writable);
  assert.equal((await p.send({ value: "sent" })).partition, 0);
  const [end] = await endOffsets(brokers, topic);
  assert.equal(end, 100n + 50n + 25n + 25n + 1n);
});
