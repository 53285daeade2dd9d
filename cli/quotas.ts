/**
 * `quotas`: describe and alter client quotas (kafka-configs.sh `--entity-type users|clients|ips`).
 *
 * @module
 */

import type { QuotaFilterComponent } from "../mod.ts";
import { type Args, UsageError } from "./args.ts";
import { type Command, parseConfigList, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

/** `--user u`, `--client-id c`, `--ip i`; `--user-default` etc. for the default entity. */
function entityOf(args: Args): Record<string, string | null> {
  const e: Record<string, string | null> = {};
  for (
    const [flag, type] of [["user", "user"], ["client-id", "client-id"], ["ip", "ip"]] as const
  ) {
    if (args.has(flag)) e[type] = args.str(flag)!;
    if (args.bool(`${flag}-default`)) e[type] = null;
  }
  return e;
}

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, ["describe", "alter"]);
  const entity = entityOf(args);
  return await withAdmin(args, async (admin) => {
    if (sub === "describe") {
      const filter: QuotaFilterComponent[] = Object.entries(entity).map(([entityType, match]) => ({
        entityType,
        match,
      }));
      const list = await admin.describeClientQuotas(filter);
      if (args.bool("json")) printJson(list);
      else {
        printTable(
          ["ENTITY", "QUOTA", "VALUE"],
          list.flatMap((q) =>
            Object.entries(q.values).map(([k, v]) => [
              Object.entries(q.entity).map(([t, n]) => `${t}=${n ?? "<default>"}`).join(","),
              k,
              v,
            ])
          ),
        );
      }
      return 0;
    }
    if (Object.keys(entity).length === 0) {
      throw new UsageError("name an entity: --user, --client-id or --ip");
    }
    const ops: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(parseConfigList(args.list("add-config", false)))) {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UsageError(`quota ${k} must be a number, not "${v}"`);
      ops[k] = n;
    }
    for (const k of args.list("delete-config")) ops[k] = null;
    if (Object.keys(ops).length === 0) {
      throw new UsageError("alter needs --add-config or --delete-config");
    }
    await admin.alterClientQuotas([{ entity, ops }]);
    if (args.bool("json")) printJson({ entity, ops });
    else console.log("Completed updating quotas.");
    return 0;
  });
}

/** The `quotas` command. */
export const quotasCommand: Command = {
  name: "quotas",
  summary: "client quotas: describe, alter (kafka-configs.sh)",
  usage: "kafka quotas describe|alter [--user U|--user-default] [--client-id C] [--ip I] " +
    "[--add-config producer_byte_rate=1024] [--delete-config k]",
  options: {
    user: { type: "string", help: "user entity" },
    "user-default": { type: "boolean", help: "the default user" },
    "client-id": { type: "string", help: "client-id entity (note: not the connection's)" },
    "client-id-default": { type: "boolean", help: "the default client id" },
    ip: { type: "string", help: "ip entity" },
    "ip-default": { type: "boolean", help: "the default ip" },
    "add-config": { type: "list", help: "quota=value[,quota2=value2]" },
    "delete-config": { type: "list", help: "quotas to remove" },
  },
  run,
};
