/**
 * kafka-go TLS (seed 004): `Dialer{TLS: &tls.Config{...}}` / `Transport{TLS}`. Here the `tls`
 * option: the CA to trust, and a client certificate for mutual TLS when one is given.
 *
 * Run: `deno run -A examples/kafkago_tls.ts` (KAFKA_SSL_BROKERS, KAFKA_CA_FILE)
 */

import { Admin, Producer, type TlsOptions } from "../mod.ts";
import { caFile, clientCert, sslBrokers } from "./env.ts";

const tls: TlsOptions = { caCerts: [await Deno.readTextFile(caFile)] };
if (clientCert.cert && clientCert.key) {
  tls.cert = await Deno.readTextFile(clientCert.cert);
  tls.key = await Deno.readTextFile(clientCert.key);
}
await using admin = new Admin({ brokers: sslBrokers, tls });
console.log("cluster over TLS:", (await admin.describeCluster()).clusterId);
await using w = new Producer({ brokers: sslBrokers, tls, defaultTopic: "topic-A" });
const m = await w.send({ key: "Key-A", value: "over TLS" });
console.log(`written to ${m.topic}/${m.partition} at ${m.offset}`);
