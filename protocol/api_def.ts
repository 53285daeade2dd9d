/**
 * The typed description of one Kafka API: its key, versions, schemas and header versions,
 * with encode/decode methods bound to the cached per-version codecs.
 *
 * @module
 */

import type { Writer } from "./writer.ts";
import type { Reader } from "./reader.ts";
import { decoderFor, encoderFor, inVersions, type MessageSchema, parseVersions } from "./schema.ts";
import { requestHeaderVersion, responseHeaderVersion } from "./headers.ts";

/**
 * One Kafka API with its request type `Req` and response type `Res`.
 *
 * @example
 * ```ts
 * import { Api } from "@denokafka/kafka/protocol";
 * const api = Api.Fetch;
 * console.log(api.key, api.minVersion, api.maxVersion, api.isFlexible(12)); // 1 4 18 true
 * ```
 */
export interface ApiDef<Req, Res> {
  /** The API key on the wire. */
  readonly key: number;
  /** Kafka's name, e.g. `Metadata`. */
  readonly name: string;
  /** The lowest version this client can encode. */
  readonly minVersion: number;
  /** The highest version this client can encode. */
  readonly maxVersion: number;
  /** The request schema. */
  readonly request: MessageSchema;
  /** The response schema. */
  readonly response: MessageSchema;
  /** Whether `version` uses the flexible encoding (KIP-482). */
  isFlexible(version: number): boolean;
  /** The request header version for `version`. */
  requestHeaderVersion(version: number): number;
  /** The response header version for `version` (always 0 for ApiVersions, KIP-511). */
  responseHeaderVersion(version: number): number;
  /** Encodes a request body (no header). */
  encodeRequest(w: Writer, version: number, body: Req): void;
  /** Decodes a request body (no header); every field is set. */
  decodeRequest(r: Reader, version: number): Req;
  /** Encodes a response body (no header). */
  encodeResponse(w: Writer, version: number, body: Res): void;
  /** Decodes a response body (no header); every field is set. */
  decodeResponse(r: Reader, version: number): Res;
}

/**
 * Any API, whatever its message types.
 *
 * @example
 * ```ts
 * import { Api, type AnyApiDef } from "@denokafka/kafka/protocol";
 * const all: AnyApiDef[] = [Api.Produce, Api.Fetch];
 * console.log(all.length); // 2
 * ```
 */
export type AnyApiDef = ApiDef<unknown, unknown>;

/**
 * The request type of an API.
 *
 * @example
 * ```ts
 * import type { Api, RequestOf } from "@denokafka/kafka/protocol";
 * const req: RequestOf<typeof Api.Heartbeat> = { groupId: "g", generationId: 1, memberId: "m" };
 * console.log(req.groupId); // g
 * ```
 */
export type RequestOf<A> = A extends ApiDef<infer Q, unknown> ? Q : never;

/**
 * The response type of an API.
 *
 * @example
 * ```ts
 * import type { Api, ResponseOf } from "@denokafka/kafka/protocol";
 * const errorOf = (r: ResponseOf<typeof Api.Heartbeat>) => r.errorCode;
 * console.log(typeof errorOf); // function
 * ```
 */
export type ResponseOf<A> = A extends ApiDef<unknown, infer S> ? S : never;

/**
 * Builds the {@linkcode ApiDef} of a request/response schema pair.
 *
 * @example
 * ```ts
 * import { defineApi, HeartbeatRequestSchema, HeartbeatResponseSchema } from "@denokafka/kafka/protocol";
 * import type { HeartbeatRequest, HeartbeatResponse } from "@denokafka/kafka/protocol";
 * const hb = defineApi<HeartbeatRequest, HeartbeatResponse>(HeartbeatRequestSchema, HeartbeatResponseSchema);
 * console.log(hb.name); // Heartbeat
 * ```
 */
export function defineApi<Req, Res>(
  request: MessageSchema,
  response: MessageSchema,
): ApiDef<Req, Res> {
  if (request.apiKey !== response.apiKey || request.validVersions !== response.validVersions) {
    throw new RangeError(`${request.name} and ${response.name} do not describe one API`);
  }
  const versions = parseVersions(request.validVersions);
  const key = request.apiKey;
  return {
    key,
    name: request.name.replace(/Request$/, ""),
    minVersion: versions.min,
    maxVersion: versions.max,
    request,
    response,
    isFlexible: (v) => inVersions(request.flexibleVersions, v),
    requestHeaderVersion: (v) =>
      requestHeaderVersion(key, v, inVersions(request.flexibleVersions, v)),
    responseHeaderVersion: (v) =>
      responseHeaderVersion(key, inVersions(response.flexibleVersions, v)),
    encodeRequest: (w, v, body) => encoderFor<Req>(request, v)(w, body),
    decodeRequest: (r, v) => decoderFor<Req>(request, v)(r),
    encodeResponse: (w, v, body) => encoderFor<Res>(response, v)(w, body),
    decodeResponse: (r, v) => decoderFor<Res>(response, v)(r),
  };
}
