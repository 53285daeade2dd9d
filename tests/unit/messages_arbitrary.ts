/**
 * Seeded pseudo-random message values of the right shape for a schema version, for the
 * round-trip, fuzz and Java cross-check tests. Defaults are derived here independently of
 * the engine (Kafka's rules), so a wrong engine default shows up as a round-trip difference.
 */
import {
  type FieldSchema,
  inVersions,
  type MessageSchema,
  uuidFromBytes,
} from "../../protocol/mod.ts";
import { PRIMITIVE_TYPES } from "../../scripts/gen/spec_types.ts";

/** A small, fast, seedable generator (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

const PRIMITIVE = PRIMITIVE_TYPES;

/** Kafka's default for a field (explicit, else 0 / "" / false / empty / zero UUID / null). */
export function defaultOf(f: FieldSchema): unknown {
  const isArray = f.type.startsWith("[]");
  const elem = isArray ? f.type.slice(2) : f.type;
  if (isArray) return f.default === null ? null : [];
  if (!PRIMITIVE.has(elem)) {
    if (f.default === null) return null;
    return structDefault(f.fields!);
  }
  if (f.default !== undefined) return f.default;
  switch (elem) {
    case "int64":
      return 0n;
    case "bool":
      return false;
    case "string":
      return "";
    case "uuid":
      return "AAAAAAAAAAAAAAAAAAAAAA";
    case "bytes":
      return new Uint8Array(0);
    case "records":
      return null;
    default:
      return 0;
  }
}

function structDefault(fields: readonly FieldSchema[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) o[f.name] = defaultOf(f);
  return o;
}

const STRING_PIECES = ["a", "topic", "é", "日本", "😀", "-", "_", ".", "Z", "0", " "];

function randomString(rng: Rng): string {
  let s = "";
  const n = rng.int(0, 6);
  for (let i = 0; i < n; i++) s += STRING_PIECES[rng.int(0, STRING_PIECES.length - 1)];
  return s;
}

const FLOATS = [0, -0, 1.5, -2.25, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN];

function randomPrimitive(type: string, rng: Rng): unknown {
  switch (type) {
    case "int8":
      return rng.int(-128, 127);
    case "int16":
      return rng.int(-32768, 32767);
    case "uint16":
      return rng.int(0, 65535);
    case "int32":
      return rng.chance(0.3) ? rng.int(-2, 2) : rng.int(-2147483648, 2147483647);
    case "uint32":
      return rng.int(0, 4294967295);
    case "int64":
      return rng.chance(0.3) ? BigInt(rng.int(-2, 2)) : BigInt.asIntN(
        64,
        (BigInt(rng.int(0, 0xffffffff)) << 32n) | BigInt(rng.int(0, 0xffffffff)),
      );
    case "float64":
      return rng.chance(0.5) ? FLOATS[rng.int(0, FLOATS.length - 1)] : (rng.next() - 0.5) * 1e9;
    case "bool":
      return rng.chance(0.5);
    case "string":
      return randomString(rng);
    case "bytes":
      return rng.bytes(rng.int(0, 8));
    case "records":
      return rng.bytes(rng.int(0, 24));
    case "uuid":
      return uuidFromBytes(rng.bytes(16));
  }
  throw new RangeError(type);
}

/** Options for {@linkcode arbitraryMessage}. */
export interface ArbitraryOptions {
  /** Probability of null for a field nullable in the version. */
  nullChance?: number;
  /** Probability that a tagged field gets a random (usually non-default) value. */
  taggedChance?: number;
  /** Largest array length. */
  maxArray?: number;
}

/**
 * A random message for `schema` at `version`: fields the version lacks hold their defaults,
 * so encode-then-decode must give the same object back.
 */
export function arbitraryMessage(
  schema: MessageSchema,
  version: number,
  rng: Rng,
  options: ArbitraryOptions = {},
): Record<string, unknown> {
  const flexible = inVersions(schema.flexibleVersions, version);
  const o = { nullChance: 0.2, taggedChance: 0.5, maxArray: 3, ...options };
  const struct = (fields: readonly FieldSchema[], depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const present = inVersions(f.versions, version);
      const tagged = present && flexible && inVersions(f.taggedVersions, version);
      if (!present || (tagged && !rng.chance(o.taggedChance))) {
        out[f.name] = defaultOf(f);
        continue;
      }
      out[f.name] = value(f, depth);
    }
    return out;
  };
  const value = (f: FieldSchema, depth: number): unknown => {
    const nullable = inVersions(f.nullableVersions, version);
    if (nullable && rng.chance(o.nullChance)) return null;
    const isArray = f.type.startsWith("[]");
    const elem = isArray ? f.type.slice(2) : f.type;
    const one = () =>
      PRIMITIVE.has(elem) ? randomPrimitive(elem, rng) : struct(f.fields!, depth + 1);
    if (!isArray) return one();
    const n = rng.int(0, depth > 3 ? 1 : o.maxArray);
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(one());
    return a;
  };
  return struct(schema.fields, 0);
}

/** Every version in a version set of a schema. */
export function versionsOf(schema: MessageSchema): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(schema.validVersions);
  if (m === null) throw new RangeError(schema.validVersions);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  const out: number[] = [];
  for (let v = lo; v <= hi; v++) out.push(v);
  return out;
}
