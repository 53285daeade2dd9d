import assert, { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  allApis,
  Api,
  DecodeError,
  decodeRequest,
  decodeResponse,
  decoderFor,
  encodeRequestFrame,
  encodeResponse,
  encoderFor,
  messageDefaults,
  type MessageSchema,
  Reader,
  UnsupportedVersionError,
  Writer,
  ZERO_UUID,
} from "../../protocol/mod.ts";
import { arbitraryMessage, Rng, versionsOf } from "./messages_arbitrary.ts";

const SAMPLES = 12;

function encode(schema: MessageSchema, version: number, value: unknown): Uint8Array {
  const w = new Writer(64);
  encoderFor<unknown>(schema, version)(w, value);
  return w.toBytes();
}

function decode(schema: MessageSchema, version: number, bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const v = decoderFor(schema, version)(r);
  strictEqual(r.remaining, 0, `${schema.name} v${version} left bytes unread`);
  return v;
}

Deno.test("messages: the registry covers the 48 APIs with the 4.3.1 version ranges", () => {
  const ranges = Object.fromEntries(
    allApis().map((a) => [a.name, `${a.key}:${a.minVersion}-${a.maxVersion}`]),
  );
  deepStrictEqual(ranges, {
    Produce: "0:3-13",
    Fetch: "1:4-18",
    ListOffsets: "2:1-11",
    Metadata: "3:0-13",
    OffsetCommit: "8:2-10",
    OffsetFetch: "9:1-10",
    FindCoordinator: "10:0-6",
    JoinGroup: "11:0-9",
    Heartbeat: "12:0-4",
    LeaveGroup: "13:0-5",
    SyncGroup: "14:0-5",
    DescribeGroups: "15:0-6",
    ListGroups: "16:0-5",
    SaslHandshake: "17:0-1",
    ApiVersions: "18:0-4",
    CreateTopics: "19:2-7",
    DeleteTopics: "20:1-6",
    DeleteRecords: "21:0-2",
    InitProducerId: "22:0-6",
    OffsetForLeaderEpoch: "23:2-4",
    AddPartitionsToTxn: "24:0-5",
    AddOffsetsToTxn: "25:0-4",
    EndTxn: "26:0-5",
    TxnOffsetCommit: "28:0-5",
    DescribeAcls: "29:1-3",
    CreateAcls: "30:1-3",
    DeleteAcls: "31:1-3",
    DescribeConfigs: "32:1-4",
    AlterConfigs: "33:0-2",
    DescribeLogDirs: "35:1-5",
    SaslAuthenticate: "36:0-2",
    CreatePartitions: "37:0-3",
    DeleteGroups: "42:0-2",
    ElectLeaders: "43:0-2",
    IncrementalAlterConfigs: "44:0-1",
    AlterPartitionReassignments: "45:0-1",
    ListPartitionReassignments: "46:0-0",
    OffsetDelete: "47:0-0",
    DescribeClientQuotas: "48:0-1",
    AlterClientQuotas: "49:0-1",
    DescribeUserScramCredentials: "50:0-0",
    AlterUserScramCredentials: "51:0-0",
    DescribeCluster: "60:0-2",
    DescribeProducers: "61:0-0",
    DescribeTransactions: "65:0-0",
    ListTransactions: "66:0-2",
    ConsumerGroupHeartbeat: "68:0-1",
    ConsumerGroupDescribe: "69:0-1",
  });
  strictEqual(Object.keys(Api).length, 48);
});

Deno.test("messages: every API, version and direction round-trips random values", () => {
  const rng = new Rng(0x5eed);
  let cases = 0;
  for (const api of allApis()) {
    for (const schema of [api.request, api.response]) {
      for (const v of versionsOf(schema)) {
        for (let i = 0; i < SAMPLES; i++) {
          const msg = arbitraryMessage(schema, v, rng, { taggedChance: i % 3 === 0 ? 0 : 0.6 });
          const bytes = encode(schema, v, msg);
          const back = decode(schema, v, bytes);
          deepStrictEqual(back, msg, `${schema.name} v${v} sample ${i}`);
          deepStrictEqual(encode(schema, v, back), bytes, `${schema.name} v${v} re-encoding`);
          cases++;
        }
      }
    }
  }
  assert(cases > 5000, `only ${cases} cases`);
});

Deno.test("messages: every API round-trips through request and response frames", () => {
  const rng = new Rng(99);
  const w = new Writer(16);
  for (const api of allApis()) {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const req = arbitraryMessage(api.request, v, rng);
      const frame = encodeRequestFrame(api, v, v * 1000 + 1, "client-é", req, w).slice();
      strictEqual(new DataView(frame.buffer).getInt32(0), frame.length - 4);
      const got = decodeRequest(frame.subarray(4), api);
      deepStrictEqual(got.header, {
        apiKey: api.key,
        apiVersion: v,
        correlationId: v * 1000 + 1,
        clientId: "client-é",
      });
      deepStrictEqual(got.body, req);

      const res = arbitraryMessage(api.response, v, rng);
      const rframe = encodeResponse(api, v, 77, res);
      strictEqual(new DataView(rframe.buffer, rframe.byteOffset).getInt32(0), rframe.length - 4);
      deepStrictEqual(decodeResponse(api, v, rframe.subarray(4)), res, `${api.name} v${v}`);
    }
  }
});

Deno.test("messages: left-out request fields take their defaults", () => {
  const md = decode(Api.Metadata.request, 12, encode(Api.Metadata.request, 12, {}));
  deepStrictEqual(md, {
    topics: [], // nullable but without a null default: Kafka's default is the empty list
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  deepStrictEqual(messageDefaults(Api.Fetch.request).replicaState, {
    replicaId: -1,
    replicaEpoch: -1n,
  });
  const fetch = messageDefaults(Api.Fetch.request);
  strictEqual(fetch.clusterId, null);
  strictEqual(fetch.maxBytes, 0x7fffffff);
  strictEqual(fetch.isolationLevel, 0);
  const res = messageDefaults(Api.Metadata.response);
  strictEqual(res.clusterAuthorizedOperations, -2147483648);
  strictEqual(res.clusterId, null);
  deepStrictEqual(messageDefaults(Api.Produce.request).topicData, []);
});

Deno.test("messages: a non-default value in a version without the field is refused", () => {
  // Metadata IncludeTopicAuthorizedOperations exists from v8 and is not ignorable.
  throws(
    () => encode(Api.Metadata.request, 7, { topics: null, includeTopicAuthorizedOperations: true }),
    (e) =>
      e instanceof UnsupportedVersionError && /includeTopicAuthorizedOperations/.test(e.message),
  );
  // The default (false) is fine.
  encode(Api.Metadata.request, 7, { topics: null, includeTopicAuthorizedOperations: false });
  // Nested: Fetch response PreferredReadReplica (v11+, not ignorable).
  const res = {
    ...messageDefaults(Api.Fetch.response),
    responses: [{
      topic: "t",
      partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 5n, preferredReadReplica: 3 }],
    }],
  };
  throws(() => encode(Api.Fetch.response, 10, res), UnsupportedVersionError);
  encode(Api.Fetch.response, 11, res);
});

Deno.test("messages: ignorable fields are dropped silently in versions without them", () => {
  const topicId = "AAAAAAAAAAAAAAAAAAAAAQ";
  const bytes = encode(Api.Metadata.request, 9, { topics: [{ topicId, name: "a" }] });
  deepStrictEqual(decode(Api.Metadata.request, 9, bytes), {
    topics: [{ topicId: ZERO_UUID, name: "a" }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  // Produce v13 replaced topic names by ids: a name given anyway is ignorable.
  const p = encode(Api.Produce.request, 13, {
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: "orders", topicId, partitionData: [] }],
  });
  const back = decode(Api.Produce.request, 13, p) as { topicData: { name: string }[] };
  strictEqual(back.topicData[0]!.name, "");
});

Deno.test("messages: null where the version forbids it is a TypeError", () => {
  throws(() => encode(Api.Metadata.request, 0, { topics: null }), TypeError);
  encode(Api.Metadata.request, 1, { topics: null });
  throws(() => encode(Api.Metadata.request, 9, { topics: [{ name: null }] }), TypeError);
  encode(Api.Metadata.request, 10, { topics: [{ name: null }] });
  throws(() => encode(Api.Heartbeat.request, 4, { groupId: null }), TypeError);
});

Deno.test("messages: versions outside the valid range are refused", () => {
  throws(() => encoderFor(Api.Produce.request, 2), UnsupportedVersionError);
  throws(() => decoderFor(Api.Fetch.response, 19), UnsupportedVersionError);
  throws(() => encoderFor(Api.Metadata.request, 1.5), UnsupportedVersionError);
});

Deno.test("messages: codecs are built once per schema and version", () => {
  strictEqual(encoderFor(Api.Fetch.request, 12), encoderFor(Api.Fetch.request, 12));
  strictEqual(decoderFor(Api.Fetch.response, 12), decoderFor(Api.Fetch.response, 12));
  assert(decoderFor(Api.Fetch.response, 12) !== decoderFor(Api.Fetch.response, 13));
});

Deno.test("messages: unknown tagged fields are skipped, known ones read", () => {
  // Heartbeat v4 response: throttle, error code, then tags: one unknown tag 9 of 3 bytes.
  const bytes = new Uint8Array([0, 0, 0, 5, 0, 0, 1, 9, 3, 1, 2, 3]);
  deepStrictEqual(decode(Api.Heartbeat.response, 4, bytes), { throttleTimeMs: 5, errorCode: 0 });
  // A tagged field whose value does not fill its declared size is corrupt.
  // ApiVersions v3 response: error 0, no keys, throttle 0, tag 1 (an int64) declared as 9 bytes.
  const bad = new Uint8Array([0, 0, 1, 0, 0, 0, 0, 1, 1, 9, 0, 0, 0, 0, 0, 0, 0, 5, 0]);
  throws(
    () => decode(Api.ApiVersions.response, 3, bad),
    (e) => e instanceof DecodeError && /declared 9/.test(e.message),
  );
  bad[9] = 8;
  const ok = decode(Api.ApiVersions.response, 3, bad.subarray(0, 18)) as Record<string, unknown>;
  strictEqual(ok.finalizedFeaturesEpoch, 5n);
});

Deno.test("messages: bytes and records decode as views of the frame, not copies", () => {
  const records = new Uint8Array(1000).map((_, i) => i & 255);
  const req = {
    acks: 1,
    timeoutMs: 100,
    topicData: [{ name: "t", partitionData: [{ index: 0, records }] }],
  };
  const bytes = encode(Api.Produce.request, 9, req);
  const back = decode(Api.Produce.request, 9, bytes) as typeof req;
  const got = back.topicData[0]!.partitionData[0]!.records;
  deepStrictEqual(got, records);
  strictEqual(got.buffer, bytes.buffer);
});

// A synthetic schema exercising what the 48 APIs barely use: unsigned ints, float64, nullable
// and tagged structs, a per-field flexibleVersions override, tagged nullable strings.
const SYNTHETIC: MessageSchema = {
  name: "SyntheticRequest",
  apiKey: 1000,
  type: "request",
  validVersions: "0-3",
  flexibleVersions: "2+",
  fields: [
    { name: "port", type: "uint16", versions: "0+" },
    { name: "big", type: "uint32", versions: "0+" },
    { name: "ratio", type: "float64", versions: "1+", default: 0.5 },
    { name: "classic", type: "string", versions: "0+", flexibleVersions: "none" },
    {
      name: "maybe",
      type: "Inner",
      versions: "0+",
      nullableVersions: "1+",
      default: null,
      fields: [{ name: "x", type: "int8", versions: "0+" }],
    },
    {
      name: "note",
      type: "string",
      versions: "2+",
      nullableVersions: "2+",
      taggedVersions: "2+",
      tag: 5,
      default: null,
    },
    {
      name: "extra",
      type: "Extra",
      versions: "3+",
      taggedVersions: "3+",
      tag: 1,
      fields: [{ name: "a", type: "int32", versions: "3+", default: -1 }, {
        name: "ids",
        type: "[]uuid",
        versions: "3+",
      }],
    },
  ],
};

Deno.test("messages: uint16, uint32, float64, nullable and tagged structs, overrides", () => {
  const value = {
    port: 65535,
    big: 4294967295,
    ratio: -1.25,
    classic: "c",
    maybe: { x: -3 },
    note: "n",
    extra: { a: 7, ids: [ZERO_UUID, "AAAAAAAAAAAAAAAAAAAAAQ"] },
  };
  const b3 = encode(SYNTHETIC, 3, value);
  deepStrictEqual(decode(SYNTHETIC, 3, b3), value);
  deepStrictEqual([...b3.subarray(0, 6)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  // The classic string stays int16-prefixed in flexible versions.
  deepStrictEqual([...b3.subarray(14, 17)], [0, 1, 0x63]);
  // Nullable struct marker: 1 then the struct (x, its empty tag section).
  deepStrictEqual([...b3.subarray(17, 20)], [1, 0xfd, 0]);
  // Tags in tag order: 1 (extra) before 5 (note).
  strictEqual(b3[20], 2);
  strictEqual(b3[21], 1);
  const nulls = { ...value, maybe: null, note: null, extra: { a: -1, ids: [] } };
  const b2 = encode(SYNTHETIC, 3, nulls);
  deepStrictEqual(decode(SYNTHETIC, 3, b2), nulls);
  strictEqual(b2[b2.length - 1], 0, "defaults produce no tagged fields");
  // v0: no float, no null for the struct.
  const v0 = { port: 1, big: 2, classic: "", maybe: { x: 0 } };
  throws(() => encode(SYNTHETIC, 0, { ...v0, maybe: null }), TypeError);
  throws(() => encode(SYNTHETIC, 0, { ...v0, ratio: 2 }), UnsupportedVersionError);
  throws(() => encode(SYNTHETIC, 1, { ...v0, note: "x" }), UnsupportedVersionError);
  deepStrictEqual(decode(SYNTHETIC, 0, encode(SYNTHETIC, 0, v0)), {
    ...v0,
    ratio: 0.5,
    note: null,
    extra: { a: -1, ids: [] },
  });
});
