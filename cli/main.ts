/**
 * `kafka`: a command-line tool over this client, covering Kafka's own scripts and kcat.
 *
 * ```sh
 * deno run -A jsr:@denokafka/kafka/cli topics list --bootstrap-server localhost:9092
 * deno task cli consume --topic events --from-beginning -e -f '%p %o %k %s\n'
 * ```
 *
 * Exit codes: 0 done, 1 a Kafka error (one line naming it), 2 a usage error.
 *
 * @example
 * ```ts ignore
 * import { main } from "@denokafka/kafka/cli";
 * Deno.exit(await main(["topics", "list", "-b", "localhost:9092"]));
 * ```
 *
 * @module
 */

import { AdminBatchError, KafkaError } from "../mod.ts";
import { InputError, UsageError } from "./args.ts";
import { type Command, parseFor } from "./command.ts";
import { CONNECTION_OPTIONS } from "./connect.ts";
import { topicsCommand } from "./topics.ts";
import { produceCommand } from "./produce.ts";
import { consumeCommand } from "./consume.ts";
import { groupsCommand } from "./groups.ts";
import { offsetsCommand } from "./offsets.ts";
import { configsCommand } from "./configs.ts";
import { aclsCommand } from "./acls.ts";
import { usersCommand } from "./users.ts";
import { quotasCommand } from "./quotas.ts";
import { transactionsCommand } from "./transactions.ts";
import { clusterCommand } from "./cluster.ts";
import { perfCommand } from "./perf.ts";

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a Kafka (or I/O) error. */
export const EXIT_KAFKA = 1;
/** Exit code for a usage error. */
export const EXIT_USAGE = 2;

const COMMANDS: readonly Command[] = [
  topicsCommand,
  produceCommand,
  consumeCommand,
  groupsCommand,
  offsetsCommand,
  configsCommand,
  aclsCommand,
  usersCommand,
  quotasCommand,
  transactionsCommand,
  clusterCommand,
  perfCommand,
];

function optionHelp(specs: Command["options"]): string {
  return Object.entries(specs).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${name}${
      s.type === "boolean" ? "" : " <v>"
    }`;
    return `  ${flag.padEnd(34)} ${s.help ?? ""}`;
  }).join("\n");
}

function help(): string {
  return [
    "usage: kafka <command> [subcommand] [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`),
    "",
    "connection options (every command):",
    optionHelp(CONNECTION_OPTIONS),
    "",
    "`kafka <command> --help` for a command's options. Exit codes: 0 ok, 1 Kafka error, 2 usage.",
  ].join("\n");
}

/** One line: newlines in messages are folded so scripts can read errors line by line. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** Runs the tool with `argv` (without the program name); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) {
    console.error(`error: unknown command "${name}" (kafka --help lists them)`);
    return EXIT_USAGE;
  }
  try {
    const args = parseFor(cmd, rest);
    if (args.bool("help")) {
      console.log(`${cmd.usage}\n\noptions:\n${optionHelp(cmd.options)}`);
      return EXIT_OK;
    }
    return (await cmd.run(args)) ?? EXIT_OK;
  } catch (caught) {
    // One failed item of a batch call: its own error reads better than the batch summary.
    const e = caught instanceof AdminBatchError && caught.errors.length === 1
      ? caught.errors[0]
      : caught;
    if (e instanceof UsageError || e instanceof TypeError || e instanceof RangeError) {
      console.error(`error: ${oneLine(e.message)}`);
      if (!(e instanceof InputError)) {
        console.error(`usage: ${cmd.usage.split("\n")[0]} (--help for more)`);
      }
      return EXIT_USAGE;
    }
    if (e instanceof Deno.errors.BrokenPipe) return EXIT_OK;
    const msg = e instanceof Error ? e.message : String(e);
    const kind = e instanceof KafkaError ? "" : `${(e as Error)?.name ?? "Error"}: `;
    console.error(`error: ${kind}${oneLine(msg)}`);
    return EXIT_KAFKA;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
