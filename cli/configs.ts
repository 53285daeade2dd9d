/**
 * `configs`: describe and alter configs of topics, brokers, broker defaults, groups and
 * broker loggers (kafka-configs.sh `--describe` / `--alter`).
 *
 * @module
 */

import type { ConfigResourceType } from "../mod.ts";
import { type Args, UsageError } from "./args.ts";
import { type Command, parseConfigList, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

const TYPES: Record<string, ConfigResourceType> = {
  topics: "topic",
  topic: "topic",
  brokers: "broker",
  broker: "broker",
  "broker-loggers": "broker-logger",
  groups: "group",
  group: "group",
  "client-metrics": "client-metrics",
};

function resourceOf(args: Args): { type: ConfigResourceType; name: string } {
  const t = args.need("entity-type");
  const type = TYPES[t];
  if (type === undefined) {
    throw new UsageError(`--entity-type: one of ${Object.keys(TYPES).join(", ")}`);
  }
  const name = args.bool("entity-default") ? "" : args.need("entity-name");
  return { type, name };
}

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, ["describe", "alter"]);
  const resource = resourceOf(args);
  return await withAdmin(args, async (admin) => {
    if (sub === "describe") {
      const r = await admin.describeConfig(resource, { includeSynonyms: false });
      const entries = args.bool("all") ? r.entries : r.entries.filter((e) => !e.isDefault);
      if (args.bool("json")) printJson(entries);
      else {
        printTable(
          ["NAME", "VALUE", "SOURCE", "SENSITIVE", "READ-ONLY"],
          entries.map((
            e,
          ) => [
            e.name,
            e.sensitive ? "(sensitive)" : e.value ?? "null",
            e.source,
            e.sensitive,
            e.readOnly,
          ]),
        );
      }
      return 0;
    }
    const add = parseConfigList(args.list("add-config", false));
    const del = args.list("delete-config");
    if (Object.keys(add).length === 0 && del.length === 0) {
      throw new UsageError("alter needs --add-config or --delete-config");
    }
    await admin.alterConfig({
      ...resource,
      ops: [
        ...Object.entries(add).map(([name, value]) => ({ name, value })),
        ...del.map((name) => ({ name, op: "delete" as const })),
      ],
    });
    const what = resource.name === ""
      ? `default ${resource.type}`
      : `${resource.type} ${resource.name}`;
    if (args.bool("json")) printJson({ altered: resource, set: add, deleted: del });
    else console.log(`Completed updating config for ${what}.`);
    return 0;
  });
}

/** The `configs` command. */
export const configsCommand: Command = {
  name: "configs",
  summary: "describe and alter configs of topics, brokers, groups (kafka-configs.sh)",
  usage: [
    "kafka configs describe|alter --entity-type topics|brokers|groups|broker-loggers",
    "    --entity-name N | --entity-default  [--all] [--add-config k=v,k2=[a,b]] [--delete-config k]",
  ].join("\n"),
  options: {
    "entity-type": {
      type: "string",
      help: "topics, brokers, groups, broker-loggers, client-metrics",
    },
    "entity-name": { type: "string", help: "topic name, broker id, group id" },
    "entity-default": { type: "boolean", help: "brokers: the cluster-wide default" },
    all: { type: "boolean", help: "describe: defaults too" },
    "add-config": { type: "list", help: "k=v[,k2=v2] to set" },
    "delete-config": { type: "list", help: "keys to remove" },
  },
  run,
};
