/**
 * kafka-consumer-groups.sh `--reset-offsets`: which partitions, and the new offset of each,
 * computed as ConsumerGroupCommand does (targets clamped to the log's range, `--to-datetime`
 * and `--by-duration` falling back to the log end where no record is that recent).
 *
 * @module
 */

import type { Admin, TopicPartition, TopicPartitionOffset } from "../mod.ts";
import { type Args, parsePartitions, UsageError } from "./args.ts";
import { parseDateTime, parseDuration } from "./command.ts";

/** A reset target. */
export type ResetTarget =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "current" }
  | { kind: "offset"; offset: bigint }
  | { kind: "shift"; by: bigint }
  | { kind: "time"; timestamp: number };

/** Reads the one target option of a command line. */
export function targetOf(args: Args): ResetTarget {
  const given: ResetTarget[] = [];
  if (args.bool("to-earliest")) given.push({ kind: "earliest" });
  if (args.bool("to-latest")) given.push({ kind: "latest" });
  if (args.bool("to-current")) given.push({ kind: "current" });
  if (args.has("to-offset")) given.push({ kind: "offset", offset: args.big("to-offset")! });
  if (args.has("shift-by")) given.push({ kind: "shift", by: args.big("shift-by")! });
  if (args.has("to-datetime")) {
    const v = args.str("to-datetime")!;
    const t = parseDateTime(v);
    if (t === undefined) {
      throw new UsageError(`--to-datetime: "${v}" is not YYYY-MM-DDTHH:mm:SS.sss[zone]`);
    }
    given.push({ kind: "time", timestamp: t });
  }
  if (args.has("by-duration")) {
    given.push({ kind: "time", timestamp: Date.now() - parseDuration(args.str("by-duration")!) });
  }
  if (given.length !== 1) {
    throw new UsageError(
      "give one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, " +
        "--to-datetime, --by-duration",
    );
  }
  return given[0]!;
}

/** The partitions in scope: `--topic t` / `--topic t:0,1`, or `--all-topics` (committed ones). */
export async function scopeOf(
  admin: Admin,
  args: Args,
  committed: readonly TopicPartitionOffset[],
): Promise<TopicPartition[]> {
  const topics = args.list("topic", false);
  if (args.bool("all-topics") === (topics.length > 0)) {
    throw new UsageError("give --all-topics or --topic (one of them)");
  }
  if (args.bool("all-topics")) {
    return committed.map(({ topic, partition }) => ({ topic, partition }));
  }
  const out: TopicPartition[] = [];
  for (const spec of topics) {
    const colon = spec.indexOf(":");
    const topic = colon < 0 ? spec : spec.slice(0, colon);
    const parts = colon < 0
      ? (await admin.describeTopic(topic)).partitions.map((p) => p.partition)
      : parsePartitions(spec.slice(colon + 1), "--topic");
    for (const partition of parts) out.push({ topic, partition });
  }
  return out;
}

/** New offsets for `scope` (sorted by topic, partition). */
export async function planReset(
  admin: Admin,
  scope: readonly TopicPartition[],
  target: ResetTarget,
  committed: readonly TopicPartitionOffset[],
  onFallback: (tp: TopicPartition) => void = () => {},
): Promise<TopicPartitionOffset[]> {
  if (scope.length === 0) return [];
  const key = (tp: TopicPartition) => `${tp.topic}\0${tp.partition}`;
  const list = (spec: "earliest" | "latest" | { timestamp: number }) =>
    admin.listOffsets(scope.map(({ topic, partition }) => ({ topic, partition, spec })))
      .then((r) => new Map(r.map((o) => [key(o), o.offset])));
  const current = new Map(committed.map((c) => [key(c), c.offset]));
  let wanted: Map<string, bigint>;
  switch (target.kind) {
    case "earliest":
      wanted = await list("earliest");
      break;
    case "latest":
      wanted = await list("latest");
      break;
    case "time": {
      const at = await list({ timestamp: target.timestamp });
      const ends = await list("latest");
      wanted = new Map(scope.map((tp) => {
        const o = at.get(key(tp));
        if (o !== undefined && o >= 0n) return [key(tp), o];
        onFallback(tp);
        return [key(tp), ends.get(key(tp))!];
      }));
      break;
    }
    case "current": {
      const ends = await list("latest");
      wanted = new Map(scope.map((tp) => [key(tp), current.get(key(tp)) ?? ends.get(key(tp))!]));
      break;
    }
    case "offset":
    case "shift": {
      const starts = await list("earliest");
      const ends = await list("latest");
      wanted = new Map(scope.map((tp) => {
        let o: bigint;
        if (target.kind === "offset") o = target.offset;
        else {
          const c = current.get(key(tp));
          if (c === undefined) {
            throw new UsageError(
              `cannot shift offset for ${tp.topic}-${tp.partition}: it has no committed offset`,
            );
          }
          o = c + target.by;
        }
        // ConsumerGroupCommand.checkOffsetsRange: clamp into [log start, log end].
        const lo = starts.get(key(tp))!, hi = ends.get(key(tp))!;
        return [key(tp), o < lo ? lo : o > hi ? hi : o];
      }));
      break;
    }
  }
  return [...scope]
    .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
    .map(({ topic, partition }) => ({
      topic,
      partition,
      offset: wanted.get(key({ topic, partition }))!,
    }));
}
