/**
 * What the test broker offers, asked of the broker itself (ApiVersions, a probe where
 * ApiVersions says more than the broker does), so version-dependent tests skip with a named
 * reason instead of failing on an older Kafka.
 *
 * ```ts
 * import { brokerOffer, skipUnless } from "./broker_offer.ts";
 * const offer = await brokerOffer();
 * Deno.test({
 *   name: "a KIP-848 group",
 *   ignore: skipUnless(offer.consumerGroupProtocol, "a KIP-848 group", offer.why.consumerGroupProtocol),
 *   fn() {},
 * });
 * ```
 *
 * @module
 */

import { Api } from "../../protocol/apis.ts";
import { Connection } from "../../net/connection.ts";
import { type Broker, broker } from "./broker.ts";

const UNSUPPORTED_VERSION = 35;

/**
 * The features version-dependent tests ask about, with the broker's release.
 *
 * @example
 * ```ts
 * import type { BrokerOffer } from "./broker_offer.ts";
 * const show = (o: BrokerOffer) => `${o.version}: KIP-848 ${o.consumerGroupProtocol}`;
 * console.log(show);
 * ```
 */
export interface BrokerOffer {
  /** Kafka release (the launcher's, `KAFKA_VERSION`), or `unknown`. */
  readonly version: string;
  /** API key to the broker's [min, max] version range, as ApiVersions lists it. */
  readonly apis: ReadonlyMap<number, readonly [number, number]>;
  /** Finalized feature levels from ApiVersions (e.g. `group.version`, `transaction.version`). */
  readonly features: ReadonlyMap<string, number>;
  /**
   * The KIP-848 consumer group protocol works: ConsumerGroupHeartbeat is listed and
   * ConsumerGroupDescribe does not answer UNSUPPORTED_VERSION (3.x lists both but answers so
   * while its new group coordinator is off).
   */
  readonly consumerGroupProtocol: boolean;
  /** Why each `false` above is false, for the skip line. */
  readonly why: { readonly consumerGroupProtocol: string };
}

async function probe(b: Broker): Promise<BrokerOffer> {
  const first = b.bootstrap("PLAINTEXT")[0]!;
  const i = first.lastIndexOf(":");
  const conn = await Connection.connect({
    host: first.slice(0, i),
    port: Number(first.slice(i + 1)),
    clientId: "broker-offer-probe",
  });
  try {
    const av = await conn.request(Api.ApiVersions, {
      clientSoftwareName: "denokafka-tests",
      clientSoftwareVersion: "0",
    });
    const apis = new Map<number, readonly [number, number]>(
      av.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as const]),
    );
    const features = new Map(av.finalizedFeatures.map((f) => [f.name, f.maxVersionLevel]));
    const version = b.version ?? "unknown";
    let cgp = false;
    let why = "";
    if (!conn.versions.has(Api.ConsumerGroupHeartbeat.key)) {
      why = `Kafka ${version} does not list ConsumerGroupHeartbeat (KIP-848) in ApiVersions`;
    } else if (!conn.versions.has(Api.ConsumerGroupDescribe.key)) {
      why = `Kafka ${version} does not list ConsumerGroupDescribe (KIP-848) in ApiVersions`;
    } else {
      const res = await conn.request(Api.ConsumerGroupDescribe, {
        groupIds: [`broker-offer-probe-${crypto.randomUUID()}`],
        includeAuthorizedOperations: false,
      });
      const code = res.groups[0]?.errorCode ?? 0;
      cgp = code !== UNSUPPORTED_VERSION;
      if (!cgp) {
        why = `Kafka ${version} lists KIP-848 APIs but answers UNSUPPORTED_VERSION: ` +
          "its consumer group protocol is off";
      }
    }
    return {
      version,
      apis,
      features,
      consumerGroupProtocol: cgp,
      why: { consumerGroupProtocol: why },
    };
  } finally {
    await conn.close();
  }
}

let cached: Promise<BrokerOffer> | undefined;

/**
 * What the single test broker offers; asked once per process.
 *
 * @example
 * ```ts
 * import { brokerOffer } from "./broker_offer.ts";
 * const o = await brokerOffer();
 * console.log(o.version, o.consumerGroupProtocol);
 * ```
 */
export function brokerOffer(b?: Broker): Promise<BrokerOffer> {
  if (b) return probe(b);
  cached ??= broker().then(probe);
  return cached;
}

/**
 * For `Deno.test({ ignore })`: true (skip) when `offered` is false, printing one line
 * `skip: <test>: <reason>` so the run says why; false otherwise.
 *
 * @example
 * ```ts
 * import { skipUnless } from "./broker_offer.ts";
 * Deno.test({ name: "x", ignore: skipUnless(true, "x", "never"), fn() {} });
 * ```
 */
export function skipUnless(offered: boolean, test: string, reason: string): boolean {
  if (offered) return false;
  console.log(`skip: ${test}: ${reason}`);
  return true;
}

/**
 * `Deno.test` that is skipped, with {@linkcode skipUnless}'s printed reason, when `offered`
 * is false.
 *
 * @example
 * ```ts
 * import { brokerOffer, testIf } from "./broker_offer.ts";
 * const o = await brokerOffer();
 * testIf(o.consumerGroupProtocol, o.why.consumerGroupProtocol, "a KIP-848 group", async () => {});
 * ```
 */
export function testIf(
  offered: boolean,
  reason: string,
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): void {
  Deno.test({ name, ignore: skipUnless(offered, name, reason), fn });
}
