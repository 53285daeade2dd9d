// Kafka 3.x compatibility pieces that need no broker: the Java tool class table, the typed
// error for a missing broker feature, and a position that is not reported while validated.
import assert from "node:assert/strict";
import { UnsupportedFeatureError, UnsupportedVersionError } from "../../protocol/errors.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import { JAVA_TOOLS, javaToolClass } from "../../scripts/kafka/tool_classes.ts";

Deno.test("tool classes: 3.x and 4.x names, checked against the jars", () => {
  assert.equal(javaToolClass("ConsoleProducer", "3.9.2"), "kafka.tools.ConsoleProducer");
  assert.equal(javaToolClass("ConsoleProducer", "4.3.1"), "org.apache.kafka.tools.ConsoleProducer");
  assert.equal(javaToolClass("AclCommand", "3.9.2"), "kafka.admin.AclCommand");
  assert.equal(javaToolClass("AclCommand", "4.0.0"), "org.apache.kafka.tools.AclCommand");
  assert.equal(javaToolClass("TopicCommand", "3.9.2"), "org.apache.kafka.tools.TopicCommand");
  // A class name (or a Java source file) passes through.
  assert.equal(javaToolClass("kafka.admin.ConfigCommand", "4.3.1"), "kafka.admin.ConfigCommand");
  assert.throws(() => javaToolClass("NoSuchTool", "4.3.1"), RangeError);
  for (const [name, t] of Object.entries(JAVA_TOOLS)) {
    assert.ok(t.v3.endsWith(name) && t.v4.endsWith(name), name);
  }
});

Deno.test("UnsupportedFeatureError names the feature and what to do, and is an UnsupportedVersionError", () => {
  const e = new UnsupportedFeatureError("ConsumerGroupHeartbeat", {
    apiKey: 68,
    broker: "127.0.0.1:9092",
    feature: "the consumer group protocol (KIP-848)",
    hint: 'use groupProtocol: "classic"',
  });
  assert.ok(e instanceof UnsupportedVersionError);
  assert.equal(e.name, "UnsupportedFeatureError");
  assert.equal(e.apiName, "ConsumerGroupHeartbeat");
  assert.equal(e.retriable, false);
  assert.equal(
    e.message,
    'the broker 127.0.0.1:9092 does not offer the consumer group protocol (KIP-848): use groupProtocol: "classic"',
  );
});

Deno.test("partition state: a start offset is no position until validated (KIP-320)", () => {
  const ps = new PartitionState("t", 0);
  ps.startAt(50n, 3);
  assert.equal(ps.taken, 50n);
  ps.phase = "validate";
  assert.equal(ps.taken, -1n); // not reported, not committed
  ps.startAt(15n, 3); // truncated: resume at the divergence point
  assert.equal(ps.taken, 15n);
  // Once records were taken, a later validation (a new leader) keeps the position.
  ps.taken = 20n;
  ps.phase = "validate";
  assert.equal(ps.taken, 20n);
});
