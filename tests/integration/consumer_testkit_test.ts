// The consumer tests' helpers (tests/helpers/consumer_testkit.ts) write topics and records with
// the protocol layer alone; this checks them against the real broker.
import assert from "node:assert/strict";
import { createTopic, produce, uniq } from "../helpers/consumer_testkit.ts";

Deno.test("consumer testkit: topics and records are written by the protocol layer", async () => {
  const topic = uniq("testkit");
  await createTopic(topic, 2);
  const base = await produce(topic, 1, [{ key: "k", value: "v" }, { value: null }]);
  assert.equal(base, 0n);
  const again = await produce(topic, 1, [{ value: "w" }]);
  assert.equal(again, 2n);
});
