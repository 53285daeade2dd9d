/**
 * Golden bytes derived by hand from the message specs and KIP-482/KIP-511, for small cases.
 */
import { deepStrictEqual } from "node:assert/strict";
import { Api, decodeResponse, encodeRequestFrame, encoderFor, Writer } from "../../protocol/mod.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return new Uint8Array(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

function body(schema: typeof Api.Produce.request, version: number, value: unknown): Uint8Array {
  const w = new Writer();
  encoderFor<unknown>(schema, version)(w, value);
  return w.toBytes();
}

Deno.test("golden: ApiVersions request v3 frame (header v2, compact body)", () => {
  const frame = encodeRequestFrame(Api.ApiVersions, 3, 1, "app", {
    clientSoftwareName: "dk",
    clientSoftwareVersion: "1",
  });
  deepStrictEqual(
    frame,
    hex(`
      00000014
      0012 0003 00000001 0003 617070 00
      03 646b 02 31 00
    `),
  );
});

Deno.test("golden: ApiVersions request v0 frame (header v1, empty body)", () => {
  const frame = encodeRequestFrame(Api.ApiVersions, 0, 1, "app", {});
  deepStrictEqual(frame, hex("0000000d 0012 0000 00000001 0003 617070"));
  // A null client id is a classic null string.
  deepStrictEqual(
    encodeRequestFrame(Api.ApiVersions, 0, 2, null, {}),
    hex("0000000a 0012 0000 00000002 ffff"),
  );
});

Deno.test("golden: response header v1 has a tag section, ApiVersions keeps v0 (KIP-511)", () => {
  // Heartbeat v4 is flexible: header v1 = correlation id + empty tag section.
  deepStrictEqual(
    decodeResponse(Api.Heartbeat, 4, hex("00000007 00 00000000 0000 00")),
    { throttleTimeMs: 0, errorCode: 0 },
  );
  // Heartbeat v3 is not: header v0.
  deepStrictEqual(
    decodeResponse(Api.Heartbeat, 3, hex("00000007 00000000 0000")),
    { throttleTimeMs: 0, errorCode: 0 },
  );
  // ApiVersions v3: flexible body, but header v0 (no tag byte after the correlation id).
  deepStrictEqual(
    decodeResponse(
      Api.ApiVersions,
      3,
      hex("00000007 0000 02 0012 0000 0004 00 00000000 00"),
    ),
    {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    },
  );
});

Deno.test("golden: nullable strings, classic and compact", () => {
  const req = { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [] };
  // v3: classic nullable string (int16 -1), classic array (int32 0).
  deepStrictEqual(body(Api.Produce.request, 3, req), hex("ffff ffff 00007530 00000000"));
  // v9: compact nullable string (uvarint 0), compact array (uvarint 1), empty tag section.
  deepStrictEqual(body(Api.Produce.request, 9, req), hex("00 ffff 00007530 01 00"));
  deepStrictEqual(
    body(Api.Produce.request, 9, { ...req, transactionalId: "tx" }),
    hex("03 7478 ffff 00007530 01 00"),
  );
});

Deno.test("golden: tagged fields are written in tag order, only when not default", () => {
  const res = {
    errorCode: 0,
    apiKeys: [],
    throttleTimeMs: 0,
    finalizedFeaturesEpoch: 5n, // tag 1, int64
    zkMigrationReady: true, // tag 3, bool
  };
  deepStrictEqual(
    body(Api.ApiVersions.response, 3, res),
    hex("0000 01 00000000 02 01 08 0000000000000005 03 01 01"),
  );
  // Fetch v12 request: ClusterId is tag 0, a compact nullable string.
  const fetch = encoderFor<unknown>(Api.Fetch.request, 12);
  const w = new Writer();
  fetch(w, { clusterId: "c", maxWaitMs: 0, minBytes: 0, topics: [], forgottenTopicsData: [] });
  deepStrictEqual(
    w.finish(),
    hex(`
      ffffffff 00000000 00000000 7fffffff 00 00000000 ffffffff 01 01 01
      01 00 02 02 63
    `),
  );
});
