/**
 * Cross-checks the schema engine against Kafka's own generated message classes: random
 * messages for every API, version and direction are encoded here, then the Java client
 * (from the pinned kafka-clients jar) must read them consuming every byte, find no unknown
 * tagged field, write back the very same bytes, and report (through its JSON converter) the
 * same field values we decoded. Skipped when Java or the jars are not installed.
 */
import assert, { deepStrictEqual } from "node:assert/strict";
import { allApis, Reader, Writer } from "../../protocol/mod.ts";
import { defaultJarDir, PINNED_KAFKA_VERSION } from "../../scripts/kafka/versions.ts";
import { pinnedJars } from "../helpers/pinned_jars.ts";
import { arbitraryMessage, Rng, versionsOf } from "./messages_arbitrary.ts";

// The pinned jars whatever KAFKA_VERSION says, fetched when missing (a KAFKA_VERSION=3.9.2 run
// has only the 3.9.2 jars).
const JAR_DIR = await pinnedJars().catch(() => defaultJarDir(PINNED_KAFKA_VERSION));

function haveJava(): boolean {
  try {
    Deno.statSync(`${JAR_DIR}/kafka-clients-${PINNED_KAFKA_VERSION}.jar`);
    return new Deno.Command("java", { args: ["-version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const JAVA = `
import java.io.*;
import java.lang.reflect.*;
import java.nio.ByteBuffer;
import java.util.*;
import org.apache.kafka.common.protocol.*;

public class CrossCheck {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] p = line.split(" ", -1);
      String name = p[0];
      short v = Short.parseShort(p[1]);
      byte[] bytes = HexFormat.of().parseHex(p[2]);
      try {
        Class<?> c = Class.forName("org.apache.kafka.common.message." + name + "Data");
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        Message m = (Message) c.getConstructor(org.apache.kafka.common.protocol.Readable.class, short.class)
          .newInstance(new ByteBufferAccessor(buf), v);
        if (buf.remaining() != 0) { out.println("ERR " + buf.remaining() + " bytes left"); continue; }
        String unknown = unknownTags(m, "");
        if (unknown != null) { out.println("ERR unknown tagged fields at " + unknown); continue; }
        ByteBuffer again = MessageUtil.toByteBufferAccessor(m, v).buffer();
        byte[] b = new byte[again.remaining()];
        again.get(b);
        if (!Arrays.equals(b, bytes)) { out.println("ERR re-encoded as " + HexFormat.of().formatHex(b)); continue; }
        Class<?> conv = Class.forName("org.apache.kafka.common.message." + name + "DataJsonConverter");
        out.println("OK " + conv.getMethod("write", c, short.class).invoke(null, m, v));
      } catch (Throwable t) {
        Throwable x = t instanceof InvocationTargetException ? t.getCause() : t;
        out.println("ERR " + String.valueOf(x).replace('\\n', ' '));
      }
    }
  }

  static String unknownTags(Object o, String path) throws Exception {
    if (o instanceof Message msg) {
      if (!msg.unknownTaggedFields().isEmpty()) return path;
      for (Field f : o.getClass().getDeclaredFields()) {
        if (Modifier.isStatic(f.getModifiers())) continue;
        f.setAccessible(true);
        String r = unknownTags(f.get(o), path + "." + f.getName());
        if (r != null) return r;
      }
    } else if (o instanceof Collection<?> col) {
      for (Object e : col) {
        String r = unknownTags(e, path + "[]");
        if (r != null) return r;
      }
    }
    return null;
  }
}
`;

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Parses Java's JSON keeping every number's source text (int64 exceeds a double). */
function parseJson(text: string): unknown {
  return JSON.parse(
    text,
    // deno-lint-ignore no-explicit-any
    function (_k: string, v: unknown, ctx?: any) {
      return typeof v === "number" ? { num: ctx?.source as string } : v;
    } as (k: string, v: unknown) => unknown,
  );
}

function b64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/** Compares what Java reports with our decoded value; `records` are opaque on both sides. */
function same(java: unknown, ours: unknown, path: string): void {
  if (java !== null && typeof java === "object" && "num" in java) {
    const src = (java as { num: string }).num;
    if (typeof ours === "bigint") deepStrictEqual(BigInt(src), ours, path);
    else deepStrictEqual(Number(src), ours, path);
    return;
  }
  if (ours instanceof Uint8Array) {
    deepStrictEqual(java, b64(ours), path);
    return;
  }
  if (typeof ours === "number" && typeof java === "string") {
    deepStrictEqual(Number(java), ours, path); // NaN and the infinities are strings in JSON
    return;
  }
  if (Array.isArray(java)) {
    if (!Array.isArray(ours)) assert.fail(`${path}: not an array`);
    const a: unknown[] = ours;
    deepStrictEqual(java.length, a.length, path);
    java.forEach((x, i) => same(x, a[i], `${path}[${i}]`));
    return;
  }
  if (java !== null && typeof java === "object") {
    assert(ours !== null && typeof ours === "object", path);
    for (const [k, v] of Object.entries(java)) {
      if (k === "records") continue;
      assert(k in (ours as object), `${path}.${k} missing in our decoded object`);
      same(v, (ours as Record<string, unknown>)[k], `${path}.${k}`);
    }
    return;
  }
  deepStrictEqual(java, ours, path);
}

const JAVA_READY = haveJava();
if (!JAVA_READY) {
  // The unit suite needs no jars; the full suite (deno task test) has fetched them by now.
  console.warn(`messages_java_test: ignored, no java or no Kafka jars in ${JAR_DIR}`);
}

Deno.test({
  name: "messages: Kafka's Java classes read, re-encode and agree with our encodings",
  ignore: !JAVA_READY,
  async fn() {
    const rng = new Rng(20240601);
    const cases: { name: string; version: number; decoded: unknown; line: string }[] = [];
    for (const api of allApis()) {
      for (const schema of [api.request, api.response]) {
        const isRequest = schema === api.request;
        for (const v of versionsOf(schema)) {
          for (let i = 0; i < 4; i++) {
            const msg = arbitraryMessage(schema, v, rng, { taggedChance: i === 0 ? 0 : 0.7 });
            const w = new Writer();
            if (isRequest) api.encodeRequest(w, v, msg);
            else api.encodeResponse(w, v, msg);
            const bytes = w.toBytes();
            const r = new Reader(bytes);
            const decoded = isRequest ? api.decodeRequest(r, v) : api.decodeResponse(r, v);
            cases.push({
              name: schema.name,
              version: v,
              decoded,
              line: `${schema.name} ${v} ${hex(bytes)}`,
            });
          }
        }
      }
    }
    const dir = await Deno.makeTempDir({ prefix: "crosscheck" });
    try {
      await Deno.writeTextFile(`${dir}/CrossCheck.java`, JAVA);
      const child = new Deno.Command("java", {
        args: ["-cp", `${JAR_DIR}/*`, `${dir}/CrossCheck.java`],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Read while writing: Java answers line by line and would block on a full stdout pipe.
      const output = child.output();
      const input = child.stdin.getWriter();
      await input.write(new TextEncoder().encode(cases.map((c) => c.line).join("\n") + "\n"));
      await input.close();
      const out = await output;
      const stderr = new TextDecoder().decode(out.stderr);
      assert(out.success, `java failed: ${stderr}`);
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      deepStrictEqual(lines.length, cases.length, stderr);
      const failures: string[] = [];
      lines.forEach((line, i) => {
        const c = cases[i]!;
        const where = `${c.name} v${c.version}`;
        if (!line.startsWith("OK ")) {
          failures.push(`${where}: ${line}\n  ${c.line}`);
          return;
        }
        try {
          same(parseJson(line.slice(3)), c.decoded, where);
        } catch (e) {
          failures.push(`${where}: ${(e as Error).message}`);
        }
      });
      deepStrictEqual(failures.slice(0, 10), [], `${failures.length} of ${cases.length} failed`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
