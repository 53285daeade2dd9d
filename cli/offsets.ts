/**
 * `offsets`: earliest, latest, max-timestamp or by-time offsets per partition
 * (kafka-get-offsets.sh / GetOffsetShell), and `offsets delete-records`
 * (kafka-delete-records.sh).
 *
 * @module
 */

import type { OffsetSpec } from "../mod.ts";
import { type Args, parsePartitions, UsageError } from "./args.ts";
import { type Command, parseTime, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

/** GetOffsetShell's `--time`: -1 latest, -2 earliest, -3 max-timestamp, or a time. */
export function specOf(v: string | undefined): OffsetSpec {
  switch (v ?? "latest") {
    case "-1":
    case "latest":
      return "latest";
    case "-2":
    case "earliest":
      return "earliest";
    case "-3":
    case "max-timestamp":
      return "max-timestamp";
    case "-4":
    case "earliest-local":
      return "earliest-local";
    case "-5":
    case "latest-tiered":
      return "latest-tiered";
  }
  return { timestamp: parseTime(v!, "--time") };
}

async function get(args: Args): Promise<number> {
  const spec = specOf(args.str("time"));
  const pattern = args.str("topic");
  const wanted = args.has("partitions")
    ? new Set(parsePartitions(args.list("partitions").join(",")))
    : undefined;
  const isolation = args.str("isolation-level") ?? "read_uncommitted";
  if (isolation !== "read_committed" && isolation !== "read_uncommitted") {
    throw new UsageError("--isolation-level: read_committed or read_uncommitted");
  }
  return await withAdmin(args, async (admin) => {
    let topics: string[];
    if (pattern !== undefined && /^[\w.-]+$/.test(pattern)) topics = [pattern];
    else {
      // GetOffsetShell reads --topic as a regular expression over every topic.
      const re = new RegExp(`^(?:${pattern ?? ".*"})$`);
      topics = (await admin.listTopics({ includeInternal: !args.bool("exclude-internal-topics") }))
        .map((t) => t.name).filter((n) => re.test(n)).sort();
    }
    const queries = [];
    for (const d of topics.length > 0 ? await admin.describeTopics(topics) : []) {
      for (const p of d.partitions) {
        if (wanted === undefined || wanted.has(p.partition)) {
          queries.push({ topic: d.name, partition: p.partition, spec });
        }
      }
    }
    const rows =
      (queries.length === 0 ? [] : await admin.listOffsets(queries, { isolationLevel: isolation }))
        .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
    if (args.bool("json")) printJson(rows);
    else if (args.bool("plain")) {
      // As GetOffsetShell: partitions without an answer (no record that late) are left out.
      for (const r of rows) {
        if (r.offset >= 0n) console.log(`${r.topic}:${r.partition}:${r.offset}`);
      }
    } else {
      printTable(
        ["TOPIC", "PARTITION", "OFFSET", "TIMESTAMP"],
        rows.map((
          r,
        ) => [
          r.topic,
          r.partition,
          r.offset < 0n ? "-" : r.offset,
          r.timestamp < 0 ? "-" : r.timestamp,
        ]),
      );
    }
    return 0;
  });
}

async function deleteRecords(args: Args): Promise<number> {
  const items: { topic: string; partition: number; offset: bigint }[] = [];
  const file = args.str("offset-json-file");
  if (file !== undefined) {
    // kafka-delete-records.sh's file: {"partitions": [{"topic", "partition", "offset"}]}
    const doc = JSON.parse(await Deno.readTextFile(file)) as {
      partitions?: { topic: string; partition: number; offset: number }[];
    };
    for (const p of doc.partitions ?? []) {
      items.push({ topic: p.topic, partition: p.partition, offset: BigInt(p.offset) });
    }
  } else {
    const topic = args.need("topic");
    const offset = args.big("offset") ?? -1n;
    for (const partition of parsePartitions(args.need("partitions"))) {
      items.push({ topic, partition, offset });
    }
  }
  if (items.length === 0) throw new UsageError("nothing to delete");
  return await withAdmin(args, async (admin) => {
    const res = await admin.deleteRecords(items);
    if (args.bool("json")) printJson(res);
    else {printTable(
        ["TOPIC", "PARTITION", "LOW-WATERMARK"],
        res.map((r) => [r.topic, r.partition, r.lowWatermark]),
      );}
    return 0;
  });
}

async function run(args: Args): Promise<number> {
  const sub = args.positional[0] ?? "get";
  if (sub === "get") return await get(args);
  if (sub === "delete-records") return await deleteRecords(args);
  throw new UsageError(`unknown subcommand "${sub}"; expected get or delete-records`);
}

/** The `offsets` command. */
export const offsetsCommand: Command = {
  name: "offsets",
  summary: "offsets per partition by time (kafka-get-offsets.sh); delete-records",
  usage: [
    "kafka offsets [get] --topic T [--time latest|earliest|max-timestamp|<ms>|<ISO time>]",
    "kafka offsets delete-records --topic T --partitions 0,1 --offset N (or --offset-json-file)",
  ].join("\n"),
  options: {
    topic: { type: "string", short: "t", help: "topic (get: a regular expression)" },
    partitions: { type: "list", short: "p", aliases: ["partition"], help: "e.g. 0,2-4" },
    time: { type: "string", help: "-1/latest (default), -2/earliest, -3/max-timestamp, time" },
    "isolation-level": { type: "string", help: "read_uncommitted (default) | read_committed" },
    "exclude-internal-topics": { type: "boolean", help: "get: skip internal topics" },
    plain: { type: "boolean", help: "get: topic:partition:offset lines, as GetOffsetShell" },
    offset: { type: "string", help: "delete-records: delete before this offset (-1: all)" },
    "offset-json-file": { type: "string", help: "delete-records: kafka-delete-records.sh JSON" },
  },
  run,
};
