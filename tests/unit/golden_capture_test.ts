/**
 * Golden frames captured from real exchanges (kcat/librdkafka and Kafka's Java clients against
 * the test broker, see tests/unit/fixtures/golden/README.md and scripts/capture_golden.ts):
 * every request and response must decode and re-encode to exactly the captured bytes, carry
 * the values the peers saw, and the produced record must read back from both the Produce
 * request and the Fetch response.
 */
import assert from "node:assert/strict";
import {
  type AnyApiDef,
  Api,
  apiByKey,
  type ApiVersionsResponse,
  crc32c,
  DecodeError,
  decodeRecordBatches,
  decodeRequest,
  decodeResponse,
  encodeRecordBatch,
  encodeRequestFrame,
  encodeResponse,
  errorCode,
  type FetchRequest,
  type FetchResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type ProduceRequest,
  type RecordBatch,
  RecordBatchLayout,
  recordOffset,
  recordTimestamp,
} from "../../protocol/mod.ts";

const DIR = new URL("./fixtures/golden/", import.meta.url);
const utf8 = new TextEncoder();
const text = new TextDecoder();

interface FrameFixture {
  file: string;
  peer: "kcat" | "java";
  clientId: string;
  connection: number;
  direction: "request" | "response";
  apiKey: number;
  apiName: string;
  apiVersion: number;
  correlationId: number;
  hex: string;
  bytes: Uint8Array;
}

interface PeerFixture {
  peer: "kcat" | "java";
  software: string;
  clientIds: string[];
  topic: string;
  record: {
    key: string;
    value: string;
    headers: { key: string; value: string }[];
    timestamp: number;
  };
}

function fromHex(s: string): Uint8Array {
  assert.match(s, /^(?:[0-9a-f]{2})*$/);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

const index = JSON.parse(Deno.readTextFileSync(new URL("index.json", DIR))) as {
  broker: { version: string };
  peers: PeerFixture[];
  frames: string[];
};
const frames: FrameFixture[] = index.frames.map((file) => {
  const f = JSON.parse(Deno.readTextFileSync(new URL(file, DIR))) as Omit<FrameFixture, "bytes">;
  return { ...f, file, bytes: fromHex(f.hex) };
});
const peers = new Map(index.peers.map((p) => [p.peer, p]));

/** The API of a frame; frames of APIs this client does not speak are not checked. */
function apiOf(f: FrameFixture): AnyApiDef | undefined {
  const api = apiByKey(f.apiKey);
  if (api !== undefined) assert.equal(api.name, f.apiName, f.file);
  return api;
}

/** The request frame a response answers (same exchange number, peer and connection). */
function requestOf(res: FrameFixture): FrameFixture {
  const req = frames.find((f) =>
    f.direction === "request" && f.file === res.file.replace("-response.json", "-request.json")
  );
  assert.ok(req, `no request for ${res.file}`);
  return req;
}

function decodedResponses<T>(api: { key: number }, peer?: string) {
  return frames
    .filter((f) => f.direction === "response" && f.apiKey === api.key && (!peer || f.peer === peer))
    .map((f) => ({ f, body: decodeResponse(apiOf(f)!, f.apiVersion, f.bytes.subarray(4)) as T }));
}

function decodedRequests<T>(api: { key: number }, peer?: string) {
  return frames
    .filter((f) => f.direction === "request" && f.apiKey === api.key && (!peer || f.peer === peer))
    .map((f) => ({ f, body: decodeRequest(f.bytes.subarray(4)).body as T }));
}

/** Every `errorCode` anywhere in a decoded body, with its path. */
function errorCodes(o: unknown, path = ""): [string, number][] {
  if (o === null || typeof o !== "object" || o instanceof Uint8Array) return [];
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k === "errorCode" && typeof v === "number") out.push([`${path}.${k}`, v]);
    else out.push(...errorCodes(v, `${path}.${k}`));
  }
  return out;
}

Deno.test("golden capture: both peers' ApiVersions, Metadata, Produce and Fetch are covered", () => {
  assert.deepEqual([...peers.keys()].sort(), ["java", "kcat"]);
  for (const peer of peers.keys()) {
    for (const api of [Api.ApiVersions, Api.Metadata, Api.Produce, Api.Fetch]) {
      for (const direction of ["request", "response"]) {
        assert.ok(
          frames.some((f) => f.peer === peer && f.apiKey === api.key && f.direction === direction),
          `${peer} ${api.name} ${direction}`,
        );
      }
    }
  }
  // Every frame is whole: its size prefix counts the rest, and belongs to one of the peers.
  for (const f of frames) {
    const size = new DataView(f.bytes.buffer).getInt32(0);
    assert.equal(size, f.bytes.length - 4, f.file);
    assert.ok(peers.get(f.peer)!.clientIds.includes(f.clientId), f.file);
  }
});

Deno.test("golden capture: every request decodes and re-encodes to the captured bytes", () => {
  let checked = 0;
  for (const f of frames) {
    if (f.direction !== "request") continue;
    const api = apiOf(f);
    if (api === undefined) continue;
    const { header, body } = decodeRequest(f.bytes.subarray(4));
    assert.deepEqual(header, {
      apiKey: f.apiKey,
      apiVersion: f.apiVersion,
      correlationId: f.correlationId,
      clientId: f.clientId,
    }, f.file);
    const again = encodeRequestFrame(api, f.apiVersion, f.correlationId, header.clientId, body);
    assert.equal(toHex(again), f.hex, f.file);
    checked++;
  }
  assert.ok(checked >= 40, `only ${checked} requests checked`);
});

Deno.test("golden capture: every response decodes and re-encodes to the captured bytes", () => {
  let checked = 0;
  for (const f of frames) {
    if (f.direction !== "response") continue;
    const api = apiOf(f);
    if (api === undefined) continue;
    const req = requestOf(f);
    assert.deepEqual(
      [f.apiKey, f.apiVersion, f.correlationId],
      [req.apiKey, req.apiVersion, req.correlationId],
    );
    assert.equal(new DataView(f.bytes.buffer).getInt32(4), req.correlationId, f.file);
    const body = decodeResponse(api, f.apiVersion, f.bytes.subarray(4));
    const again = encodeResponse(api, f.apiVersion, f.correlationId, body);
    assert.equal(toHex(again), f.hex, f.file);
    checked++;
  }
  assert.ok(checked >= 40, `only ${checked} responses checked`);
});

Deno.test("golden capture: error codes are 0 but for the retried ones, and last answers are 0", () => {
  // Errors the peers met and retried, as real clients do: the first JoinGroup of a classic
  // member is answered MEMBER_ID_REQUIRED (KIP-394); an InitProducerId or FindCoordinator may
  // arrive while the coordinator partition is still loading.
  const retried = new Map<number, number[]>([
    [Api.JoinGroup.key, [errorCode("MEMBER_ID_REQUIRED")]],
    [Api.InitProducerId.key, [
      errorCode("COORDINATOR_LOAD_IN_PROGRESS"),
      errorCode("COORDINATOR_NOT_AVAILABLE"),
    ]],
    [Api.FindCoordinator.key, [
      errorCode("COORDINATOR_LOAD_IN_PROGRESS"),
      errorCode("COORDINATOR_NOT_AVAILABLE"),
    ]],
  ]);
  const last = new Map<string, [string, number][]>();
  for (const f of frames) {
    if (f.direction !== "response" || apiOf(f) === undefined) continue;
    const codes = errorCodes(decodeResponse(apiOf(f)!, f.apiVersion, f.bytes.subarray(4)));
    for (const [path, code] of codes) {
      if (code === 0) continue;
      assert.ok(retried.get(f.apiKey)?.includes(code), `${f.file}: ${path} = ${code}`);
    }
    last.set(`${f.clientId} ${f.apiName}`, codes);
  }
  for (const [what, codes] of last) {
    for (const [path, code] of codes) assert.equal(code, 0, `last ${what}: ${path}`);
  }
});

Deno.test("golden capture: ApiVersions responses list the versions and features in use", () => {
  const res = decodedResponses<ApiVersionsResponse>(Api.ApiVersions);
  assert.ok(res.length >= 4);
  for (const { f, body } of res) {
    assert.equal(body.errorCode, 0, f.file);
    for (const used of frames.filter((u) => u.peer === f.peer && u.direction === "request")) {
      const range = body.apiKeys.find((k) => k.apiKey === used.apiKey);
      assert.ok(range && range.maxVersion >= used.apiVersion, `${f.file}: ${used.file}`);
    }
    // The features travel in tagged fields (KIP-584), so these prove the tags were decoded
    // rather than skipped. Before v4 the broker hides features whose range starts at 0, which
    // older clients would misread (KIP-1022).
    assert.ok(body.finalizedFeaturesEpoch >= 0n, f.file);
    const finalized = body.finalizedFeatures.find((x) => x.name === "metadata.version");
    assert.ok(finalized && finalized.minVersionLevel > 0, f.file);
    assert.ok(body.supportedFeatures.some((x) => x.name === "metadata.version"), f.file);
    const fromZero = body.supportedFeatures.filter((x) => x.minVersion === 0).length;
    if (f.apiVersion >= 4) assert.ok(fromZero > 0, f.file);
    else assert.equal(fromZero, 0, f.file);
  }
});

Deno.test("golden capture: Metadata names the broker and the peer's topic", () => {
  for (const peer of peers.values()) {
    const res = decodedResponses<{
      brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
      topics: {
        errorCode: number;
        name: string | null;
        topicId: string;
        partitions: { errorCode: number; partitionIndex: number; leaderId: number }[];
      }[];
    }>(Api.Metadata, peer.peer);
    assert.ok(res.length >= 2, peer.peer);
    for (const { f, body } of res) {
      assert.deepEqual(
        body.brokers,
        [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }],
        f.file,
      );
    }
    const named = res.flatMap(({ body }) => body.topics).filter((t) => t.name === peer.topic);
    assert.ok(named.length >= 1, `${peer.peer}: no Metadata answer names ${peer.topic}`);
    for (const t of named) {
      assert.equal(t.errorCode, 0);
      assert.deepEqual(
        t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.leaderId]),
        [[0, 0, 1]],
      );
    }
  }
});

/** The topic id the Java peer's Metadata answers gave its topic (Produce v13, Fetch v13+). */
function javaTopicId(): string {
  const java = peers.get("java")!;
  const ids = new Set(
    decodedResponses<{ topics: { name: string | null; topicId: string }[] }>(Api.Metadata, "java")
      .flatMap(({ body }) => body.topics).filter((t) => t.name === java.topic).map((t) =>
        t.topicId
      ),
  );
  assert.equal(ids.size, 1);
  const [id] = ids;
  assert.notEqual(id, "AAAAAAAAAAAAAAAAAAAAAA");
  return id!;
}

function expectRecord(peer: PeerFixture, batch: RecordBatch) {
  assert.equal(batch.magic, 2);
  assert.equal(batch.compression, 0);
  assert.equal(batch.count, 1);
  assert.equal(batch.isControl, false);
  assert.equal(batch.isTransactional, false);
  assert.equal(batch.timestampType, 0);
  const r = batch.records[0]!;
  assert.equal(recordOffset(batch, r), 0n);
  assert.equal(recordTimestamp(batch, r), peer.record.timestamp);
  assert.equal(text.decode(r.key!), peer.record.key);
  assert.equal(text.decode(r.value!), peer.record.value);
  assert.deepEqual(
    r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : text.decode(h.value) })),
    peer.record.headers,
  );
  // The stored CRC-32C covers attributes to the end of the batch.
  assert.equal(batch.crc, crc32c(bytesOf(batch), RecordBatchLayout.Attributes));
}

/** The batch bytes a decoded batch came from (kept beside it by {@linkcode decodeOne}). */
const batchBytes = new WeakMap<RecordBatch, Uint8Array>();
function bytesOf(batch: RecordBatch): Uint8Array {
  return batchBytes.get(batch)!;
}

function decodeOne(records: Uint8Array | null | undefined): RecordBatch {
  assert.ok(records);
  const decoded = decodeRecordBatches(records);
  assert.equal(decoded.truncated, false);
  assert.equal(decoded.bytesUsed, records.length);
  assert.equal(decoded.batches.length, 1);
  const batch = decoded.batches[0]!;
  batchBytes.set(batch, records);
  return batch;
}

/** Encodes the peer's record with this client's builder and the captured batch's header state. */
function reencode(peer: PeerFixture, batch: RecordBatch): Uint8Array {
  const r = peer.record;
  return encodeRecordBatch([{
    timestamp: r.timestamp,
    key: utf8.encode(r.key),
    value: utf8.encode(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: utf8.encode(h.value) })),
  }], {
    compression: 0,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    partitionLeaderEpoch: batch.partitionLeaderEpoch,
    baseOffset: batch.baseOffset,
  });
}

Deno.test("golden capture: the Produce requests carry the record, and our builder writes the same bytes", () => {
  for (const peer of peers.values()) {
    const reqs = decodedRequests<ProduceRequest>(Api.Produce, peer.peer);
    assert.equal(reqs.length, 1, peer.peer);
    const { f, body } = reqs[0]!;
    assert.equal(body.acks, -1);
    assert.equal(body.topicData.length, 1);
    const topic = body.topicData[0]!;
    if (f.apiVersion >= 13) assert.equal(topic.topicId, javaTopicId());
    else assert.equal(topic.name, peer.topic);
    assert.equal(topic.partitionData.length, 1);
    assert.equal(topic.partitionData[0]!.index, 0);
    const records = topic.partitionData[0]!.records!;
    const batch = decodeOne(records);
    expectRecord(peer, batch);
    // A producer leaves the offset and leader epoch for the broker to fill in: Java (and our
    // builder) write -1 for "no epoch", librdkafka leaves the field at 0.
    assert.equal(batch.baseOffset, 0n);
    assert.equal(batch.partitionLeaderEpoch, peer.peer === "java" ? -1 : 0);
    assert.equal(batch.maxTimestamp, peer.record.timestamp);
    if (peer.peer === "java") {
      // Idempotent by default since Kafka 3.0: the id InitProducerId granted, epoch 0, seq 0.
      const granted = decodedResponses<
        { errorCode: number; producerId: bigint; producerEpoch: number }
      >(
        Api.InitProducerId,
        "java",
      ).filter(({ body }) => body.errorCode === 0);
      assert.equal(granted.length, 1);
      assert.equal(batch.producerId, granted[0]!.body.producerId);
      assert.equal(batch.producerEpoch, granted[0]!.body.producerEpoch);
      assert.equal(batch.baseSequence, 0);
    } else {
      assert.deepEqual([batch.producerId, batch.producerEpoch, batch.baseSequence], [-1n, -1, -1]);
    }
    assert.equal(toHex(reencode(peer, batch)), toHex(records), f.file);
  }
});

Deno.test("golden capture: Produce responses acknowledge offset 0", () => {
  for (const peer of peers.values()) {
    const res = decodedResponses<{
      responses: {
        name: string;
        topicId: string;
        partitionResponses: { index: number; errorCode: number; baseOffset: bigint }[];
      }[];
    }>(Api.Produce, peer.peer);
    assert.equal(res.length, 1);
    const { f, body } = res[0]!;
    assert.equal(body.responses.length, 1);
    const t = body.responses[0]!;
    if (f.apiVersion >= 13) assert.equal(t.topicId, javaTopicId());
    else assert.equal(t.name, peer.topic);
    assert.deepEqual(
      t.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]),
      [[0, 0, 0n]],
    );
  }
});

Deno.test("golden capture: Fetch responses return the record the broker stored", () => {
  for (const peer of peers.values()) {
    const produced = decodedRequests<ProduceRequest>(Api.Produce, peer.peer)[0]!
      .body.topicData[0]!.partitionData[0]!.records!;
    let withRecords = 0;
    for (const { f, body } of decodedResponses<FetchResponse>(Api.Fetch, peer.peer)) {
      assert.equal(body.errorCode, 0, f.file);
      for (const t of body.responses) {
        if (f.apiVersion >= 13) assert.equal(t.topicId, javaTopicId());
        else assert.equal(t.topic, peer.topic);
        for (const p of t.partitions) {
          assert.equal(p.errorCode, 0, f.file);
          assert.equal(p.partitionIndex, 0);
          assert.equal(p.highWatermark, 1n, f.file);
          if (p.records === null || p.records.length === 0) continue;
          withRecords++;
          const batch = decodeOne(p.records);
          expectRecord(peer, batch);
          assert.equal(batch.maxTimestamp, peer.record.timestamp);
          // The broker keeps an uncompressed v2 batch as sent, stamping only its leader epoch
          // (outside the CRC), so our builder reproduces it too.
          assert.ok(batch.partitionLeaderEpoch >= 0);
          assert.equal(toHex(reencode(peer, batch)), toHex(p.records), f.file);
          const stamped = produced.slice();
          new DataView(stamped.buffer).setInt32(
            RecordBatchLayout.PartitionLeaderEpoch,
            batch.partitionLeaderEpoch,
          );
          assert.equal(toHex(p.records), toHex(stamped), f.file);
        }
      }
    }
    // kcat reads once; the Java peer's classic and KIP-848 consumers read once each.
    assert.equal(withRecords, peer.peer === "java" ? 2 : 1, peer.peer);
  }
});

Deno.test("golden capture: the consumers ask for the earliest offset, then fetch from 0", () => {
  for (const peer of peers.values()) {
    const lists = decodedRequests<ListOffsetsRequest>(Api.ListOffsets, peer.peer);
    assert.ok(lists.length >= 1, peer.peer);
    for (const { body } of lists) {
      assert.equal(body.replicaId, -1); // a consumer, not a follower
      const parts = body.topics.flatMap((t) => {
        assert.equal(t.name, peer.topic);
        return t.partitions;
      });
      assert.deepEqual(parts.map((p) => [p.partitionIndex, p.timestamp]), [[0, -2n]]); // EARLIEST
    }
    for (const { f, body } of decodedResponses<ListOffsetsResponse>(Api.ListOffsets, peer.peer)) {
      const parts = body.topics.flatMap((t) => t.partitions);
      assert.deepEqual(
        parts.map((p) => [p.partitionIndex, p.errorCode, p.offset]),
        [[0, 0, 0n]],
        f.file,
      );
    }
    const fetches = decodedRequests<FetchRequest>(Api.Fetch, peer.peer);
    const first = fetches[0]!;
    assert.equal(first.body.topics.length, 1);
    const t = first.body.topics[0]!;
    if (first.f.apiVersion >= 13) assert.equal(t.topicId, javaTopicId());
    else assert.equal(t.topic, peer.topic);
    assert.deepEqual(t.partitions.map((p) => [p.partition, p.fetchOffset]), [[0, 0n]]);
  }
});

Deno.test("golden capture: a flipped bit in the captured records fails the CRC check", () => {
  const records = decodedRequests<ProduceRequest>(Api.Produce, "kcat")[0]!
    .body.topicData[0]!.partitionData[0]!.records!.slice();
  records[records.length - 1]! ^= 1;
  assert.throws(() => decodeRecordBatches(records), DecodeError);
});

Deno.test("golden capture: CreateTopics created both topics", () => {
  const res = decodedResponses<{ topics: { name: string; errorCode: number }[] }>(
    Api.CreateTopics,
    "java",
  );
  assert.equal(res.length, 1);
  assert.deepEqual(
    res[0]!.body.topics.map((t) => [t.name, t.errorCode]).sort(),
    [...peers.values()].map((p) => [p.topic, 0]).sort(),
  );
});
