/**
 * The launcher's ports must lie outside the machine's ephemeral port range: the kernel hands
 * those out as local ports of outgoing connections (the test suite's own included), so a
 * listener port in there can be held for a moment by someone else, and a broker start then
 * fails at random.
 *
 * @module
 */

import type { ClusterLayout } from "./config.ts";
import { LauncherError } from "./errors.ts";

/** Where Linux keeps the ephemeral range (`low<TAB>high`). */
export const EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";

/**
 * This machine's ephemeral port range, or undefined where the file does not exist (not Linux)
 * or cannot be read.
 *
 * @example
 * ```ts
 * import { ephemeralPortRange } from "./ports.ts";
 * console.log(ephemeralPortRange()); // e.g. [32768, 60999] on Linux
 * ```
 */
export function ephemeralPortRange(
  file: string = EPHEMERAL_RANGE_FILE,
): [number, number] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return undefined;
  }
  const [low, high] = text.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high)) return undefined;
  return [low!, high!];
}

/**
 * Every port of a layout (listeners and controllers).
 *
 * @example
 * ```ts
 * import { clusterLayout } from "./config.ts";
 * import { layoutPorts } from "./ports.ts";
 * console.log(layoutPorts(clusterLayout(1))); // [9092, 9093, 9094, 9095, 9099]
 * ```
 */
export function layoutPorts(layout: ClusterLayout): number[] {
  return layout.nodes.flatMap((n) => [...Object.values(n.ports), n.controllerPort]);
}

/**
 * Throws a {@linkcode LauncherError} when a port of the layout lies inside the ephemeral range,
 * naming the range and what to change (`KAFKA_PORT_OFFSET`).
 *
 * @example
 * ```ts
 * import { clusterLayout } from "./config.ts";
 * import { checkPortsOutsideEphemeral } from "./ports.ts";
 * checkPortsOutsideEphemeral(clusterLayout(3)); // throws only on a machine with an odd range
 * ```
 */
export function checkPortsOutsideEphemeral(
  layout: ClusterLayout,
  range: [number, number] | undefined = ephemeralPortRange(),
): void {
  if (range === undefined) return;
  const [low, high] = range;
  const inside = layoutPorts(layout).filter((p) => p >= low && p <= high);
  if (inside.length === 0) return;
  const offset = Deno.env.get("KAFKA_PORT_OFFSET") || "0";
  throw new LauncherError(
    `port(s) ${inside.join(",")} of the ${layout.name} cluster lie inside this machine's ` +
      `ephemeral port range ${low}-${high} (${EPHEMERAL_RANGE_FILE}), where any outgoing ` +
      `connection may hold them for a moment: choose a KAFKA_PORT_OFFSET (now ${offset}) that ` +
      `keeps every port below ${low}, or move the range (sysctl net.ipv4.ip_local_port_range)`,
  );
}
