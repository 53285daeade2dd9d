/**
 * The typed API registry and the framing helpers a connection uses: a request becomes one
 * size-prefixed frame (header and body written into a single buffer), and a response frame
 * becomes a typed object.
 *
 * @example
 * ```ts
 * import { Api, decodeResponse, encodeRequestFrame, encodeResponse } from "@denokafka/kafka/protocol";
 * const frame = encodeRequestFrame(Api.Metadata, 12, 1, "my-app", { topics: null });
 * // ...a broker answers; here we play the broker:
 * const reply = encodeResponse(Api.Metadata, 12, 1, {
 *   throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, topics: [],
 *   clusterAuthorizedOperations: -2147483648, errorCode: 0,
 * });
 * const md = decodeResponse(Api.Metadata, 12, reply.subarray(4));
 * console.log(frame.length > 4, md.controllerId); // true -1
 * ```
 *
 * @module
 */

import { Writer } from "./writer.ts";
import { Reader } from "./reader.ts";
import { DecodeError } from "./errors.ts";
import type { AnyApiDef, ApiDef } from "./api_def.ts";
import { Api } from "./messages/mod.ts";
import {
  readRequestHeader,
  readResponseHeader,
  type RequestHeader,
  writeResponseHeader,
} from "./headers.ts";
import { ErrorCode } from "./error_codes.ts";

export { Api, type ApiRegistry } from "./messages/mod.ts";
export * from "./api_def.ts";

const API_VERSIONS_KEY = 18;

const byKey = new Map<number, AnyApiDef>();
for (const api of Object.values(Api) as AnyApiDef[]) byKey.set(api.key, api);

/**
 * The API with the given key, or `undefined` when this client does not speak it.
 *
 * @example
 * ```ts
 * import { apiByKey } from "@denokafka/kafka/protocol";
 * console.log(apiByKey(3)?.name); // Metadata
 * ```
 */
export function apiByKey(key: number): AnyApiDef | undefined {
  return byKey.get(key);
}

/**
 * Every API this client speaks, ordered by key.
 *
 * @example
 * ```ts
 * import { allApis } from "@denokafka/kafka/protocol";
 * console.log(allApis()[0]?.name); // Produce
 * ```
 */
export function allApis(): AnyApiDef[] {
  return [...byKey.values()].sort((a, b) => a.key - b.key);
}

/**
 * Encodes a whole request frame: the int32 size prefix, the request header (v1, or v2 for
 * flexible versions; the client id always a classic string) and the body, in one buffer.
 *
 * With `writer`, the writer is reset and reused, and the result is a view into its buffer,
 * valid until the writer is used again; without, a fresh buffer is used. With `spliceMin`
 * (and `writer`), byte fields of at least that many bytes are referenced rather than copied
 * (see `Writer.splice`): the result then holds only the other bytes, and the frame is
 * `writer.takeParts()`.
 * Throws {@linkcode UnsupportedVersionError} when `version` is outside the API's range or the
 * body holds a non-default value the version cannot carry.
 *
 * @example
 * ```ts
 * import { Api, encodeRequestFrame } from "@denokafka/kafka/protocol";
 * const frame = encodeRequestFrame(Api.ApiVersions, 3, 1, "app", {
 *   clientSoftwareName: "denokafka", clientSoftwareVersion: "0.1.0",
 * });
 * console.log(new DataView(frame.buffer, frame.byteOffset).getInt32(0) === frame.length - 4); // true
 * ```
 */
export function encodeRequestFrame<Req, Res>(
  api: ApiDef<Req, Res>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Req,
  writer?: Writer,
  spliceMin = Infinity,
): Uint8Array {
  const w = writer === undefined ? new Writer() : writer.reset().splice(spliceMin);
  const headerVersion = api.requestHeaderVersion(version);
  const start = w.reserve(4);
  // The header is written inline rather than through writeRequestHeader to spare an object.
  w.int16(api.key).int16(version).int32(correlationId);
  if (headerVersion >= 1) w.string(clientId);
  if (headerVersion >= 2) w.uvarint(0);
  api.encodeRequest(w, version, body);
  // Bytes a splicing writer referenced instead of copying are part of the frame too.
  w.setInt32At(start, w.length + w.splicedLength - start - 4);
  return w.finish();
}

/**
 * The correlation id of a response frame (the bytes after the size prefix), to find the
 * request it answers before decoding the rest.
 *
 * @example
 * ```ts
 * import { readResponseCorrelationId } from "@denokafka/kafka/protocol";
 * console.log(readResponseCorrelationId(new Uint8Array([0, 0, 1, 2, 0, 0]))); // 258
 * ```
 */
export function readResponseCorrelationId(frame: Uint8Array): number {
  if (frame.length < 4) {
    throw new DecodeError(`response frame of ${frame.length} bytes has no correlation id`);
  }
  return (frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!;
}

/**
 * Decodes a response frame (the bytes after the size prefix): the header of the right version,
 * then the body. Truncation, a malformed body or trailing bytes raise {@linkcode DecodeError}.
 * Decoded `bytes` and `records` fields are views into `frame`.
 *
 * @example
 * ```ts
 * import { Api, decodeResponse } from "@denokafka/kafka/protocol";
 * // Heartbeat v0: correlation id 5, error code 0.
 * const res = decodeResponse(Api.Heartbeat, 0, new Uint8Array([0, 0, 0, 5, 0, 0]));
 * console.log(res.errorCode); // 0
 * ```
 */
export function decodeResponse<Req, Res>(
  api: ApiDef<Req, Res>,
  version: number,
  frame: Uint8Array,
): Res {
  try {
    return decodeResponseAt(api, version, frame);
  } catch (e) {
    // KIP-511: a broker that does not know the requested ApiVersions version answers with a
    // v0 body carrying UNSUPPORTED_VERSION and its own range; Kafka's client re-reads it as v0.
    if (api.key === API_VERSIONS_KEY && version > 0 && e instanceof DecodeError) {
      let v0: Res;
      try {
        v0 = decodeResponseAt(api, 0, frame);
      } catch {
        throw e;
      }
      if ((v0 as { errorCode?: number }).errorCode === ErrorCode.UNSUPPORTED_VERSION) return v0;
    }
    throw e;
  }
}

function decodeResponseAt<Req, Res>(api: ApiDef<Req, Res>, version: number, frame: Uint8Array) {
  const r = new Reader(frame);
  readResponseHeader(r, api.responseHeaderVersion(version));
  const body = api.decodeResponse(r, version);
  if (r.remaining !== 0) {
    throw new DecodeError(`${api.name} v${version} response has ${r.remaining} trailing bytes`);
  }
  return body;
}

/**
 * A request frame decoded on the broker's side (fake brokers in tests).
 *
 * @example
 * ```ts
 * import type { DecodedRequest } from "@denokafka/kafka/protocol";
 * const show = (d: DecodedRequest) => `${d.api.name} v${d.header.apiVersion}`;
 * console.log(typeof show); // function
 * ```
 */
export interface DecodedRequest<Req = unknown> {
  /** The request header. */
  readonly header: RequestHeader;
  /** The API named by the header. */
  readonly api: AnyApiDef;
  /** The decoded body, every field set. */
  readonly body: Req;
}

/**
 * Decodes a request frame (the bytes after the size prefix), as a broker would: the header
 * names the API and version. Pass `api` to check the key and get a typed body. Unknown keys,
 * a wrong key, malformed bodies and trailing bytes raise {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { Api, decodeRequest, encodeRequestFrame } from "@denokafka/kafka/protocol";
 * const frame = encodeRequestFrame(Api.Metadata, 12, 7, "app", { topics: null });
 * const { header, body } = decodeRequest(frame.subarray(4), Api.Metadata);
 * console.log(header.correlationId, body.topics); // 7 null
 * ```
 */
export function decodeRequest<Req, Res>(
  frame: Uint8Array,
  api: ApiDef<Req, Res>,
): DecodedRequest<Req>;
/** Decodes a request frame of any API this client speaks. */
export function decodeRequest(frame: Uint8Array): DecodedRequest;
export function decodeRequest(frame: Uint8Array, expected?: AnyApiDef): DecodedRequest {
  if (frame.length < 4) throw new DecodeError(`request frame of ${frame.length} bytes`);
  const key = (frame[0]! << 8) | frame[1]!;
  const version = (frame[2]! << 8) | frame[3]!;
  const api = byKey.get(key);
  if (api === undefined) throw new DecodeError(`request for unknown API key ${key}`);
  if (expected !== undefined && expected.key !== key) {
    throw new DecodeError(`expected a ${expected.name} request, got ${api.name}`);
  }
  if (version < api.minVersion || version > api.maxVersion) {
    throw new DecodeError(`${api.name} request version ${version} is not supported`);
  }
  const r = new Reader(frame);
  const header = readRequestHeader(r, api.requestHeaderVersion(version));
  const body = api.decodeRequest(r, version);
  if (r.remaining !== 0) {
    throw new DecodeError(`${api.name} v${version} request has ${r.remaining} trailing bytes`);
  }
  return { header, api, body };
}

/**
 * Encodes a whole response frame (size prefix, response header, body), as a broker would; for
 * fake brokers in tests. `writer` is reused as in {@linkcode encodeRequestFrame}.
 *
 * @example
 * ```ts
 * import { Api, encodeResponse } from "@denokafka/kafka/protocol";
 * const frame = encodeResponse(Api.Heartbeat, 4, 9, { throttleTimeMs: 0, errorCode: 0 });
 * console.log(frame.length); // 4 + 5 (header v1) + 7 (body)
 * ```
 */
export function encodeResponse<Req, Res>(
  api: ApiDef<Req, Res>,
  version: number,
  correlationId: number,
  body: Res,
  writer?: Writer,
): Uint8Array {
  const w = writer === undefined ? new Writer() : writer.reset();
  const start = w.reserve(4);
  writeResponseHeader(w, api.responseHeaderVersion(version), correlationId);
  api.encodeResponse(w, version, body);
  w.setInt32At(start, w.length - start - 4);
  return w.finish();
}
