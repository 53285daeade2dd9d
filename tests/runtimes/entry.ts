/**
 * Runs the runtime subset under Deno, Node (type stripping) or Bun: the library to test is
 * the module at `KAFKA_SUBSET_LIB` (a file URL: mod.ts, or the npm build's mod.js), the
 * configuration is the JSON in `KAFKA_SUBSET_CONFIG`. Prints one JSON line of results.
 *
 * @module
 */

import process from "node:process";
import type * as Kafka from "../../mod.ts";
import { runSubset, type SubsetConfig } from "./subset.ts";

const lib = process.env.KAFKA_SUBSET_LIB;
const config = process.env.KAFKA_SUBSET_CONFIG;
if (!lib || !config) throw new TypeError("set KAFKA_SUBSET_LIB and KAFKA_SUBSET_CONFIG");
const kafka = await import(lib) as typeof Kafka;
const results = await runSubset(kafka, JSON.parse(config) as SubsetConfig);
const versions = process.versions as Record<string, string | undefined>;
console.log(JSON.stringify({ runtime: kafka.runtime(), versions, results }));
// Lingering sockets or timers must not keep a runtime alive past the report.
process.exit(0);
