/**
 * The test bed's Kafka launcher (CLI).
 *
 * ```
 * deno task kafka:up [--nodes 1|3]     start (or reuse) a cluster; prints how to reach it
 * deno task kafka:down [--nodes 1|3]   stop what the launcher started (both clusters by default)
 * deno task kafka:status               health of the managed clusters (or of KAFKA_BROKERS)
 * deno run -A scripts/kafka.ts env [--nodes 1|3]            KAFKA_* exports for a running cluster
 * deno run -A scripts/kafka.ts prepare-docker [--nodes 1|3] write the files compose.yaml mounts
 * deno run -A scripts/kafka.ts jars                          only fetch the jars (KAFKA_VERSION)
 * ```
 *
 * `KAFKA_VERSION` picks the Kafka release, `KAFKA_LAUNCHER=jars` skips Docker even when an
 * engine answers, and `KAFKA_BROKERS` (see scripts/kafka/env.ts) makes `up` a no-op check of
 * an existing cluster.
 *
 * @module
 */

import { abortCluster, down, status, up } from "./kafka/cluster.ts";
import { clusterName, LISTENERS, type NodeCount } from "./kafka/config.ts";
import { prepareDocker } from "./kafka/docker.ts";
import { envForState, externalFromEnv } from "./kafka/env.ts";
import { LauncherError } from "./kafka/errors.ts";
import { ensureJars } from "./kafka/jars.ts";
import { hostPort, probeApiVersions } from "./kafka/process.ts";
import { type ClusterState, readState } from "./kafka/state.ts";
import { ensureTls } from "./kafka/tls.ts";
import { kafkaVersion } from "./kafka/versions.ts";

const USAGE = "usage: deno run -A scripts/kafka.ts up|down|status|env|prepare-docker|jars " +
  "[--nodes 1|3]";

function parseNodes(args: string[]): NodeCount | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = a === "--nodes" ? args[i + 1] : a.startsWith("--nodes=") ? a.slice(8) : undefined;
    if (v === undefined) continue;
    if (v === "1" || v === "3") return Number(v) as NodeCount;
    throw new RangeError(`--nodes must be 1 or 3, not ${v}`);
  }
  return undefined;
}

function describe(state: ClusterState): string {
  const lines = [
    `${state.cluster}: Kafka ${state.version}, ${state.nodeCount} node(s), ${state.mode}` +
    (state.mode === "jars" ? `, pids ${state.brokers.map((b) => b.pid).join(",")}` : ""),
  ];
  for (const l of LISTENERS) lines.push(`  ${l.padEnd(15)} ${state.listeners[l]}`);
  lines.push(
    `  SASL users      ${state.admin.username} (super user), ${state.user.username} ` +
      `(${state.saslMechanisms.join(", ")})`,
    `  CA              ${state.tls.caFile}`,
    `  client cert     ${state.tls.clientCertFile} (+ ${state.tls.clientKeyFile})`,
  );
  if (state.mode === "jars") {
    lines.push(
      `  logs            ${state.brokers.map((b) => b.logFile).join("\n                  ")}`,
    );
  }
  lines.push(`  state file      .kafka/state/${state.cluster}.json`);
  return lines.join("\n");
}

async function external(): Promise<boolean> {
  const ext = externalFromEnv();
  if (!ext) return false;
  console.log("KAFKA_BROKERS is set: using that cluster; the launcher starts nothing.");
  for (const [l, list] of Object.entries(ext.listeners)) {
    const first = list.split(",")[0]!.trim();
    const plain = l === "PLAINTEXT" || l === "SASL_PLAINTEXT";
    const ok = plain ? await probeApiVersions(hostPort(first)) : undefined;
    console.log(
      `  ${l.padEnd(15)} ${list}${
        ok === undefined ? "" : ok ? "  (answers)" : "  (NOT answering)"
      }`,
    );
  }
  return true;
}

async function main(args: string[]): Promise<number> {
  const cmd = args[0];
  const nodes = parseNodes(args.slice(1));
  switch (cmd) {
    case "up": {
      if (await external()) return 0;
      const n = nodes ?? 1;
      const onSignal = () => {
        console.error("\nkafka: interrupted; stopping what was started");
        abortCluster(clusterName(n)).finally(() => Deno.exit(130));
      };
      Deno.addSignalListener("SIGINT", onSignal);
      try {
        const state = await up({ nodes: n });
        console.log(describe(state));
      } finally {
        Deno.removeSignalListener("SIGINT", onSignal);
      }
      return 0;
    }
    case "down": {
      const stopped = await down(nodes === undefined ? {} : { nodes });
      console.log(stopped.length ? `stopped: ${stopped.join(", ")}` : "nothing to stop");
      return 0;
    }
    case "status": {
      const ext = await external();
      const all = await status();
      if (all.length === 0 && !ext) {
        console.log("no cluster started by the launcher (deno task kafka:up starts one)");
        return 3;
      }
      for (const s of all) {
        console.log(describe(s.state));
        for (const n of s.nodes) {
          console.log(
            `  node ${n.id}: ${n.alive ? "alive" : "DEAD"}, ${
              n.answering ? "answering" : "NOT answering"
            }`,
          );
        }
        console.log(`  => ${s.healthy ? "healthy" : "NOT healthy"}`);
      }
      return all.every((s) => s.healthy) ? 0 : 1;
    }
    case "env": {
      const state = await readState(clusterName(nodes ?? 1));
      if (!state) throw new LauncherError("no such cluster running: deno task kafka:up first");
      for (const [k, v] of Object.entries(envForState(state))) console.log(`export ${k}='${v}'`);
      return 0;
    }
    case "prepare-docker": {
      await ensureTls();
      const dir = await prepareDocker(nodes ?? 1, kafkaVersion());
      console.log(`wrote .kafka/tls and ${dir}`);
      return 0;
    }
    case "jars": {
      console.log(await ensureJars(kafkaVersion()));
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof LauncherError || e instanceof RangeError) {
      console.error(`kafka: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
