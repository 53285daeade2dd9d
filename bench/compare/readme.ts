/**
 * Renders the results into bench/README.md (between marker comments, so the hand-written
 * parts stay) and into an SVG bar chart of throughput relative to `java`, drawn by hand (no
 * dependency).
 *
 * @module
 */

import { type ClientName, CLIENTS } from "./config.ts";
import type { E2eResult, ResultsFile } from "./results.ts";

/** Bar colours per client (colour-blind-safe Okabe-Ito palette). */
const COLOURS: Record<ClientName, string> = {
  ours: "#D55E00",
  "ours-node": "#F0E442",
  "ours-bun": "#000000",
  java: "#0072B2",
  librdkafka: "#009E73",
  "franz-go": "#56B4E9",
  kafkajs: "#E69F00",
  platformatic: "#CC79A7",
};

function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return Number(v.toPrecision(digits)).toString();
}

function ratio(row: E2eResult, java: E2eResult | undefined): number | null {
  if (!java?.records_per_s || !row.records_per_s) return null;
  return row.records_per_s / java.records_per_s;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function workloadOrder(rows: readonly E2eResult[]): string[] {
  return [...new Set(rows.map((r) => r.workload))];
}

/**
 * The markdown tables of the e2e results: one per workload, a row per client, with the ratio
 * of records/s to `java`.
 *
 * @example
 * ```ts
 * import { e2eMarkdown } from "./readme.ts";
 * console.log(e2eMarkdown({ date: "", machine: {}, versions: {}, e2e: [] }).length >= 0);
 * ```
 */
export function e2eMarkdown(file: ResultsFile, titles: Record<string, string> = {}): string {
  const rows = file.e2e ?? [];
  if (rows.length === 0) return "_No side-by-side results yet: run `deno task bench:compare`._\n";
  const out: string[] = [];
  for (const w of workloadOrder(rows)) {
    const group = rows.filter((r) => r.workload === w)
      .sort((a, b) => CLIENTS.indexOf(a.client) - CLIENTS.indexOf(b.client));
    const java = group.find((r) => r.client === "java");
    const latency = group.some((r) => r.p50_us !== null);
    out.push(`### ${w}${titles[w] ? `: ${titles[w]}` : ""}`, "");
    const head = [
      "client",
      "records/s",
      "MB/s",
      "× java",
      "CPU s / 1M",
      "broker CPU s / 1M",
      "peak RSS MiB",
    ];
    if (latency) head.push("p50 µs", "p99 µs", "p99.9 µs");
    out.push(
      `| ${head.join(" | ")} |`,
      `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    );
    for (const r of group) {
      if (r.status !== "ok") {
        const cells = [
          r.client,
          `${r.status}: ${(r.note ?? "").replace(/\|/g, "/").slice(0, 160)}`,
        ];
        while (cells.length < head.length) cells.push("");
        out.push(`| ${cells.join(" | ")} |`);
        continue;
      }
      const x = ratio(r, java);
      const cells = [
        r.client,
        fmt(r.records_per_s),
        fmt(r.mb_per_s),
        x === null ? "–" : `${x.toFixed(2)}×`,
        fmt(r.cpu_s_per_million),
        fmt(r.broker_cpu_s_per_million),
        fmt(r.peak_rss_mb),
      ];
      if (latency) cells.push(fmt(r.p50_us), fmt(r.p99_us), fmt(r.p999_us));
      out.push(`| ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

/**
 * The markdown table of the micro benchmarks.
 *
 * @example
 * ```ts
 * import { microMarkdown } from "./readme.ts";
 * console.log(microMarkdown({ date: "", machine: {}, versions: {}, micro: [
 *   { name: "crc32c_gbps", value: 1.9, unit: "GB/s" },
 * ] }).includes("crc32c_gbps")); // true
 * ```
 */
export function microMarkdown(file: ResultsFile): string {
  const m = file.micro ?? [];
  if (m.length === 0) return "_No micro benchmark results yet: run `deno task bench`._\n";
  const out = ["| name | value | unit | from |", "|---|---:|---|---|"];
  for (const r of m) out.push(`| ${r.name} | ${fmt(r.value, 4)} | ${r.unit} | ${r.bench ?? ""} |`);
  return out.join("\n") + "\n";
}

/**
 * An SVG bar chart: for each workload, one bar per client, from the 1× line (`java`) to the
 * client's records/s relative to `java`, on a log2 scale so 0.25× and 4× are as far from 1×.
 * Clients without a result get "n/a".
 *
 * @example
 * ```ts
 * import { e2eSvg } from "./readme.ts";
 * const svg = e2eSvg({ date: "", machine: {}, versions: {}, e2e: [] });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export function e2eSvg(file: ResultsFile, titles: Record<string, string> = {}): string {
  const rows = file.e2e ?? [];
  const workloads = workloadOrder(rows);
  const clients = CLIENTS.filter((c) => rows.some((r) => r.client === c));
  const bar = 12;
  const groupGap = 16;
  const left = 160;
  const plotW = 560;
  const top = 62;
  const groupH = clients.length * bar + groupGap;
  const plotBottom = top + Math.max(1, workloads.length) * groupH;
  const height = plotBottom + 34;
  const width = left + plotW + 60;
  const javaOf = (w: string) => rows.find((j) => j.workload === w && j.client === "java");
  const ratios = rows.map((r) => ratio(r, javaOf(r.workload))).filter((v): v is number =>
    v !== null
  );
  const lo = Math.min(-2, Math.floor(Math.log2(Math.min(...ratios, 1))));
  const hi = Math.max(2, Math.ceil(Math.log2(Math.max(...ratios, 1))));
  const x = (v: number) => left + ((Math.log2(v) - lo) / (hi - lo)) * plotW;
  const x1 = x(1);
  const s: string[] = [];
  s.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Records/s relative to the Java client ` +
      `(log scale, java = 1×, right is faster)</text>`,
  );
  let lx = 10;
  for (const c of clients) {
    s.push(`<rect x="${lx}" y="32" width="10" height="10" fill="${COLOURS[c]}"/>`);
    s.push(`<text x="${lx + 14}" y="41">${c}</text>`);
    lx += 26 + c.length * 6.5;
  }
  for (let e = lo; e <= hi; e++) {
    const gx = x(2 ** e).toFixed(1);
    const label = e >= 0 ? `${2 ** e}×` : `1/${2 ** -e}×`;
    s.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${plotBottom}" stroke="${
        e === 0 ? "#333" : "#e3e3e3"
      }"` +
        `${e === 0 ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${gx}" y="${plotBottom + 16}" text-anchor="middle" fill="#555">${label}</text>`,
    );
  }
  workloads.forEach((w, gi) => {
    const gy = top + gi * groupH;
    const mid = gy + (clients.length * bar) / 2;
    s.push(
      `<text x="${left - 10}" y="${mid - 2}" text-anchor="end" font-weight="bold">${
        escapeXml(w)
      }</text>`,
    );
    if (titles[w]) {
      s.push(
        `<text x="${left - 10}" y="${mid + 11}" text-anchor="end" fill="#555" font-size="10">${
          escapeXml(titles[w])
        }</text>`,
      );
    }
    clients.forEach((c, ci) => {
      const r = rows.find((row) => row.workload === w && row.client === c);
      const y = gy + ci * bar;
      const v = r ? ratio(r, javaOf(w)) : null;
      if (v === null) {
        s.push(`<text x="${x1 + 4}" y="${y + bar - 2}" fill="#999" font-size="9">${c}: n/a</text>`);
        return;
      }
      const xv = x(v);
      const from = Math.min(x1, xv);
      const len = Math.max(1.5, Math.abs(xv - x1));
      const textX = v >= 1 ? from + len + 4 : from - 4;
      s.push(
        `<rect x="${from.toFixed(1)}" y="${y + 1}" width="${len.toFixed(1)}" height="${bar - 2}" ` +
          `fill="${COLOURS[c]}"><title>${c} ${w}: ${fmt(r!.records_per_s)} records/s ` +
          `(${v.toFixed(2)}× java)</title></rect>`,
        `<text x="${textX.toFixed(1)}" y="${y + bar - 2}" font-size="9" fill="#333"` +
          `${v >= 1 ? "" : ' text-anchor="end"'}>${v.toFixed(2)}×</text>`,
      );
    });
  });
  s.push("</svg>");
  return s.join("\n") + "\n";
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in a document.
 *
 * @example
 * ```ts
 * import { replaceSection } from "./readme.ts";
 * const doc = "a\n<!-- t:start -->\nold\n<!-- t:end -->\nb";
 * console.log(replaceSection(doc, "t", "new").includes("new")); // true
 * ```
 */
export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) return `${doc.trimEnd()}\n\n${start}\n${body.trimEnd()}\n${end}\n`;
  return `${doc.slice(0, i + start.length)}\n${body.trimEnd()}\n${doc.slice(j)}`;
}

/**
 * Writes the generated parts of bench/README.md (micro table, e2e tables, run facts) and the
 * SVG chart next to the results file.
 *
 * @example
 * ```ts ignore
 * import { readResults } from "./results.ts";
 * import { updateReadme } from "./readme.ts";
 * await updateReadme("bench/README.md", "bench/results/e2e.svg", await readResults("bench/results/latest.json"));
 * ```
 */
export async function updateReadme(
  readmePath: string,
  svgPath: string,
  file: ResultsFile,
  titles: Record<string, string> = titlesOf(file),
): Promise<void> {
  let doc = "";
  try {
    doc = await Deno.readTextFile(readmePath);
  } catch {
    doc = "# Benchmarks\n";
  }
  doc = replaceSection(doc, "micro", microMarkdown(file));
  doc = replaceSection(doc, "e2e", e2eMarkdown(file, titles));
  doc = replaceSection(doc, "facts", factsMarkdown(file));
  await Deno.writeTextFile(readmePath, doc);
  // Keep the generated tables in `deno fmt`'s layout so `deno fmt --check` stays green.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", readmePath],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  if (file.e2e && file.e2e.length > 0) await Deno.writeTextFile(svgPath, e2eSvg(file, titles));
}

function titlesOf(file: ResultsFile): Record<string, string> {
  const w = (file.e2e_meta?.workloads ?? {}) as Record<string, { title?: string }>;
  return Object.fromEntries(Object.entries(w).map(([id, v]) => [id, v.title ?? ""]));
}

function factsMarkdown(file: ResultsFile): string {
  const m = file.machine as Record<string, unknown>;
  const meta = file.e2e_meta ?? {};
  const lines = [
    `- Machine: ${m.cpu ?? "?"}, ${m.cores ?? "?"} cores, ${m.memory_gib ?? "?"} GiB, ${
      m.os ?? "?"
    } ` +
    `(kernel ${m.kernel ?? "?"})`,
  ];
  if (file.micro_meta?.date) lines.push(`- Micro benchmarks: ${file.micro_meta.date}`);
  if (meta.date) {
    lines.push(
      `- Side-by-side run: ${meta.date}, ${meta.quick ? "quick (100k records)" : "full"}, ` +
        `${meta.rounds} round(s), median reported, ${meta.duration_s ?? "?"} s in all`,
    );
  }
  if (meta.caveat) lines.push(`- Caveat: ${meta.caveat}`);
  for (const [k, v] of Object.entries(file.versions)) lines.push(`- ${k}: ${v}`);
  for (const u of file.unavailable ?? []) lines.push(`- **${u.client} not measured**: ${u.reason}`);
  return lines.join("\n") + "\n";
}
