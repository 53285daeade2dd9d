/**
 * The launcher's node backends without a broker: the state a new cluster records, the
 * `docker compose` commands the Docker backend runs (against a stand-in `docker` on PATH that
 * records its arguments, as no Docker engine may be at hand), how the JVM backend tells its own
 * nodes, and how the shared readiness wait reports a node that died or never came up.
 */

import assert from "node:assert/strict";
import { brokerProperties, clusterLayout } from "../../scripts/kafka/config.ts";
import { dockerAvailable, dockerNodes } from "../../scripts/kafka/docker.ts";
import { LauncherError } from "../../scripts/kafka/errors.ts";
import { jvmNodes } from "../../scripts/kafka/jvm_nodes.ts";
import type { NodeBackend } from "../../scripts/kafka/node_backend.ts";
import { waitReady } from "../../scripts/kafka/readiness.ts";
import { layoutOf, newState } from "../../scripts/kafka/state.ts";
import { tlsFiles } from "../../scripts/kafka/tls.ts";
import { PROJECT_ROOT } from "../../scripts/kafka/versions.ts";

function trioState(mode: "jars" | "docker") {
  return newState({
    layout: clusterLayout(3, 0),
    version: "4.3.1",
    mode,
    tls: tlsFiles("/nowhere/tls"),
    jarsDir: "/nowhere/libs",
    clusterId: "dGVzdGJlZC10cmlvLTAwMQ",
  });
}

Deno.test("launcher state: a new cluster records every node's listeners, no pid, not ready", () => {
  const s = trioState("jars");
  assert.equal(s.cluster, "trio");
  assert.equal(s.mode, "jars");
  assert.equal(s.ready, false);
  assert.equal(s.nodeCount, 3);
  assert.equal(s.listeners.PLAINTEXT, "127.0.0.1:19092,127.0.0.1:20092,127.0.0.1:21092");
  assert.deepEqual(s.brokers.map((b) => b.id), [1, 2, 3]);
  assert.deepEqual(s.brokers.map((b) => b.pid), [0, 0, 0]);
  assert.equal(s.brokers[1]!.listeners.SASL_SSL, "127.0.0.1:20095");
  assert.equal(s.brokers[1]!.controller, "127.0.0.1:20099");
  assert.ok(s.brokers.every((b) => b.logFile.endsWith(".log")));
  assert.equal(s.tls.caFile, "/nowhere/tls/ca.pem");
  // Containers log inside Docker: no host log file is recorded.
  assert.ok(trioState("docker").brokers.every((b) => b.logFile === ""));
});

Deno.test("launcher state: the benchmark's broker options (log folder, extra properties) survive a restart", () => {
  const options = {
    dataRoot: "/dev/shm/bench",
    extraProperties: ["log.segment.delete.delay.ms=1000"],
  };
  const layout = clusterLayout(1, 0, options);
  assert.equal(layout.nodes[0]!.dataDir, "/dev/shm/bench/single-node-1");
  const s = newState({
    layout,
    version: "4.3.1",
    mode: "jars",
    tls: tlsFiles("/nowhere/tls"),
    jarsDir: "/nowhere/libs",
    clusterId: "dGVzdGJlZC1zaW5nbGUwMQ",
  });
  assert.equal(s.dataRoot, "/dev/shm/bench");
  assert.equal(s.brokers[0]!.dataDir, "/dev/shm/bench/single-node-1");
  // startNode rewrites server.properties from layoutOf(state): it must keep both options.
  const again = layoutOf(s);
  const props = brokerProperties(again, again.nodes[0]!, "4.3.1", {
    dataDir: again.nodes[0]!.dataDir,
    keystore: "/k.p12",
    caFile: "/ca.pem",
  });
  assert.match(props, /^log\.dirs=\/dev\/shm\/bench\/single-node-1$/m);
  assert.match(props, /^log\.segment\.delete\.delay\.ms=1000$/m);
  // The tests' cluster has neither.
  const plain = clusterLayout(1, 0);
  assert.ok(plain.nodes[0]!.dataDir.endsWith("/.kafka/clusters/single/node-1/data"));
  assert.equal(plain.dataRoot, undefined);
  assert.equal(trioState("jars").dataRoot, undefined);
  assert.doesNotMatch(
    brokerProperties(plain, plain.nodes[0]!, "4.3.1", {
      dataDir: "/d",
      keystore: "/k.p12",
      caFile: "/ca.pem",
    }),
    /delete\.delay/,
  );
});

Deno.test("launcher JVM backend: only a live process running the node's config is its node", () => {
  const node = trioState("jars").brokers[0]!;
  assert.equal(jvmNodes.isAlive({ ...node, pid: 0 }), false);
  // This very process is alive but does not run the node's server.properties.
  assert.equal(jvmNodes.isAlive({ ...node, pid: Deno.pid }), false);
  assert.equal(jvmNodes.isAlive({ ...node, pid: Deno.pid, configFile: "deno" }), true);
});

/** Runs `fn` with a `docker` on PATH that appends its arguments to a file and exits `code`. */
async function withFakeDocker(
  script: string,
  fn: (calls: () => Promise<string[]>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fake-docker-" });
  const log = `${dir}/calls`;
  await Deno.writeTextFile(
    `${dir}/docker`,
    `#!/bin/sh\necho "$*" >> '${log}'\n${script}\n`,
    { mode: 0o755 },
  );
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", `${dir}:${path}`);
  try {
    await fn(async () => (await Deno.readTextFile(log).catch(() => "")).trimEnd().split("\n"));
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(dir, { recursive: true });
  }
}

const COMPOSE = `compose -f ${PROJECT_ROOT}/compose.yaml`;

Deno.test("launcher Docker backend: node and cluster stops run compose on the right services", async () => {
  await withFakeDocker("exit 0", async (calls) => {
    const state = trioState("docker");
    await dockerNodes.stopNode(state, state.brokers[1]!, 1000);
    const lines: string[] = [];
    await dockerNodes.stopCluster(state, (l) => lines.push(l));
    assert.deepEqual(await calls(), [
      `${COMPOSE} --profile trio stop kafka-2`,
      `${COMPOSE} --profile trio rm --stop --force --volumes kafka-1 kafka-2 kafka-3`,
    ]);
    assert.deepEqual(lines, []);
    assert.equal(dockerNodes.isAlive(state.brokers[0]!), true);
    assert.equal(await dockerNodes.hasStarted(state.brokers[0]!, 0), true);
    assert.equal(await dockerAvailable(), true);
  });
});

Deno.test("launcher Docker backend: a failing compose is a LauncherError, or a progress line on the way down", async () => {
  await withFakeDocker("echo 'no such service' >&2; exit 1", async () => {
    const state = trioState("docker");
    await assert.rejects(
      dockerNodes.stopNode(state, state.brokers[2]!, 1000),
      (e) =>
        e instanceof LauncherError &&
        /compose stop kafka-3 failed: no such service/.test(e.message),
    );
    const lines: string[] = [];
    await dockerNodes.stopCluster(state, (l) => lines.push(l));
    assert.deepEqual(lines, ["kafka: docker compose rm failed: no such service"]);
    assert.equal(await dockerAvailable(), false); // `docker info` fails: no engine
  });
});

Deno.test("launcher Docker backend: an engine without the compose plugin is named", async () => {
  await withFakeDocker('[ "$1" = compose ] && exit 1; exit 0', async () => {
    await assert.rejects(
      dockerAvailable(),
      (e) => e instanceof LauncherError && /compose/.test(e.message),
    );
  });
});

/** A backend whose nodes are alive and answer nothing: only `hasStarted` varies. */
function stubBackend(hasStarted: NodeBackend["hasStarted"]): NodeBackend {
  return {
    ...jvmNodes,
    isAlive: () => true,
    hasStarted,
  };
}

Deno.test("launcher readiness: a node that dies during start-up fails the wait at once", async () => {
  const ca = await Deno.makeTempFile();
  try {
    const state = { ...trioState("jars"), tls: { ...trioState("jars").tls, caFile: ca } };
    const died = stubBackend(() => Promise.reject(new LauncherError("node 1 exited")));
    await assert.rejects(
      waitReady(died, state, [{ node: state.brokers[0]!, logOffset: 0 }], {
        progress: () => {},
        timeoutMs: 60_000,
      }),
      (e) => e instanceof LauncherError && e.message === "node 1 exited",
    );
  } finally {
    await Deno.remove(ca);
  }
});

Deno.test("launcher readiness: a node that never starts is named when the wait runs out", async () => {
  const ca = await Deno.makeTempFile();
  try {
    const state = { ...trioState("jars"), tls: { ...trioState("jars").tls, caFile: ca } };
    const never = stubBackend(() => Promise.resolve(false));
    const nodes = state.brokers.slice(1).map((node) => ({ node, logOffset: 0 }));
    await assert.rejects(
      waitReady(never, state, nodes, { progress: () => {}, timeoutMs: 0 }),
      (e) => e instanceof LauncherError && /node\(s\) 2,3 not ready/.test(e.message),
    );
  } finally {
    await Deno.remove(ca);
  }
});
