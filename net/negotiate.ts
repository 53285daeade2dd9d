/**
 * ApiVersions negotiation: for each API, the highest version both the broker and this client
 * speak.
 *
 * @module
 */

import { Api, type ApiDef } from "../protocol/apis.ts";
import type { ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { KafkaError, ProtocolError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/** API key to the version chosen for it on one connection. */
export type VersionTable = Map<number, number>;

/** One API's version range as a broker listed it in its ApiVersions answer. */
export interface ApiVersionRange {
  /** The API's key. */
  apiKey: number;
  /** The oldest version the broker accepts. */
  minVersion: number;
  /** The newest version the broker accepts. */
  maxVersion: number;
}

/** What ApiVersions negotiation learned about one broker. */
export interface NegotiatedVersions {
  /** For each API both sides share, the highest common version. */
  versions: VersionTable;
  /** Every API the broker listed, with its own range, by API key. */
  brokerRanges: Map<number, ApiVersionRange>;
}

/** The name and version this client reports to brokers (KIP-511). */
export const CLIENT_SOFTWARE_NAME = "denokafka";
/** The client version reported to brokers (KIP-511). */
export const CLIENT_SOFTWARE_VERSION = "0.1.0";

/** Sends one request at a given version on the connection being negotiated. */
export type VersionedSendFn = <Req, Res>(
  api: ApiDef<Req, Res>,
  version: number,
  body: Req,
) => Promise<Res>;

/**
 * Sends ApiVersions at the newest version this client knows; when the broker answers
 * UNSUPPORTED_VERSION, retries at the newest version the broker listed for ApiVersions itself
 * (or v0 when it listed none), as KIP-511 specifies.
 *
 * @example
 * ```ts ignore
 * const table = await negotiateVersions(send, "127.0.0.1:9092");
 * console.log(table.get(3)); // the Metadata version to use
 * ```
 */
export async function negotiateVersions(
  send: VersionedSendFn,
  broker: string,
): Promise<VersionTable> {
  return (await negotiateApiVersions(send, broker)).versions;
}

/**
 * {@linkcode negotiateVersions}, also keeping the broker's own range for every API it listed,
 * so that a request at an explicit version outside it can be refused before it is sent (a
 * broker closes the connection on a version it does not speak).
 *
 * @example
 * ```ts ignore
 * const { versions, brokerRanges } = await negotiateApiVersions(send, "127.0.0.1:9092");
 * console.log(versions.get(0), brokerRanges.get(0)?.maxVersion); // Produce: chosen, broker max
 * ```
 */
export async function negotiateApiVersions(
  send: VersionedSendFn,
  broker: string,
): Promise<NegotiatedVersions> {
  let version = Api.ApiVersions.maxVersion;
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await send(Api.ApiVersions, version, {
      clientSoftwareName: CLIENT_SOFTWARE_NAME,
      clientSoftwareVersion: CLIENT_SOFTWARE_VERSION,
    }) as ApiVersionsResponse;
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const own = res.apiKeys.find((k) => k.apiKey === Api.ApiVersions.key);
      const next = own ? Math.min(own.maxVersion, Api.ApiVersions.maxVersion) : 0;
      if (next >= version) break;
      version = next;
      continue;
    }
    if (res.errorCode !== ErrorCode.NONE) {
      throw new ProtocolError(res.errorCode, `ApiVersions from ${broker}`);
    }
    const brokerRanges = new Map<number, ApiVersionRange>();
    for (const k of res.apiKeys) {
      brokerRanges.set(k.apiKey, {
        apiKey: k.apiKey,
        minVersion: k.minVersion,
        maxVersion: k.maxVersion,
      });
    }
    return { versions: chooseVersions(res.apiKeys), brokerRanges };
  }
  throw new KafkaError(`ApiVersions negotiation with ${broker} did not converge`);
}

/**
 * Picks, for every API this client knows, the highest version inside both ranges.
 * APIs with no overlap are left out; using one raises UnsupportedVersionError.
 *
 * @example
 * ```ts
 * import { chooseVersions } from "@denokafka/kafka/net";
 * const t = chooseVersions([{ apiKey: 3, minVersion: 0, maxVersion: 99 }]);
 * console.log(t.has(3)); // true
 * ```
 */
export function chooseVersions(
  brokerRanges: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>,
): VersionTable {
  const table: VersionTable = new Map();
  const byKey = new Map<number, ApiDef<unknown, unknown>>();
  for (const api of Object.values(Api)) byKey.set(api.key, api);
  for (const r of brokerRanges) {
    const api = byKey.get(r.apiKey);
    if (!api) continue;
    const hi = Math.min(api.maxVersion, r.maxVersion);
    const lo = Math.max(api.minVersion, r.minVersion);
    if (hi >= lo) table.set(r.apiKey, hi);
  }
  return table;
}
