/**
 * Counts the public surface: the names each entry point of deno.json's `exports` exports (as
 * `deno doc --json` sees them), and how many names more than one entry point exports.
 *
 * Run: `deno task surface` (a table), `deno task surface --names .` (the root's names, one a
 * line), `deno task surface --json`.
 *
 * @module
 */

interface DocSymbol {
  name: string;
}
interface DocJson {
  nodes: Record<string, { symbols: DocSymbol[] }>;
}

const root = new URL("../", import.meta.url);
const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};
const entries = Object.entries(deno.exports);

const out = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--json", ...entries.map(([, file]) => file)],
  cwd: root,
  stdout: "piped",
  stderr: "inherit",
}).output();
if (!out.success) throw new Error("deno doc --json failed");
const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as DocJson;

/** Entry point name (`.`, `./producer`, …) to its exported names. */
const names = new Map<string, Set<string>>();
for (const [key, file] of entries) {
  const node = doc.nodes[new URL(file, root).href];
  if (!node) throw new Error(`deno doc gave nothing for ${file}`);
  names.set(key, new Set(node.symbols.map((s) => s.name)));
}

/** How many entry points export each name; `skipRoot` leaves the root out. */
function shared(skipRoot: boolean): string[] {
  const count = new Map<string, number>();
  for (const [key, set] of names) {
    if (skipRoot && key === ".") continue;
    for (const n of set) count.set(n, (count.get(n) ?? 0) + 1);
  }
  return [...count].filter(([, c]) => c >= 2).map(([n]) => n).sort();
}

const args = Deno.args;
const at = args.indexOf("--names");
if (at >= 0) {
  const key = args[at + 1] ?? ".";
  const set = names.get(key);
  if (!set) throw new Error(`no entry point ${key}; have ${[...names.keys()].join(" ")}`);
  for (const n of [...set].sort()) console.log(n);
} else if (args.includes("--json")) {
  console.log(JSON.stringify(
    {
      entries: Object.fromEntries([...names].map(([k, s]) => [k, s.size])),
      inTwoOrMore: shared(false).length,
      inTwoOrMoreWithoutRoot: shared(true).length,
    },
    null,
    2,
  ));
} else {
  const width = Math.max(...entries.map(([k, f]) => `${k} (${f})`.length));
  console.log(`${"entry point".padEnd(width)}  names`);
  for (const [key, file] of entries) {
    console.log(`${`${key} (${file})`.padEnd(width)}  ${String(names.get(key)!.size).padStart(5)}`);
  }
  console.log(
    `${"names in 2+ entry points".padEnd(width)}  ${String(shared(false).length).padStart(5)}`,
  );
  console.log(
    `${"  the same, root left out".padEnd(width)}  ${String(shared(true).length).padStart(5)}`,
  );
}
