/**
 * kafka-go SASL SCRAM (seed 004): `scram.Mechanism(scram.SHA512, "username", "password")`
 * shared by a Reader, a Writer and a Client through one `Transport`. Here the same `sasl`
 * option on each client.
 *
 * Run: `deno run -A examples/kafkago_sasl_scram.ts` (KAFKA_SASL_BROKERS, KAFKA_SASL_USERNAME...)
 */

import { Consumer, Producer, type SaslOptions } from "../mod.ts";
import { password, saslBrokers, username } from "./env.ts";

const mechanism: SaslOptions = { mechanism: "scram-sha-512", username, password };
const topic = "topic-A";
await using w = new Producer({ brokers: saslBrokers, sasl: mechanism, defaultTopic: topic });
const { partition, offset } = await w.send({ key: "Key-A", value: "over SCRAM-SHA-512" });
await using r = new Consumer({ brokers: saslBrokers, sasl: mechanism });
r.assign([{ topic, partition, offset, end: offset + 1n }]);
for await (const m of r) {
  console.log(`read back at ${m.offset}: ${new TextDecoder().decode(m.value!)}`);
}
