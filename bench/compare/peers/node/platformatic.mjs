// The `platformatic` peer (@platformatic/kafka) of the side-by-side benchmark (bench/compare),
// run under the Node >= 22 from the `node` npm package (bench/peers/node). Its send() takes an
// array of records and has no linger or batch size, so, like KafkaJS, produce sends chunks of
// batch-bytes worth of records with in-flight sends at once (its producer stream flushes only
// one batch at a time, which would be slower).
import { load, modes, now, payloads, timedChunks, timedEach } from "./common.mjs";

const { Consumer, MessagesStreamModes, ProduceAcks, Producer } = await load(
  "@platformatic/kafka",
);

function producer(o) {
  return new Producer({
    clientId: "bench-platformatic",
    bootstrapBrokers: [o.bootstrap],
    acks: o.acks === "all" ? ProduceAcks.ALL : ProduceAcks.LEADER,
    idempotent: o.idempotence,
    compression: o.compression,
    autocreateTopics: false,
    maxInflights: o["in-flight"],
  });
}

async function produce(o) {
  const pool = payloads(o.payloads);
  const p = producer(o);
  await timedChunks(o, async (start, stop) => {
    const messages = new Array(stop - start);
    for (let i = start; i < stop; i++) {
      messages[i - start] = { topic: o.topic, value: pool[i % pool.length] };
    }
    await p.send({ messages });
  });
  await p.close();
}

async function latency(o) {
  const pool = payloads(o.payloads);
  const p = producer(o);
  await timedEach(
    o,
    (i) => p.send({ messages: [{ topic: o.topic, value: pool[i % pool.length] }] }),
  );
  await p.close();
}

/** Reads n records from the beginning with a fresh group member; times from the join. */
async function consumeN(o, n, tag) {
  const c = new Consumer({
    groupId: `bench-platformatic-${tag}-${Date.now()}-${process.pid}`,
    clientId: "bench-platformatic",
    bootstrapBrokers: [o.bootstrap],
    autocommit: false,
    minBytes: 1,
    maxBytes: 50 << 20,
    maxBytesPerPartition: 1 << 20,
    maxWaitTime: 500,
    isolationLevel: 0, // read_uncommitted, as every other peer
  });
  const stream = await c.consume({
    topics: [o.topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
  });
  const t0 = now();
  let count = 0;
  let bytes = 0;
  const { promise, resolve, reject } = Promise.withResolvers();
  const timer = setTimeout(
    () => reject(new Error("no completion in 300 s")),
    300_000,
  );
  let elapsed = 0;
  stream.on("data", (m) => {
    count++;
    bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
    if (count === n) {
      elapsed = now() - t0;
      resolve();
    }
  });
  stream.on("error", reject);
  try {
    await promise;
  } finally {
    clearTimeout(timer);
    await stream.close();
    await c.close(true);
  }
  return { elapsed, bytes };
}

modes({ produce, latency, consumeN });
