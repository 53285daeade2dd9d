/**
 * The `ours` peer of the side-by-side benchmark: this project's producer and consumer, under
 * the same protocol as every other peer (flags in, `BEGIN` / `END {json}` on stdout, then wait
 * for stdin to close). Until producer/mod.ts and consumer/mod.ts export a client, it answers
 * `UNAVAILABLE <reason>` instead of numbers.
 *
 * `--mode probe` prints `OK` when the producer can be benchmarked.
 *
 * @module
 */

type Flags = Record<string, string>;

function flags(argv: string[]): Flags {
  const o: Flags = {};
  for (let i = 0; i + 1 < argv.length; i += 2) o[argv[i]!.replace(/^--/, "")] = argv[i + 1]!;
  return o;
}

// Loaded dynamically so this file type-checks and runs whatever the modules export today.
const producerMod: Record<string, unknown> = await import("../../../producer/mod.ts");
const consumerMod: Record<string, unknown> = await import("../../../consumer/mod.ts");

const o = flags(Deno.args);
const missing = (mod: Record<string, unknown>, name: string) => typeof mod[name] !== "function";

if (o.mode === "probe") {
  console.log(
    missing(producerMod, "Producer")
      ? "UNAVAILABLE not yet available: producer/mod.ts exports no Producer"
      : "OK",
  );
} else if (o.mode === "consume" && missing(consumerMod, "Consumer")) {
  console.log("UNAVAILABLE not yet available: consumer/mod.ts exports no Consumer");
} else if (missing(producerMod, "Producer")) {
  console.log("UNAVAILABLE not yet available: producer/mod.ts exports no Producer");
} else {
  console.log("UNAVAILABLE not yet wired: the harness does not drive this API yet");
}
