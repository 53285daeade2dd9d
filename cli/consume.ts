/**
 * `consume`: read records by group or by partitions, from/to an offset or a time, N records or
 * until the end (kafka-console-consumer.sh, `kcat -C`).
 *
 * @module
 */

import { Consumer, type PartitionAssignment, type StartOffset } from "../mod.ts";
import { type Args, parsePartitions, UsageError } from "./args.ts";
import { type Command, parseTime, withAdmin } from "./command.ts";
import { clientOptions } from "./connect.ts";
import { encodingOf, formatPrinter, jsonPrinter, type Printer } from "./format.ts";
import { Out, Progress } from "./output.ts";

interface StartSpec {
  kind: "earliest" | "latest" | "committed" | "offset" | "fromEnd" | "time";
  value?: bigint | number;
}

function startOf(args: Args): StartSpec | undefined {
  if (args.bool("from-beginning")) return { kind: "earliest" };
  const time = args.str("from-time");
  if (time !== undefined) return { kind: "time", value: parseTime(time, "--from-time") };
  const o = args.str("offset");
  if (o === undefined) return undefined;
  if (o === "earliest" || o === "beginning") return { kind: "earliest" };
  if (o === "latest" || o === "end") return { kind: "latest" };
  if (o === "committed" || o === "stored") return { kind: "committed" };
  if (/^\d+$/.test(o)) return { kind: "offset", value: BigInt(o) };
  if (/^-\d+$/.test(o)) return { kind: "fromEnd", value: -BigInt(o) };
  if (o.startsWith("s@")) return { kind: "time", value: parseTime(o.slice(2), "--offset s@") };
  throw new UsageError(
    `--offset: expected earliest, latest, committed, N, -N or s@<time>, not "${o}"`,
  );
}

async function run(args: Args): Promise<number> {
  const topics = args.list("topic");
  const group = args.str("group");
  const partitionList = args.has("partition")
    ? parsePartitions(args.list("partition").join(","))
    : [];
  if (topics.length === 0) throw new UsageError("--topic is required");
  const max = args.int("max-messages");
  const idleMs = args.int("timeout-ms");
  const untilEnd = args.bool("until-end");
  const start = startOf(args);
  const endOffset = args.big("to-offset");
  const endTime = args.str("to-time");
  const isolation = args.str("isolation-level") ?? "read_uncommitted";
  if (isolation !== "read_committed" && isolation !== "read_uncommitted") {
    throw new UsageError("--isolation-level: read_committed or read_uncommitted");
  }
  const encoding = args.str("encoding");
  const textOptions = {
    keyEncoding: encodingOf(args.str("key-encoding") ?? encoding, "--key-encoding"),
    valueEncoding: encodingOf(args.str("value-encoding") ?? encoding, "--value-encoding"),
    nullText: args.has("format-string") ? "" : "null",
  };
  const fmt = args.str("format-string");
  const asJson = args.bool("json") || args.str("output") === "json";
  let printer: Printer;
  if (asJson) printer = jsonPrinter(textOptions);
  else if (fmt !== undefined) printer = formatPrinter(fmt, textOptions);
  else {
    const sep = args.str("key-separator") ?? "\t";
    printer = formatPrinter(
      args.bool("print-key") ? `%k${escapeFmt(sep)}%s\n` : "%s\n",
      textOptions,
    );
  }
  const subscribe = group !== undefined && partitionList.length === 0;
  if (subscribe && (endOffset !== undefined || endTime !== undefined)) {
    throw new UsageError("--to-offset/--to-time need --partition (or no --group)");
  }
  if (subscribe && start !== undefined && start.kind !== "earliest" && start.kind !== "latest") {
    // As kafka-console-consumer.sh: a group member starts at its committed offsets (or the
    // reset policy); exact positions need chosen partitions.
    throw new UsageError("--offset N, -N, s@time and --from-time need --partition with --group");
  }
  if (subscribe) {
    // A subscription to a missing topic would wait for it forever: say so at once instead.
    await withAdmin(args, async (admin) => void await admin.describeTopics(topics));
  }

  const base = await clientOptions(args);
  const consumer = new Consumer({
    ...base,
    ...(group !== undefined && { groupId: group }),
    ...(subscribe && { topics }),
    autoOffsetReset: start?.kind === "earliest" ? "earliest" : "latest",
    isolationLevel: isolation,
    autoCommit: group !== undefined && !args.bool("no-commit"),
  });

  if (!subscribe) {
    if (start?.kind === "offset" && partitionList.length === 0 && topics.length > 1) {
      throw new UsageError("--offset N needs --partition");
    }
    const assignments: PartitionAssignment[] = [];
    await withAdmin(args, async (admin) => {
      for (const topic of topics) {
        const parts = partitionList.length > 0
          ? partitionList
          : (await admin.describeTopic(topic)).partitions.map((p) => p.partition);
        const known = new Set(
          (await admin.describeTopic(topic)).partitions.map((p) => p.partition),
        );
        for (const p of parts) {
          if (!known.has(p)) throw new UsageError(`topic ${topic} has no partition ${p}`);
        }
        const ends = start?.kind === "fromEnd"
          ? await admin.listOffsets(
            parts.map((partition) => ({ topic, partition, spec: "latest" })),
          )
          : [];
        for (const partition of parts) {
          let offset: StartOffset = group !== undefined ? "committed" : "latest";
          if (start?.kind === "earliest" || start?.kind === "latest") offset = start.kind;
          else if (start?.kind === "committed") offset = "committed";
          else if (start?.kind === "offset") offset = start.value as bigint;
          else if (start?.kind === "time") offset = { timestamp: start.value as number };
          else if (start?.kind === "fromEnd") {
            const end = ends.find((e) => e.partition === partition)!.offset;
            const from = end - (start.value as bigint);
            offset = from < 0n ? "earliest" : from;
          }
          const a: PartitionAssignment = { topic, partition, offset };
          if (endOffset !== undefined) a.end = endOffset;
          else if (endTime !== undefined) a.end = { timestamp: parseTime(endTime, "--to-time") };
          else if (untilEnd) a.end = "latest";
          assignments.push(a);
        }
      }
    });
    consumer.assign(assignments);
  }

  const out = new Out();
  const progress = new Progress("consumed", { enabled: !args.bool("no-progress") });
  const reader = consumer.getReader();
  // Stopping (Ctrl-C, idle timeout, a group caught up) cancels the stream: that closes the
  // consumer, which commits what was taken, and ends the pending read. One watcher timer for
  // all of it, so a record costs no timer or promise of its own.
  let stop = false;
  const halt = () => {
    if (stop) return;
    stop = true;
    reader.cancel().catch(() => {});
  };
  Deno.addSignalListener("SIGINT", halt);
  let last = Date.now();
  let flushing = false;
  const caughtUp = () => {
    const lag = consumer.lag();
    return lag.length > 0 && lag.every((l) => l.lag === 0n);
  };
  const watch = setInterval(() => {
    if (idleMs !== undefined && Date.now() - last >= idleMs) halt();
    if (subscribe && untilEnd && caughtUp()) halt();
    // Tailing: what is buffered reaches stdout within ~50 ms even when records trickle in.
    if (!out.empty && !flushing) {
      flushing = true;
      out.flush().catch(() => {}).finally(() => flushing = false);
    }
  }, 50);
  try {
    let count = 0;
    while (!stop && (max === undefined || count < max)) {
      const got = await reader.read();
      if (got.done) break;
      last = Date.now();
      const r = got.value;
      printer(r, out);
      count++;
      progress.tick(1, (r.value?.length ?? 0) + (r.key?.length ?? 0));
      if (out.backlog >= 1 << 16) await out.drain();
    }
    clearInterval(watch);
    await out.close();
    progress.done();
    // As kafka-console-consumer.sh: the count on stderr, never mixed into the records.
    if (!args.bool("quiet")) console.error(`Processed a total of ${count} messages`);
    return 0;
  } finally {
    clearInterval(watch);
    Deno.removeSignalListener("SIGINT", halt);
    reader.releaseLock();
    await consumer.close();
  }
}

function escapeFmt(s: string): string {
  return s.replaceAll("%", "%%").replaceAll("\\", "\\\\");
}

/** The `consume` command. */
export const consumeCommand: Command = {
  name: "consume",
  summary: "read records to stdout: text, JSON lines or a kcat -f format",
  usage: [
    "kafka consume --topic T [--group G] [--partition P] [--offset O] [-e] [-c N] [-f FMT]",
    "  --offset earliest|latest|committed|N|-N (N from the end)|s@<time>",
    "  -f '%t %p %o %k %s %h %T\\n' (kcat format), --json for JSON lines",
  ].join("\n"),
  options: {
    topic: { type: "list", short: "t", help: "topic (repeatable)" },
    group: { type: "string", short: "g", aliases: ["group-id"], help: "consumer group" },
    partition: { type: "list", short: "p", help: "partitions, e.g. 0,2-4 (assign mode)" },
    offset: { type: "string", short: "o", help: "where to start (see above)" },
    "from-beginning": { type: "boolean", help: "same as --offset earliest" },
    "from-time": { type: "string", help: "start at the first record at/after this time" },
    "to-offset": { type: "string", help: "stop before this offset (per partition)" },
    "to-time": { type: "string", help: "stop at the first record at/after this time" },
    "until-end": { type: "boolean", short: "e", help: "stop at the end of the log" },
    "max-messages": { type: "string", short: "c", aliases: ["count"], help: "stop after N" },
    "timeout-ms": { type: "string", help: "stop after this long without a record" },
    "isolation-level": { type: "string", help: "read_committed | read_uncommitted (default)" },
    "format-string": { type: "string", short: "f", help: "kcat format" },
    output: { type: "string", help: "text (default) | json" },
    "print-key": { type: "boolean", help: "text output: key, separator, value" },
    "key-separator": { type: "string", help: "text output separator (default tab)" },
    encoding: { type: "string", help: "utf8 (raw bytes) | base64 | hex, keys and values" },
    "key-encoding": { type: "string", help: "as --encoding, keys only" },
    "value-encoding": { type: "string", help: "as --encoding, values and headers" },
    "no-commit": { type: "boolean", help: "with --group: do not commit offsets" },
    "no-progress": { type: "boolean", help: "no progress line even on a terminal" },
    quiet: { type: "boolean", short: "q", help: "no summary line on stderr" },
  },
  run,
};
