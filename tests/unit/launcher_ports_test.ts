/**
 * The launcher's port layout: the single node and the trio never share a port, every port
 * stays below Linux's ephemeral range for every allowed KAFKA_PORT_OFFSET, checkouts with
 * offsets below 1000 never collide, and a port inside the machine's range is refused with a
 * message naming the range and the variable to change.
 */

import assert from "node:assert/strict";
import { clusterLayout, MAX_PORT_OFFSET } from "../../scripts/kafka/config.ts";
import { LauncherError } from "../../scripts/kafka/errors.ts";
import {
  checkPortsOutsideEphemeral,
  ephemeralPortRange,
  layoutPorts,
} from "../../scripts/kafka/ports.ts";

/** Layout ports at a given KAFKA_PORT_OFFSET. */
function portsAt(offset: number, nodes: 1 | 3): number[] {
  return layoutPorts(clusterLayout(nodes, offset));
}

Deno.test("launcher ports: the documented layout", () => {
  assert.deepEqual(portsAt(0, 1), [9092, 9093, 9094, 9095, 9099]);
  assert.deepEqual(portsAt(0, 3), [
    19092,
    19093,
    19094,
    19095,
    19099,
    20092,
    20093,
    20094,
    20095,
    20099,
    21092,
    21093,
    21094,
    21095,
    21099,
  ]);
  assert.deepEqual(portsAt(400, 3).slice(0, 1), [19492]);
});

Deno.test("launcher ports: below the default ephemeral range for every allowed offset", () => {
  for (const offset of [0, 1, 999, 5000, MAX_PORT_OFFSET]) {
    for (const nodes of [1, 3] as const) {
      const ports = portsAt(offset, nodes);
      assert.ok(ports.every((p) => p > 1024 && p < 32768), `offset ${offset}: ${ports}`);
      checkPortsOutsideEphemeral(clusterLayout(nodes, offset), [32768, 60999]);
    }
  }
});

Deno.test("launcher ports: single and trio of checkouts with offsets below 1000 never collide", () => {
  const seen = new Map<number, string>();
  for (let offset = 0; offset < 1000; offset += 10) {
    for (const nodes of [1, 3] as const) {
      for (const p of portsAt(offset, nodes)) {
        const who = `offset ${offset}, ${nodes} node(s)`;
        assert.equal(seen.get(p), undefined, `port ${p}: ${seen.get(p)} and ${who}`);
        seen.set(p, who);
      }
    }
  }
});

Deno.test("launcher ports: a port inside the ephemeral range is refused, naming the range", () => {
  assert.throws(
    () => checkPortsOutsideEphemeral(clusterLayout(3, 0), [20000, 60999]),
    (e: unknown) => {
      assert.ok(e instanceof LauncherError);
      assert.match(e.message, /20092,20093,20094,20095,20099,21092/);
      assert.match(e.message, /ephemeral port range 20000-60999/);
      assert.match(e.message, /ip_local_port_range/);
      assert.match(e.message, /KAFKA_PORT_OFFSET/);
      return true;
    },
  );
  // Single node is fine with that range.
  checkPortsOutsideEphemeral(clusterLayout(1, 0), [20000, 60999]);
  // No range known (not Linux): nothing to check.
  checkPortsOutsideEphemeral(clusterLayout(3, 0), undefined);
});

Deno.test("launcher ports: the range file is read as `low high`", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "32768\t60999\n");
    assert.deepEqual(ephemeralPortRange(file), [32768, 60999]);
    await Deno.writeTextFile(file, "garbage\n");
    assert.equal(ephemeralPortRange(file), undefined);
  } finally {
    await Deno.remove(file);
  }
  assert.equal(ephemeralPortRange("/nonexistent/ip_local_port_range"), undefined);
});
