/**
 * kafka-go SASL PLAIN (seed 004): `plain.Mechanism{Username, Password}` on a `Dialer` or
 * `Transport`. Here the `sasl` option, on the SASL_PLAINTEXT listener.
 *
 * Run: `deno run -A examples/kafkago_sasl_plain.ts` (KAFKA_SASL_BROKERS, KAFKA_SASL_USERNAME...)
 */

import { Admin } from "../mod.ts";
import { password, saslBrokers, username } from "./env.ts";

await using client = new Admin({
  brokers: saslBrokers,
  sasl: { mechanism: "plain", username, password },
});
const topics = await client.listTopics();
console.log(`authenticated as ${username} with PLAIN; ${topics.length} topics visible`);
