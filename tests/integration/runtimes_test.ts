/**
 * One source, every runtime: the runtime subset (tests/runtimes/subset.ts: every codec, a
 * consumer group of two, a transaction read back with read_committed, SCRAM-SHA-512 over
 * TLS, admin create/describe/delete) against the real broker under Deno (the source), Node 22,
 * Node 24 and Bun (the npm build, `deno task build:npm`) and Cloudflare's workerd (the npm
 * build bundled into a Worker that connects over `cloudflare:sockets`).
 *
 * Node and Bun come from npm (`npx -y node@22`, `node@24`, `bun@1`), workerd and esbuild
 * from npm into `.cache/runtime_tools/`. A runtime whose package cannot be installed is
 * skipped with one line saying so; anything else that fails, fails.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { broker } from "../helpers/broker.ts";
import type { PartResult, SubsetConfig } from "../runtimes/subset.ts";
import { ensureWorkerdTools, runWorkerd } from "../runtimes/workerd.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const entry = join(root, "tests", "runtimes", "entry.ts");
const npmLib = pathToFileURL(join(root, "dist", "npm", "mod.js")).href;
const b = await broker();
const td = new TextDecoder();

function config(runtime: string): SubsetConfig {
  const ssl = b.listeners.SASL_SSL;
  return {
    runtime,
    brokers: b.bootstrap(),
    ...ssl !== undefined && b.tls.caPem !== undefined && b.user !== undefined && {
      saslSsl: {
        brokers: b.bootstrap("SASL_SSL"),
        caPem: b.tls.caPem,
        username: b.user.username,
        password: b.user.password,
      },
    },
  };
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command(cmd, {
    args,
    env,
    cwd: root,
    stdin: "null",
    signal: AbortSignal.timeout(240_000),
  }).output();
  return { ok: r.success, out: td.decode(r.stdout), err: td.decode(r.stderr), code: r.code };
}

/** `npx -y <pkg> --version`, or why the package cannot be had. */
async function probe(pkg: string): Promise<{ version: string } | { why: string }> {
  const r = await run("npx", ["-y", pkg, "--version"]).catch((e) => ({
    ok: false,
    out: "",
    err: String(e),
    code: -1,
  }));
  if (!r.ok) return { why: `npx -y ${pkg} failed: ${r.err.trim().split("\n").at(-1)}` };
  return { version: r.out.trim() };
}

function assertParts(runtime: string, results: PartResult[], skips: Record<string, string> = {}) {
  const lines = results.map((r) => `${runtime} ${r.part}: ${r.status} (${r.ms} ms) ${r.detail}`);
  console.log(lines.join("\n"));
  assert.deepEqual(
    results.map((r) => r.part),
    ["admin", "codecs", "big-batches", "group", "transaction", "scram-tls"],
  );
  for (const r of results) {
    if (skips[r.part] !== undefined) {
      assert.equal(r.status, "skip", `${runtime} ${r.part}: expected a skip`);
      assert.equal(r.detail, skips[r.part]);
    } else {
      assert.equal(r.status, "ok", `${runtime} ${r.part}: ${r.detail}`);
    }
  }
}

/** Runs entry.ts under a runtime command and returns its report. */
async function subset(cmd: string, args: string[], lib: string, runtime: string) {
  const r = await run(cmd, [...args, entry], {
    KAFKA_SUBSET_LIB: lib,
    KAFKA_SUBSET_CONFIG: JSON.stringify(config(runtime)),
  });
  const last = r.out.trim().split("\n").at(-1) ?? "";
  assert.ok(r.ok && last.startsWith("{"), `${runtime} exited ${r.code}:\n${r.out}\n${r.err}`);
  return JSON.parse(last) as {
    runtime: string;
    versions: Record<string, string>;
    results: PartResult[];
  };
}

let built: Promise<void> | undefined;
function buildNpm(): Promise<void> {
  built ??= run(Deno.execPath(), ["run", "-A", join(root, "scripts", "build_npm.ts")]).then(
    (r) => assert.ok(r.ok, `build:npm failed:\n${r.out}\n${r.err}`),
  );
  return built;
}

Deno.test("runtime subset: Deno (the source)", async () => {
  const lib = pathToFileURL(join(root, "mod.ts")).href;
  const r = await subset(Deno.execPath(), ["run", "-A"], lib, "deno");
  assert.equal(r.runtime, "deno");
  console.log(`Deno ${r.versions.deno}`);
  assertParts("deno", r.results);
});

const runtimes = [
  { name: "Node 22", pkg: "node@22", args: ["--experimental-strip-types", "--no-warnings"] },
  { name: "Node 24", pkg: "node@24", args: [] },
  { name: "Bun", pkg: "bun@1", args: [] },
] as const;

for (const rt of runtimes) {
  const p = await probe(rt.pkg);
  if ("why" in p) console.log(`runtime subset: ${rt.name} skipped: ${p.why}`);
  Deno.test({
    name: `runtime subset: ${rt.name} (the npm build)`,
    ignore: "why" in p,
    async fn() {
      await buildNpm();
      const id = rt.pkg.replace("@", "");
      const r = await subset("npx", ["-y", rt.pkg, ...rt.args], npmLib, id);
      assert.equal(r.runtime, rt.pkg.startsWith("bun") ? "bun" : "node");
      console.log(`${rt.name}: ${"version" in p ? p.version : ""}`);
      assertParts(id, r.results);
    },
  });
}

const workerdTools = await ensureWorkerdTools(root).then(() => null, (e) => String(e));
if (workerdTools) console.log(`runtime subset: workerd skipped: ${workerdTools.split("\n")[0]}`);

Deno.test({
  name: "runtime subset: Cloudflare workerd (the npm build in a Worker)",
  ignore: workerdTools !== null,
  async fn() {
    await buildNpm();
    const cfg = config("workerd");
    // Workers accept no CA in code (connect() has no such option); workerd's own network
    // service is told to trust the test CA instead, as a Workers deployment would need a
    // publicly trusted certificate on the broker.
    const r = await runWorkerd(root, join(root, "dist", "npm", "mod.js"), {
      ...cfg,
      caTrustedByRuntime: true,
    }, b.tls.caPem);
    console.log(`workerd ${r.version}; at most ${r.maxOpen} sockets open at once`);
    assertParts("workerd", r.results);
    // Workers allow 6 open connections; one client per broker socket keeps the subset within.
    assert.ok(r.maxOpen <= 6, `${r.maxOpen} sockets open at once`);
  },
});
