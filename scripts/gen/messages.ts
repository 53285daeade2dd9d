/**
 * Writes protocol/messages/*.ts from the message specs inside the pinned kafka-clients jar
 * (`common/message/*.json`): one declarative schema per request and response covering every
 * version, the TypeScript interfaces of their values, and the typed `Api` registry; and the
 * same for the data formats carried inside other messages (the consumer protocol's
 * subscription and assignment, in JoinGroup and SyncGroup bytes).
 *
 * Only facts are taken from the specs (names, types, versions, tags, defaults); their prose
 * ("about" texts and comments) is dropped. Output is formatted with `deno fmt`, so running the
 * generator again reproduces the committed files byte for byte.
 *
 * Usage: `deno run -A scripts/gen/messages.ts [--check] [jar]`
 *   --check  compare with the committed files instead of writing; exit 1 on any difference.
 */
import { defaultJarDir, PINNED_KAFKA_VERSION } from "../kafka/versions.ts";
import { PRIMITIVE_TYPES } from "./spec_types.ts";

/** The APIs this client speaks, by Kafka's name (the spec files are `<Name>Request.json`...). */
const APIS = [
  "Produce",
  "Fetch",
  "ListOffsets",
  "Metadata",
  "OffsetCommit",
  "OffsetFetch",
  "FindCoordinator",
  "JoinGroup",
  "Heartbeat",
  "LeaveGroup",
  "SyncGroup",
  "DescribeGroups",
  "ListGroups",
  "SaslHandshake",
  "ApiVersions",
  "CreateTopics",
  "DeleteTopics",
  "DeleteRecords",
  "InitProducerId",
  "OffsetForLeaderEpoch",
  "AddPartitionsToTxn",
  "AddOffsetsToTxn",
  "EndTxn",
  "TxnOffsetCommit",
  "DescribeAcls",
  "CreateAcls",
  "DeleteAcls",
  "DescribeConfigs",
  "AlterConfigs",
  "DescribeLogDirs",
  "SaslAuthenticate",
  "CreatePartitions",
  "DeleteGroups",
  "ElectLeaders",
  "IncrementalAlterConfigs",
  "AlterPartitionReassignments",
  "ListPartitionReassignments",
  "OffsetDelete",
  "DescribeClientQuotas",
  "AlterClientQuotas",
  "DescribeUserScramCredentials",
  "AlterUserScramCredentials",
  "DescribeCluster",
  "DescribeProducers",
  "DescribeTransactions",
  "ListTransactions",
  "ConsumerGroupHeartbeat",
  "ConsumerGroupDescribe",
];

/**
 * Data formats (specs of `"type": "data"`, no API key) carried as bytes inside messages, by the
 * file they go to. The consumer protocol's two formats are what JoinGroup's protocol metadata
 * and SyncGroup's assignment hold for a classic consumer group; Java decodes them with the
 * classes generated from these same specs, so the bytes match by construction.
 */
const DATA: Record<string, readonly string[]> = {
  consumer_protocol: ["ConsumerProtocolSubscription", "ConsumerProtocolAssignment"],
};

const PRIMITIVES = PRIMITIVE_TYPES;
const OPEN_MAX = 0x7fff;

// ---------------------------------------------------------------------------------------------
// Reading the jar (a zip) with Deno built-ins only.

async function readZipEntries(
  path: string,
  wanted: (name: string) => boolean,
): Promise<Map<string, string>> {
  const buf = await Deno.readFile(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path} is not a zip file`);
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const names = new TextDecoder();
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error("bad zip central directory");
    const method = view.getUint16(p + 10, true);
    const compressed = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = names.decode(buf.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (!wanted(name)) continue;
    const dataStart = local + 30 + view.getUint16(local + 26, true) +
      view.getUint16(local + 28, true);
    const data = buf.subarray(dataStart, dataStart + compressed);
    let bytes: Uint8Array;
    if (method === 0) bytes = data;
    else if (method === 8) {
      const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    } else throw new Error(`unsupported zip method ${method} for ${name}`);
    out.set(name, new TextDecoder().decode(bytes));
  }
  return out;
}

/** Removes `//` and block comments outside string literals (the specs are JSON plus comments). */
function stripComments(s: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += s[++i] ?? "";
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && s[i + 1] === "/") {
      while (i < s.length && s[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && s[i + 1] === "*") {
      i += 2;
      while (i < s.length && !(s[i] === "*" && s[i + 1] === "/")) i++;
      i++;
    } else out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The spec model.

interface SpecField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  ignorable?: boolean;
  default?: string | number | boolean;
  fields?: SpecField[];
}

interface Spec {
  apiKey?: number;
  type: "request" | "response" | "data";
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: SpecField[];
  commonStructs?: { name: string; fields: SpecField[] }[];
}

interface Range {
  min: number;
  max: number;
}

function range(spec: string | undefined): Range {
  if (spec === undefined || spec === "none") return { min: 1, max: 0 };
  const m = /^(\d+)(?:(\+)|-(\d+))?$/.exec(spec.trim());
  if (m === null) throw new Error(`bad version set ${spec}`);
  const min = Number(m[1]);
  return { min, max: m[2] ? OPEN_MAX : m[3] ? Number(m[3]) : min };
}

function intersect(a: Range, b: Range): Range {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
}

function isEmpty(r: Range): boolean {
  return r.min > r.max;
}

function covers(outer: Range, inner: Range): boolean {
  return isEmpty(inner) || (outer.min <= inner.min && outer.max >= inner.max);
}

function showRange(r: Range): string {
  if (isEmpty(r)) return "none";
  if (r.max === OPEN_MAX) return `${r.min}+`;
  return r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
}

function camel(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Emitting one message.

class MessageEmitter {
  readonly #spec: Spec;
  readonly #api: string;
  readonly #request: boolean;
  readonly #valid: Range;
  readonly #common = new Map<string, SpecField[]>();
  /** struct name -> interface name */
  readonly #ifaceNames = new Map<string, string>();
  /** struct name -> fields and the union of version ranges it appears in */
  readonly #structs = new Map<string, { fields: SpecField[]; ctx: Range }>();
  readonly #structOrder: string[] = [];

  constructor(spec: Spec, api: string) {
    this.#spec = spec;
    this.#api = api;
    this.#request = spec.type === "request";
    this.#valid = range(spec.validVersions);
    for (const c of spec.commonStructs ?? []) this.#common.set(c.name, c.fields);
    this.#collect(spec.fields, this.#valid);
    const seen = new Set<string>([spec.name]);
    for (const s of this.#structOrder) {
      const n = this.#ifaceName(s);
      if (seen.has(n)) throw new Error(`interface name clash ${n} in ${spec.name}`);
      seen.add(n);
    }
  }

  get typeName(): string {
    return this.#spec.name;
  }

  get schemaName(): string {
    return `${this.#spec.name}Schema`;
  }

  #fieldsOf(f: SpecField): SpecField[] | undefined {
    const elem = f.type.replace(/^\[\]/, "");
    if (PRIMITIVES.has(elem)) {
      if (f.fields) throw new Error(`${f.name}: primitive with fields`);
      return undefined;
    }
    const fields = f.fields ?? this.#common.get(elem);
    if (fields === undefined) throw new Error(`${this.#spec.name}.${f.name}: unknown type ${elem}`);
    return fields;
  }

  #collect(fields: SpecField[], ctx: Range): void {
    for (const f of fields) {
      if (f.versions === undefined) throw new Error(`${this.#spec.name}.${f.name}: no versions`);
      const sub = this.#fieldsOf(f);
      if (sub === undefined) continue;
      const elem = f.type.replace(/^\[\]/, "");
      const here = intersect(ctx, range(f.versions));
      const prev = this.#structs.get(elem);
      if (prev === undefined) {
        this.#structs.set(elem, { fields: sub, ctx: here });
        this.#structOrder.push(elem);
      } else {
        if (prev.fields !== sub) throw new Error(`two structs named ${elem} in ${this.#spec.name}`);
        prev.ctx = { min: Math.min(prev.ctx.min, here.min), max: Math.max(prev.ctx.max, here.max) };
      }
      this.#collect(sub, here);
    }
  }

  /** Unique exported names: `MetadataRequestTopic` stays, `Topic` becomes `XRequestTopic`. */
  #ifaceName(struct: string): string {
    const hit = this.#ifaceNames.get(struct);
    if (hit !== undefined) return hit;
    const msg = this.#spec.name;
    let n: string;
    if (struct.startsWith(msg)) n = struct;
    else if (struct.startsWith(this.#api) && struct.length > this.#api.length) {
      n = msg + struct.slice(this.#api.length);
    } else n = msg + struct;
    this.#ifaceNames.set(struct, n);
    return n;
  }

  #defaultLiteral(f: SpecField): string | undefined {
    const d = f.default;
    if (d === undefined) return undefined;
    const elem = f.type.replace(/^\[\]/, "");
    const nullable = f.nullableVersions !== undefined;
    const isArray = f.type.startsWith("[]");
    if (isArray || !PRIMITIVES.has(elem) || elem === "bytes" || elem === "records") {
      if (d === "null" && nullable) return "null";
      throw new Error(`${this.#spec.name}.${f.name}: unsupported default ${d}`);
    }
    const s = String(d);
    switch (elem) {
      case "int8":
      case "int16":
      case "int32":
      case "uint16":
      case "uint32": {
        const n = /^-?0x/i.test(s) ? parseInt(s, 16) : Number(s);
        if (!Number.isInteger(n)) throw new Error(`${f.name}: bad default ${s}`);
        return String(n);
      }
      case "int64":
        return `${BigInt(s)}n`;
      case "float64": {
        const n = Number(s);
        if (Number.isNaN(n)) throw new Error(`${f.name}: bad default ${s}`);
        return String(n);
      }
      case "bool":
        if (s !== "true" && s !== "false") throw new Error(`${f.name}: bad default ${s}`);
        return s;
      case "string":
        if (s === "null") {
          if (!nullable) throw new Error(`${f.name}: null default on a non-nullable string`);
          return "null";
        }
        return JSON.stringify(s);
      default:
        throw new Error(`${this.#spec.name}.${f.name}: unsupported default for ${elem}`);
    }
  }

  // --- the schema literal -------------------------------------------------------------------

  #fieldLiteral(f: SpecField, commonRefs: Set<string>): string {
    const parts = [`name: ${JSON.stringify(camel(f.name))}`, `type: ${JSON.stringify(f.type)}`];
    parts.push(`versions: ${JSON.stringify(f.versions)}`);
    if (f.nullableVersions !== undefined) {
      parts.push(`nullableVersions: ${JSON.stringify(f.nullableVersions)}`);
    }
    if (f.taggedVersions !== undefined) {
      parts.push(`taggedVersions: ${JSON.stringify(f.taggedVersions)}`);
    }
    if (f.tag !== undefined) parts.push(`tag: ${f.tag}`);
    if (f.flexibleVersions !== undefined) {
      parts.push(`flexibleVersions: ${JSON.stringify(f.flexibleVersions)}`);
    }
    if (f.ignorable === true) parts.push("ignorable: true");
    const d = this.#defaultLiteral(f);
    if (d !== undefined) parts.push(`default: ${d}`);
    const elem = f.type.replace(/^\[\]/, "");
    if (!PRIMITIVES.has(elem)) {
      if (f.fields === undefined && this.#common.has(elem)) {
        commonRefs.add(elem);
        parts.push(`fields: ${this.#commonConst(elem)}`);
      } else {
        const sub = this.#fieldsOf(f)!.map((x) => this.#fieldLiteral(x, commonRefs));
        parts.push(`fields: [\n${sub.join(",\n")},\n]`);
      }
    }
    return `{ ${parts.join(", ")} }`;
  }

  #commonConst(struct: string): string {
    return `${snake(this.#spec.name)}_${snake(struct)}_fields`.toUpperCase();
  }

  schemaSource(): string {
    const refs = new Set<string>();
    const top = this.#spec.fields.map((f) => this.#fieldLiteral(f, refs)).join(",\n");
    // Shared structs become shared constants, each declared after the ones it uses.
    let commons = "";
    const done = new Set<string>();
    const declare = (name: string, stack: string[]) => {
      if (done.has(name)) return;
      if (stack.includes(name)) throw new Error(`recursive common struct ${name}`);
      const inner = new Set<string>();
      const body = this.#common.get(name)!.map((f) => this.#fieldLiteral(f, inner)).join(",\n");
      for (const dep of inner) declare(dep, [...stack, name]);
      done.add(name);
      commons += `const ${this.#commonConst(name)}: readonly FieldSchema[] = [\n${body},\n];\n\n`;
    };
    for (const c of this.#spec.commonStructs ?? []) if (refs.has(c.name)) declare(c.name, []);
    const s = this.#spec;
    const codecFn = this.#request ? "encoderFor" : "decoderFor";
    const v = this.#valid.max;
    const key = s.apiKey === undefined ? "a data format, no API key" : `API key ${s.apiKey}`;
    return `${commons}/**
 * The schema of ${s.name} (${key}), versions ${s.validVersions}, flexible ${s.flexibleVersions}.
 *
 * @example
 * \`\`\`ts
 * import { ${codecFn}, ${this.schemaName} } from "@denokafka/kafka/protocol";
 * const codec = ${codecFn}(${this.schemaName}, ${v});
 * console.log(typeof codec); // function
 * \`\`\`
 */
export const ${this.schemaName}: MessageSchema = {
  name: ${JSON.stringify(s.name)},
  apiKey: ${s.apiKey ?? -1},
  type: ${JSON.stringify(s.type)},
  validVersions: ${JSON.stringify(s.validVersions)},
  flexibleVersions: ${JSON.stringify(s.flexibleVersions)},
  fields: [
${top}
  ],
};
`;
  }

  // --- the interfaces -----------------------------------------------------------------------

  #tsType(f: SpecField): string {
    const elem = f.type.replace(/^\[\]/, "");
    let t: string;
    switch (elem) {
      case "int8":
      case "int16":
      case "int32":
      case "uint16":
      case "uint32":
      case "float64":
        t = "number";
        break;
      case "int64":
        t = "bigint";
        break;
      case "bool":
        t = "boolean";
        break;
      case "string":
      case "uuid":
        t = "string";
        break;
      case "bytes":
      case "records":
        t = "Uint8Array";
        break;
      default:
        t = this.#ifaceName(elem);
    }
    if (f.type.startsWith("[]")) t = this.#request ? `readonly ${t}[]` : `${t}[]`;
    if (this.#nullable(f)) t += " | null";
    return t;
  }

  #nullable(f: SpecField): boolean {
    return f.type === "records" ||
      !isEmpty(intersect(range(f.nullableVersions), intersect(this.#valid, range(f.versions))));
  }

  #optional(f: SpecField, ctx: Range): boolean {
    return !covers(range(f.versions), ctx) || f.default !== undefined || this.#nullable(f) ||
      f.tag !== undefined;
  }

  #fieldDoc(f: SpecField, ctx: Range): string {
    const facts = [`${f.type}, versions ${showRange(intersect(ctx, range(f.versions)))}`];
    if (f.nullableVersions !== undefined) {
      facts.push(
        `nullable ${
          showRange(intersect(intersect(ctx, range(f.versions)), range(f.nullableVersions)))
        }`,
      );
    }
    if (f.tag !== undefined) facts.push(`tag ${f.tag} in ${f.taggedVersions}`);
    const d = this.#defaultLiteral(f);
    if (d !== undefined) facts.push(`default ${d}`);
    if (f.ignorable) facts.push("ignorable");
    if (f.flexibleVersions !== undefined) facts.push(`flexible ${f.flexibleVersions}`);
    return `/** ${facts.join("; ")}. */`;
  }

  #interface(name: string, fields: SpecField[], ctx: Range, doc: string): string {
    const props = fields.map((f) => {
      const ro = this.#request ? "readonly " : "";
      const opt = this.#request && this.#optional(f, ctx);
      const type = this.#tsType(f) + (opt ? " | undefined" : "");
      return `  ${this.#fieldDoc(f, ctx)}\n  ${ro}${camel(f.name)}${opt ? "?" : ""}: ${type};`;
    });
    return `${doc}\nexport interface ${name} {\n${props.join("\n")}\n}\n`;
  }

  /** A literal with every required field at a zero value, for the generated examples. */
  #minimal(fields: SpecField[], ctx: Range): string {
    const parts: string[] = [];
    for (const f of fields) {
      if (this.#optional(f, ctx)) continue;
      const elem = f.type.replace(/^\[\]/, "");
      let lit: string;
      if (f.type.startsWith("[]")) lit = "[]";
      else if (elem === "int64") lit = "0n";
      else if (elem === "bool") lit = "false";
      else if (elem === "string") lit = '""';
      else if (elem === "uuid") lit = '"AAAAAAAAAAAAAAAAAAAAAA"';
      else if (elem === "bytes") lit = "new Uint8Array()";
      else if (PRIMITIVES.has(elem)) lit = "0";
      else lit = this.#minimal(this.#fieldsOf(f)!, intersect(ctx, range(f.versions)));
      parts.push(`${camel(f.name)}: ${lit}`);
    }
    return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`;
  }

  typesSource(): string {
    const s = this.#spec;
    const v = this.#valid.max;
    const apiRef = `Api.${this.#api}`;
    const what = s.type === "data"
      ? `The ${s.name} data format (no API key), versions ${s.validVersions}, flexible ${s.flexibleVersions}.`
      : `The ${this.#api} ${s.type} (API key ${s.apiKey}), versions ${s.validVersions}, ` +
        `flexible ${s.flexibleVersions}.`;
    const example = s.type === "data"
      ? ` * import { ${this.schemaName}, decoderFor, type ${s.name} } from "@denokafka/kafka/protocol";
 * const read = decoderFor<${s.name}>(${this.schemaName}, ${v});
 * console.log(typeof read); // function`
      : this.#request
      ? ` * import { Api, encodeRequestFrame, type ${s.name} } from "@denokafka/kafka/protocol";
 * const body: ${s.name} = ${this.#minimal(s.fields, this.#valid)};
 * const frame = encodeRequestFrame(${apiRef}, ${v}, 1, "my-app", body);
 * console.log(frame.length > 4); // true`
      : ` * import { Api, decodeResponse, type ${s.name} } from "@denokafka/kafka/protocol";
 * const read = (frame: Uint8Array): ${s.name} => decodeResponse(${apiRef}, ${v}, frame);
 * console.log(typeof read); // function`;
    let out = this.#interface(
      s.name,
      s.fields,
      this.#valid,
      `/**\n * ${what}\n *\n * @example\n * \`\`\`ts\n${example}\n * \`\`\`\n */`,
    );
    for (const struct of this.#structOrder) {
      const { fields, ctx } = this.#structs.get(struct)!;
      const name = this.#ifaceName(struct);
      const first = fields[0] === undefined ? "" : `.${camel(fields[0].name)}`;
      const doc = `/**
 * The ${struct} struct of ${s.name}, versions ${showRange(ctx)}.
 *
 * @example
 * \`\`\`ts
 * import type { ${name} } from "@denokafka/kafka/protocol";
 * const pick = (v: ${name}) => v${first};
 * console.log(typeof pick); // function
 * \`\`\`
 */`;
      out += "\n" + this.#interface(name, fields, ctx, doc);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------

interface Generated {
  path: string;
  text: string;
}

async function generate(jar: string, kafkaVersion: string): Promise<Generated[]> {
  const names = new Set(APIS.flatMap((a) => [`${a}Request`, `${a}Response`]));
  for (const list of Object.values(DATA)) for (const n of list) names.add(n);
  const entries = await readZipEntries(jar, (n) => {
    const m = /^common\/message\/(\w+)\.json$/.exec(n);
    return m !== null && names.has(m[1]!);
  });
  const specs = new Map<string, Spec>();
  for (const [path, text] of entries) {
    const spec = JSON.parse(stripComments(text)) as Spec;
    specs.set(/(\w+)\.json$/.exec(path)![1]!, spec);
  }
  const header =
    `// Generated by scripts/gen/messages.ts from the message specs of kafka-clients ${kafkaVersion}.\n` +
    "// Do not edit: run `deno run -A scripts/gen/messages.ts`.\n\n";
  const files: Generated[] = [];
  const rows: {
    api: string;
    key: number;
    file: string;
    req: MessageEmitter;
    res: MessageEmitter;
  }[] = [];
  for (const api of APIS) {
    const req = specs.get(`${api}Request`);
    const res = specs.get(`${api}Response`);
    if (req === undefined || res === undefined) throw new Error(`no spec for ${api} in ${jar}`);
    if (
      req.apiKey === undefined || req.validVersions !== res.validVersions ||
      req.apiKey !== res.apiKey
    ) {
      throw new Error(`${api}: request and response disagree on key or versions`);
    }
    const reqE = new MessageEmitter(req, api);
    const resE = new MessageEmitter(res, api);
    const file = snake(api);
    const schemas = reqE.schemaSource() + "\n" + resE.schemaSource();
    const needed = schemas.includes("FieldSchema[]")
      ? "FieldSchema, MessageSchema"
      : "MessageSchema";
    const text = header +
      `/**\n * The ${api} API (key ${req.apiKey}): request and response schemas and types.\n *\n * @module\n */\n\n` +
      `import type { ${needed} } from "../schema.ts";\n\n` +
      reqE.typesSource() + "\n" + resE.typesSource() + "\n" + schemas;
    files.push({ path: `protocol/messages/${file}.ts`, text });
    rows.push({ api, key: req.apiKey, file, req: reqE, res: resE });
  }
  const dataFiles: string[] = [];
  for (const [file, list] of Object.entries(DATA)) {
    const emitters = list.map((n) => {
      const spec = specs.get(n);
      if (spec === undefined || spec.type !== "data") {
        throw new Error(`no data spec ${n} in ${jar}`);
      }
      return new MessageEmitter(spec, n);
    });
    const schemas = emitters.map((e) => e.schemaSource()).join("\n");
    const needed = schemas.includes("FieldSchema[]")
      ? "FieldSchema, MessageSchema"
      : "MessageSchema";
    const text = header +
      `/**\n * Data formats carried as bytes inside messages: ${
        list.join(", ")
      }.\n *\n * @module\n */\n\n` +
      `import type { ${needed} } from "../schema.ts";\n\n` +
      emitters.map((e) => e.typesSource()).join("\n") + "\n" + schemas;
    files.push({ path: `protocol/messages/${file}.ts`, text });
    dataFiles.push(file);
  }
  rows.sort((a, b) => a.key - b.key);
  const imports = rows.map((r) =>
    `import {\n  type ${r.req.typeName},\n  ${r.req.schemaName},\n  type ${r.res.typeName},\n  ${r.res.schemaName},\n} from "./${r.file}.ts";`
  ).join("\n");
  const registryProps = rows.map((r) =>
    `  /** API key ${r.key}. */\n  readonly ${r.api}: ApiDef<${r.req.typeName}, ${r.res.typeName}>;`
  ).join("\n");
  const registryValues = rows.map((r) =>
    `  ${r.api}: defineApi<${r.req.typeName}, ${r.res.typeName}>(${r.req.schemaName}, ${r.res.schemaName}),`
  ).join("\n");
  const mod = header + `/**
 * Every message schema and type this client speaks, and the typed \`Api\` registry.
 *
 * @module
 */

import { type ApiDef, defineApi } from "../api_def.ts";
${imports}

${rows.map((r) => `export * from "./${r.file}.ts";`).join("\n")}
${dataFiles.map((f) => `export * from "./${f}.ts";`).join("\n")}

/**
 * The type of {@linkcode Api}: one typed {@linkcode ApiDef} per API.
 *
 * @example
 * \`\`\`ts
 * import type { ApiRegistry } from "@denokafka/kafka/protocol";
 * const names = (r: ApiRegistry) => Object.keys(r);
 * console.log(typeof names); // function
 * \`\`\`
 */
export interface ApiRegistry {
${registryProps}
}

/**
 * Every API this client speaks, with its versions (from Kafka ${kafkaVersion}'s specs) and codecs.
 *
 * @example
 * \`\`\`ts
 * import { Api } from "@denokafka/kafka/protocol";
 * console.log(Api.Metadata.key, Api.Metadata.maxVersion); // 3 13
 * \`\`\`
 */
export const Api: ApiRegistry = {
${registryValues}
};
`;
  files.push({ path: "protocol/messages/mod.ts", text: mod });
  return files;
}

async function format(text: string, root: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "ts", "-"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}\n${text}`);
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const positional = Deno.args.filter((a) => !a.startsWith("--"));
  const root = new URL("../../", import.meta.url).pathname;
  const jar = positional[0] ??
    `${defaultJarDir(PINNED_KAFKA_VERSION)}/kafka-clients-${PINNED_KAFKA_VERSION}.jar`;
  const version = /kafka-clients-([^/]+)\.jar$/.exec(jar)?.[1] ?? PINNED_KAFKA_VERSION;
  const files = await generate(jar, version);
  // A few formatter processes at a time: the machine is shared.
  const formatted: Generated[] = [];
  for (let i = 0; i < files.length; i += 4) {
    const batch = files.slice(i, i + 4);
    formatted.push(
      ...await Promise.all(
        batch.map(async (f) => ({ path: f.path, text: await format(f.text, root) })),
      ),
    );
  }
  await Deno.mkdir(`${root}protocol/messages`, { recursive: true });
  const expected = new Set(formatted.map((f) => f.path));
  let stale = 0;
  for (const entry of Deno.readDirSync(`${root}protocol/messages`)) {
    const p = `protocol/messages/${entry.name}`;
    if (entry.isFile && !expected.has(p)) {
      stale++;
      console.error(`${p} is not generated by this script`);
    }
  }
  if (check) {
    let differ = stale;
    for (const f of formatted) {
      let current = "";
      try {
        current = await Deno.readTextFile(root + f.path);
      } catch { /* missing counts as different */ }
      if (current !== f.text) {
        differ++;
        console.error(`${f.path} differs from the generator's output`);
      }
    }
    if (differ > 0) Deno.exit(1);
    console.log(`protocol/messages: ${formatted.length} files up to date`);
  } else {
    for (const f of formatted) await Deno.writeTextFile(root + f.path, f.text);
    console.log(`wrote ${formatted.length} files to protocol/messages`);
  }
}
