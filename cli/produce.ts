/**
 * `produce`: lines or JSON lines from stdin or a file, at full speed through the producer's
 * writable stream (kafka-console-producer.sh, `kcat -P`).
 *
 * @module
 */

import {
  type CompressionName,
  type PartitionerName,
  Producer,
  type ProducerRecord,
  type ProducerRecordHeader,
} from "../mod.ts";
import { type Args, InputError, UsageError } from "./args.ts";
import { type Command, withAdmin } from "./command.ts";
import { clientOptions } from "./connect.ts";
import { decodeInput, type Encoding, encodingOf } from "./format.ts";
import { printJson, Progress } from "./output.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 1) return hay.indexOf(needle[0]!, from);
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a byte stream into lines (without `\n` or a trailing `\r`). */
function lineSplitter(): TransformStream<Uint8Array, Uint8Array> {
  let rest: Uint8Array | undefined;
  const emit = (line: Uint8Array, c: TransformStreamDefaultController<Uint8Array>) =>
    c.enqueue(line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, -1) : line);
  return new TransformStream({
    transform(chunk, c) {
      let buf = chunk;
      if (rest) {
        buf = new Uint8Array(rest.length + chunk.length);
        buf.set(rest);
        buf.set(chunk, rest.length);
        rest = undefined;
      }
      let start = 0;
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
        emit(buf.subarray(start, nl), c);
        start = nl + 1;
      }
      if (start < buf.length) rest = buf.slice(start);
    },
    flush(c) {
      if (rest && rest.length > 0) emit(rest, c);
    },
  });
}

interface LineOptions {
  topic: string;
  partition: number | undefined;
  keySeparator: Uint8Array | undefined;
  keyEncoding: Encoding;
  valueEncoding: Encoding;
  headers: ProducerRecordHeader[];
}

function fromLine(line: Uint8Array, o: LineOptions): ProducerRecord {
  let key: Uint8Array | null = null;
  let value = line;
  if (o.keySeparator) {
    const at = indexOf(line, o.keySeparator);
    if (at >= 0) {
      key = line.subarray(0, at);
      value = line.subarray(at + o.keySeparator.length);
    }
  }
  if (o.keyEncoding !== "utf8" && key) key = decodeInput(decoder.decode(key), o.keyEncoding);
  if (o.valueEncoding !== "utf8") value = decodeInput(decoder.decode(value), o.valueEncoding);
  return {
    topic: o.topic,
    key,
    value,
    ...(o.headers.length > 0 && { headers: o.headers }),
    ...(o.partition !== undefined && { partition: o.partition }),
  };
}

function bytesField(v: unknown, enc: unknown, what: string, fallback: Encoding): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new InputError(`JSON input: "${what}" must be a string or null`);
  return decodeInput(v, enc === undefined ? fallback : encodingOf(String(enc), what));
}

function fromJson(line: Uint8Array, n: number, o: LineOptions): ProducerRecord | undefined {
  const text = decoder.decode(line).trim();
  if (text === "") return undefined;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new InputError(`JSON input line ${n}: ${(e as Error).message}`);
  }
  if (obj === null || typeof obj !== "object") {
    throw new InputError(`JSON input line ${n}: expected an object`);
  }
  const headers: ProducerRecordHeader[] = [...o.headers];
  if (Array.isArray(obj.headers)) {
    for (const h of obj.headers as Record<string, unknown>[]) {
      headers.push({
        key: String(h.key),
        value: bytesField(h.value, h.encoding, "header value", o.valueEncoding),
      });
    }
  } else if (obj.headers && typeof obj.headers === "object") {
    for (const [k, v] of Object.entries(obj.headers)) {
      headers.push({ key: k, value: v === null ? null : String(v) });
    }
  }
  const partition = typeof obj.partition === "number" ? obj.partition : o.partition;
  return {
    topic: o.topic,
    key: bytesField(obj.key, obj.keyEncoding, "key", o.keyEncoding),
    value: bytesField(obj.value, obj.valueEncoding, "value", o.valueEncoding),
    ...(headers.length > 0 && { headers }),
    ...(partition !== undefined && { partition }),
    ...(typeof obj.timestamp === "number" && { timestamp: obj.timestamp }),
  };
}

async function run(args: Args): Promise<number> {
  const topic = args.need("topic");
  const format = args.str("format") ?? "lines";
  if (format !== "lines" && format !== "json") throw new UsageError("--format: lines or json");
  const compression = (args.str("compression") ?? "none") as CompressionName;
  if (!CODECS.includes(compression)) throw new UsageError(`--compression: ${CODECS.join(", ")}`);
  const acksText = args.str("acks") ?? "all";
  if (!["0", "1", "-1", "all"].includes(acksText)) throw new UsageError("--acks: 0, 1, -1 or all");
  const acks = acksText === "all" ? "all" : Number(acksText) as 0 | 1 | -1;
  const sep = args.str("key-separator");
  const encoding = args.str("encoding");
  const lineOptions: LineOptions = {
    topic,
    partition: args.int("partition"),
    keySeparator: sep === undefined ? undefined : encoder.encode(unescape(sep)),
    keyEncoding: encodingOf(args.str("key-encoding") ?? encoding, "--key-encoding"),
    valueEncoding: encodingOf(args.str("value-encoding") ?? encoding, "--value-encoding"),
    headers: args.list("header", false).map((h) => {
      const eq = h.search(/[=:]/);
      if (eq <= 0) throw new UsageError(`--header expects key=value, not "${h}"`);
      return { key: h.slice(0, eq), value: h.slice(eq + 1) };
    }),
  };
  const file = args.str("file") ?? args.positional[0];
  const total = args.int("expected-records");

  // A missing topic is reported at once (one line, exit 1) rather than after max.block.ms.
  if (!args.bool("allow-auto-create")) {
    await withAdmin(args, async (admin) => void await admin.describeTopic(topic));
  }
  const base = await clientOptions(args);
  const producer = new Producer({
    ...base,
    acks,
    compression,
    allowAutoTopicCreation: args.bool("allow-auto-create"),
    ...(args.has("partitioner") && { partitioner: args.str("partitioner") as PartitionerName }),
    ...(args.has("linger-ms") && { lingerMs: args.int("linger-ms")! }),
    ...(args.has("batch-size") && { batchSize: args.int("batch-size")! }),
    ...(args.has("idempotence") && { idempotent: args.str("idempotence") !== "false" }),
  });
  const progress = new Progress("produced", {
    total,
    enabled: !args.bool("no-progress"),
  });
  let input: ReadableStream<Uint8Array>;
  if (file === undefined || file === "-") input = Deno.stdin.readable;
  else {
    try {
      input = (await Deno.open(file)).readable;
    } catch (e) {
      await producer.close();
      throw new UsageError(`cannot open ${file}: ${(e as Error).message}`);
    }
  }
  let n = 0;
  const toRecords = new TransformStream<Uint8Array, ProducerRecord>({
    transform(line, c) {
      n++;
      const r = format === "json" ? fromJson(line, n, lineOptions) : fromLine(line, lineOptions);
      if (r === undefined) return;
      c.enqueue(r);
      progress.tick(1, line.length);
    },
  });
  try {
    await input.pipeThrough(lineSplitter()).pipeThrough(toRecords).pipeTo(producer.writable, {
      preventAbort: true, // a bad line must not fail the records read before it
    });
    await producer.close();
  } catch (e) {
    // A bad input line stops reading, but what was read before it is still delivered (close
    // waits for it); the count on stderr says how far it got.
    await producer.close({ timeoutMs: 30_000 }).catch(() => producer.abort(e).catch(() => {}));
    progress.done();
    if (!args.bool("quiet")) console.error(`Produced ${progress.count} records to ${topic}`);
    throw e;
  }
  progress.done();
  if (args.bool("json")) printJson({ topic, records: progress.count, bytes: progress.bytes });
  else if (!args.bool("quiet")) console.error(`Produced ${progress.count} records to ${topic}`);
  return 0;
}

function unescape(s: string): string {
  return s.replace(/\\([nt\\])/g, (_, c: string) => ({ n: "\n", t: "\t", "\\": "\\" })[c]!);
}

/** The `produce` command. */
export const produceCommand: Command = {
  name: "produce",
  summary: "write lines or JSON lines from stdin or a file to a topic",
  usage: [
    "kafka produce --topic T [--file F] [--format lines|json] [--key-separator S] [options]",
    '  JSON lines: {"key": "...", "value": "...", "headers": [{"key": "h", "value": "v"}],',
    '              "partition": 0, "timestamp": 1700000000000, "valueEncoding": "base64"}',
  ].join("\n"),
  options: {
    topic: { type: "string", short: "t", help: "the topic" },
    file: { type: "string", short: "F", help: "read this file instead of stdin" },
    format: { type: "string", help: "lines (default) | json (JSON lines)" },
    "key-separator": { type: "string", short: "K", help: "lines: split key and value here" },
    header: { type: "list", short: "H", help: "key=value header on every record (repeatable)" },
    partition: { type: "string", short: "p", help: "write every record to this partition" },
    partitioner: { type: "string", help: "default, fnv1a, murmur2, consistent_random, ..." },
    compression: {
      type: "string",
      short: "z",
      aliases: ["compression-codec", "codec"],
      help: "none, gzip, snappy, lz4, zstd",
    },
    acks: { type: "string", help: "0, 1, all (default)" },
    "linger-ms": { type: "string", help: "producer linger.ms" },
    "batch-size": { type: "string", help: "producer batch.size" },
    idempotence: { type: "string", help: "true (default) | false" },
    encoding: { type: "string", help: "input keys/values are utf8 (default), base64 or hex" },
    "key-encoding": { type: "string", help: "as --encoding, keys only" },
    "value-encoding": { type: "string", help: "as --encoding, values only" },
    "expected-records": { type: "string", help: "total, for the progress ETA" },
    "allow-auto-create": { type: "boolean", help: "let the broker create a missing topic" },
    "no-progress": { type: "boolean", help: "no progress line even on a terminal" },
    quiet: { type: "boolean", short: "q", help: "no summary line on stderr" },
  },
  run,
};
