/**
 * Independent clients for interop tests: the Java tools from the same jars as the broker
 * (always there: the launcher fetched them), and kcat (librdkafka), optional: only tests about
 * librdkafka itself use it, through {@linkcode kcatTest}.
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

import { type ListenerName, logConfigProperty } from "../../scripts/kafka/config.ts";
import { LauncherError } from "../../scripts/kafka/errors.ts";
import { ensureLogConfigs, QUICK_JVM } from "../../scripts/kafka/java.ts";
import { ensureJars } from "../../scripts/kafka/jars.ts";
import { isJavaTool, javaToolClass, type JavaToolName } from "../../scripts/kafka/tool_classes.ts";
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
  /** Folders or jars put before the Kafka jars on the class path (a compiled test peer). */
  classpath?: readonly string[];
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

/**
 * The jars folder of a broker (else `KAFKA_JARS_DIR`, else the launcher's cache, fetched from
 * Maven Central when missing) and the Kafka version its `kafka-clients` jar carries.
 *
 * @example
 * ```ts
 * import { jarsFor } from "./tools.ts";
 * const { dir, version } = await jarsFor(undefined);
 * console.log(`${dir}/kafka-clients-${version}.jar`);
 * ```
 */
export async function jarsFor(
  b: Broker | undefined,
): Promise<{ dir: string; version: string }> {
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
  // A class of the caller's own classpath (a helper compiled for the tests) keeps its name.
  const own = options.classpath !== undefined && !tool.includes(".") && !isJavaTool(tool);
  const mainClass = own ? tool : javaToolClass(tool, jars.version);
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
        [...options.classpath ?? [], `${jars.dir}/*`].join(":"),
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

const probes = new Map<string, Promise<boolean>>();

/**
 * Whether a command runs (`<command> <probe...>` exits 0), checked once per process.
 *
 * @example
 * ```ts
 * import { commandAvailable } from "./tools.ts";
 * console.log(await commandAvailable("kcat", ["-V"]));
 * ```
 */
export function commandAvailable(command: string, probe: readonly string[]): Promise<boolean> {
  const key = [command, ...probe].join(" ");
  let p = probes.get(key);
  if (p === undefined) {
    p = (async () => {
      try {
        // A missing command throws at spawn (NotFound), synchronously: inside the try.
        const out = await new Deno.Command(command, {
          args: [...probe],
          stdout: "null",
          stderr: "null",
        }).output();
        return out.success;
      } catch {
        return false;
      }
    })();
    probes.set(key, p);
  }
  return p;
}

/**
 * Whether `kcat` runs (`kcat -V`). kcat is optional: only the tests about librdkafka itself
 * need it (see {@linkcode kcatTest}).
 *
 * @example
 * ```ts
 * import { kcatAvailable } from "./tools.ts";
 * console.log(await kcatAvailable());
 * ```
 */
export function kcatAvailable(): Promise<boolean> {
  return commandAvailable("kcat", ["-V"]);
}

const KCAT_HINT = "kcat (librdkafka) is not on PATH; it is optional " +
  '(e.g. `apt-get install kcat`, see the README\'s "Running the tests")';

/**
 * Returns the `kcat` command when it is on PATH; throws a clear error otherwise. It never
 * installs anything: a test must not change the machine.
 *
 * @example
 * ```ts
 * import { ensureKcat } from "./tools.ts";
 * const kcat = await ensureKcat();
 * console.log(kcat); // kcat
 * ```
 */
export async function ensureKcat(): Promise<string> {
  if (await kcatAvailable()) return "kcat";
  throw new LauncherError(KCAT_HINT);
}

/**
 * An optional peer program a test needs, beyond what the README lists.
 *
 * @example
 * ```ts
 * import type { OptionalTool } from "./tools.ts";
 * const go: OptionalTool = { command: "go", probe: ["version"], what: "Go" };
 * console.log(go.command);
 * ```
 */
export interface OptionalTool {
  /** The command looked up on PATH. */
  command: string;
  /** Arguments of a cheap run that exits 0 when it works (e.g. `["-V"]`). */
  probe: readonly string[];
  /** What it is, for the skip line (e.g. "kcat (librdkafka)"). */
  what: string;
}

/**
 * Registers a test that needs an optional peer program: it runs when the program works;
 * otherwise it is registered as ignored (so the summary counts it as skipped) and one line says
 * which test and why. Await it at the top level of the test module.
 *
 * @example
 * ```ts
 * import { optionalToolTest } from "./tools.ts";
 * await optionalToolTest({ command: "go", probe: ["version"], what: "Go" }, "go runs", async () => {
 *   await new Deno.Command("go", { args: ["version"] }).output();
 * });
 * ```
 */
export async function optionalToolTest(
  tool: OptionalTool,
  name: string,
  fn: () => Promise<void>,
): Promise<void> {
  const ignore = !(await commandAvailable(tool.command, tool.probe));
  if (ignore) {
    console.log(
      `skipped: ${name}: ${tool.what} is not on PATH (optional; see the README's ` +
        `"Running the tests")`,
    );
  }
  Deno.test({ name, ignore, fn });
}

/**
 * Registers a test about librdkafka itself, with kcat as the peer: skipped with one line when
 * kcat is not on PATH (see {@linkcode optionalToolTest}).
 *
 * @example
 * ```ts
 * import { kcatTest } from "./tools.ts";
 * await kcatTest("kcat says its version", async () => {
 *   await new Deno.Command("kcat", { args: ["-V"] }).output();
 * });
 * ```
 */
export function kcatTest(name: string, fn: () => Promise<void>): Promise<void> {
  return optionalToolTest({ command: "kcat", probe: ["-V"], what: "kcat (librdkafka)" }, name, fn);
}
