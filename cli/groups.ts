/**
 * `groups`: list, describe (offsets and lag, members, state), delete, delete-offsets and
 * reset-offsets, as kafka-consumer-groups.sh does them (same tables, same `--dry-run` /
 * `--execute` rules).
 *
 * @module
 */

import type { Admin, GroupDescription, TopicPartitionOffset } from "../mod.ts";
import { ProtocolError } from "../mod.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { type Args, parsePartitions, UsageError } from "./args.ts";
import { type Command, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";
import { planReset, scopeOf, targetOf } from "./reset_plan.ts";

const SUBS = ["list", "describe", "delete", "delete-offsets", "reset-offsets"] as const;

/** One row of `--describe` (offsets view). */
export interface OffsetRow {
  group: string;
  topic: string;
  partition: number;
  currentOffset: bigint | null;
  logEndOffset: bigint | null;
  lag: bigint | null;
  consumerId: string | null;
  host: string | null;
  clientId: string | null;
}

function dash(v: unknown): string {
  return v === null || v === undefined ? "-" : String(v);
}

/** ConsumerGroupCommand's column layout: `%-Ns` with N at least 15 for the wide columns. */
function javaRows(
  widths: readonly (number | null)[],
  rows: readonly (readonly string[])[],
): string {
  const w = widths.map((fixed, i) =>
    fixed ?? Math.max(15, ...rows.map((r) => (r[i] ?? "").length))
  );
  return rows.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(w[i]!)).join(" "))
    .join("\n");
}

async function groupIds(admin: Admin, args: Args): Promise<string[]> {
  if (args.bool("all-groups")) return (await admin.listGroups()).map((g) => g.groupId).sort();
  const ids = args.list("group");
  if (ids.length === 0) throw new UsageError("--group (or --all-groups) is required");
  return ids;
}

function notFound(id: string): ProtocolError {
  return new ProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, `consumer group '${id}' does not exist`);
}

async function offsetRows(admin: Admin, g: GroupDescription): Promise<OffsetRow[]> {
  const committed = await admin.listGroupOffsets(g.groupId);
  const key = (t: string, p: number) => `${t}\0${p}`;
  const owner = new Map<string, (typeof g.members)[number]>();
  for (const m of g.members) {
    for (const tp of m.assignment) owner.set(key(tp.topic, tp.partition), m);
  }
  const tps = new Map<string, { topic: string; partition: number }>();
  for (const c of committed) if (c.offset >= 0n) tps.set(key(c.topic, c.partition), c);
  for (const m of g.members) {
    for (const tp of m.assignment) tps.set(key(tp.topic, tp.partition), tp);
  }
  const list = [...tps.values()];
  const ends = list.length === 0 ? [] : await admin.listOffsets(
    list.map(({ topic, partition }) => ({ topic, partition, spec: "latest" })),
  );
  const endOf = new Map(ends.map((e) => [key(e.topic, e.partition), e.offset]));
  const cur = new Map(
    committed.filter((c) => c.offset >= 0n).map((c) => [key(c.topic, c.partition), c.offset]),
  );
  return list.map(({ topic, partition }) => {
    const k = key(topic, partition);
    const m = owner.get(k);
    const c = cur.get(k) ?? null;
    const e = endOf.get(k) ?? null;
    return {
      group: g.groupId,
      topic,
      partition,
      currentOffset: c,
      logEndOffset: e,
      lag: c !== null && e !== null ? (e - c > 0n ? e - c : 0n) : null,
      consumerId: m?.memberId ?? null,
      host: m?.clientHost ?? null,
      clientId: m?.clientId ?? null,
    };
  }).sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
}

async function describe(admin: Admin, args: Args): Promise<number> {
  const ids = await groupIds(admin, args);
  const json = args.bool("json");
  const all: unknown[] = [];
  for (const id of ids) {
    const g = await admin.describeGroup(id);
    if (g.state === "Dead") throw notFound(id);
    if (args.bool("state")) {
      const row = {
        group: id,
        coordinator: g.coordinator,
        assignmentStrategy: g.protocol,
        state: g.state,
        members: g.members.length,
      };
      if (json) all.push(row);
      else {
        console.log(
          "\n" + javaRows([null, 25, 20, null, null], [
            ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"],
            [id, `(${g.coordinator})`, g.protocol, g.state, String(g.members.length)],
          ]),
        );
      }
      continue;
    }
    if (args.bool("members")) {
      const rows = g.members.map((m) => ({
        group: id,
        consumerId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        host: m.clientHost,
        clientId: m.clientId,
        partitions: m.assignment.length,
        assignment: m.assignment,
      }));
      if (json) all.push(...rows);
      else if (rows.length === 0) console.error(`\nConsumer group '${id}' has no active members.`);
      else {
        console.log(
          "\n" + javaRows([null, null, null, null, null, null], [
            ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"],
            ...rows.map((r) => [
              id,
              r.consumerId,
              r.host,
              r.clientId,
              String(r.partitions),
              r.assignment.map((a) => `${a.topic}(${a.partition})`).join(","),
            ]),
          ]),
        );
      }
      continue;
    }
    const rows = await offsetRows(admin, g);
    if (json) {
      all.push(...rows);
      continue;
    }
    if (g.members.length === 0) console.error(`\nConsumer group '${id}' has no active members.`);
    console.log(
      "\n" + javaRows([null, null, 10, 15, 15, 15, null, null, null], [
        [
          "GROUP",
          "TOPIC",
          "PARTITION",
          "CURRENT-OFFSET",
          "LOG-END-OFFSET",
          "LAG",
          "CONSUMER-ID",
          "HOST",
          "CLIENT-ID",
        ],
        ...rows.map((r) => [
          r.group,
          r.topic,
          String(r.partition),
          dash(r.currentOffset),
          dash(r.logEndOffset),
          dash(r.lag),
          dash(r.consumerId),
          dash(r.host),
          dash(r.clientId),
        ]),
      ]),
    );
  }
  if (json) printJson(all);
  return 0;
}

/** kafka-consumer-groups.sh's plan table. */
export function planText(group: string, plan: readonly TopicPartitionOffset[]): string {
  return "\n" + javaRows([null, null, 10, null], [
    ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
    ...plan.map((p) => [group, p.topic, String(p.partition), String(p.offset)]),
  ]);
}

async function resetOffsets(admin: Admin, args: Args): Promise<number> {
  const target = targetOf(args);
  const execute = args.bool("execute");
  if (execute && args.bool("dry-run")) throw new UsageError("--dry-run or --execute, not both");
  const ids = await groupIds(admin, args);
  const json = args.bool("json");
  const out: unknown[] = [];
  for (const id of ids) {
    const g = await admin.describeGroup(id);
    // ConsumerGroupCommand: offsets can only be reset while nobody consumes.
    if (g.state !== "Empty" && g.state !== "Dead") {
      throw new UsageError(
        `assignments can only be reset if the group '${id}' is inactive, but the current ` +
          `state is ${g.state}`,
      );
    }
    const committed = (await admin.listGroupOffsets(id)).filter((c) => c.offset >= 0n);
    const scope = await scopeOf(admin, args, committed);
    const plan = await planReset(admin, scope, target, committed, (tp) =>
      // ConsumerGroupCommand's note (it prints it on stdout; here stdout stays the table).
      console.error(
        `Partition ${tp.partition} from topic ${tp.topic} is empty. ` +
          "Falling back to latest known offset.",
      ));
    if (execute && plan.length > 0) await admin.alterGroupOffsets(id, plan);
    if (json) out.push({ group: id, executed: execute, offsets: plan });
    else console.log(planText(id, plan));
  }
  if (json) printJson(out);
  if (!execute && !args.bool("dry-run")) {
    console.error(
      "WARN: No action will be performed as the --execute option is missing. " +
        "Add --dry-run to keep this behaviour without the warning.",
    );
  }
  return 0;
}

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, SUBS);
  const json = args.bool("json");
  return await withAdmin(args, async (admin) => {
    switch (sub) {
      case "list": {
        const states = args.list("state-filter");
        const list = (await admin.listGroups(states.length > 0 ? { states } : {}))
          .sort((a, b) => a.groupId < b.groupId ? -1 : 1);
        if (json) printJson(list);
        else if (args.bool("verbose")) {
          printTable(
            ["GROUP", "TYPE", "STATE", "PROTOCOL-TYPE"],
            list.map((g) => [g.groupId, g.type, g.state, g.protocolType]),
          );
        } else for (const g of list) console.log(g.groupId);
        return 0;
      }
      case "describe":
        return await describe(admin, args);
      case "delete": {
        const ids = await groupIds(admin, args);
        await admin.deleteGroups(ids);
        if (json) printJson({ deleted: ids });
        else {for (const id of ids) {
            console.log(`Deletion of requested consumer group ('${id}') was successful.`);
          }}
        return 0;
      }
      case "delete-offsets": {
        const [id] = await groupIds(admin, args);
        const parts = [];
        for (const spec of args.list("topic", false)) {
          const colon = spec.indexOf(":");
          const topic = colon < 0 ? spec : spec.slice(0, colon);
          const ps = colon < 0
            ? (await admin.describeTopic(topic)).partitions.map((p) => p.partition)
            : parsePartitions(spec.slice(colon + 1), "--topic");
          for (const partition of ps) parts.push({ topic, partition });
        }
        if (parts.length === 0) throw new UsageError("--topic is required");
        await admin.deleteGroupOffsets(id!, parts);
        if (json) printJson({ group: id, deleted: parts });
        else {
          console.log("Request succeed for deleting offsets from group " + id + ".\n");
          printTable(
            ["TOPIC", "PARTITION", "STATUS"],
            parts.map((p) => [p.topic, p.partition, "Successful"]),
          );
        }
        return 0;
      }
      case "reset-offsets":
        return await resetOffsets(admin, args);
    }
    return 0;
  });
}

/** The `groups` command. */
export const groupsCommand: Command = {
  name: "groups",
  summary: "consumer groups: list, describe with lag, delete, reset offsets",
  usage: [
    "kafka groups list|describe|delete|delete-offsets|reset-offsets --group G [options]",
    "  describe --group G [--members|--state]",
    "  reset-offsets --group G --topic T[:0,1] | --all-topics  --to-earliest | --to-latest |",
    "    --to-current | --to-offset N | --shift-by N | --to-datetime 2026-12-06T10:00:00.000 |",
    "    --by-duration PT1H   [--dry-run | --execute]",
  ].join("\n"),
  options: {
    group: { type: "list", short: "g", help: "group id (repeatable)" },
    "all-groups": { type: "boolean", help: "every group" },
    topic: { type: "list", short: "t", help: "topic, or topic:0,1 (reset/delete-offsets)" },
    "all-topics": { type: "boolean", help: "reset: every topic the group has offsets for" },
    members: { type: "boolean", help: "describe: members" },
    state: { type: "boolean", help: "describe: state" },
    "state-filter": { type: "list", help: "list: only groups in these states" },
    verbose: { type: "boolean", short: "v", help: "list: type and state too" },
    "to-earliest": { type: "boolean", help: "reset to the log start" },
    "to-latest": { type: "boolean", help: "reset to the log end" },
    "to-current": { type: "boolean", help: "reset to the committed offset" },
    "to-offset": { type: "string", help: "reset to this offset (clamped to the log)" },
    "shift-by": { type: "string", help: "move the committed offset by N (+/-)" },
    "to-datetime": { type: "string", help: "reset to the first offset at/after this time" },
    "by-duration": { type: "string", help: "reset to now minus this ISO-8601 duration" },
    "dry-run": { type: "boolean", help: "show the plan only (the default)" },
    execute: { type: "boolean", help: "apply the plan" },
  },
  run,
};
