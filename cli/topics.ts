/**
 * `topics`: list, describe, create, delete, alter (partitions and configs): kafka-topics.sh
 * and the topic half of kafka-configs.sh.
 *
 * @module
 */

import type { Admin, TopicDescription } from "../mod.ts";
import { type Args, UsageError } from "./args.ts";
import { type Command, parseConfigList, subcommand, withAdmin } from "./command.ts";
import { printJson } from "./output.ts";

const SUBS = ["list", "describe", "create", "delete", "alter"] as const;

async function topicNames(admin: Admin, args: Args): Promise<string[]> {
  const given = args.list("topic");
  if (given.length > 0) return given;
  const all = await admin.listTopics({ includeInternal: !args.bool("exclude-internal") });
  return all.map((t) => t.name).sort();
}

/** kafka-topics.sh --describe's text for one topic (configs: those not at their default). */
export function describeText(t: TopicDescription, configs: string): string {
  const rf = t.partitions[0]?.replicas.length ?? 0;
  const lines = [
    `Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\t` +
    `ReplicationFactor: ${rf}\tConfigs: ${configs}`,
  ];
  for (const p of t.partitions) {
    let line = `\tTopic: ${t.name}\tPartition: ${p.partition}\t` +
      `Leader: ${p.leader < 0 ? "none" : p.leader}\tReplicas: ${p.replicas.join(",")}\t` +
      `Isr: ${p.isr.join(",")}\tElr: \tLastKnownElr: `;
    if (p.offlineReplicas.length > 0) line += `\tOffline: ${p.offlineReplicas.join(",")}`;
    lines.push(line);
  }
  return lines.join("\n");
}

async function describe(admin: Admin, args: Args): Promise<void> {
  const names = await topicNames(admin, args);
  if (names.length === 0) return;
  const topics = await admin.describeTopics(names);
  const configs = await admin.describeConfigs(names.map((name) => ({ type: "topic", name })));
  const out = [];
  for (const [i, t] of topics.entries()) {
    const entries = configs[i]!.entries.filter((e) => !e.isDefault);
    if (args.bool("json")) {
      out.push({ ...t, configs: Object.fromEntries(entries.map((e) => [e.name, e.value])) });
    } else {
      console.log(describeText(t, entries.map((e) => `${e.name}=${e.value ?? ""}`).join(",")));
    }
  }
  if (args.bool("json")) printJson(out);
}

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, SUBS);
  const json = args.bool("json");
  return await withAdmin(args, async (admin) => {
    switch (sub) {
      case "list": {
        const names = await topicNames(admin, args);
        if (json) printJson(names);
        else for (const n of names) console.log(n);
        return 0;
      }
      case "describe":
        await describe(admin, args);
        return 0;
      case "create": {
        const topics = args.list("topic");
        if (topics.length === 0) throw new UsageError("--topic is required");
        const created = [];
        for (const name of topics) {
          try {
            created.push(
              await admin.createTopic(name, {
                numPartitions: args.int("partitions"),
                replicationFactor: args.int("replication-factor"),
                configs: parseConfigList(args.list("config", false)),
              }),
            );
            if (!json) console.log(`Created topic ${name}.`);
          } catch (e) {
            if (args.bool("if-not-exists") && isError(e, "TOPIC_ALREADY_EXISTS")) continue;
            throw e;
          }
        }
        if (json) printJson(created.map(({ configs: _c, ...t }) => t));
        return 0;
      }
      case "delete": {
        const topics = args.list("topic");
        if (topics.length === 0) throw new UsageError("--topic is required");
        for (const name of topics) {
          try {
            await admin.deleteTopic(name);
            if (!json) console.log(`Deleted topic ${name}.`);
          } catch (e) {
            if (args.bool("if-exists") && isError(e, "UNKNOWN_TOPIC_OR_PARTITION")) continue;
            throw e;
          }
        }
        if (json) printJson({ deleted: topics });
        return 0;
      }
      case "alter": {
        const topics = args.list("topic");
        if (topics.length === 0) throw new UsageError("--topic is required");
        const partitions = args.int("partitions");
        const add = parseConfigList(args.list("add-config", false));
        const del = args.list("delete-config");
        if (partitions === undefined && Object.keys(add).length === 0 && del.length === 0) {
          throw new UsageError("alter needs --partitions, --add-config or --delete-config");
        }
        for (const name of topics) {
          if (partitions !== undefined) await admin.growTopic(name, partitions);
          if (Object.keys(add).length > 0 || del.length > 0) {
            await admin.alterConfig({
              type: "topic",
              name,
              ops: [
                ...Object.entries(add).map(([k, value]) => ({ name: k, value })),
                ...del.map((k) => ({ name: k, op: "delete" as const })),
              ],
            });
          }
          if (!json) console.log(`Altered topic ${name}.`);
        }
        if (json) printJson({ altered: topics });
        return 0;
      }
    }
    return 0;
  });
}

function isError(e: unknown, name: string): boolean {
  return (e as { errorName?: string })?.errorName === name;
}

/** The `topics` command. */
export const topicsCommand: Command = {
  name: "topics",
  summary: "list, describe, create, delete, alter topics (kafka-topics.sh)",
  usage: [
    "kafka topics list|describe|create|delete|alter [--topic T] [options]",
    "  topics create --topic t --partitions 3 --replication-factor 1 --config retention.ms=60000",
    "  topics alter --topic t --partitions 6 | --add-config k=v,k2=v2 --delete-config k3",
  ].join("\n"),
  options: {
    topic: { type: "list", short: "t", help: "topic (repeatable; describe/list: default all)" },
    partitions: { type: "string", help: "partition count (create; alter: new total)" },
    "replication-factor": { type: "string", help: "replicas per partition (create)" },
    config: { type: "list", help: "k=v topic config at creation (repeatable)" },
    "add-config": { type: "list", help: "alter: k=v[,k2=v2] configs to set" },
    "delete-config": { type: "list", help: "alter: config keys to remove" },
    "exclude-internal": { type: "boolean", help: "list/describe: skip internal topics" },
    "if-not-exists": { type: "boolean", help: "create: no error when it exists" },
    "if-exists": { type: "boolean", help: "delete: no error when it is missing" },
  },
  run,
};
