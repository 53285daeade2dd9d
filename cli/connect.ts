/**
 * Connection settings for every command: `--bootstrap-server`, a Java client properties file
 * (`--command-config`), `-X key=value` overrides and environment variables, turned into the
 * library's `ClientOptions`.
 *
 * Precedence, lowest first: environment, the properties file, `-X`, `--bootstrap-server`.
 *
 * @module
 */

import type { ClientOptions, SaslOptions, TlsOptions } from "../mod.ts";
import { type Args, type OptionSpecs, UsageError } from "./args.ts";

/** Options every command accepts. */
export const CONNECTION_OPTIONS: OptionSpecs = {
  "bootstrap-server": {
    type: "string",
    short: "b",
    aliases: ["bootstrap-servers", "brokers", "broker-list"],
    help: "host:port[,host:port...] (env KAFKA_BOOTSTRAP_SERVERS or KAFKA_BROKERS)",
  },
  "command-config": {
    type: "string",
    aliases: ["consumer.config", "producer.config", "consumer-config", "producer-config"],
    help: "Java client properties file: security.protocol, sasl.*, ssl.* (PEM)",
  },
  "property": {
    type: "list",
    short: "X",
    aliases: ["command-property"],
    help: "key=value client property, as in the properties file (repeatable)",
  },
  "client-id": { type: "string", help: "client id sent to the brokers" },
  "api-timeout-ms": { type: "string", help: "per-operation deadline (default 30000)" },
  "json": { type: "boolean", help: "machine-readable output" },
  "help": { type: "boolean", short: "h", help: "this help" },
};

/** Parses Java `.properties` text (comments, `=`/`:`/space separators, `\` continuations). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, "");
    }
    const m = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line);
    const key = unescape(m ? m[1]! : line);
    const value = m ? unescape(m[2]!) : "";
    out.set(key, value);
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return ({ t: "\t", n: "\n", r: "\r", f: "\f" } as Record<string, string>)[c] ?? c;
  });
}

/** Environment variables read as client properties (the test bed uses the same names). */
const ENV_PROPS: Record<string, string> = {
  KAFKA_SECURITY_PROTOCOL: "security.protocol",
  KAFKA_SASL_MECHANISM: "sasl.mechanism",
  KAFKA_SASL_USERNAME: "sasl.username",
  KAFKA_SASL_PASSWORD: "sasl.password",
  KAFKA_CA_FILE: "ssl.truststore.location",
  KAFKA_CLIENT_CERT_FILE: "ssl.keystore.certificate.location",
  KAFKA_CLIENT_KEY_FILE: "ssl.keystore.key.location",
};

/** The client properties from env, `--command-config` and `-X`, merged. */
export async function loadProperties(args: Args): Promise<Map<string, string>> {
  const props = new Map<string, string>();
  for (const [env, key] of Object.entries(ENV_PROPS)) {
    const v = Deno.env.get(env);
    if (v) props.set(key, v);
  }
  if (props.has("ssl.truststore.location")) props.set("ssl.truststore.type", "PEM");
  const file = args.str("command-config") ?? (Deno.env.get("KAFKA_COMMAND_CONFIG") || undefined);
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new UsageError(`cannot read --command-config ${file}: ${(e as Error).message}`);
    }
    for (const [k, v] of parseProperties(text)) props.set(k, v);
  }
  for (const kv of args.list("property", false)) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`-X expects key=value, not "${kv}"`);
    props.set(kv.slice(0, eq).trim(), kv.slice(eq + 1).trim());
  }
  return props;
}

/** The `bootstrap.servers` list: flag, then properties, then env, then localhost:9092. */
export function bootstrapOf(args: Args, props: Map<string, string>): string[] {
  const list = args.str("bootstrap-server") ?? props.get("bootstrap.servers") ??
    (Deno.env.get("KAFKA_BOOTSTRAP_SERVERS") || Deno.env.get("KAFKA_BROKERS") ||
      "localhost:9092");
  const brokers = list.split(",").map((s) => s.trim()).filter((s) => s);
  for (const b of brokers) {
    if (!/^.+:\d+$/.test(b)) throw new UsageError(`bad bootstrap address "${b}" (host:port)`);
  }
  if (brokers.length === 0) throw new UsageError("--bootstrap-server is empty");
  return brokers;
}

async function readFileProp(props: Map<string, string>, key: string): Promise<string> {
  const path = props.get(key)!;
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${key} ${path}: ${(e as Error).message}`);
  }
}

/** PEM blocks of one kind from a text (a PEM key store holds key and certificates). */
function pemBlocks(text: string, kind: RegExp): string[] {
  const out: string[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  for (const m of text.matchAll(re)) if (kind.test(m[1]!)) out.push(m[0]);
  return out;
}

/** `ssl.*` properties (PEM only: Deno has no JKS/PKCS12 reader) to {@linkcode TlsOptions}. */
export async function tlsFromProps(props: Map<string, string>): Promise<TlsOptions> {
  const tls: TlsOptions = {};
  const tsType = props.get("ssl.truststore.type");
  if (props.has("ssl.truststore.certificates")) {
    tls.caCerts = pemBlocks(props.get("ssl.truststore.certificates")!, /CERTIFICATE/);
  } else if (props.has("ssl.truststore.location")) {
    if (tsType !== undefined && tsType.toUpperCase() !== "PEM") {
      throw new UsageError(`ssl.truststore.type=${tsType} is not supported; use PEM`);
    }
    tls.caCerts = pemBlocks(await readFileProp(props, "ssl.truststore.location"), /CERTIFICATE/);
  }
  const ksType = props.get("ssl.keystore.type");
  if (props.has("ssl.keystore.key") || props.has("ssl.keystore.certificate.chain")) {
    tls.key = props.get("ssl.keystore.key") ?? "";
    tls.cert = props.get("ssl.keystore.certificate.chain") ?? "";
  } else if (props.has("ssl.keystore.location")) {
    if (ksType !== undefined && ksType.toUpperCase() !== "PEM") {
      throw new UsageError(`ssl.keystore.type=${ksType} is not supported; use PEM`);
    }
    const text = await readFileProp(props, "ssl.keystore.location");
    tls.key = pemBlocks(text, /PRIVATE KEY/)[0] ?? "";
    tls.cert = pemBlocks(text, /CERTIFICATE/).join("\n");
  } else if (props.has("ssl.keystore.certificate.location")) {
    tls.cert = await readFileProp(props, "ssl.keystore.certificate.location");
    if (props.has("ssl.keystore.key.location")) {
      tls.key = await readFileProp(props, "ssl.keystore.key.location");
    }
  }
  if ((tls.key === undefined) !== (tls.cert === undefined) || tls.key === "" || tls.cert === "") {
    throw new UsageError("a client certificate needs both its key and its certificate (PEM)");
  }
  if (props.get("ssl.key.password")) {
    throw new UsageError("encrypted private keys (ssl.key.password) are not supported");
  }
  return tls;
}

/** `sasl.mechanism` + `sasl.jaas.config` (PLAIN, SCRAM) to {@linkcode SaslOptions}. */
export function saslFromProps(props: Map<string, string>): SaslOptions {
  const mech = (props.get("sasl.mechanism") ?? "GSSAPI").toUpperCase();
  const jaas = props.get("sasl.jaas.config") ?? "";
  const field = (name: string) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*(?:"((?:\\\\.|[^"\\\\])*)"|([^\\s;]+))`).exec(jaas);
    return m ? (m[1] ?? m[2]!).replace(/\\(.)/g, "$1") : undefined;
  };
  const username = field("username") ?? props.get("sasl.username");
  const password = field("password") ?? props.get("sasl.password");
  if (mech !== "PLAIN" && mech !== "SCRAM-SHA-256" && mech !== "SCRAM-SHA-512") {
    throw new UsageError(
      `sasl.mechanism=${mech} is not supported here; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
    );
  }
  if (username === undefined || password === undefined) {
    throw new UsageError('SASL needs sasl.jaas.config with username="..." password="..."');
  }
  const mechanism = mech.toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512";
  return { mechanism, username, password };
}

/** The library's client options for this command line. */
export async function clientOptions(args: Args): Promise<ClientOptions> {
  const props = await loadProperties(args);
  const brokers = bootstrapOf(args, props);
  const protocol = (props.get("security.protocol") ?? "PLAINTEXT").toUpperCase();
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
    throw new UsageError(`unknown security.protocol ${protocol}`);
  }
  const timeout = args.int("api-timeout-ms") ??
    (props.has("default.api.timeout.ms") ? Number(props.get("default.api.timeout.ms")) : 30_000);
  const options: ClientOptions = {
    brokers,
    clientId: args.str("client-id") ?? props.get("client.id") ?? "denokafka-cli",
    retry: { deadlineMs: timeout },
    requestTimeoutMs: Number(props.get("request.timeout.ms") ?? 30_000),
  };
  if (protocol.endsWith("SSL")) {
    const tls = await tlsFromProps(props);
    options.tls = Object.keys(tls).length === 0 ? true : tls;
  }
  if (protocol.startsWith("SASL_")) options.sasl = saslFromProps(props);
  return options;
}
