/**
 * `deno task build:npm`: builds the Node/Bun package from the same source, into `dist/npm/`
 * (git-ignored): ES modules and `.d.ts` files, the `exports` of deno.json, no runtime
 * dependency. What a JSR package looks like to npm users, and what the runtime tests run
 * under Node, Bun and workerd.
 *
 * Dev tools only: TypeScript 5 (`rewriteRelativeImportExtensions` turns `./x.ts` imports into
 * `./x.js`) and @types/node, installed once with npm under `.cache/npm_tools/`.
 *
 * Options: `--out <dir>` (default `dist/npm`).
 *
 * @module
 */

import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tools = join(root, ".cache", "npm_tools");
const outIndex = Deno.args.indexOf("--out");
const out = outIndex >= 0 ? Deno.args[outIndex + 1]! : join(root, "dist", "npm");

async function run(cmd: string, args: string[], cwd = root): Promise<void> {
  const r = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}):\n${text}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** TypeScript and Node's types, once. */
async function ensureTools(): Promise<string> {
  const tsc = join(tools, "node_modules", "typescript", "bin", "tsc");
  if (!await exists(tsc) || !await exists(join(tools, "node_modules", "@types", "node"))) {
    console.error("build:npm: installing typescript@5 and @types/node@22 (dev tools)");
    await Deno.mkdir(tools, { recursive: true });
    await Deno.writeTextFile(join(tools, "package.json"), '{ "private": true }\n');
    await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--silent",
      "typescript@5",
      "@types/node@22",
    ], tools);
  }
  return tsc;
}

const deno = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))) as {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
};

const tsc = await ensureTools();
await Deno.remove(out, { recursive: true }).catch(() => {});
await Deno.mkdir(out, { recursive: true });
// The command-line tool is a Deno program (Deno.stdin, Deno.args): not part of the package.
const libraryExports = Object.fromEntries(
  Object.entries(deno.exports).filter(([key]) => key !== "./cli"),
);
const entries = [...Object.values(libraryExports), "./producer/compression_worker.ts"];
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "Bundler",
    // DOM.AsyncIterable: ReadableStream's values() and [Symbol.asyncIterator], which the
    // consumer overrides.
    lib: ["ESNext", "DOM", "DOM.Iterable", "DOM.AsyncIterable"],
    types: ["node"],
    typeRoots: [join(tools, "node_modules", "@types")],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noFallthroughCasesInSwitch: true,
    useUnknownInCatchVariables: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    declaration: true,
    skipLibCheck: true,
    rootDir: root,
    outDir: out,
  },
  files: entries.map((e) => join(root, e)),
};
const configPath = join(out, "tsconfig.build.json");
await Deno.writeTextFile(configPath, JSON.stringify(tsconfig, null, 2));
await run("node", [tsc, "-p", configPath]);
await Deno.remove(configPath);

// The one specifier TypeScript does not rewrite: the compression Worker's URL.
const pool = join(out, "producer", "compression_pool.js");
const poolText = await Deno.readTextFile(pool);
if (!poolText.includes('"./compression_worker.ts"')) {
  throw new Error("build:npm: compression_pool.js no longer names ./compression_worker.ts");
}
await Deno.writeTextFile(
  pool,
  poolText.replaceAll('"./compression_worker.ts"', '"./compression_worker.js"'),
);

const exportsMap: Record<string, { types: string; default: string }> = {};
for (const [key, file] of Object.entries(libraryExports)) {
  const base = file.replace(/\.ts$/, "");
  exportsMap[key] = { types: `${base}.d.ts`, default: `${base}.js` };
}
const pkg = {
  name: deno.name,
  version: deno.version,
  description: "Apache Kafka client in pure TypeScript on Web Streams: Deno, Node, Bun, Workers",
  license: deno.license,
  type: "module",
  exports: exportsMap,
  // zstd and gzip use node:zlib's zstdCompressSync / crc32 (Node 22.15+).
  engines: { node: ">=22.15" },
  sideEffects: false,
};
await Deno.writeTextFile(join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
for (const f of ["README.md", "LICENSE"]) await Deno.copyFile(join(root, f), join(out, f));

let files = 0;
for await (const _ of walk(out)) files++;
console.error(`build:npm: ${files} files in ${relative(root, out) || out}`);

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else yield p;
  }
}
