/**
 * How consumed records are printed: kcat-style `-f` format strings (`%t %p %o %k %s %h %T`),
 * JSON lines, and binary-safe encodings (raw bytes, base64, hex) for keys and values.
 *
 * @module
 */

import type { ConsumerRecord } from "../mod.ts";
import { UsageError } from "./args.ts";
import { base64, fromBase64, fromHex, hex, type Out } from "./output.ts";

/** How bytes are shown: as they are (`utf8`: raw bytes in text output), base64 or hex. */
export type Encoding = "utf8" | "base64" | "hex";

/** Reads an `--*-encoding` value. */
export function encodingOf(v: string | undefined, what: string): Encoding {
  const e = (v ?? "utf8").toLowerCase();
  if (e === "utf8" || e === "utf-8" || e === "text") return "utf8";
  if (e === "base64" || e === "hex") return e;
  throw new UsageError(`${what}: expected utf8, base64 or hex, not "${v}"`);
}

/** Bytes from text in an encoding (for produce). */
export function decodeInput(s: string, enc: Encoding): Uint8Array {
  if (enc === "base64") return fromBase64(s);
  if (enc === "hex") return fromHex(s);
  return encoder.encode(s);
}

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** Bytes as text in an encoding (JSON output); `utf8` falls back to base64 when not UTF-8. */
export function encodeOutput(
  b: Uint8Array | null,
  enc: Encoding,
): { text: string | null; enc: Encoding } {
  if (b === null) return { text: null, enc };
  if (enc === "base64") return { text: base64(b), enc };
  if (enc === "hex") return { text: hex(b), enc };
  try {
    return { text: strict.decode(b), enc: "utf8" };
  } catch {
    return { text: base64(b), enc: "base64" };
  }
}

function bytesIn(b: Uint8Array | null, enc: Encoding, nullText: Uint8Array): Uint8Array {
  if (b === null) return nullText;
  if (enc === "utf8") return b;
  return encoder.encode(enc === "base64" ? base64(b) : hex(b));
}

type Piece = Uint8Array | ((r: ConsumerRecord) => Uint8Array);

/** A compiled record printer. */
export type Printer = (r: ConsumerRecord, out: Out) => void;

/** Options of the text printers. */
export interface TextOptions {
  /** Key bytes shown as. */
  keyEncoding: Encoding;
  /** Value bytes shown as. */
  valueEncoding: Encoding;
  /** What a null key or value prints as. */
  nullText: string;
}

/**
 * Compiles a kcat `-f` format: `%t` topic, `%p` partition, `%o` offset, `%k` key, `%s` value,
 * `%K`/`%S` key/value length (-1 for null), `%T` timestamp (ms), `%h` headers (`k=v,k2=v2`),
 * `%%`; escapes `\n \t \r \\ \0`.
 */
export function formatPrinter(format: string, o: TextOptions): Printer {
  const nullBytes = encoder.encode(o.nullText);
  const pieces: Piece[] = [];
  let lit = "";
  const flush = () => {
    if (lit) pieces.push(encoder.encode(lit));
    lit = "";
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === "\\" && i + 1 < format.length) {
      const n = format[++i]!;
      lit += ({ n: "\n", t: "\t", r: "\r", "\\": "\\", "0": "\0" } as Record<string, string>)[n] ??
        "\\" + n;
      continue;
    }
    if (c !== "%") {
      lit += c;
      continue;
    }
    const f = format[++i];
    if (f === "%") {
      lit += "%";
      continue;
    }
    flush();
    const text = (fn: (r: ConsumerRecord) => string) => (r: ConsumerRecord) =>
      encoder.encode(fn(r));
    switch (f) {
      case "t":
        pieces.push(text((r) => r.topic));
        break;
      case "p":
        pieces.push(text((r) => String(r.partition)));
        break;
      case "o":
        pieces.push(text((r) => String(r.offset)));
        break;
      case "T":
        pieces.push(text((r) => String(r.timestamp)));
        break;
      case "k":
        pieces.push((r) => bytesIn(r.key, o.keyEncoding, nullBytes));
        break;
      case "s":
        pieces.push((r) => bytesIn(r.value, o.valueEncoding, nullBytes));
        break;
      case "K":
        pieces.push(text((r) => String(r.key?.length ?? -1)));
        break;
      case "S":
        pieces.push(text((r) => String(r.value?.length ?? -1)));
        break;
      case "h":
        pieces.push(text((r) =>
          r.headers.map((h) => {
            const v = h.value === null
              ? o.nullText
              : o.valueEncoding === "utf8"
              ? new TextDecoder().decode(h.value)
              : encodeOutput(h.value, o.valueEncoding).text!;
            return `${h.key}=${v}`;
          }).join(",")
        ));
        break;
      default:
        throw new UsageError(`-f: unknown format token %${f ?? ""}`);
    }
  }
  flush();
  return (r, out) => {
    for (const p of pieces) out.bytes(p instanceof Uint8Array ? p : p(r));
  };
}

/**
 * One JSON object per line (kcat -J style): topic, partition, offset, tstype, ts, key, payload,
 * headers; bytes that are not UTF-8 (or with base64/hex asked for) are encoded and marked
 * (`keyEncoding`/`valueEncoding`/`encoding`), so `produce --format json` reads them back.
 */
export function jsonPrinter(o: TextOptions): Printer {
  return (r, out) => {
    const key = encodeOutput(r.key, o.keyEncoding);
    const value = encodeOutput(r.value, o.valueEncoding);
    const obj: Record<string, unknown> = {
      topic: r.topic,
      partition: r.partition,
      offset: Number(r.offset),
      timestamp: r.timestamp,
      timestampType: r.timestampType,
      key: key.text,
      value: value.text,
    };
    if (key.enc !== "utf8") obj.keyEncoding = key.enc;
    if (value.enc !== "utf8") obj.valueEncoding = value.enc;
    if (r.headers.length > 0) {
      obj.headers = r.headers.map((h) => {
        const v = encodeOutput(h.value, o.valueEncoding);
        return v.enc === "utf8" ? { key: h.key, value: v.text } : {
          key: h.key,
          value: v.text,
          encoding: v.enc,
        };
      });
    }
    out.text(JSON.stringify(obj) + "\n");
  };
}
