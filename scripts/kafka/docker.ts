/**
 * The Docker path of the launcher: where a Docker engine answers, the clusters run from
 * `compose.yaml` (image `apache/kafka:<version>`, host networking so the ports and advertised
 * addresses are the same as the jar path). The launcher writes each node's `server.properties`
 * into `.kafka/docker/<cluster>/` and the TLS material into `.kafka/tls/`; compose mounts both.
 *
 * @module
 */

import {
  brokerProperties,
  type ClusterLayout,
  clusterLayout,
  KAFKA_DIR,
  type NodeCount,
  portOffset,
} from "./config.ts";
import { LauncherError, type Progress } from "./jars.ts";
import type { TlsFiles } from "./tls.ts";
import { PROJECT_ROOT } from "./versions.ts";

/**
 * The KRaft cluster ids compose.yaml uses (16 bytes, base64url), fixed so `docker compose up`
 * works without the launcher too.
 *
 * @example
 * ```ts
 * import { clusterIdFor } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * console.log(clusterIdFor(clusterLayout(1))); // dGVzdGJlZC1zaW5nbGUwMQ
 * ```
 */
export function clusterIdFor(layout: ClusterLayout): string {
  return layout.name === "single" ? "dGVzdGJlZC1zaW5nbGUwMQ" : "dGVzdGJlZC10cmlvLTAwMQ";
}

/**
 * The compose service names of a cluster's nodes.
 *
 * @example
 * ```ts
 * import { serviceNames } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * console.log(serviceNames(clusterLayout(3))); // ["kafka-1", "kafka-2", "kafka-3"]
 * ```
 */
export function serviceNames(layout: ClusterLayout): string[] {
  return layout.name === "single" ? ["kafka"] : layout.nodes.map((n) => `kafka-${n.id}`);
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      env,
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    const td = new TextDecoder();
    return { ok: out.success, text: td.decode(out.stdout) + td.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ok: false, text: `${cmd} not found` };
    return { ok: false, text: String(e) };
  }
}

/**
 * Whether a Docker engine answers (`docker info` succeeds) and the compose plugin exists.
 *
 * @example
 * ```ts
 * import { dockerAvailable } from "./docker.ts";
 * console.log(await dockerAvailable());
 * ```
 */
export async function dockerAvailable(): Promise<boolean> {
  if (!(await run("docker", ["info"], {}, 10_000)).ok) return false;
  const compose = await run("docker", ["compose", "version"]);
  if (!compose.ok) {
    throw new LauncherError(
      "a Docker engine answers but `docker compose` is missing: install the Docker Compose " +
        "plugin, or set KAFKA_LAUNCHER=jars to use Java and Maven instead",
    );
  }
  return true;
}

/**
 * Writes the per-node `server.properties` for the containers (container paths: data in the
 * image's `/var/lib/kafka/data` volume, TLS in `/etc/kafka/secrets`).
 *
 * @example
 * ```ts
 * import { prepareDocker } from "./docker.ts";
 * await prepareDocker(1, "4.3.1");
 * ```
 */
export async function prepareDocker(nodes: NodeCount, version: string): Promise<string> {
  if (portOffset() !== 0) {
    throw new LauncherError(
      "KAFKA_PORT_OFFSET is not supported by compose.yaml (fixed ports): unset it, or set " +
        "KAFKA_LAUNCHER=jars",
    );
  }
  const layout = clusterLayout(nodes);
  const dir = `${KAFKA_DIR}/docker/${layout.name}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const n of layout.nodes) {
    await Deno.writeTextFile(
      `${dir}/node-${n.id}.properties`,
      brokerProperties(layout, n, version, {
        dataDir: "/var/lib/kafka/data",
        keystore: "/etc/kafka/secrets/broker.p12",
        caFile: "/etc/kafka/secrets/ca.pem",
      }),
    );
  }
  return dir;
}

function composeArgs(layout: ClusterLayout): string[] {
  // The single node is compose's default service; the trio sits behind the `trio` profile.
  const profile = layout.name === "trio" ? ["--profile", "trio"] : [];
  return ["compose", "-f", `${PROJECT_ROOT}/compose.yaml`, ...profile];
}

/**
 * `docker compose up -d --wait` for a cluster's services.
 *
 * @example
 * ```ts
 * import { composeUp } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * import { ensureTls } from "./tls.ts";
 * await composeUp(clusterLayout(1), "4.3.1", await ensureTls(), console.error);
 * ```
 */
export async function composeUp(
  layout: ClusterLayout,
  version: string,
  _tls: TlsFiles,
  progress: Progress,
): Promise<void> {
  await prepareDocker(layout.nodes.length as NodeCount, version);
  progress(`kafka: docker compose up ${serviceNames(layout).join(" ")} (apache/kafka:${version})`);
  const r = await run(
    "docker",
    [...composeArgs(layout), "up", "-d", "--wait", ...serviceNames(layout)],
    { KAFKA_VERSION: version },
    600_000,
  );
  if (!r.ok) throw new LauncherError(`docker compose up failed:\n${r.text.trim()}`);
}

/**
 * Stops and removes a cluster's containers and their data volumes.
 *
 * @example
 * ```ts
 * import { composeDown } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * await composeDown(clusterLayout(1), console.error);
 * ```
 */
export async function composeDown(layout: ClusterLayout, progress: Progress): Promise<void> {
  const r = await run(
    "docker",
    [...composeArgs(layout), "rm", "--stop", "--force", "--volumes", ...serviceNames(layout)],
    {},
    120_000,
  );
  if (!r.ok) progress(`kafka: docker compose rm failed: ${r.text.trim()}`);
}

/**
 * Stops one node's container (its data volume stays).
 *
 * @example
 * ```ts
 * import { composeStopNode } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * await composeStopNode(clusterLayout(3), 2);
 * ```
 */
export async function composeStopNode(layout: ClusterLayout, id: number): Promise<void> {
  const service = serviceNames(layout)[id - 1];
  if (!service) throw new RangeError(`${layout.name} has no node ${id}`);
  const r = await run("docker", [...composeArgs(layout), "stop", service], {}, 120_000);
  if (!r.ok) throw new LauncherError(`docker compose stop ${service} failed: ${r.text.trim()}`);
}

/**
 * Starts one node's container again.
 *
 * @example
 * ```ts
 * import { composeStartNode } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * await composeStartNode(clusterLayout(3), 2);
 * ```
 */
export async function composeStartNode(layout: ClusterLayout, id: number): Promise<void> {
  const service = serviceNames(layout)[id - 1];
  if (!service) throw new RangeError(`${layout.name} has no node ${id}`);
  const r = await run("docker", [...composeArgs(layout), "start", service], {}, 120_000);
  if (!r.ok) throw new LauncherError(`docker compose start ${service} failed: ${r.text.trim()}`);
}
