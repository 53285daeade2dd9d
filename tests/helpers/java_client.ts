/**
 * Kafka's own Java producer and consumer as an independent client for the tests, from the same
 * jars as the broker: tests/peers/java/JavaClient.java, compiled once with `javac` into
 * `.kafka/java-client/` (keyed by the Kafka version and the source's hash).
 *
 * ```ts
 * import { broker } from "./broker.ts";
 * import { javaProduce, javaRead } from "./java_client.ts";
 * const b = await broker();
 * await javaProduce(b.bootstrap(), "t", 0, ["a", "b"]);
 * console.log((await javaRead(b.bootstrap(), "t")).length);
 * ```
 *
 * @module
 */

import { LauncherError } from "../../scripts/kafka/errors.ts";
import { KAFKA_DIR } from "../../scripts/kafka/config.ts";
import { jarsFor, runJavaTool } from "./tools.ts";
import type { Broker } from "./broker.ts";

const SOURCE = new URL("../peers/java/JavaClient.java", import.meta.url).pathname;

let compiled: Promise<string> | undefined;

async function sha(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d).slice(0, 8), (x) => x.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * The folder holding the compiled `JavaClient` class: compiled on first use (a few seconds),
 * then reused by every later run; a temporary folder renamed into place keeps two concurrent
 * compilations from seeing half a class.
 *
 * @example
 * ```ts
 * import { javaClientClasses } from "./java_client.ts";
 * console.log(await javaClientClasses());
 * ```
 */
export function javaClientClasses(b?: Broker): Promise<string> {
  compiled ??= (async () => {
    const jars = await jarsFor(b);
    const source = await Deno.readTextFile(SOURCE);
    const dir = `${KAFKA_DIR}/java-client/${jars.version}-${await sha(source)}`;
    try {
      await Deno.stat(`${dir}/JavaClient.class`);
      return dir;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.mkdir(`${KAFKA_DIR}/java-client`, { recursive: true });
    const tmp = await Deno.makeTempDir({ dir: `${KAFKA_DIR}/java-client`, prefix: "tmp-" });
    const out = await new Deno.Command("javac", {
      args: ["-nowarn", "-d", tmp, "-cp", `${jars.dir}/*`, SOURCE],
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e) => {
      throw new LauncherError(`javac (a JDK) is needed for the Java test client: ${e}`);
    });
    if (!out.success) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      const td = new TextDecoder();
      throw new LauncherError(
        `javac ${SOURCE} failed:\n${td.decode(out.stdout)}${td.decode(out.stderr)}`,
      );
    }
    try {
      await Deno.rename(tmp, dir);
    } catch {
      // Another process won the race: its copy is the same class.
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    return dir;
  })();
  compiled.catch(() => compiled = undefined);
  return compiled;
}

/**
 * A record as Kafka's Java consumer read it.
 *
 * @example
 * ```ts
 * import type { JavaRecord } from "./java_client.ts";
 * const r: JavaRecord = {
 *   partition: 0, offset: 0n, timestamp: 0, timestampType: "CreateTime",
 *   key: null, value: null, headers: [],
 * };
 * console.log(r.offset);
 * ```
 */
export interface JavaRecord {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: bigint;
  /** Timestamp (ms). */
  timestamp: number;
  /** `CreateTime` or `LogAppendTime`. */
  timestampType: string;
  /** Key bytes, or null. */
  key: Uint8Array | null;
  /** Value bytes, or null. */
  value: Uint8Array | null;
  /** Headers in order (duplicates kept); a value can be null. */
  headers: { key: string; value: Uint8Array | null }[];
}

/**
 * Options of {@linkcode javaRead}.
 *
 * @example
 * ```ts
 * import type { JavaReadOptions } from "./java_client.ts";
 * const o: JavaReadOptions = { isolation: "read_committed" };
 * console.log(o.isolation);
 * ```
 */
export interface JavaReadOptions {
  /** `read_committed` to see only committed transactional records; default read_uncommitted. */
  isolation?: "read_committed" | "read_uncommitted";
  /** Extra consumer properties. */
  props?: Record<string, string>;
  /** Kill after this long; default 120 s. */
  timeoutMs?: number;
  /** The broker whose jars to use. */
  broker?: Broker;
}

function unbase64(s: string | null): Uint8Array | null {
  if (s === null) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function propArgs(props: Record<string, string> | undefined): string[] {
  return Object.entries(props ?? {}).map(([k, v]) => `${k}=${v}`);
}

/**
 * Reads a whole topic, every partition from the beginning to its end offset (the last stable
 * offset under `read_committed`), with Kafka's Java consumer; records in partition order, then
 * offset order.
 *
 * @example
 * ```ts
 * import { javaRead } from "./java_client.ts";
 * const records = await javaRead(["127.0.0.1:9092"], "topic-a");
 * console.log(records.map((r) => r.offset));
 * ```
 */
export async function javaRead(
  bootstrap: readonly string[],
  topic: string,
  options: JavaReadOptions = {},
): Promise<JavaRecord[]> {
  const classes = await javaClientClasses(options.broker);
  const r = await runJavaTool("JavaClient", [
    "read",
    bootstrap.join(","),
    topic,
    options.isolation ?? "read_uncommitted",
    ...propArgs(options.props),
  ], {
    classpath: [classes],
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.broker ? { broker: options.broker } : {}),
  });
  if (r.code !== 0) {
    throw new LauncherError(`JavaClient read ${topic} failed (${r.code}): ${r.stderr}`);
  }
  const td = new TextDecoder();
  const records = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => {
    const j = JSON.parse(l) as {
      p: number;
      o: number | string;
      ts: number;
      tt: string;
      k: string | null;
      v: string | null;
      h: [string, string | null][];
    };
    return {
      partition: j.p,
      offset: BigInt(j.o),
      timestamp: j.ts,
      timestampType: j.tt,
      key: unbase64(j.k),
      value: unbase64(j.v),
      headers: j.h.map(([k, v]) => ({ key: td.decode(unbase64(k)!), value: unbase64(v) })),
    };
  });
  return records.sort((a, b) =>
    a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0)
  );
}

/**
 * Produces each line as one record (UTF-8 value, no key) with Kafka's Java producer, to one
 * partition (or the default partitioner's choice when `partition` is -1); resolves once every
 * record is acknowledged.
 *
 * @example
 * ```ts
 * import { javaProduce } from "./java_client.ts";
 * await javaProduce(["127.0.0.1:9092"], "topic-a", 0, ["x", "y"]);
 * ```
 */
export async function javaProduce(
  bootstrap: readonly string[],
  topic: string,
  partition: number,
  lines: readonly string[],
  options: { props?: Record<string, string>; broker?: Broker } = {},
): Promise<void> {
  const classes = await javaClientClasses(options.broker);
  const r = await runJavaTool("JavaClient", [
    "produce",
    bootstrap.join(","),
    topic,
    String(partition),
    ...propArgs(options.props),
  ], {
    classpath: [classes],
    stdin: lines.map((l) => l + "\n").join(""),
    ...(options.broker ? { broker: options.broker } : {}),
  });
  if (r.code !== 0) {
    throw new LauncherError(`JavaClient produce ${topic} failed (${r.code}): ${r.stderr}`);
  }
}
