/**
 * `users`: SCRAM credentials: list, set (upsert), delete (kafka-configs.sh
 * `--entity-type users --alter --add-config 'SCRAM-SHA-256=[password=...]'`).
 *
 * @module
 */

import type { ScramMechanism } from "../mod.ts";
import { type Args, UsageError } from "./args.ts";
import { type Command, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

function mechanismOf(args: Args): ScramMechanism {
  const m = (args.str("mechanism") ?? "SCRAM-SHA-256").toUpperCase();
  if (m !== "SCRAM-SHA-256" && m !== "SCRAM-SHA-512") {
    throw new UsageError("--mechanism: SCRAM-SHA-256 or SCRAM-SHA-512");
  }
  return m as ScramMechanism;
}

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, ["list", "describe", "set", "delete"]);
  const json = args.bool("json");
  return await withAdmin(args, async (admin) => {
    if (sub === "list" || sub === "describe") {
      const users = args.list("user");
      const list = await admin.describeUserScramCredentials(users.length > 0 ? users : undefined);
      if (json) printJson(list);
      else {
        printTable(
          ["USER", "MECHANISM", "ITERATIONS"],
          list.flatMap((u) =>
            u.credentials.map((c) => [u.user, c.mechanism.toUpperCase(), c.iterations])
          ),
        );
      }
      return 0;
    }
    const user = args.need("user");
    const mechanism = mechanismOf(args);
    if (sub === "set") {
      const password = args.str("password") ?? Deno.env.get("KAFKA_NEW_PASSWORD");
      if (!password) throw new UsageError("--password (or env KAFKA_NEW_PASSWORD) is required");
      await admin.upsertScramCredential({
        user,
        mechanism,
        password,
        iterations: args.int("iterations"),
      });
    } else await admin.deleteScramCredential(user, mechanism);
    if (json) printJson({ user, mechanism, [sub === "set" ? "set" : "deleted"]: true });
    else console.log(`Completed updating ${mechanism.toUpperCase()} credential of user ${user}.`);
    return 0;
  });
}

/** The `users` command. */
export const usersCommand: Command = {
  name: "users",
  summary: "SCRAM users: list, set, delete credentials",
  usage: "kafka users list|describe|set|delete --user U [--mechanism SCRAM-SHA-512] [--password P]",
  options: {
    user: { type: "list", help: "user name" },
    mechanism: { type: "string", help: "SCRAM-SHA-256 (default) | SCRAM-SHA-512" },
    password: { type: "string", help: "set: the password (or env KAFKA_NEW_PASSWORD)" },
    iterations: { type: "string", help: "set: PBKDF2 iterations (default 8192)" },
  },
  run,
};
