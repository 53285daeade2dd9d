/**
 * Request and response headers.
 *
 * - Request header v0 (api key, api version, correlation id) only served ControlledShutdown v0,
 *   which no 3.x/4.x broker accepts any more; v1 adds the client id; v2 (flexible) adds a
 *   tagged-field section. The client id is always a classic nullable string, even in v2: a broker
 *   must read the header of an ApiVersions request of a version it does not know yet.
 * - Response header v0 is the correlation id; v1 (flexible) adds a tagged-field section. The
 *   ApiVersions response always uses v0, even for flexible versions (KIP-511), so a client can
 *   read it before it knows which versions the broker speaks.
 *
 * @module
 */

import type { Writer } from "./writer.ts";
import type { Reader } from "./reader.ts";

/** API keys with header quirks. */
const API_VERSIONS_KEY = 18;
const CONTROLLED_SHUTDOWN_KEY = 7;

/**
 * The fields of a request header.
 *
 * @example
 * ```ts
 * import type { RequestHeader } from "@denokafka/kafka/protocol";
 * const h: RequestHeader = { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "app" };
 * console.log(h.apiKey); // 18
 * ```
 */
export interface RequestHeader {
  /** The API key of the request. */
  readonly apiKey: number;
  /** The version of the request body. */
  readonly apiVersion: number;
  /** Echoed in the response, to match it to the request. */
  readonly correlationId: number;
  /** The client id (absent in header v0). */
  readonly clientId: string | null;
}

/**
 * The fields of a response header.
 *
 * @example
 * ```ts
 * import type { ResponseHeader } from "@denokafka/kafka/protocol";
 * const h: ResponseHeader = { correlationId: 7 };
 * console.log(h.correlationId); // 7
 * ```
 */
export interface ResponseHeader {
  /** The correlation id of the request this answers. */
  readonly correlationId: number;
}

/**
 * The request header version for a request: 2 for flexible versions, else 1 (0 only for
 * ControlledShutdown v0).
 *
 * @example
 * ```ts
 * import { requestHeaderVersion } from "@denokafka/kafka/protocol";
 * console.log(requestHeaderVersion(18, 3, true)); // 2
 * ```
 */
export function requestHeaderVersion(
  apiKey: number,
  apiVersion: number,
  flexible: boolean,
): number {
  if (apiKey === CONTROLLED_SHUTDOWN_KEY && apiVersion === 0) return 0;
  return flexible ? 2 : 1;
}

/**
 * The response header version for a response: 1 for flexible versions, else 0; always 0 for
 * ApiVersions (KIP-511).
 *
 * @example
 * ```ts
 * import { responseHeaderVersion } from "@denokafka/kafka/protocol";
 * console.log(responseHeaderVersion(18, true)); // 0
 * console.log(responseHeaderVersion(3, true)); // 1
 * ```
 */
export function responseHeaderVersion(apiKey: number, flexible: boolean): number {
  if (apiKey === API_VERSIONS_KEY) return 0;
  return flexible ? 1 : 0;
}

/**
 * Writes a request header of the given header version.
 *
 * @example
 * ```ts
 * import { Writer, writeRequestHeader } from "@denokafka/kafka/protocol";
 * const w = new Writer();
 * writeRequestHeader(w, 2, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: null });
 * console.log(w.length); // 11
 * ```
 */
export function writeRequestHeader(w: Writer, headerVersion: number, header: RequestHeader): void {
  w.int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId);
  if (headerVersion >= 1) w.string(header.clientId);
  if (headerVersion >= 2) w.uvarint(0); // no tagged fields are defined for clients
}

/**
 * Reads a request header of the given header version (the broker's side, for tests).
 *
 * @example
 * ```ts
 * import { Reader, readRequestHeader } from "@denokafka/kafka/protocol";
 * const h = readRequestHeader(new Reader(new Uint8Array([0, 18, 0, 0, 0, 0, 0, 1, 255, 255])), 1);
 * console.log(h.apiKey, h.clientId); // 18 null
 * ```
 */
export function readRequestHeader(r: Reader, headerVersion: number): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = headerVersion >= 1 ? r.nullableString() : null;
  if (headerVersion >= 2) skipTaggedFields(r);
  return { apiKey, apiVersion, correlationId, clientId };
}

/**
 * Writes a response header of the given header version (the broker's side, for tests).
 *
 * @example
 * ```ts
 * import { Writer, writeResponseHeader } from "@denokafka/kafka/protocol";
 * const w = new Writer();
 * writeResponseHeader(w, 1, 42);
 * console.log(w.length); // 5
 * ```
 */
export function writeResponseHeader(w: Writer, headerVersion: number, correlationId: number): void {
  w.int32(correlationId);
  if (headerVersion >= 1) w.uvarint(0);
}

/**
 * Reads a response header of the given header version, skipping any tagged fields.
 *
 * @example
 * ```ts
 * import { Reader, readResponseHeader } from "@denokafka/kafka/protocol";
 * console.log(readResponseHeader(new Reader(new Uint8Array([0, 0, 0, 9, 0])), 1).correlationId); // 9
 * ```
 */
export function readResponseHeader(r: Reader, headerVersion: number): ResponseHeader {
  const correlationId = r.int32();
  if (headerVersion >= 1) skipTaggedFields(r);
  return { correlationId };
}

/** Skips a tagged-field section; headers define no tags this client needs. */
function skipTaggedFields(r: Reader): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    r.uvarint(); // tag
    r.skip(r.uvarint());
  }
}
