import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  Api,
  DecodeError,
  Reader,
  readRequestHeader,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  Writer,
  writeRequestHeader,
  writeResponseHeader,
} from "../../protocol/mod.ts";

function hex(s: string): Uint8Array {
  return new Uint8Array(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
}

Deno.test("headers: request header versions follow flexibility, v0 only for ControlledShutdown v0", () => {
  strictEqual(requestHeaderVersion(3, 8, false), 1);
  strictEqual(requestHeaderVersion(3, 9, true), 2);
  strictEqual(requestHeaderVersion(7, 0, false), 0);
  strictEqual(requestHeaderVersion(7, 1, false), 1);
  strictEqual(Api.Metadata.requestHeaderVersion(8), 1);
  strictEqual(Api.Metadata.requestHeaderVersion(9), 2);
  strictEqual(Api.ApiVersions.requestHeaderVersion(3), 2);
});

Deno.test("headers: response header v1 for flexible versions, never for ApiVersions", () => {
  strictEqual(responseHeaderVersion(3, false), 0);
  strictEqual(responseHeaderVersion(3, true), 1);
  strictEqual(responseHeaderVersion(18, true), 0);
  strictEqual(Api.ApiVersions.responseHeaderVersion(4), 0);
  strictEqual(Api.Fetch.responseHeaderVersion(11), 0);
  strictEqual(Api.Fetch.responseHeaderVersion(12), 1);
  for (const api of [Api.ConsumerGroupHeartbeat, Api.DescribeCluster]) {
    strictEqual(api.responseHeaderVersion(0), 1); // flexible from v0
  }
});

Deno.test("headers: request header bytes for v0, v1 and v2; the client id is never compact", () => {
  const h = { apiKey: 3, apiVersion: 12, correlationId: 258, clientId: "ab" };
  const cases: [number, string][] = [
    [0, "0003 000c 00000102"],
    [1, "0003 000c 00000102 0002 6162"],
    [2, "0003 000c 00000102 0002 6162 00"],
  ];
  for (const [v, bytes] of cases) {
    const w = new Writer();
    writeRequestHeader(w, v, h);
    deepStrictEqual(w.finish(), hex(bytes), `v${v}`);
    const back = readRequestHeader(new Reader(hex(bytes)), v);
    deepStrictEqual(back, v === 0 ? { ...h, clientId: null } : h);
  }
  const w = new Writer();
  writeRequestHeader(w, 2, { ...h, clientId: null });
  deepStrictEqual(w.finish(), hex("0003 000c 00000102 ffff 00"));
});

Deno.test("headers: response headers, with tagged fields skipped", () => {
  const w = new Writer();
  writeResponseHeader(w, 0, -5);
  deepStrictEqual(w.finish(), hex("fffffffb"));
  w.reset();
  writeResponseHeader(w, 1, 7);
  deepStrictEqual(w.finish(), hex("00000007 00"));
  const r = new Reader(hex("00000007 02 00 01 ff 05 02 aaaa 99"));
  deepStrictEqual(readResponseHeader(r, 1), { correlationId: 7 });
  strictEqual(r.remaining, 1);
  throws(() => readResponseHeader(new Reader(hex("00000007 01 00 05 ff")), 1), DecodeError);
  throws(() => readResponseHeader(new Reader(hex("000000")), 0), DecodeError);
});
