/**
 * Cross-implementation vectors: our codecs against the Java libraries the Kafka broker uses
 * (kafka-clients' compression classes, snappy-java, lz4-java, zstd-jni), both directions, in one
 * JVM run. Ignored, with a notice, when Java or the Kafka jars are not on this machine.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { defaultJarDir, PINNED_KAFKA_VERSION } from "../../scripts/kafka/versions.ts";
import { pinnedJars } from "../helpers/pinned_jars.ts";
import {
  compress,
  Compression,
  type CompressionCodec,
  decompress,
  lz4CompressFrame,
  snappyCompressRaw,
  snappyDecompress,
} from "../../protocol/compression/mod.ts";
import { standardInputs } from "./fixtures/compression/data.ts";

// The pinned jars, whatever KAFKA_VERSION says: the program uses the 4.x compression classes.
// Fetched when missing (a KAFKA_VERSION=3.9.2 run has only the 3.9.2 jars).
const JAR_DIR = await pinnedJars().catch(() => defaultJarDir(PINNED_KAFKA_VERSION));
const PROGRAM = new URL("./fixtures/compression/CodecVectors.java", import.meta.url).pathname;

function javaAvailable(): boolean {
  if (!existsSync(`${JAR_DIR}/kafka-clients-${PINNED_KAFKA_VERSION}.jar`)) return false;
  try {
    return new Deno.Command("java", { args: ["-version"], stderr: "null", stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const available = javaAvailable();
if (!available) {
  console.warn(`compression_java_test: ignored, no java or no Kafka jars in ${JAR_DIR}`);
}

/** What the Java side writes, and the codec our side reads it with. */
const JAVA_WRITERS: [string, CompressionCodec][] = [
  ["gzip", Compression.Gzip],
  ["gzip-1", Compression.Gzip],
  ["gzip-9", Compression.Gzip],
  ["snappy", Compression.Snappy],
  ["snappy-raw", Compression.Snappy],
  ["lz4", Compression.Lz4],
  ["lz4-hc", Compression.Lz4],
  ["lz4-v0", Compression.Lz4],
  ["lz4-bc", Compression.Lz4],
  ["lz4-1m", Compression.Lz4],
  ["lz4-frame", Compression.Lz4],
  ["zstd", Compression.Zstd],
  ["zstd-1", Compression.Zstd],
  ["zstd-19", Compression.Zstd],
];

/** What our side writes for Java to read. */
const OUR_WRITERS: [string, (d: Uint8Array) => Uint8Array][] = [
  ["gzip", (d) => compress(Compression.Gzip, d)],
  ["snappy", (d) => compress(Compression.Snappy, d)],
  ["snappy-raw", snappyCompressRaw],
  ["lz4", (d) => compress(Compression.Lz4, d)],
  [
    "lz4-frame",
    (d) => lz4CompressFrame(d, { blockChecksum: true, contentChecksum: true, blockSizeId: 5 }),
  ],
  ["zstd", (d) => compress(Compression.Zstd, d)],
];

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test({
  name: "compression: Java (Kafka 4.x classes) and TypeScript read each other's output",
  ignore: !available,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "codec-vectors-" });
    try {
      const inputs = standardInputs();
      for (const [name, data] of inputs) {
        await Deno.writeFile(`${dir}/${name}.raw`, data);
        for (const [variant, write] of OUR_WRITERS) {
          await Deno.writeFile(`${dir}/${name}.${variant}.ours`, write(data));
        }
      }
      const run = await new Deno.Command("java", {
        args: ["-cp", `${JAR_DIR}/*`, PROGRAM, dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const td = new TextDecoder();
      assert.ok(run.success, `java failed: ${td.decode(run.stderr)}`);

      const failures: string[] = [];
      let checked = 0;
      for (const [name, data] of inputs) {
        // Java wrote, we read.
        for (const [variant, codec] of JAVA_WRITERS) {
          const packed = await Deno.readFile(`${dir}/${name}.${variant}.java`);
          try {
            const back = variant === "snappy-raw"
              ? snappyDecompress(packed, data.length)
              : decompress(codec, packed, data.length);
            if (!equalBytes(back, data)) {
              failures.push(`ours reading java ${variant} ${name}: differs`);
            }
          } catch (e) {
            failures.push(`ours reading java ${variant} ${name}: ${(e as Error).message}`);
          }
          checked++;
        }
        // We wrote, Java read.
        for (const [variant] of OUR_WRITERS) {
          const base = `${dir}/${name}.${variant}.ours`;
          if (existsSync(`${base}.err`)) {
            failures.push(
              `java reading ours ${variant} ${name}: ${await Deno.readTextFile(`${base}.err`)}`,
            );
          } else if (!equalBytes(await Deno.readFile(`${base}.out`), data)) {
            failures.push(`java reading ours ${variant} ${name}: differs`);
          }
          checked++;
        }
      }
      assert.deepEqual(failures, []);
      assert.equal(checked, inputs.length * (JAVA_WRITERS.length + OUR_WRITERS.length));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "compression: our snappy and lz4 frames match Kafka's framing byte for byte",
  ignore: !available,
  async fn() {
    // The compressed blocks may differ (different matchers), but the framing must not: the
    // xerial header and block split, and the LZ4 frame header that Kafka writes.
    const dir = await Deno.makeTempDir({ prefix: "codec-frames-" });
    try {
      await Deno.writeFile(`${dir}/empty.raw`, new Uint8Array(0));
      const run = await new Deno.Command("java", {
        args: ["-cp", `${JAR_DIR}/*`, PROGRAM, dir],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      const empty = new Uint8Array(0);
      assert.deepEqual(
        compress(Compression.Snappy, empty),
        await Deno.readFile(`${dir}/empty.snappy.java`),
      );
      assert.deepEqual(
        compress(Compression.Lz4, empty),
        await Deno.readFile(`${dir}/empty.lz4.java`),
      );
      assert.deepEqual(
        lz4CompressFrame(empty, { brokenHeaderChecksum: true }),
        await Deno.readFile(`${dir}/empty.lz4-v0.java`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
