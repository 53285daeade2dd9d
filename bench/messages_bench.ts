/**
 * Micro benchmarks of the message codecs on the hot paths: encoding a Produce request frame,
 * decoding a Fetch response frame, decoding a large Metadata response.
 *
 * Run: `deno bench -A bench/messages_bench.ts`
 */
import {
  Api,
  decodeResponse,
  encodeRequestFrame,
  encodeResponse,
  type FetchResponse,
  type MetadataResponse,
  type ProduceRequest,
  type ProduceResponse,
  randomUuid,
  Writer,
} from "../protocol/mod.ts";

const RECORDS = new Uint8Array(16 * 1024).map((_, i) => (i * 31) & 255);
const PARTITIONS = 10;

const produce: ProduceRequest = {
  transactionalId: null,
  acks: -1,
  timeoutMs: 30000,
  topicData: [{
    name: "bench-topic",
    partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({ index, records: RECORDS })),
  }],
};
const produceWriter = new Writer(256 * 1024);

Deno.bench({
  name: "encode Produce v11 frame (10 partitions x 16 KiB)",
  group: "produce",
  baseline: true,
  fn() {
    encodeRequestFrame(Api.Produce, 11, 1, "bench", produce, produceWriter);
  },
});

const produce13: ProduceRequest = {
  ...produce,
  topicData: [{ topicId: randomUuid(), partitionData: produce.topicData[0]!.partitionData }],
};
Deno.bench({
  name: "encode Produce v13 frame (10 partitions x 16 KiB, topic id)",
  group: "produce",
  fn() {
    encodeRequestFrame(Api.Produce, 13, 1, "bench", produce13, produceWriter);
  },
});

const fetchResponse: FetchResponse = {
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 7,
  responses: [{
    topic: "",
    topicId: randomUuid(),
    partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
      partitionIndex,
      errorCode: 0,
      highWatermark: 1000000n,
      lastStableOffset: 1000000n,
      logStartOffset: 0n,
      divergingEpoch: { epoch: -1, endOffset: -1n },
      currentLeader: { leaderId: -1, leaderEpoch: -1 },
      snapshotId: { endOffset: -1n, epoch: -1 },
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: RECORDS,
    })),
  }],
  nodeEndpoints: [],
};
const fetchFrame = encodeResponse(Api.Fetch, 16, 1, fetchResponse).slice(4);

Deno.bench({
  name: "decode Fetch v16 response (10 partitions x 16 KiB)",
  group: "fetch",
  fn() {
    decodeResponse(Api.Fetch, 16, fetchFrame);
  },
});

// The response to one awaited send (P4): one topic by id, one partition.
const produceResponse: ProduceResponse = {
  responses: [{
    name: "",
    topicId: randomUuid(),
    partitionResponses: [{
      index: 2,
      errorCode: 0,
      baseOffset: 123456n,
      logAppendTimeMs: -1n,
      logStartOffset: 0n,
      recordErrors: [],
      errorMessage: null,
      currentLeader: { leaderId: -1, leaderEpoch: -1 },
    }],
  }],
  throttleTimeMs: 0,
  nodeEndpoints: [],
};
const produceResponseFrame = encodeResponse(Api.Produce, 13, 1, produceResponse).slice(4);

Deno.bench({
  name: "decode Produce v13 response (1 partition, topic id)",
  group: "produce-response",
  fn() {
    decodeResponse(Api.Produce, 13, produceResponseFrame);
  },
});

const metadata: MetadataResponse = {
  throttleTimeMs: 0,
  brokers: [1, 2, 3].map((nodeId) => ({
    nodeId,
    host: `broker-${nodeId}.example.com`,
    port: 9092,
    rack: null,
  })),
  clusterId: "cluster",
  controllerId: 1,
  topics: Array.from({ length: 50 }, (_, t) => ({
    errorCode: 0,
    name: `topic-${t}`,
    topicId: randomUuid(),
    isInternal: false,
    partitions: Array.from({ length: 10 }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: (p % 3) + 1,
      leaderEpoch: 4,
      replicaNodes: [1, 2, 3],
      isrNodes: [1, 2, 3],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: -2147483648,
  })),
  clusterAuthorizedOperations: -2147483648,
  errorCode: 0,
};
const metadataFrame = encodeResponse(Api.Metadata, 12, 1, metadata).slice(4);

Deno.bench({
  name: "decode Metadata v12 response (3 brokers, 50 topics x 10 partitions)",
  group: "metadata",
  fn() {
    decodeResponse(Api.Metadata, 12, metadataFrame);
  },
});

// The connection hands each frame to the socket, which may keep it until flushed: the frame
// must own its bytes. A ~1 MiB Produce frame (one full batch) either copied out of the reused
// writer (`finish().slice()`, before) or taken with it (`take()`, the writer starts a new
// buffer: protocol/connection.ts).
const BIG_BATCH = new Uint8Array(1_048_000).map((_, i) => (i * 31) & 255);
const bigProduce: ProduceRequest = {
  transactionalId: null,
  acks: -1,
  timeoutMs: 30000,
  topicData: [{ name: "bench-topic", partitionData: [{ index: 0, records: BIG_BATCH }] }],
};
const frameWriter = new Writer(64 * 1024);
let sink: Uint8Array = new Uint8Array(0);
export { sink as _frameSink };
Deno.bench({
  name: "Produce frame 1 MiB, copied out of the writer",
  group: "frame-handoff",
  baseline: true,
  fn() {
    encodeRequestFrame(Api.Produce, 11, 1, "bench", bigProduce, frameWriter);
    sink = frameWriter.finish().slice();
  },
});
Deno.bench({
  name: "Produce frame 1 MiB, writer buffer taken",
  group: "frame-handoff",
  fn() {
    encodeRequestFrame(Api.Produce, 11, 1, "bench", bigProduce, frameWriter);
    sink = frameWriter.take();
  },
});
let spare: Uint8Array | undefined;
Deno.bench({
  name: "Produce frame 1 MiB, writer buffer taken, an answered one handed back (until s11 P2)",
  group: "frame-handoff",
  fn() {
    encodeRequestFrame(Api.Produce, 11, 1, "bench", bigProduce, frameWriter);
    const out = frameWriter.take(spare);
    spare = new Uint8Array(out.buffer);
  },
});
let parts: Uint8Array[] = [];
export { parts as _partsSink };
Deno.bench({
  name: "Produce frame 1 MiB, batch spliced, not copied (zeroCopy, Session 11 P2)",
  group: "frame-handoff",
  fn() {
    encodeRequestFrame(Api.Produce, 11, 1, "bench", bigProduce, frameWriter, 128 * 1024);
    parts = frameWriter.takeParts();
  },
});
