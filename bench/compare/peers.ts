/**
 * Installing the peers and building their command lines. Everything installed goes under
 * bench/peers/ (git-ignored); the sources of our small peer programs are in
 * bench/compare/peers/. A peer that cannot be installed is returned with the reason, so the
 * results can say so.
 *
 * | client       | what runs                                                   | installed from |
 * |--------------|-------------------------------------------------------------|----------------|
 * | ours         | bench/compare/peers/ours.ts on this project's producer/consumer | the repo   |
 * | ours-node    | the same script under node@22 (type stripping) on the npm build | npm (node@22) |
 * | ours-bun     | the same script under bun@1 on the npm build                 | npm (bun@1)    |
 * | java         | JavaPeer (ProducerPerformance / ConsumerPerformance + a latency loop) | the broker's jars |
 * | librdkafka   | rdkperf.c linked with Debian's librdkafka                   | apt librdkafka-dev |
 * | franz-go     | franz/main.go on github.com/twmb/franz-go                   | Go module proxy |
 * | kafkajs      | node/kafkajs.mjs                                            | npm (+ node@22) |
 * | platformatic | node/platformatic.mjs on @platformatic/kafka                | npm (+ node@22) |
 *
 * @module
 */

import type { ClientName } from "./config.ts";

/**
 * Paths and facts the installers need.
 *
 * @example
 * ```ts
 * import type { InstallContext } from "./peers.ts";
 * const ctx: InstallContext = {
 *   root: "/repo", peersDir: "/repo/bench/peers", jarsDir: "/repo/.kafka/jars/4.3.1/libs",
 *   javaLogProperty: "-Dlog4j2.configurationFile=/x", log: console.error,
 * };
 * console.log(ctx.peersDir);
 * ```
 */
export interface InstallContext {
  /** Repository root. */
  root: string;
  /** bench/peers (install dir). */
  peersDir: string;
  /** Kafka jars of the running broker. */
  jarsDir: string;
  /** JVM flag pointing log4j at the tools' log configuration (WARN to stderr). */
  javaLogProperty: string;
  /** Progress lines. */
  log: (line: string) => void;
}

/**
 * An installed peer: how to start it, and what versions it runs.
 *
 * @example
 * ```ts
 * import type { Installed } from "./peers.ts";
 * const p: Installed = { ok: true, version: "x", command: (args) => ["echo", ...args] };
 * console.log(p.command(["--mode", "produce"]).join(" "));
 * ```
 */
export type Installed =
  | {
    ok: true;
    version: string;
    command: (args: string[]) => string[];
    env?: Record<string, string>;
  }
  | { ok: false; reason: string };

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, {
      args,
      ...(opts.cwd !== undefined && { cwd: opts.cwd }),
      env: { DEBIAN_FRONTEND: "noninteractive", ...opts.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const td = new TextDecoder();
    return { ok: r.success, out: (td.decode(r.stdout) + td.decode(r.stderr)).trim() };
  } catch (e) {
    return { ok: false, out: e instanceof Error ? e.message : String(e) };
  }
}

function tail(text: string, n = 5): string {
  return text.split("\n").slice(-n).join(" | ").slice(-600);
}

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

/** True when `target` is missing or older than any of `sources`. */
async function stale(target: string, sources: string[]): Promise<boolean> {
  const t = await mtime(target);
  if (t === 0) return true;
  for (const s of sources) if ((await mtime(s)) > t) return true;
  return false;
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() ?? "";
}

/** JVM flags of Kafka's perf-test scripts (kafka-run-class.sh with KAFKA_HEAP_OPTS=-Xmx512M). */
const JAVA_PERF_FLAGS = [
  "-Xmx512M",
  "-server",
  "-XX:+UseG1GC",
  "-XX:MaxGCPauseMillis=20",
  "-XX:InitiatingHeapOccupancyPercent=35",
  "-XX:+ExplicitGCInvokesConcurrent",
  "-Djava.awt.headless=true",
];

async function installJava(ctx: InstallContext): Promise<Installed> {
  const src = `${ctx.root}/bench/compare/peers/java/JavaPeer.java`;
  const classes = `${ctx.peersDir}/java/classes`;
  const javaV = await run("java", ["-version"]);
  if (!javaV.ok) return { ok: false, reason: `java not runnable: ${tail(javaV.out)}` };
  if (await stale(`${classes}/JavaPeer.class`, [src])) {
    ctx.log("java: compiling JavaPeer");
    await Deno.mkdir(classes, { recursive: true });
    const r = await run("javac", ["-d", classes, "-cp", `${ctx.jarsDir}/*`, src]);
    if (!r.ok) return { ok: false, reason: `javac failed: ${tail(r.out)}` };
  }
  const kafka = (await Array.fromAsync(Deno.readDir(ctx.jarsDir)))
    .map((e) => /^kafka-clients-(.+)\.jar$/.exec(e.name)?.[1])
    .find((v) => v !== undefined) ?? "?";
  const jvm = /version "([^"]+)"/.exec(javaV.out)?.[1] ?? firstLine(javaV.out);
  return {
    ok: true,
    version: `kafka-clients ${kafka} (ProducerPerformance/ConsumerPerformance), JVM ${jvm}`,
    command: (args) => [
      "java",
      ...JAVA_PERF_FLAGS,
      ctx.javaLogProperty,
      "-cp",
      `${classes}:${ctx.jarsDir}/*`,
      "JavaPeer",
      ...args,
    ],
  };
}

async function aptInstall(pkg: string, ctx: InstallContext): Promise<string | undefined> {
  if (Deno.uid() !== 0) {
    return `${pkg} is not installed and we are not root: apt-get install ${pkg}`;
  }
  ctx.log(`librdkafka: apt-get install ${pkg}`);
  let r = await run("apt-get", ["install", "-y", "-q", pkg]);
  if (!r.ok) {
    await run("apt-get", ["update", "-q"]);
    r = await run("apt-get", ["install", "-y", "-q", pkg]);
  }
  return r.ok ? undefined : `apt-get install ${pkg} failed: ${tail(r.out)}`;
}

async function installLibrdkafka(ctx: InstallContext): Promise<Installed> {
  const src = `${ctx.root}/bench/compare/peers/librdkafka/rdkperf.c`;
  const bin = `${ctx.peersDir}/librdkafka/rdkperf`;
  const dev = await run("dpkg-query", ["-W", "-f=${Status} ${Version}", "librdkafka-dev"]);
  if (!dev.ok || !dev.out.startsWith("install ok installed")) {
    const err = await aptInstall("librdkafka-dev", ctx);
    if (err) return { ok: false, reason: err };
  }
  if (await stale(bin, [src])) {
    ctx.log("librdkafka: compiling rdkperf");
    await Deno.mkdir(`${ctx.peersDir}/librdkafka`, { recursive: true });
    const r = await run("cc", ["-O2", "-o", bin, src, "-lrdkafka"]);
    if (!r.ok) return { ok: false, reason: `cc failed: ${tail(r.out)}` };
  }
  const v = await run(bin, ["--version", "x"]);
  if (!v.ok) return { ok: false, reason: `rdkperf does not run: ${tail(v.out)}` };
  const deb = await run("dpkg-query", ["-W", "-f=${Version}", "librdkafka1"]);
  return {
    ok: true,
    version: `librdkafka ${v.out} (Debian ${deb.ok ? deb.out : "?"})`,
    command: (args) => [bin, ...args],
  };
}

async function installFranz(ctx: InstallContext): Promise<Installed> {
  const dir = `${ctx.root}/bench/compare/peers/franz`;
  const bin = `${ctx.peersDir}/franz/franz-bench`;
  const goV = await run("go", ["version"]);
  if (!goV.ok) return { ok: false, reason: `go not found: ${tail(goV.out)}` };
  const env = {
    GOMODCACHE: `${ctx.peersDir}/go/mod`,
    GOCACHE: `${ctx.peersDir}/go/cache`,
    GOFLAGS: "-modcacherw",
  };
  if (await stale(bin, [`${dir}/main.go`, `${dir}/go.mod`, `${dir}/go.sum`])) {
    ctx.log("franz-go: fetching modules and building (first time: about a minute)");
    const r = await run("go", ["build", "-o", bin, "."], { cwd: dir, env });
    if (!r.ok) return { ok: false, reason: `go build failed: ${tail(r.out)}` };
  }
  const v = await run(bin, ["--version", "x"]);
  if (!v.ok) return { ok: false, reason: `franz-bench does not run: ${tail(v.out)}` };
  return {
    ok: true,
    version: `franz-go ${v.out} (${firstLine(goV.out).replace(/^go version /, "")})`,
    command: (args) => [bin, ...args],
  };
}

let nodeInstall: Promise<{ node: string; dir: string } | { reason: string }> | undefined;

/** npm-installs kafkajs, @platformatic/kafka and node@22 once for both Node peers. */
function installNodePeers(ctx: InstallContext) {
  nodeInstall ??= (async () => {
    const src = `${ctx.root}/bench/compare/peers/node`;
    const dir = `${ctx.peersDir}/node`;
    await Deno.mkdir(dir, { recursive: true });
    const manifest = await Deno.readTextFile(`${src}/package.json`);
    let installed = "";
    try {
      installed = await Deno.readTextFile(`${dir}/.installed-package.json`);
    } catch {
      // first install
    }
    // The scripts must sit beside node_modules for Node's module resolution.
    for (const f of ["common.mjs", "kafkajs.mjs", "platformatic.mjs"]) {
      await Deno.copyFile(`${src}/${f}`, `${dir}/${f}`);
    }
    const node = `${dir}/node_modules/node/bin/node`;
    if (installed !== manifest || (await mtime(node)) === 0) {
      ctx.log("node peers: npm install (kafkajs, @platformatic/kafka, node@22)");
      await Deno.writeTextFile(`${dir}/package.json`, manifest);
      const r = await run("npm", ["install", "--no-audit", "--no-fund", "--no-save"], { cwd: dir });
      if (!r.ok) return { reason: `npm install failed: ${tail(r.out)}` };
      await Deno.writeTextFile(`${dir}/.installed-package.json`, manifest);
    }
    const v = await run(node, ["--version"]);
    if (!v.ok) return { reason: `node from npm does not run: ${tail(v.out)}` };
    return { node, dir };
  })();
  return nodeInstall;
}

async function packageVersion(dir: string, pkg: string): Promise<string> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/node_modules/${pkg}/package.json`)).version;
  } catch {
    return "?";
  }
}

async function installNodePeer(
  ctx: InstallContext,
  script: string,
  pkg: string,
): Promise<Installed> {
  const n = await installNodePeers(ctx);
  if ("reason" in n) return { ok: false, reason: n.reason };
  const nodeV = await run(n.node, ["--version"]);
  return {
    ok: true,
    version: `${pkg} ${await packageVersion(n.dir, pkg)} (Node ${nodeV.out})`,
    command: (args) => [n.node, `${n.dir}/${script}`, ...args],
  };
}

let npmBuild: Promise<{ ok: boolean; out: string }> | undefined;

/** Runs `deno task build:npm` once: `ours-node` and `ours-bun` run the npm build. */
function buildNpm(ctx: InstallContext) {
  npmBuild ??= run(Deno.execPath(), ["run", "-A", `${ctx.root}/scripts/build_npm.ts`]);
  return npmBuild;
}

/** The runtime binary for `ours-node` (the Node peers' node@22) or `ours-bun` (bun@1). */
async function runtimeBinary(
  ctx: InstallContext,
  runtime: "node" | "bun",
): Promise<{ bin: string; args: string[]; version: string } | { reason: string }> {
  if (runtime === "node") {
    // BENCH_OURS_NODE=/path/to/node measures another Node (e.g. 24) than the peers' node@22.
    const other = Deno.env.get("BENCH_OURS_NODE");
    const n = other ? { node: other } : await installNodePeers(ctx);
    if ("reason" in n) return n;
    const v = await run(n.node, ["--version"]);
    return {
      bin: n.node,
      args: ["--experimental-strip-types", "--no-warnings"],
      version: `Node ${v.out}`,
    };
  }
  const dir = `${ctx.peersDir}/bun`;
  const bin = `${dir}/node_modules/bun/bin/bun.exe`;
  if ((await mtime(bin)) === 0) {
    ctx.log("ours-bun: npm install bun@1");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/package.json`, '{ "private": true }\n');
    const r = await run("npm", ["install", "--no-audit", "--no-fund", "bun@1"], { cwd: dir });
    if (!r.ok) return { reason: `npm install bun@1 failed: ${tail(r.out)}` };
  }
  const v = await run(bin, ["--version"]);
  if (!v.ok) return { reason: `bun from npm does not run: ${tail(v.out)}` };
  return { bin, args: [], version: `Bun ${v.out}` };
}

async function installOurs(
  ctx: InstallContext,
  runtime: "deno" | "node" | "bun" = "deno",
): Promise<Installed> {
  const script = `${ctx.root}/bench/compare/peers/ours.ts`;
  let launch = [Deno.execPath(), "run", "-A", script];
  let env: Record<string, string> | undefined;
  let runtimeVersion = `Deno ${Deno.version.deno}`;
  if (runtime !== "deno") {
    const b = await buildNpm(ctx);
    if (!b.ok) return { ok: false, reason: `deno task build:npm failed: ${tail(b.out)}` };
    const rt = await runtimeBinary(ctx, runtime);
    if ("reason" in rt) return { ok: false, reason: rt.reason };
    launch = [rt.bin, ...rt.args, script];
    env = { OURS_LIB: `file://${ctx.root}/dist/npm/` };
    runtimeVersion = `${rt.version}, npm build`;
  }
  const command = (args: string[]) => [...launch, ...args];
  const probe = await run(launch[0]!, [...launch.slice(1), "--mode", "probe"], {
    ...env && { env },
  });
  const line = probe.out.split("\n").find((l) => l.startsWith("UNAVAILABLE") || l === "OK");
  if (line !== "OK") {
    return {
      ok: false,
      reason: line?.slice("UNAVAILABLE".length).trim() ?? `probe failed: ${tail(probe.out)}`,
    };
  }
  const manifest = JSON.parse(await Deno.readTextFile(`${ctx.root}/deno.json`));
  const git = await run("git", ["-C", ctx.root, "rev-parse", "--short", "HEAD"]);
  // Uncommitted changes in the client's folders are measured too: say so.
  const dirty = await run("git", [
    "-C",
    ctx.root,
    "status",
    "--porcelain",
    "--",
    "protocol",
    "cluster",
    "producer",
    "consumer",
    "mod.ts",
  ]);
  const rev = git.ok ? git.out + (dirty.ok && dirty.out !== "" ? "+uncommitted" : "") : "?";
  return {
    ok: true,
    version: `${manifest.name} ${manifest.version} (git ${rev}, ${runtimeVersion})`,
    command,
    ...env && { env },
  };
}

/**
 * Installs (or finds already installed) one peer.
 *
 * @example
 * ```ts ignore
 * import { installPeer } from "./peers.ts";
 * const p = await installPeer("franz-go", ctx);
 * if (p.ok) console.log(p.version); else console.log(p.reason);
 * ```
 */
export function installPeer(client: ClientName, ctx: InstallContext): Promise<Installed> {
  switch (client) {
    case "ours":
      return installOurs(ctx);
    case "ours-node":
      return installOurs(ctx, "node");
    case "ours-bun":
      return installOurs(ctx, "bun");
    case "java":
      return installJava(ctx);
    case "librdkafka":
      return installLibrdkafka(ctx);
    case "franz-go":
      return installFranz(ctx);
    case "kafkajs":
      return installNodePeer(ctx, "kafkajs.mjs", "kafkajs");
    case "platformatic":
      return installNodePeer(ctx, "platformatic.mjs", "@platformatic/kafka");
  }
}
