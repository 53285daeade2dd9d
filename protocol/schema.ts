/**
 * Declarative Kafka message schemas and the engine that turns a schema into an encoder and a
 * decoder for one version.
 *
 * A schema is plain data (generated from Kafka's message specs into `protocol/messages/`): one
 * description per message covering every version. {@linkcode encoderFor} and
 * {@linkcode decoderFor} resolve everything version-dependent once (which fields exist, which
 * are nullable, compact or tagged) into a tree of small closures, cached per (schema, version),
 * so encoding or decoding a message does no schema interpretation at all.
 *
 * Wire rules implemented here, as Kafka's own generator applies them:
 * - flexible versions (KIP-482) use compact strings, bytes and arrays, and end every struct with
 *   a tagged-field section; a field may override this with its own `flexibleVersions`;
 * - tagged fields are written, in tag order, only when they differ from their default;
 * - a nullable struct is preceded by an int8 marker (-1 null, 1 present);
 * - a field the version lacks is written nowhere; a non-default value for it is an error unless
 *   the field is `ignorable`; decoding fills it with its default.
 *
 * @module
 */

import { uvarintSize, type Writer } from "./writer.ts";
import type { Reader } from "./reader.ts";
import { DecodeError, UnsupportedVersionError } from "./errors.ts";
import { writeUuid, ZERO_UUID } from "./uuid.ts";

/**
 * A field default as stored in a schema: numbers for the int and float types, a bigint for
 * int64, a boolean for bool, a string (or `null`) for strings, and `null` for a nullable
 * bytes, array or struct field whose default is null.
 *
 * @example
 * ```ts
 * import type { FieldDefault } from "@denokafka/kafka/protocol";
 * const d: FieldDefault = -1n;
 * console.log(typeof d); // bigint
 * ```
 */
export type FieldDefault = number | bigint | boolean | string | null;

/**
 * One field of a message or struct, as declarative data.
 *
 * `type` is a primitive (`int8`, `int16`, `int32`, `int64`, `uint16`, `uint32`, `float64`,
 * `bool`, `string`, `bytes`, `records`, `uuid`), a struct name when `fields` is set, or either
 * prefixed with `[]` for an array. Version sets use Kafka's syntax: `"3+"`, `"0-12"`, `"5"`,
 * `"none"`.
 *
 * @example
 * ```ts
 * import type { FieldSchema } from "@denokafka/kafka/protocol";
 * const f: FieldSchema = { name: "rack", type: "string", versions: "1+", nullableVersions: "1+", default: null };
 * console.log(f.name); // rack
 * ```
 */
export interface FieldSchema {
  /** The property name (Kafka's PascalCase name in camelCase). */
  readonly name: string;
  /** The wire type, see above. */
  readonly type: string;
  /** The versions that carry the field. */
  readonly versions: string;
  /** The versions in which the field may be null. */
  readonly nullableVersions?: string;
  /** The versions in which the field is a tagged field (then `tag` is set). */
  readonly taggedVersions?: string;
  /** The tag number, for tagged fields. */
  readonly tag?: number;
  /** Overrides the message's flexible versions for this string or bytes field. */
  readonly flexibleVersions?: string;
  /** Whether a non-default value may be silently dropped in versions that lack the field. */
  readonly ignorable?: boolean;
  /** The explicit default; when absent Kafka's implicit one applies (0, "", false, empty). */
  readonly default?: FieldDefault;
  /** The fields of a struct (or array-of-struct) type. */
  readonly fields?: readonly FieldSchema[];
}

/**
 * A whole request or response message, every version in one description.
 *
 * @example
 * ```ts
 * import type { MessageSchema } from "@denokafka/kafka/protocol";
 * const s: MessageSchema = {
 *   name: "HeartbeatLikeRequest", apiKey: 12, type: "request",
 *   validVersions: "0-1", flexibleVersions: "1+",
 *   fields: [{ name: "generationId", type: "int32", versions: "0+" }],
 * };
 * console.log(s.fields.length); // 1
 * ```
 */
export interface MessageSchema {
  /** Kafka's name, e.g. `MetadataRequest`. */
  readonly name: string;
  /** The API key; -1 for a data format (bytes carried inside another message). */
  readonly apiKey: number;
  /** Whether this is the request or the response of its API, or a data format. */
  readonly type: "request" | "response" | "data";
  /** The versions that exist. */
  readonly validVersions: string;
  /** The flexible versions (compact encodings and tagged fields). */
  readonly flexibleVersions: string;
  /** The top-level fields, in wire order. */
  readonly fields: readonly FieldSchema[];
}

/**
 * An inclusive version range; `min > max` means no version.
 *
 * @example
 * ```ts
 * import { parseVersions } from "@denokafka/kafka/protocol";
 * const r = parseVersions("3-12");
 * console.log(r.min, r.max); // 3 12
 * ```
 */
export interface VersionRange {
  /** The lowest version in the range. */
  readonly min: number;
  /** The highest version in the range (32767 for an open `n+` range). */
  readonly max: number;
}

/**
 * Encodes one message body of a fixed version into a writer.
 *
 * @example
 * ```ts
 * import { type MessageEncoder, Writer } from "@denokafka/kafka/protocol";
 * const enc: MessageEncoder<{ id: number }> = (w, v) => void w.int32(v.id);
 * enc(new Writer(), { id: 1 });
 * ```
 */
export type MessageEncoder<T> = (w: Writer, value: T) => void;

/**
 * Decodes one message body of a fixed version from a reader.
 *
 * @example
 * ```ts
 * import { type MessageDecoder, Reader } from "@denokafka/kafka/protocol";
 * const dec: MessageDecoder<number> = (r) => r.int32();
 * console.log(dec(new Reader(new Uint8Array(4)))); // 0
 * ```
 */
export type MessageDecoder<T> = (r: Reader) => T;

const OPEN_MAX = 0x7fff;
const NO_VERSIONS: VersionRange = Object.freeze({ min: 1, max: 0 });
const rangeCache = new Map<string, VersionRange>();

/**
 * Parses a Kafka version set (`"0+"`, `"3-12"`, `"5"`, `"none"`).
 *
 * @example
 * ```ts
 * import { parseVersions } from "@denokafka/kafka/protocol";
 * console.log(parseVersions("9+").max); // 32767
 * ```
 */
export function parseVersions(spec: string): VersionRange {
  const hit = rangeCache.get(spec);
  if (hit !== undefined) return hit;
  let r: VersionRange;
  const m = /^(\d+)(?:(\+)|-(\d+))?$/.exec(spec.trim());
  if (spec.trim() === "none") r = NO_VERSIONS;
  else if (m === null) throw new RangeError(`invalid version set: ${spec}`);
  else {
    const min = Number(m[1]);
    const max = m[2] !== undefined ? OPEN_MAX : m[3] !== undefined ? Number(m[3]) : min;
    r = Object.freeze({ min, max });
  }
  rangeCache.set(spec, r);
  return r;
}

/**
 * Whether `version` is in the version set `spec` (an absent set is empty).
 *
 * @example
 * ```ts
 * import { inVersions } from "@denokafka/kafka/protocol";
 * console.log(inVersions("3-12", 13)); // false
 * ```
 */
export function inVersions(spec: string | undefined, version: number): boolean {
  if (spec === undefined) return false;
  const r = parseVersions(spec);
  return version >= r.min && version <= r.max;
}

/**
 * Whether `version` of the message uses the flexible encoding (KIP-482).
 *
 * @example
 * ```ts
 * import { Api, isFlexibleVersion } from "@denokafka/kafka/protocol";
 * console.log(isFlexibleVersion(Api.Metadata.request, 9)); // true
 * ```
 */
export function isFlexibleVersion(schema: MessageSchema, version: number): boolean {
  return inVersions(schema.flexibleVersions, version);
}

// ---------------------------------------------------------------------------------------------
// Version-independent facts about a field: its defaults.

type Obj = Record<string, unknown>;
type Enc = (w: Writer, v: unknown) => void;
type Dec = (r: Reader) => unknown;

const EMPTY_OBJ: Obj = Object.freeze({}) as Obj;
const EMPTY_ARRAY: readonly unknown[] = Object.freeze([]);
// A zero-length view cannot be mutated, so one instance can be every empty default.
const EMPTY_BYTES = new Uint8Array(0);

interface FieldInfo {
  readonly isArray: boolean;
  readonly elem: string;
  readonly isStruct: boolean;
  /** The value encoded when the caller left the field out (`undefined`: struct defaults). */
  readonly encDefault: unknown;
  /** A fresh default for a decoded object. */
  readonly makeDefault: () => unknown;
  /** Kafka's "is this the default" test, deciding tagged-field presence and version checks. */
  readonly isDefault: (v: unknown) => boolean;
}

const fieldInfos = new WeakMap<FieldSchema, FieldInfo>();
const structDefaults = new WeakMap<readonly FieldSchema[], () => Obj>();

function fieldInfo(f: FieldSchema): FieldInfo {
  const hit = fieldInfos.get(f);
  if (hit !== undefined) return hit;
  const isArray = f.type.startsWith("[]");
  const elem = isArray ? f.type.slice(2) : f.type;
  const isStruct = f.fields !== undefined;
  const explicit = f.default;
  let info: FieldInfo;
  if (isArray) {
    const nullDefault = explicit === null;
    info = {
      isArray,
      elem,
      isStruct,
      encDefault: nullDefault ? null : EMPTY_ARRAY,
      makeDefault: nullDefault ? () => null : () => [],
      isDefault: nullDefault
        ? (v) => v === undefined || v === null
        : (v) => v === undefined || (v !== null && (v as unknown[]).length === 0),
    };
  } else if (isStruct) {
    const fields = f.fields!;
    if (explicit === null) {
      info = {
        isArray,
        elem,
        isStruct,
        encDefault: null,
        makeDefault: () => null,
        isDefault: (v) => v === undefined || v === null,
      };
    } else {
      const make = structDefaultMaker(fields);
      info = {
        isArray,
        elem,
        isStruct,
        encDefault: undefined,
        makeDefault: make,
        isDefault: (v) => v === undefined || (v !== null && structIsDefault(fields, v as Obj)),
      };
    }
  } else if (elem === "bytes" || elem === "records") {
    // Kafka: bytes default to empty unless the default is null; records always default to null.
    const nullDefault = explicit === null || elem === "records";
    info = {
      isArray,
      elem,
      isStruct,
      encDefault: nullDefault ? null : EMPTY_BYTES,
      makeDefault: nullDefault ? () => null : () => EMPTY_BYTES,
      isDefault: nullDefault
        ? (v) => v === undefined || v === null
        : (v) => v === undefined || (v !== null && (v as Uint8Array).length === 0),
    };
  } else {
    const d = explicit !== undefined ? explicit : implicitDefault(elem);
    info = {
      isArray,
      elem,
      isStruct,
      encDefault: d,
      makeDefault: () => d,
      isDefault: (v) => v === undefined || v === d,
    };
  }
  fieldInfos.set(f, info);
  return info;
}

function implicitDefault(type: string): FieldDefault {
  switch (type) {
    case "int8":
    case "int16":
    case "int32":
    case "uint16":
    case "uint32":
    case "float64":
      return 0;
    case "int64":
      return 0n;
    case "bool":
      return false;
    case "string":
      return "";
    case "uuid":
      return ZERO_UUID;
    default:
      throw new RangeError(`unknown field type: ${type}`);
  }
}

function structDefaultMaker(fields: readonly FieldSchema[]): () => Obj {
  const hit = structDefaults.get(fields);
  if (hit !== undefined) return hit;
  const names = fields.map((f) => f.name);
  const makers = fields.map((f) => fieldInfo(f).makeDefault);
  const make = (): Obj => {
    const o: Obj = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = makers[i]!();
    return o;
  };
  structDefaults.set(fields, make);
  return make;
}

function structIsDefault(fields: readonly FieldSchema[], o: Obj): boolean {
  for (const f of fields) if (!fieldInfo(f).isDefault(o[f.name])) return false;
  return true;
}

/**
 * A message object with every field at its default, as a decoder produces for an empty body.
 *
 * @example
 * ```ts
 * import { Api, messageDefaults } from "@denokafka/kafka/protocol";
 * const req = messageDefaults(Api.Metadata.request);
 * console.log(req.allowAutoTopicCreation); // true
 * ```
 */
export function messageDefaults(schema: MessageSchema): Record<string, unknown> {
  return structDefaultMaker(schema.fields)();
}

// ---------------------------------------------------------------------------------------------
// Version-specific compilation into closures.

interface Codec {
  readonly enc: Enc;
  readonly dec: Dec;
  /** The fewest bytes one encoded value takes; bounds claimed array counts. */
  readonly minSize: number;
}

interface Ctx {
  readonly api: string;
  readonly apiKey: number;
  readonly version: number;
  readonly flexible: boolean;
}

function notNullable(label: string, version: number): never {
  throw new TypeError(`${label} cannot be null at version ${version}`);
}

function decodedNull(label: string): never {
  throw new DecodeError(`${label} is not nullable but was encoded as null`);
}

function primitive(
  type: string,
  nullable: boolean,
  compact: boolean,
  label: string,
  version: number,
): Codec {
  switch (type) {
    case "int8":
      return { enc: (w, v) => void w.int8(v as number), dec: (r) => r.int8(), minSize: 1 };
    case "int16":
      return { enc: (w, v) => void w.int16(v as number), dec: (r) => r.int16(), minSize: 2 };
    case "uint16":
      return { enc: (w, v) => void w.uint16(v as number), dec: (r) => r.uint16(), minSize: 2 };
    case "int32":
      return { enc: (w, v) => void w.int32(v as number), dec: (r) => r.int32(), minSize: 4 };
    case "uint32":
      return { enc: (w, v) => void w.uint32(v as number), dec: (r) => r.uint32(), minSize: 4 };
    case "int64":
      return { enc: (w, v) => void w.int64(v as bigint), dec: (r) => r.int64(), minSize: 8 };
    case "float64":
      return { enc: (w, v) => void w.float64(v as number), dec: (r) => r.float64(), minSize: 8 };
    case "bool":
      return { enc: (w, v) => void w.bool(v as boolean), dec: (r) => r.bool(), minSize: 1 };
    case "uuid":
      return {
        enc: (w, v) => writeUuid(w, v as string),
        dec: (r) => r.uuidString(),
        minSize: 16,
      };
    case "string":
      if (compact) {
        return nullable
          ? {
            enc: (w, v) => void w.compactString(v as string | null),
            dec: (r) => r.compactNullableString(),
            minSize: 1,
          }
          : {
            enc: (w, v) => {
              if (v === null) notNullable(label, version);
              w.compactString(v as string);
            },
            dec: (r) => r.compactString(),
            minSize: 1,
          };
      }
      return nullable
        ? {
          enc: (w, v) => void w.string(v as string | null),
          dec: (r) => r.nullableString(),
          minSize: 2,
        }
        : {
          enc: (w, v) => {
            if (v === null) notNullable(label, version);
            w.string(v as string);
          },
          dec: (r) => r.string(),
          minSize: 2,
        };
    case "bytes":
    case "records":
      // Decoded bytes and records are views into the frame, not copies: a Fetch response's
      // record batches are handed on without being copied.
      if (compact) {
        return nullable
          ? {
            enc: (w, v) => void w.compactBytes(v as Uint8Array | null),
            dec: (r) => r.compactNullableBytes(),
            minSize: 1,
          }
          : {
            enc: (w, v) => {
              if (v === null) notNullable(label, version);
              w.compactBytes(v as Uint8Array);
            },
            dec: (r) => r.compactBytes(),
            minSize: 1,
          };
      }
      return nullable
        ? {
          enc: (w, v) => void w.bytes(v as Uint8Array | null),
          dec: (r) => r.nullableBytes(),
          minSize: 4,
        }
        : {
          enc: (w, v) => {
            if (v === null) notNullable(label, version);
            w.bytes(v as Uint8Array);
          },
          dec: (r) => r.bytes(),
          minSize: 4,
        };
    default:
      throw new RangeError(`unknown field type ${type} in ${label}`);
  }
}

function arrayCodec(
  elem: Codec,
  nullable: boolean,
  compact: boolean,
  label: string,
  v: number,
  int32Items: boolean,
): Codec {
  const encItem = elem.enc;
  const decItem = elem.dec;
  // Kafka's own decoders refuse a count larger than the bytes left; never trust less than 1.
  const itemMin = Math.max(1, elem.minSize);
  const enc: Enc = (w, value) => {
    if (value === null) {
      if (!nullable) notNullable(label, v);
      if (compact) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    const a = value as readonly unknown[];
    const n = a.length;
    if (compact) w.uvarint(n + 1);
    else w.int32(n);
    for (let i = 0; i < n; i++) encItem(w, a[i]);
  };
  // int32 lists (replicas, partitions) are common enough for a loop without a call per item.
  const dec: Dec = int32Items
    ? (r) => {
      const n = compact ? r.compactArrayLength(4) : r.arrayLength(4);
      if (n === null) return nullable ? null : decodedNull(label);
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(r.int32());
      return out;
    }
    : (r) => {
      const n = compact ? r.compactArrayLength(itemMin) : r.arrayLength(itemMin);
      if (n === null) return nullable ? null : decodedNull(label);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(decItem(r));
      return out;
    };
  return { enc, dec, minSize: compact ? 1 : 4 };
}

function fieldCodec(f: FieldSchema, info: FieldInfo, ctx: Ctx, label: string): Codec {
  const v = ctx.version;
  const nullable = inVersions(f.nullableVersions, v);
  const compact = f.flexibleVersions !== undefined
    ? inVersions(f.flexibleVersions, v)
    : ctx.flexible;
  if (info.isArray) {
    const elem = info.isStruct
      ? structCodec(f.fields!, ctx, label)
      : primitive(info.elem, false, compact, label, v);
    return arrayCodec(elem, nullable, compact, label, v, !info.isStruct && info.elem === "int32");
  }
  if (info.isStruct) {
    const s = structCodec(f.fields!, ctx, label);
    if (!nullable) {
      const inner = s.enc;
      return {
        enc: (w, value) => {
          if (value === null) notNullable(label, v);
          inner(w, value);
        },
        dec: s.dec,
        minSize: s.minSize,
      };
    }
    const inner = s.enc;
    const innerDec = s.dec;
    return {
      enc: (w, value) => {
        if (value === null) {
          w.int8(-1);
          return;
        }
        w.int8(1);
        inner(w, value);
      },
      dec: (r) => (r.int8() < 0 ? null : innerDec(r)),
      minSize: 1,
    };
  }
  return primitive(info.elem, nullable, compact, label, v);
}

/** Writes `enc(v)` preceded by its size as a uvarint, in place: encode, then shift right. */
function writeSized(w: Writer, enc: Enc, v: unknown): void {
  const start = w.length;
  const spliced = w.splicedLength;
  enc(w, v);
  // A referenced input (Writer.splice) is not in the buffer this shifts.
  if (w.splicedLength !== spliced) throw new RangeError("a tagged field cannot be spliced");
  const size = w.length - start;
  const k = uvarintSize(size);
  w.reserve(k);
  const buf = w.buffer;
  buf.copyWithin(start + k, start, start + size);
  let p = start;
  let x = size;
  while (x >= 0x80) {
    buf[p++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  buf[p] = x;
}

/**
 * The step writing one regular field. Fixed-size numbers get their own closure (one call less
 * per field, and V8 keeps type feedback per closure literal); the rest go through the codec.
 */
function encStep(
  type: string,
  name: string,
  enc: Enc,
  dflt: unknown,
): (w: Writer, o: Obj) => void {
  switch (type) {
    case "int8":
      return (w, o) => void w.int8((o[name] ?? dflt) as number);
    case "int16":
      return (w, o) => void w.int16((o[name] ?? dflt) as number);
    case "int32":
      return (w, o) => void w.int32((o[name] ?? dflt) as number);
    case "int64":
      return (w, o) => void w.int64((o[name] ?? dflt) as bigint);
    case "bool":
      return (w, o) => void w.bool((o[name] ?? dflt) as boolean);
    default:
      return (w, o) => {
        const value = o[name];
        enc(w, value === undefined ? dflt : value);
      };
  }
}

/** The step reading one regular field into the object being built; see {@linkcode encStep}. */
function decStep(type: string, name: string, dec: Dec): (r: Reader, o: Obj) => void {
  switch (type) {
    case "int8":
      return (r, o) => void (o[name] = r.int8());
    case "int16":
      return (r, o) => void (o[name] = r.int16());
    case "int32":
      return (r, o) => void (o[name] = r.int32());
    case "int64":
      return (r, o) => void (o[name] = r.int64());
    case "bool":
      return (r, o) => void (o[name] = r.bool());
    default:
      return (r, o) => void (o[name] = dec(r));
  }
}

interface TaggedEntry {
  readonly name: string;
  readonly tag: number;
  readonly enc: Enc;
  readonly dec: Dec;
  readonly isDefault: (v: unknown) => boolean;
}

function structCodec(fields: readonly FieldSchema[], ctx: Ctx, path: string): Codec {
  const v = ctx.version;
  const encSteps: ((w: Writer, o: Obj) => void)[] = [];
  const decSteps: ((r: Reader, o: Obj) => void)[] = [];
  const checks: ((o: Obj) => void)[] = [];
  const tagged: TaggedEntry[] = [];
  let minSize = ctx.flexible ? 1 : 0;

  for (const f of fields) {
    const info = fieldInfo(f);
    const name = f.name;
    const label = path === "" ? name : `${path}.${name}`;
    const present = inVersions(f.versions, v);
    const isTagged = present && ctx.flexible && inVersions(f.taggedVersions, v);
    if (!present) {
      const make = info.makeDefault;
      decSteps.push((_r, o) => {
        o[name] = make();
      });
      if (!f.ignorable) {
        const isDefault = info.isDefault;
        checks.push((o) => {
          if (!isDefault(o[name])) {
            throw new UnsupportedVersionError(ctx.api, {
              apiKey: ctx.apiKey,
              detail: `${label} has a non-default value, which version ${v} cannot carry`,
            });
          }
        });
      }
      continue;
    }
    const codec = fieldCodec(f, info, ctx, label);
    if (isTagged) {
      if (f.tag === undefined) throw new RangeError(`${label} has tagged versions but no tag`);
      tagged.push({ name, tag: f.tag, enc: codec.enc, dec: codec.dec, isDefault: info.isDefault });
      const make = info.makeDefault;
      decSteps.push((_r, o) => {
        o[name] = make();
      });
      continue;
    }
    const fixed = info.isArray || info.isStruct ? "" : info.elem;
    encSteps.push(encStep(fixed, name, codec.enc, info.encDefault));
    decSteps.push(decStep(fixed, name, codec.dec));
    minSize += codec.minSize;
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const byTag = new Map<number, TaggedEntry>(tagged.map((t) => [t.tag, t]));
  const flexible = ctx.flexible;
  const nTagged = tagged.length;

  const enc: Enc = (w, value) => {
    if (value === null) notNullable(path || ctx.api, v);
    const o = (value ?? EMPTY_OBJ) as Obj;
    for (let i = 0; i < checks.length; i++) checks[i]!(o);
    for (let i = 0; i < encSteps.length; i++) encSteps[i]!(w, o);
    if (!flexible) return;
    if (nTagged === 0) {
      w.uvarint(0);
      return;
    }
    let n = 0;
    for (let i = 0; i < nTagged; i++) if (!tagged[i]!.isDefault(o[tagged[i]!.name])) n++;
    w.uvarint(n);
    if (n === 0) return;
    for (let i = 0; i < nTagged; i++) {
      const t = tagged[i]!;
      const tv = o[t.name];
      if (t.isDefault(tv)) continue;
      w.uvarint(t.tag);
      writeSized(w, t.enc, tv);
    }
  };

  const dec: Dec = (r) => {
    const o: Obj = {};
    for (let i = 0; i < decSteps.length; i++) decSteps[i]!(r, o);
    if (flexible) {
      const n = r.uvarint();
      for (let i = 0; i < n; i++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        r.need(size, "tagged field");
        const t = byTag.get(tag);
        if (t === undefined) {
          r.skip(size); // an unknown tag, e.g. from a newer broker: skipped, as Kafka does
          continue;
        }
        const end = r.offset + size;
        o[t.name] = t.dec(r);
        if (r.offset !== end) {
          throw new DecodeError(
            `tagged field ${t.tag} (${path ? path + "." : ""}${t.name}) declared ${size} bytes ` +
              `but its value took ${r.offset - (end - size)}`,
          );
        }
      }
    }
    return o;
  };
  return { enc, dec, minSize };
}

interface Compiled {
  readonly enc: MessageEncoder<unknown>;
  readonly dec: MessageDecoder<unknown>;
}

const compiledCache = new WeakMap<MessageSchema, Map<number, Compiled>>();

/** The API name a message belongs to: `MetadataRequest` -> `Metadata`. */
function apiNameOf(schema: MessageSchema): string {
  return schema.name.replace(/(Request|Response)$/, "");
}

function compile(schema: MessageSchema, version: number): Compiled {
  let perVersion = compiledCache.get(schema);
  if (perVersion === undefined) {
    perVersion = new Map();
    compiledCache.set(schema, perVersion);
  }
  const hit = perVersion.get(version);
  if (hit !== undefined) return hit;
  const api = apiNameOf(schema);
  const valid = parseVersions(schema.validVersions);
  if (!Number.isInteger(version) || version < valid.min || version > valid.max) {
    throw new UnsupportedVersionError(api, {
      apiKey: schema.apiKey,
      detail: `${schema.name} version ${version} is not in ${schema.validVersions}`,
    });
  }
  const ctx: Ctx = {
    api,
    apiKey: schema.apiKey,
    version,
    flexible: inVersions(schema.flexibleVersions, version),
  };
  const body = structCodec(schema.fields, ctx, "");
  const structEnc = body.enc;
  const structDec = body.dec;
  const where = `${schema.name} v${version}`;
  const compiled: Compiled = {
    enc: structEnc,
    dec: (r) => {
      try {
        return structDec(r);
      } catch (e) {
        // Name the message in the error; the reader only knows offsets.
        if (e instanceof DecodeError) throw new DecodeError(`${where}: ${e.message}`, { cause: e });
        throw e;
      }
    },
  };
  perVersion.set(version, compiled);
  return compiled;
}

/**
 * The encoder of one version of a message, built on first use and cached. Fields the caller
 * leaves out (`undefined`) take their defaults. Throws {@linkcode UnsupportedVersionError} for
 * a version the schema lacks, or when encoding a non-default value into a version without that
 * field (unless the field is ignorable); `TypeError` for a null where the version forbids it.
 *
 * @example
 * ```ts
 * import { Api, encoderFor, Writer } from "@denokafka/kafka/protocol";
 * const w = new Writer();
 * encoderFor(Api.Metadata.request, 12)(w, { topics: null });
 * console.log(w.length); // 4
 * ```
 */
export function encoderFor<T = Record<string, unknown>>(
  schema: MessageSchema,
  version: number,
): MessageEncoder<T> {
  return compile(schema, version).enc as MessageEncoder<T>;
}

/**
 * The decoder of one version of a message, built on first use and cached. The decoded object
 * has every field set (absent ones at their defaults); unknown tagged fields are skipped;
 * malformed input raises {@linkcode DecodeError}. Decoded `bytes` and `records` values are views
 * into the input buffer.
 *
 * @example
 * ```ts
 * import { Api, decoderFor, Reader } from "@denokafka/kafka/protocol";
 * const res = decoderFor(Api.Heartbeat.response, 0)(new Reader(new Uint8Array(2)));
 * console.log(res.errorCode); // 0
 * ```
 */
export function decoderFor<T = Record<string, unknown>>(
  schema: MessageSchema,
  version: number,
): MessageDecoder<T> {
  return compile(schema, version).dec as MessageDecoder<T>;
}
