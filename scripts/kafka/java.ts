/**
 * What every JVM the launcher or the tests run from a jars folder shares: the log
 * configurations written for a Kafka version, the flags that make short tool runs start fast,
 * and running a main class to completion.
 *
 * @module
 */

import { KAFKA_DIR, logConfig } from "./config.ts";

/**
 * Writes the broker and tools log configurations of a Kafka version into `.kafka/conf/<version>/`
 * and returns their paths.
 *
 * @example
 * ```ts
 * import { ensureLogConfigs } from "./java.ts";
 * const { tools } = await ensureLogConfigs("4.3.1");
 * console.log(tools);
 * ```
 */
export async function ensureLogConfigs(
  version: string,
): Promise<{ broker: string; tools: string }> {
  const dir = `${KAFKA_DIR}/conf/${version}`;
  await Deno.mkdir(dir, { recursive: true });
  const broker = `${dir}/broker-log.properties`;
  const tools = `${dir}/tools-log.properties`;
  await Deno.writeTextFile(broker, logConfig(version, "broker"));
  await Deno.writeTextFile(tools, logConfig(version, "tools"));
  return { broker, tools };
}

/**
 * Runs a Java main class from a jars folder to completion and returns its output. Used for
 * the storage tool here and by tests for the Kafka CLIs.
 *
 * @example
 * ```ts
 * import { runJava } from "./java.ts";
 * const r = await runJava("/root/.kafka/jars/4.3.1/libs", "kafka.tools.StorageTool", ["random-uuid"]);
 * console.log(r.stdout.trim());
 * ```
 */
export async function runJava(
  jarsDir: string,
  mainClass: string,
  args: string[],
  jvmArgs: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("java", {
    args: [...jvmArgs, "-cp", `${jarsDir}/*`, mainClass, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

/**
 * JVM flags that make short tool runs start faster (C1 only, serial GC, shared archive). Not
 * for throughput tools (perf tests): C1-only code is slower.
 *
 * @example
 * ```ts
 * import { QUICK_JVM } from "./java.ts";
 * console.log(QUICK_JVM.join(" "));
 * ```
 */
export const QUICK_JVM: readonly string[] = [
  "-XX:TieredStopAtLevel=1",
  "-XX:+UseSerialGC",
  "-Xshare:auto",
  "-Xmx256m",
];
