/**
 * What a command module exports, and helpers shared by the commands.
 *
 * @module
 */

import { Admin } from "../mod.ts";
import { Args, type OptionSpecs, parseArgs, UsageError } from "./args.ts";
import { clientOptions, CONNECTION_OPTIONS } from "./connect.ts";

/** One top-level command (`topics`, `produce`...). */
export interface Command {
  /** Its name on the command line. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage text shown by `--help` and after usage errors. */
  readonly usage: string;
  /** Its options (the connection options are added). */
  readonly options: OptionSpecs;
  /** Runs it; resolves with the exit code (0 by default). */
  run(args: Args): Promise<number | void>;
}

/** Parses `argv` for `cmd`, connection options included. */
export function parseFor(cmd: Command, argv: readonly string[]): Args {
  return new Args(parseArgs(argv, { ...CONNECTION_OPTIONS, ...cmd.options }));
}

/** Runs `fn` with an admin client for this command line, closing it afterwards. */
export async function withAdmin<T>(args: Args, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(await clientOptions(args));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/**
 * The subcommand word (first positional), checked against `allowed`; no positional may follow
 * it (every subcommand takes flags only).
 */
export function subcommand(args: Args, allowed: readonly string[], fallback?: string): string {
  const word = args.positional[0] ?? fallback;
  if (word === undefined) throw new UsageError(`expected one of: ${allowed.join(", ")}`);
  if (!allowed.includes(word)) {
    throw new UsageError(`unknown subcommand "${word}"; expected one of: ${allowed.join(", ")}`);
  }
  noExtra(args, 1);
  return word;
}

/** Rejects positional words beyond `max`. */
function noExtra(args: Args, max: number): void {
  if (args.positional.length > max) {
    throw new UsageError(`unexpected argument "${args.positional[max]}"`);
  }
}

/**
 * Parses `key=value,key2=value2` (kafka-configs.sh `--add-config`; values may be bracketed
 * lists `[a,b]`).
 */
export function parseConfigList(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of items) {
    for (const item of splitTopLevel(raw)) {
      const eq = item.indexOf("=");
      if (eq <= 0) throw new UsageError(`expected key=value, not "${item}"`);
      let v = item.slice(eq + 1).trim();
      if (v.startsWith("[") && v.endsWith("]")) v = v.slice(1, -1);
      out[item.slice(0, eq).trim()] = v;
    }
  }
  return out;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = "";
  for (const ch of s) {
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (ch === "," && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Parses a time: milliseconds since the epoch, `now`, `-1h`/`-30m`/`-10s`/`-2d` relative to
 * now, or an ISO-8601 date-time (`2026-12-06T10:00:00.000`, UTC unless a zone is given, as
 * kafka-consumer-groups.sh reads `--to-datetime`).
 */
export function parseTime(v: string, what: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  if (v === "now") return Date.now();
  const rel = /^-(\d+)(ms|s|m|h|d)$/.exec(v);
  if (rel) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!]!;
    return Date.now() - Number(rel[1]) * unit;
  }
  const t = parseDateTime(v);
  if (t === undefined) throw new UsageError(`${what}: cannot read time "${v}"`);
  return t;
}

/** ISO-8601 local or zoned date-time to ms; undefined when not one. */
export function parseDateTime(v: string): number | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/
      .exec(v);
  if (!m) return undefined;
  const [y, mo, d, h = "0", mi = "0", s = "0", ms = "0", zone] = m.slice(1);
  const msN = Number(ms.padEnd(3, "0"));
  // No zone means UTC, as Kafka's Utils.getDateTime (kafka-consumer-groups.sh) reads it.
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), msN);
  if (zone === undefined || zone === "Z") return utc;
  const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const off = (Number(zm[2]) * 60 + Number(zm[3])) * 60_000;
  return zm[1] === "+" ? utc - off : utc + off;
}

/** ISO-8601 duration (`PT1H`, `P1DT2H30M`) to ms, as `--by-duration` takes. */
export function parseDuration(v: string): number {
  const m = /^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(v);
  if (!m || v.toUpperCase() === "P" || v.toUpperCase().endsWith("T")) {
    throw new UsageError(`--by-duration: "${v}" is not an ISO-8601 duration like PT1H or P1DT2H`);
  }
  const ms = Number(m[2] ?? 0) * 86_400_000 + Number(m[3] ?? 0) * 3_600_000 +
    Number(m[4] ?? 0) * 60_000 + Math.round(Number(m[5] ?? 0) * 1000);
  return m[1] ? -ms : ms;
}
