import assert, { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  Api,
  apiByKey,
  DecodeError,
  decodeRequest,
  decodeResponse,
  encodeRequestFrame,
  encodeResponse,
  readResponseCorrelationId,
  UnsupportedVersionError,
  Writer,
} from "../../protocol/mod.ts";

const HB = { groupId: "g", generationId: 3, memberId: "m" };
const HB_RES = { throttleTimeMs: 1, errorCode: 0 };

Deno.test("framing: one buffer with a patched size prefix; a passed writer is reset and reused", () => {
  const w = new Writer(8);
  w.int32(12345); // leftovers from an earlier use must not leak into the frame
  const a = encodeRequestFrame(Api.Heartbeat, 4, 1, "c", HB, w);
  strictEqual(a.buffer, w.buffer.buffer);
  strictEqual(new DataView(a.buffer, a.byteOffset).getInt32(0), a.length - 4);
  const copy = a.slice();
  const b = encodeRequestFrame(Api.Heartbeat, 4, 1, "c", HB, w);
  deepStrictEqual(b, copy);
  deepStrictEqual(encodeRequestFrame(Api.Heartbeat, 4, 1, "c", HB), copy);
});

Deno.test("framing: request frames decode on the broker side", () => {
  const f = encodeRequestFrame(Api.Heartbeat, 3, 42, null, HB).subarray(4);
  const any = decodeRequest(f);
  strictEqual(any.api, Api.Heartbeat);
  deepStrictEqual(any.header, { apiKey: 12, apiVersion: 3, correlationId: 42, clientId: null });
  deepStrictEqual(any.body, { ...HB, groupInstanceId: null });
  throws(() => decodeRequest(f, Api.Metadata), DecodeError);
  const unknown = f.slice();
  unknown[1] = 200;
  throws(() => decodeRequest(unknown), DecodeError);
  const tooNew = f.slice();
  tooNew[3] = 9;
  throws(() => decodeRequest(tooNew), DecodeError);
  const trailing = new Uint8Array([...f, 0]);
  throws(() => decodeRequest(trailing), /trailing/);
});

Deno.test("framing: responses: correlation id, trailing bytes and truncation", () => {
  const frame = encodeResponse(Api.Heartbeat, 4, -2, HB_RES).slice(4);
  strictEqual(readResponseCorrelationId(frame), -2);
  deepStrictEqual(decodeResponse(Api.Heartbeat, 4, frame), HB_RES);
  throws(() => decodeResponse(Api.Heartbeat, 4, new Uint8Array([...frame, 0])), DecodeError);
  for (let n = 0; n < frame.length; n++) {
    throws(() => decodeResponse(Api.Heartbeat, 4, frame.subarray(0, n)), DecodeError, `cut ${n}`);
  }
  throws(() => readResponseCorrelationId(new Uint8Array(3)), DecodeError);
});

Deno.test("framing: an ApiVersions v0 answer to a newer request is read as v0 (KIP-511)", () => {
  // What a broker that lacks v4 sends: header v0, a v0 body with UNSUPPORTED_VERSION (35)
  // and the ApiVersions range it does support.
  const v0 = encodeResponse(Api.ApiVersions, 0, 1, {
    errorCode: 35,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  }).slice(4);
  const res = decodeResponse(Api.ApiVersions, 4, v0);
  strictEqual(res.errorCode, 35);
  deepStrictEqual(res.apiKeys, [{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
  // Other garbage still fails.
  throws(
    () => decodeResponse(Api.ApiVersions, 4, new Uint8Array([0, 0, 0, 1, 0, 0, 7])),
    DecodeError,
  );
});

Deno.test("framing: unsupported versions fail before anything is sent", () => {
  throws(
    () => encodeRequestFrame(Api.Produce, 2, 1, "c", { acks: 1, timeoutMs: 1, topicData: [] }),
    UnsupportedVersionError,
  );
  throws(() => decodeResponse(Api.Fetch, 3, new Uint8Array(10)), UnsupportedVersionError);
});

Deno.test("framing: apiByKey finds every API", () => {
  for (const api of Object.values(Api)) strictEqual(apiByKey(api.key), api);
  strictEqual(apiByKey(7), undefined);
  assert(Api.Produce.isFlexible(9) && !Api.Produce.isFlexible(8));
});

Deno.test("Writer.take hands over the bytes without a copy and starts a fresh buffer", () => {
  const w = new Writer(16);
  w.int32(1).int32(2).int32(3);
  const taken = w.take();
  assert.deepEqual([...taken], [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
  assert.equal(w.length, 0);
  assert.ok(w.capacity >= 12);
  // Writing on does not touch what was taken.
  w.int32(-1).int32(-1).int32(-1);
  assert.deepEqual([...taken], [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
  assert.notEqual(w.finish().buffer, taken.buffer);
});
