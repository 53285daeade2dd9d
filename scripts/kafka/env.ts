/**
 * The `KAFKA_*` environment variables that point the tests at a cluster the launcher does not
 * manage, and their reverse (the variables describing a managed cluster, for `kafka.ts env`).
 *
 * | variable | meaning |
 * |---|---|
 * | `KAFKA_BROKERS` | PLAINTEXT bootstrap list; setting it selects the external cluster |
 * | `KAFKA_SASL_BROKERS` | SASL_PLAINTEXT bootstrap list |
 * | `KAFKA_SSL_BROKERS` | SSL bootstrap list |
 * | `KAFKA_SASL_SSL_BROKERS` | SASL_SSL bootstrap list |
 * | `KAFKA_CA_FILE` | PEM CA that signed the brokers' certificates |
 * | `KAFKA_UNTRUSTED_CA_FILE` | a PEM CA that did not (for the negative TLS test) |
 * | `KAFKA_CLIENT_CERT_FILE`, `KAFKA_CLIENT_KEY_FILE` | client certificate and PKCS#8 key for mTLS |
 * | `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD` | an ordinary user (PLAIN and SCRAM) |
 * | `KAFKA_SASL_ADMIN_USERNAME`, `KAFKA_SASL_ADMIN_PASSWORD` | a super user |
 * | `KAFKA_SASL_MECHANISMS` | mechanisms the SASL listeners accept (default all three) |
 * | `KAFKA_TRIO_BROKERS` | PLAINTEXT bootstrap list of a cluster of 3+ brokers |
 * | `KAFKA_JARS_DIR` | jars for the Java tools (default: the launcher's cache) |
 *
 * @module
 */

import type { Credentials, ListenerName } from "./config.ts";
import { SASL_MECHANISMS } from "./config.ts";
import type { ClusterState } from "./state.ts";

/**
 * A cluster described by `KAFKA_*` variables.
 *
 * @example
 * ```ts
 * import { externalFromEnv } from "./env.ts";
 * const ext = externalFromEnv();
 * if (ext) console.log(ext.listeners.PLAINTEXT);
 * ```
 */
export interface ExternalCluster {
  /** Bootstrap lists of the listeners that were given (PLAINTEXT always). */
  listeners: Partial<Record<ListenerName, string>> & { PLAINTEXT: string };
  /** SASL mechanisms to test. */
  saslMechanisms: string[];
  /** The ordinary user, when given. */
  user?: Credentials;
  /** The super user, when given. */
  admin?: Credentials;
  /** TLS files that were given. */
  tls: {
    caFile?: string;
    untrustedCaFile?: string;
    clientCertFile?: string;
    clientKeyFile?: string;
  };
  /** PLAINTEXT bootstrap list of a 3+ broker cluster, when given. */
  trioBrokers?: string;
  /** Jars for the Java tools, when given. */
  jarsDir?: string;
}

function env(name: string): string | undefined {
  const v = Deno.env.get(name)?.trim();
  return v ? v : undefined;
}

function creds(user: string, pass: string): Credentials | undefined {
  const username = env(user);
  const password = env(pass);
  return username !== undefined && password !== undefined ? { username, password } : undefined;
}

/**
 * Reads the external cluster from the environment, or undefined when `KAFKA_BROKERS` is unset.
 *
 * @example
 * ```ts
 * import { externalFromEnv } from "./env.ts";
 * console.log(externalFromEnv() === undefined ? "launcher" : "external");
 * ```
 */
export function externalFromEnv(): ExternalCluster | undefined {
  const plaintext = env("KAFKA_BROKERS");
  if (plaintext === undefined) return undefined;
  const listeners: ExternalCluster["listeners"] = { PLAINTEXT: plaintext };
  const more: [ListenerName, string][] = [
    ["SASL_PLAINTEXT", "KAFKA_SASL_BROKERS"],
    ["SSL", "KAFKA_SSL_BROKERS"],
    ["SASL_SSL", "KAFKA_SASL_SSL_BROKERS"],
  ];
  for (const [l, name] of more) {
    const v = env(name);
    if (v !== undefined) listeners[l] = v;
  }
  const out: ExternalCluster = {
    listeners,
    saslMechanisms: (env("KAFKA_SASL_MECHANISMS") ?? SASL_MECHANISMS.join(","))
      .split(",").map((s) => s.trim().toUpperCase()).filter((s) => s),
    tls: {},
  };
  const user = creds("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD");
  if (user) out.user = user;
  const admin = creds("KAFKA_SASL_ADMIN_USERNAME", "KAFKA_SASL_ADMIN_PASSWORD");
  if (admin) out.admin = admin;
  const files: [keyof ExternalCluster["tls"], string][] = [
    ["caFile", "KAFKA_CA_FILE"],
    ["untrustedCaFile", "KAFKA_UNTRUSTED_CA_FILE"],
    ["clientCertFile", "KAFKA_CLIENT_CERT_FILE"],
    ["clientKeyFile", "KAFKA_CLIENT_KEY_FILE"],
  ];
  for (const [k, name] of files) {
    const v = env(name);
    if (v !== undefined) out.tls[k] = v;
  }
  const trio = env("KAFKA_TRIO_BROKERS");
  if (trio) out.trioBrokers = trio;
  const jars = env("KAFKA_JARS_DIR");
  if (jars) out.jarsDir = jars;
  return out;
}

/**
 * The `KAFKA_*` variables that describe a managed cluster, so another shell or tool can use
 * it as an external one (`deno run -A scripts/kafka.ts env`).
 *
 * @example
 * ```ts
 * import { envForState } from "./env.ts";
 * import { readState } from "./state.ts";
 * const s = await readState("single");
 * if (s) console.log(envForState(s).KAFKA_BROKERS);
 * ```
 */
export function envForState(state: ClusterState): Record<string, string> {
  return {
    KAFKA_BROKERS: state.listeners.PLAINTEXT,
    KAFKA_SASL_BROKERS: state.listeners.SASL_PLAINTEXT,
    KAFKA_SSL_BROKERS: state.listeners.SSL,
    KAFKA_SASL_SSL_BROKERS: state.listeners.SASL_SSL,
    KAFKA_CA_FILE: state.tls.caFile,
    KAFKA_UNTRUSTED_CA_FILE: state.tls.untrustedCaFile,
    KAFKA_CLIENT_CERT_FILE: state.tls.clientCertFile,
    KAFKA_CLIENT_KEY_FILE: state.tls.clientKeyFile,
    KAFKA_SASL_USERNAME: state.user.username,
    KAFKA_SASL_PASSWORD: state.user.password,
    KAFKA_SASL_ADMIN_USERNAME: state.admin.username,
    KAFKA_SASL_ADMIN_PASSWORD: state.admin.password,
    KAFKA_SASL_MECHANISMS: state.saslMechanisms.join(","),
    KAFKA_JARS_DIR: state.jarsDir,
  };
}
