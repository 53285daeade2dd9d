// The `kafkajs` peer of the side-by-side benchmark (bench/compare), run under the Node from
// the `node` npm package (bench/peers/node). KafkaJS has no linger and no batch size: the
// batching a user does by hand is sending arrays of records, so produce sends chunks of
// batch-bytes worth of records with in-flight sends at once. It has gzip only: lz4 and zstd
// are registered here (WASM lz4 from @platformatic/wasm-utils, zstd from node:zlib), because
// the usual plugins (kafkajs-lz4, @kafkajs/zstd) are native addons that do not build here.
import zlib from "node:zlib";
import { load, modes, now, payloads, timedChunks, timedEach } from "./common.mjs";

const kafkajs = (await load("kafkajs")).default;
const { lz4Compress, lz4Decompress } = await load("@platformatic/wasm-utils");

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;

CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder) => Promise.resolve(Buffer.from(lz4Compress(encoder.buffer))),
  decompress: (buffer) => Promise.resolve(Buffer.from(lz4Decompress(buffer))),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder) => Promise.resolve(zlib.zstdCompressSync(encoder.buffer)),
  decompress: (buffer) => Promise.resolve(zlib.zstdDecompressSync(buffer)),
});

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

function client(o) {
  return new Kafka({
    clientId: "bench-kafkajs",
    brokers: [o.bootstrap],
    logLevel: logLevel.NOTHING,
  });
}

async function producer(o) {
  const p = client(o).producer({
    idempotent: o.idempotence,
    maxInFlightRequests: o["in-flight"],
    allowAutoTopicCreation: false,
  });
  await p.connect();
  return p;
}

const acks = (o) => (o.acks === "all" ? -1 : 1);

async function produce(o) {
  const pool = payloads(o.payloads);
  const p = await producer(o);
  const compression = CODECS[o.compression];
  await timedChunks(o, async (start, stop) => {
    const messages = new Array(stop - start);
    for (let i = start; i < stop; i++) {
      messages[i - start] = { value: pool[i % pool.length] };
    }
    await p.send({ topic: o.topic, acks: acks(o), compression, messages });
  });
  await p.disconnect();
}

async function latency(o) {
  const pool = payloads(o.payloads);
  const p = await producer(o);
  const compression = CODECS[o.compression];
  await timedEach(o, (i) =>
    p.send({
      topic: o.topic,
      acks: acks(o),
      compression,
      messages: [{ value: pool[i % pool.length] }],
    }));
  await p.disconnect();
}

/** Reads n records from the beginning with a fresh group member; times from the group join. */
async function consumeN(o, n, tag) {
  const c = client(o).consumer({
    groupId: `bench-kafkajs-${tag}-${Date.now()}-${process.pid}`,
    maxBytes: 50 << 20,
    maxBytesPerPartition: 1 << 20,
    minBytes: 1,
    maxWaitTimeInMs: 500,
  });
  await c.connect();
  await c.subscribe({ topics: [o.topic], fromBeginning: true });
  let t0 = now();
  c.on(c.events.GROUP_JOIN, () => (t0 = now()));
  let count = 0;
  let bytes = 0;
  let elapsed = 0;
  const { promise, resolve } = Promise.withResolvers();
  const timer = setTimeout(
    () => resolve(new Error("no completion in 300 s")),
    300_000,
  );
  await c.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      for (const m of batch.messages) {
        count++;
        bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
      }
      if (count >= n && elapsed === 0) {
        elapsed = now() - t0;
        resolve();
      }
      return Promise.resolve();
    },
  });
  const err = await promise;
  clearTimeout(timer);
  await c.disconnect();
  if (err) throw err;
  return { elapsed, bytes };
}

modes({ produce, latency, consumeN });
