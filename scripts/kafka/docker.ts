/**
 * The Docker path of the launcher: where a Docker engine answers, the clusters run from
 * `compose.yaml` (image `apache/kafka:<version>`, host networking so the ports and advertised
 * addresses are the same as the jar path). The launcher writes each node's `server.properties`
 * into `.kafka/docker/<cluster>/` and the TLS material into `.kafka/tls/`; compose mounts both.
 * Every Docker operation on nodes lives here, behind {@linkcode dockerNodes}.
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
import { LauncherError } from "./errors.ts";
import { ensureLogConfigs } from "./java.ts";
import { ensureJars } from "./jars.ts";
import type { NodeBackend, WaitOptions } from "./node_backend.ts";
import type { Progress } from "./progress.ts";
import { waitReady } from "./readiness.ts";
import { type ClusterState, layoutOf, newState, type NodeState, writeState } from "./state.ts";
import { ensureTls } from "./tls.ts";
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

/** `docker compose up -d --wait` for a cluster's services, after writing the files they mount. */
async function composeUp(
  layout: ClusterLayout,
  version: string,
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

/** `docker compose stop|start` for one node's container (a stopped one keeps its volume). */
async function composeNode(
  layout: ClusterLayout,
  id: number,
  action: "stop" | "start",
): Promise<void> {
  const service = serviceNames(layout)[id - 1];
  if (!service) throw new RangeError(`${layout.name} has no node ${id}`);
  const r = await run("docker", [...composeArgs(layout), action, service], {}, 120_000);
  if (!r.ok) {
    throw new LauncherError(`docker compose ${action} ${service} failed: ${r.text.trim()}`);
  }
}

/**
 * Nodes as containers of `compose.yaml` (state `mode: "docker"`). Compose owns the processes,
 * so a node counts as alive whenever the cluster is recorded, and it is judged by its
 * listeners alone; the cluster ids are compose.yaml's fixed ones.
 *
 * @example
 * ```ts
 * import { dockerNodes } from "./docker.ts";
 * import { clusterLayout } from "./config.ts";
 * const state = await dockerNodes.startCluster(clusterLayout(1), "4.3.1", {
 *   progress: console.error,
 *   timeoutMs: 180_000,
 * });
 * await dockerNodes.stopCluster(state, console.error);
 * ```
 */
export const dockerNodes: NodeBackend = {
  mode: "docker",

  async startCluster(layout: ClusterLayout, version: string, wait: WaitOptions) {
    const tls = await ensureTls();
    // The brokers run from the image; the jars only serve tools, so a host without Maven
    // still gets a cluster.
    const jarsDir = await ensureJars(version, wait.progress).catch(() => "");
    const clusterId = clusterIdFor(layout);
    const state = newState({ layout, version, mode: "docker", tls, jarsDir, clusterId });
    await ensureLogConfigs(version);
    await composeUp(layout, version, wait.progress);
    await writeState(state);
    await waitReady(
      dockerNodes,
      state,
      state.brokers.map((node) => ({ node, logOffset: 0 })),
      wait,
    );
    return state;
  },

  async stopCluster(state: ClusterState, progress: Progress) {
    const layout = layoutOf(state);
    const r = await run(
      "docker",
      [...composeArgs(layout), "rm", "--stop", "--force", "--volumes", ...serviceNames(layout)],
      {},
      120_000,
    );
    if (!r.ok) progress(`kafka: docker compose rm failed: ${r.text.trim()}`);
  },

  async stopNode(state: ClusterState, node: NodeState) {
    await composeNode(layoutOf(state), node.id, "stop");
  },

  async startNode(state: ClusterState, node: NodeState, wait: WaitOptions) {
    // `docker compose start` leaves a running container alone.
    await composeNode(layoutOf(state), node.id, "start");
    await waitReady(dockerNodes, state, [{ node, logOffset: 0 }], wait);
  },

  isAlive() {
    return true;
  },

  hasStarted() {
    return Promise.resolve(true);
  },
};
