/**
 * Runs the runtime subset inside Cloudflare's `workerd`: bundles a small Worker (the npm
 * build, the subset, `connect` from `cloudflare:sockets`) with esbuild, writes a capnp config
 * whose outbound network may reach loopback and trusts the test bed's CA, serves it on a free
 * port, and drives it with one HTTP request. Dev tools (workerd, esbuild) come from npm into
 * `.cache/runtime_tools/`.
 *
 * @module
 */

import { join } from "node:path";
import type { PartResult, SubsetConfig } from "./subset.ts";

/** What {@linkcode runWorkerd} reports. */
export interface WorkerdRun {
  version: string;
  results: PartResult[];
  /** Most sockets the Worker had open at once. */
  maxOpen: number;
}

async function output(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    ...cwd !== undefined && { cwd },
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}\n${text}`);
  return text;
}

/** Installs workerd and esbuild (once) and returns their binaries. */
export async function ensureWorkerdTools(
  root: string,
): Promise<{ workerd: string; esbuild: string }> {
  const dir = join(root, ".cache", "runtime_tools");
  const bin = (p: string) => join(dir, "node_modules", p);
  const workerd = bin("@cloudflare/workerd-linux-64/bin/workerd");
  const esbuild = bin("@esbuild/linux-x64/bin/esbuild");
  const have = async (p: string) => await Deno.stat(p).then(() => true, () => false);
  if (!await have(workerd) || !await have(esbuild)) {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "package.json"), '{ "private": true }\n');
    await output(
      "npm",
      ["install", "--no-audit", "--no-fund", "--silent", "workerd", "esbuild"],
      dir,
    );
  }
  // Other platforms: the packages' own launchers.
  return {
    workerd: await have(workerd) ? workerd : bin(".bin/workerd"),
    esbuild: await have(esbuild) ? esbuild : bin(".bin/esbuild"),
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Bundles the Worker, starts workerd, posts `config`, stops workerd. */
export async function runWorkerd(
  root: string,
  lib: string,
  config: SubsetConfig,
  caPem: string | undefined,
): Promise<WorkerdRun> {
  const tools = await ensureWorkerdTools(root);
  const version = (await output(tools.workerd, ["--version"])).trim();
  const dir = await Deno.makeTempDir({ prefix: "denokafka_workerd_" });
  try {
    await Deno.writeTextFile(
      join(dir, "worker.ts"),
      `import { connect } from "cloudflare:sockets";
import * as kafka from ${JSON.stringify(lib)};
import { runSubset } from ${JSON.stringify(join(root, "tests", "runtimes", "subset.ts"))};
// Counts the sockets open at once: a Worker may hold 6.
const cf = kafka.cloudflareTransport(connect);
let open = 0;
let maxOpen = 0;
const transport = {
  name: "cloudflare-counted",
  async connect(host, port, options) {
    const socket = await cf.connect(host, port, options);
    maxOpen = Math.max(maxOpen, ++open);
    let closed = false;
    return {
      read: (p) => socket.read(p),
      write: (p) => socket.write(p),
      close() {
        if (!closed) open--;
        closed = true;
        socket.close();
      },
    };
  },
};
export default {
  async fetch(request) {
    try {
      const results = await runSubset(kafka, await request.json(), {
        transport,
        maxConnectionsPerBroker: 1, // a Worker may hold 6 sockets at once
      });
      return Response.json({ runtime: kafka.runtime(), results, maxOpen });
    } catch (e) {
      return new Response(String(e?.stack ?? e), { status: 500 });
    }
  },
};
`,
    );
    await output(tools.esbuild, [
      "worker.ts",
      "--bundle",
      "--format=esm",
      "--platform=neutral",
      "--external:cloudflare:sockets",
      "--external:node:*",
      "--outfile=worker.js",
      "--log-level=warning",
    ], dir);
    const port = freePort();
    const trusted = caPem === undefined
      ? ""
      : `, tlsOptions = (trustedCertificates = [embed "ca.pem"])`;
    if (caPem !== undefined) await Deno.writeTextFile(join(dir, "ca.pem"), caPem);
    await Deno.writeTextFile(
      join(dir, "config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    # The test bed is on loopback, which Workers' default outbound refuses.
    (name = "internet", network = (allow = ["public", "private", "local"]${trusted})),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const mainWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "internet",
);
`,
    );
    const child = new Deno.Command(tools.workerd, {
      args: ["serve", "config.capnp"],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const logs: string[] = [];
    const td = new TextDecoder();
    const drain = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) logs.push(td.decode(c));
    };
    const draining = Promise.all([drain(child.stdout), drain(child.stderr)]);
    try {
      const deadline = Date.now() + 30_000;
      while (!logs.join("").includes("Listening on")) {
        if (Date.now() > deadline) throw new Error(`workerd did not start:\n${logs.join("")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(config),
        signal: AbortSignal.timeout(240_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`the Worker failed (${res.status}): ${text}\n${logs.join("")}`);
      const body = JSON.parse(text) as { results: PartResult[]; maxOpen: number };
      return { version, results: body.results, maxOpen: body.maxOpen };
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await draining;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
