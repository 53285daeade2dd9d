/**
 * A small argument parser: `--name value`, `--name=value`, `-x value`, boolean switches,
 * repeatable options, positional words. Unknown options are usage errors (exit code 2).
 *
 * @module
 */

/** A mistake in the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Bad input data (a line that is not JSON...): exit code 2, without the usage hint. */
export class InputError extends UsageError {
  override name = "InputError";
}

/** How one option is read. */
export interface OptionSpec {
  /** `string` takes a value, `boolean` is a switch, `list` takes a value and may repeat. */
  readonly type: "string" | "boolean" | "list";
  /** Short alias without the dash, e.g. `t` for `-t`. */
  readonly short?: string;
  /** Other long names accepted for it (e.g. kafka tools' spellings). */
  readonly aliases?: readonly string[];
  /** One line of help. */
  readonly help?: string;
}

/** Option name (without dashes) to its spec. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed command line. */
export interface Parsed {
  /** Positional words, in order. */
  readonly positional: string[];
  /** Values by canonical option name (booleans as "true"). */
  readonly values: Map<string, string[]>;
}

/** Reads `argv` against `specs`; throws {@linkcode UsageError} on anything unknown. */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): Parsed {
  const byName = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    byName.set(`--${name}`, name);
    if (spec.short) byName.set(`-${spec.short}`, name);
    for (const a of spec.aliases ?? []) byName.set(`--${a}`, name);
  }
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    // "-5" is a value (negative offsets, --shift-by -5), not an option.
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = byName.get(flag);
    if (name === undefined) throw new UsageError(`unknown option ${flag}`);
    const spec = specs[name]!;
    let value: string;
    if (spec.type === "boolean") {
      if (eq > 0) {
        const v = arg.slice(eq + 1);
        if (v !== "true" && v !== "false") throw new UsageError(`${flag} takes true or false`);
        value = v;
      } else value = "true";
    } else if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      value = next;
      i++;
    }
    const list = values.get(name) ?? [];
    if (spec.type !== "list" && list.length > 0 && spec.type !== "boolean") {
      throw new UsageError(`${flag} given twice`);
    }
    list.push(value);
    values.set(name, list);
  }
  return { positional, values };
}

/** Typed access to a {@linkcode Parsed} command line. */
export class Args {
  readonly #parsed: Parsed;
  /** The positional words. */
  readonly positional: readonly string[];

  constructor(p: Parsed) {
    this.#parsed = p;
    this.positional = p.positional;
  }

  /** Whether the option was given. */
  has(name: string): boolean {
    return this.#parsed.values.has(name);
  }

  /** A string option, or undefined. */
  str(name: string): string | undefined {
    const v = this.#parsed.values.get(name);
    return v === undefined ? undefined : v[v.length - 1];
  }

  /** A string option that must be present. */
  need(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  /** Every value of a repeatable option (comma-separated values are split too). */
  list(name: string, split = true): string[] {
    const v = this.#parsed.values.get(name) ?? [];
    return split ? v.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s) : v;
  }

  /** A boolean switch. */
  bool(name: string): boolean {
    return this.str(name) === "true";
  }

  /** An integer option. */
  int(name: string, fallback?: number): number | undefined {
    const v = this.str(name);
    if (v === undefined) return fallback;
    return parseInteger(v, `--${name}`);
  }

  /** A bigint option. */
  big(name: string): bigint | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, not "${v}"`);
    return BigInt(v);
  }
}

/** Parses a safe integer or throws a {@linkcode UsageError} naming `what`. */
export function parseInteger(v: string, what: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`${what} must be an integer, not "${v}"`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} is out of range: ${v}`);
  return n;
}

/** `"0,2-4"` to `[0, 2, 3, 4]`. */
export function parsePartitions(v: string, what = "--partition"): number[] {
  const out: number[] = [];
  for (const part of v.split(",").map((s) => s.trim()).filter((s) => s)) {
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (m) {
      for (let i = Number(m[1]); i <= Number(m[2]); i++) out.push(i);
    } else out.push(parseInteger(part, what));
  }
  return out;
}
