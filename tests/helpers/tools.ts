/**
 * Independent clients for interop tests: the Java tools from the same jars as the broker, and
 * kcat (librdkafka).
 *
 * ```ts
 * import { broker, clientProps, runJavaTool } from "./broker.ts";
 * const b = await broker();
 * const r = await runJavaTool("TopicCommand",
 *   ["--bootstrap-server", b.listeners.SASL_SSL!, "--command-config", "{config}", "--list"],
 *   { broker: b, configProps: clientProps(b, { listener: "SASL_SSL", mechanism: "SCRAM-SHA-512" }) });
 * console.log(r.code, r.stdout);
 * ```
 *
 * @module
 */

import {
  ensureLogConfigs,
  LauncherError,
  type ListenerName,
  QUICK_JVM,
} from "../../scripts/kafka/cluster.ts";
import { logConfigProperty } from "../../scripts/kafka/config.ts";
import { ensureJars } from "../../scripts/kafka/jars.ts";
import { javaToolClass, type JavaToolName } from "../../scripts/kafka/tool_classes.ts";
import { kafkaVersion } from "../../scripts/kafka/versions.ts";
import type { Broker, Credentials } from "./broker.ts";

/**
 * What {@linkcode clientProps} builds a Java client configuration for.
 *
 * @example
 * ```ts
 * import type { ClientPropsOptions } from "./tools.ts";
 * const o: ClientPropsOptions = { listener: "SASL_PLAINTEXT", mechanism: "PLAIN" };
 * console.log(o.listener);
 * ```
 */
export interface ClientPropsOptions {
  /** The listener (= security protocol) to talk to. */
  listener: ListenerName;
  /** SASL mechanism for the SASL listeners; default SCRAM-SHA-256. */
  mechanism?: string;
  /** Credentials; default the broker's ordinary user. */
  credentials?: Credentials;
  /** CA file to trust on TLS listeners; default the broker's CA. */
  caFile?: string;
  /** Present the client certificate (mTLS) on TLS listeners. */
  clientCert?: boolean;
}

/**
 * Java client properties (`security.protocol`, SASL JAAS line, PEM trust/key stores, short
 * timeouts so failures fail fast) for one listener of a broker.
 *
 * @example
 * ```ts
 * import { broker, clientProps } from "./broker.ts";
 * const props = clientProps(await broker(), { listener: "SSL", clientCert: true });
 * console.log(props["security.protocol"]); // SSL
 * ```
 */
export function clientProps(b: Broker, options: ClientPropsOptions): Record<string, string> {
  const props: Record<string, string> = {
    "security.protocol": options.listener,
    "request.timeout.ms": "15000",
    "default.api.timeout.ms": "30000",
  };
  if (options.listener.startsWith("SASL_")) {
    const mechanism = options.mechanism ?? "SCRAM-SHA-256";
    const creds = options.credentials ?? b.user;
    if (!creds) throw new LauncherError("no SASL credentials known for this cluster");
    const module = mechanism === "PLAIN"
      ? "org.apache.kafka.common.security.plain.PlainLoginModule"
      : "org.apache.kafka.common.security.scram.ScramLoginModule";
    props["sasl.mechanism"] = mechanism;
    props["sasl.jaas.config"] = `${module} required username="${creds.username}" ` +
      `password="${creds.password}";`;
  }
  if (options.listener === "SSL" || options.listener === "SASL_SSL") {
    const ca = options.caFile ?? b.tls.caFile;
    if (ca) {
      props["ssl.truststore.type"] = "PEM";
      props["ssl.truststore.location"] = ca;
    }
    if (options.clientCert) {
      if (!b.tls.clientBundleFile) throw new LauncherError("no client certificate known");
      props["ssl.keystore.type"] = "PEM";
      props["ssl.keystore.location"] = b.tls.clientBundleFile;
    }
  }
  return props;
}

/**
 * Options of {@linkcode runJavaTool}.
 *
 * @example
 * ```ts
 * import type { JavaToolOptions } from "./tools.ts";
 * const o: JavaToolOptions = { configProps: { "security.protocol": "PLAINTEXT" }, timeoutMs: 60000 };
 * console.log(o.timeoutMs);
 * ```
 */
export interface JavaToolOptions {
  /** The broker whose jars to use (else `KAFKA_JARS_DIR` or the launcher's cache). */
  broker?: Broker;
  /** Written to a temporary properties file whose path replaces `{config}` in the args. */
  configProps?: Record<string, string>;
  /** Killed after this long; default 120 s. */
  timeoutMs?: number;
  /** Fast-starting JVM flags (C1 only); default true. Set false for throughput tools. */
  quickJvm?: boolean;
  /** Text for the tool's stdin (e.g. ConsoleProducer lines). */
  stdin?: string;
}

/**
 * What a tool printed and how it exited.
 *
 * @example
 * ```ts
 * import type { JavaToolResult } from "./tools.ts";
 * const r: JavaToolResult = { code: 0, stdout: "topic-a\n", stderr: "" };
 * console.log(r.code === 0);
 * ```
 */
export interface JavaToolResult {
  /** Exit code (non-zero also when killed by the timeout). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error (the tools log WARN and above here). */
  stderr: string;
}

async function jarsFor(b: Broker | undefined): Promise<{ dir: string; version: string }> {
  const dir = b?.jarsDir ?? Deno.env.get("KAFKA_JARS_DIR") ?? await ensureJars(kafkaVersion());
  for await (const e of Deno.readDir(dir)) {
    const m = /^kafka-clients-(.+)\.jar$/.exec(e.name);
    if (m) return { dir, version: m[1]! };
  }
  throw new LauncherError(`no kafka-clients jar in ${dir}`);
}

/**
 * Runs a Kafka Java tool to completion: a short name from scripts/kafka/tool_classes.ts
 * (`"ConsoleProducer"`, resolved for the jars' Kafka version: several tools moved package in
 * 4.0) or any fully qualified main class in the jars.
 *
 * @example
 * ```ts
 * import { broker, runJavaTool } from "./broker.ts";
 * const b = await broker();
 * const r = await runJavaTool("TopicCommand",
 *   ["--bootstrap-server", b.listeners.PLAINTEXT, "--list"], { broker: b });
 * console.log(r.stdout);
 * ```
 */
export async function runJavaTool(
  tool: JavaToolName | string,
  args: string[],
  options: JavaToolOptions = {},
): Promise<JavaToolResult> {
  const jars = await jarsFor(options.broker);
  const mainClass = javaToolClass(tool, jars.version);
  const logs = await ensureLogConfigs(jars.version);
  let configFile: string | undefined;
  if (options.configProps) {
    configFile = await Deno.makeTempFile({ prefix: "kafka-client-", suffix: ".properties" });
    const text = Object.entries(options.configProps).map(([k, v]) => `${k}=${v}`).join("\n");
    await Deno.writeTextFile(configFile, text + "\n");
  }
  try {
    const finalArgs = args.map((a) => configFile ? a.replaceAll("{config}", configFile) : a);
    const child = new Deno.Command("java", {
      args: [
        ...(options.quickJvm === false ? [] : QUICK_JVM),
        logConfigProperty(jars.version, logs.tools),
        "-cp",
        `${jars.dir}/*`,
        mainClass,
        ...finalArgs,
      ],
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
    }).spawn();
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(options.stdin));
      await w.close();
    }
    const out = await child.output();
    const td = new TextDecoder();
    return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
  } finally {
    if (configFile) await Deno.remove(configFile).catch(() => {});
  }
}

async function works(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Makes sure `kcat` is on PATH (installing Debian's package when running as root) and returns
 * the command name; throws a clear error otherwise.
 *
 * @example
 * ```ts
 * import { ensureKcat } from "./tools.ts";
 * const kcat = await ensureKcat();
 * console.log(kcat); // kcat
 * ```
 */
export async function ensureKcat(): Promise<string> {
  if (await works("kcat", ["-V"])) return "kcat";
  if (Deno.uid() !== 0) {
    throw new LauncherError("kcat is not installed: run `sudo apt-get install -y kcat`");
  }
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    new Deno.Command("apt-get", { args: ["install", "-y", "-q", "kcat"], env, stdout: "null" })
      .output();
  let out = await install();
  if (!out.success) {
    await new Deno.Command("apt-get", { args: ["update", "-q"], env, stdout: "null" }).output();
    out = await install();
  }
  if (!out.success || !(await works("kcat", ["-V"]))) {
    throw new LauncherError(
      `apt-get install kcat failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return "kcat";
}
