/**
 * The built-in classic-protocol assignors.
 *
 * @module
 */

import type { Assignor } from "../assignor.ts";
import type { AssignorName } from "../options.ts";
import { rangeAssignor } from "./range.ts";
import { roundRobinAssignor } from "./roundrobin.ts";
import { cooperativeStickyAssignor, stickyAssignor } from "./sticky.ts";

export { rangeAssignor } from "./range.ts";
export { roundRobinAssignor } from "./roundrobin.ts";
export { cooperativeStickyAssignor, stickyAssign, stickyAssignor } from "./sticky.ts";

/**
 * The built-in assignor with this name, or the given custom assignor.
 *
 * @example
 * ```ts
 * import { resolveAssignor } from "@denokafka/kafka/consumer";
 * console.log(resolveAssignor("roundrobin").name); // roundrobin
 * ```
 */
export function resolveAssignor(a: AssignorName | Assignor): Assignor {
  if (typeof a !== "string") {
    if (a === null || typeof a !== "object" || typeof a.assign !== "function" || !a.name) {
      throw new TypeError("an assignor must be a built-in name or an Assignor object");
    }
    return a;
  }
  switch (a) {
    case "range":
      return rangeAssignor();
    case "roundrobin":
      return roundRobinAssignor();
    case "sticky":
      return stickyAssignor();
    case "cooperative-sticky":
      return cooperativeStickyAssignor();
    default:
      throw new TypeError(`unknown assignor "${String(a)}"`);
  }
}
