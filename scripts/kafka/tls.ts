/**
 * Generates the test bed's TLS material with openssl into `.kafka/tls/` (git-ignored, never
 * committed): a test CA, a broker certificate for `DNS:localhost,IP:127.0.0.1` packed in a
 * PKCS#12 key store, a client certificate and key for mTLS, and a second, untrusted CA.
 *
 * @module
 */

import { KAFKA_DIR, KEYSTORE_PASSWORD } from "./config.ts";
import { LauncherError } from "./errors.ts";

/**
 * Paths of the generated TLS files.
 *
 * @example
 * ```ts
 * import { tlsFiles } from "./tls.ts";
 * console.log(tlsFiles().caFile); // <root>/.kafka/tls/ca.pem
 * ```
 */
export interface TlsFiles {
  /** The folder holding everything. */
  readonly dir: string;
  /** The test CA certificate (PEM): what clients trust. */
  readonly caFile: string;
  /** A CA nobody signed the broker with: trusting only it must fail. */
  readonly untrustedCaFile: string;
  /** The broker's key and certificate chain, PKCS#12, password {@linkcode KEYSTORE_PASSWORD}. */
  readonly brokerKeystore: string;
  /** The broker certificate alone (PEM), for inspection. */
  readonly brokerCertFile: string;
  /** A client certificate (PEM) signed by the test CA, for mTLS. */
  readonly clientCertFile: string;
  /** Its private key (PEM, PKCS#8, unencrypted). */
  readonly clientKeyFile: string;
  /** Key followed by certificate in one PEM file (Java's PEM key store format). */
  readonly clientBundleFile: string;
}

/**
 * The TLS file locations under a folder (default `.kafka/tls`).
 *
 * @example
 * ```ts
 * import { tlsFiles } from "./tls.ts";
 * console.log(tlsFiles("/tmp/tls").clientKeyFile); // /tmp/tls/client.key
 * ```
 */
export function tlsFiles(dir = `${KAFKA_DIR}/tls`): TlsFiles {
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    untrustedCaFile: `${dir}/untrusted-ca.pem`,
    brokerKeystore: `${dir}/broker.p12`,
    brokerCertFile: `${dir}/broker.pem`,
    clientCertFile: `${dir}/client.pem`,
    clientKeyFile: `${dir}/client.key`,
    clientBundleFile: `${dir}/client-bundle.pem`,
  };
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new LauncherError("openssl not found on PATH: install it (apt-get install openssl)");
    }
    throw e;
  }
  if (!out.success) {
    throw new LauncherError(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

function caConfig(cn: string): string {
  return [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "x509_extensions = v3_ca",
    "[dn]",
    `CN = ${cn}`,
    "[v3_ca]",
    "basicConstraints = critical,CA:TRUE",
    "keyUsage = critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier = hash",
    "",
  ].join("\n");
}

function leafExtensions(usage: string, san?: string): string {
  return [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage = ${usage}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    ...(san ? [`subjectAltName = ${san}`] : []),
    "",
  ].join("\n");
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  b[0] = b[0]! & 0x7f; // keep it positive
  return "0x" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.cnf`, caConfig(cn));
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-sha256",
    "-days",
    "3650",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-config",
    `${name}.cnf`,
  ]);
}

async function makeLeaf(
  dir: string,
  name: string,
  cn: string,
  usage: string,
  san?: string,
): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.ext`, leafExtensions(usage, san));
  await openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-sha256",
    "-days",
    "825",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    serial(),
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

/**
 * Generates the TLS material once (a `complete` marker guards partial runs) and returns the
 * file locations. Safe to call on every start.
 *
 * @example
 * ```ts
 * import { ensureTls } from "./tls.ts";
 * const tls = await ensureTls();
 * console.log(await Deno.readTextFile(tls.caFile));
 * ```
 */
export async function ensureTls(dir = `${KAFKA_DIR}/tls`): Promise<TlsFiles> {
  const files = tlsFiles(dir);
  try {
    await Deno.stat(`${dir}/complete`);
    return files;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await makeCa(dir, "ca", "denokafka test CA");
  await makeCa(dir, "untrusted-ca", "denokafka untrusted CA");
  await makeLeaf(dir, "broker", "localhost", "serverAuth,clientAuth", "DNS:localhost,IP:127.0.0.1");
  await makeLeaf(dir, "client", "testbed-client", "clientAuth");
  await openssl(dir, [
    "pkcs12",
    "-export",
    "-in",
    "broker.pem",
    "-inkey",
    "broker.key",
    "-certfile",
    "ca.pem",
    "-name",
    "broker",
    "-out",
    "broker.p12",
    "-passout",
    `pass:${KEYSTORE_PASSWORD}`,
  ]);
  const bundle = (await Deno.readTextFile(files.clientKeyFile)) +
    (await Deno.readTextFile(files.clientCertFile));
  await Deno.writeTextFile(files.clientBundleFile, bundle);
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".csr") || e.name.endsWith(".cnf") || e.name.endsWith(".ext")) {
      await Deno.remove(`${dir}/${e.name}`);
    }
  }
  // Readable by all so a Docker broker running as another uid can read the key store.
  for (const f of [files.brokerKeystore, files.caFile]) await Deno.chmod(f, 0o644);
  await Deno.writeTextFile(`${dir}/complete`, new Date().toISOString() + "\n");
  return files;
}
