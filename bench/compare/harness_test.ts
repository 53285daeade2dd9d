// Unit tests of the harness's own arithmetic and rendering (no broker, no peers):
// `deno test -A bench/compare/harness_test.ts`.
import assert from "node:assert/strict";
import { workloads } from "./config.ts";
import { mulberry32, payloadPool } from "./payloads.ts";
import { processTree, readStat, treeCpuSeconds, treePeakRssMiB } from "./procfs.ts";
import { e2eMarkdown, e2eSvg, replaceSection } from "./readme.ts";
import { aggregate, median, percentile, type ResultsFile } from "./results.ts";
import { runPeer } from "./runner.ts";
import { derive } from "../run_micro.ts";

Deno.test("percentile is nearest-rank, median averages the middle pair", () => {
  const v = Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentile(v, 0.5), 500);
  assert.equal(percentile(v, 0.99), 990);
  assert.equal(percentile(v, 0.999), 999);
  assert.equal(percentile([7], 0.999), 7);
  assert.equal(percentile([1, 2, 3], 0.5), 2);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([undefined, NaN]), null);
});

Deno.test("aggregate: medians per figure, per-million CPU, pooled latency percentiles", () => {
  const row = aggregate("java", "P4", 100, [
    {
      status: "ok",
      records: 1000,
      elapsedS: 1,
      cpuS: 0.5,
      brokerCpuS: 0.2,
      peakRssMiB: 100,
      latenciesUs: [1, 2, 3],
    },
    {
      status: "ok",
      records: 1000,
      elapsedS: 2,
      cpuS: 1.5,
      brokerCpuS: 0.4,
      peakRssMiB: 300,
      latenciesUs: [4, 5],
    },
    { status: "failed", note: "boom" },
  ]);
  assert.equal(row.status, "ok");
  assert.equal(row.runs, 2);
  assert.equal(row.records_per_s, 750); // median of 1000 and 500
  assert.equal(row.mb_per_s, 0.075);
  assert.equal(row.cpu_s_per_million, 1000); // median of 500 and 1500
  assert.equal(row.broker_cpu_s_per_million, 300);
  assert.equal(row.peak_rss_mb, 200);
  assert.equal(row.p50_us, 3); // pooled [1..5]
  assert.equal(row.p999_us, 5);
  assert.match(row.note!, /1 of 3 rounds failed: boom/);
  const none = aggregate("kafkajs", "P1", 100, [{ status: "unavailable", note: "no npm" }]);
  assert.equal(none.status, "unavailable");
  assert.equal(none.records_per_s, null);
  assert.equal(none.note, "no npm");
});

Deno.test("payload pools are deterministic lines of letters", () => {
  const a = payloadPool(100, 10_100, 42);
  assert.deepEqual(a, payloadPool(100, 10_100, 42));
  assert.notDeepEqual(a, payloadPool(100, 10_100, 43));
  assert.equal(a.length, 100 * 101);
  for (let i = 0; i < a.length; i++) {
    if (i % 101 === 100) assert.equal(a[i], 10);
    else assert.ok(a[i]! >= 65 && a[i]! <= 90);
  }
  assert.equal(mulberry32(1)(), mulberry32(1)());
});

Deno.test("workloads: the issue's list, quick is 100k records", () => {
  const full = workloads(false);
  assert.deepEqual(full.map((w) => w.id), [
    "P1",
    "P2",
    "P3-lz4-100B",
    "P3-lz4-1KiB",
    "P3-zstd-100B",
    "P3-zstd-1KiB",
    "P4",
    "C1-100B",
    "C1-1KiB",
    "X1-100B",
    "P6",
    "C6-100B",
  ]);
  assert.equal(full.find((w) => w.id === "P6")!.partitions, 256);
  assert.equal(full.find((w) => w.id === "P2")!.records, 1_000_000);
  assert.equal(full.find((w) => w.id === "P4")!.records, 10_000);
  assert.ok(
    workloads(true).filter((w) => w.mode !== "latency").every((w) => w.records === 100_000),
  );
});

Deno.test("micro: rates derived from the per-iteration time and the known sizes", () => {
  assert.deepEqual(derive("crc32c 1 MiB", 524_288)[0]!.value, 2);
  assert.equal(derive("encode 1000 x 100 B", 100_000)[0]!.name, "encode_records_per_s_100b");
  assert.equal(derive("encode 1000 x 100 B", 100_000)[0]!.value, 10_000_000);
  assert.equal(
    derive("decode 1000 x 1 KiB, no CRC check", 1e6)[0]!.name,
    "decode_records_per_s_1kib_nocrc",
  );
  assert.equal(derive("zstd compress 1 MiB (ratio 3.20)", 1_048_576)[0]!.value, 1000);
  assert.equal(derive("something new", 2500)[0]!.name, "something_new_us");
});

Deno.test("README sections are replaced in place, and the chart and tables render", () => {
  const doc = "top\n<!-- e2e:start -->\nold\n<!-- e2e:end -->\nbottom\n";
  const out = replaceSection(doc, "e2e", "new");
  assert.equal(out, "top\n<!-- e2e:start -->\nnew\n<!-- e2e:end -->\nbottom\n");
  assert.equal(replaceSection(out, "e2e", "newer").split("e2e:start").length, 2);
  const file: ResultsFile = {
    date: "",
    machine: {},
    versions: {},
    e2e: [
      aggregate("java", "P1", 100, [{ status: "ok", records: 100, elapsedS: 1 }]),
      aggregate("franz-go", "P1", 100, [{ status: "ok", records: 300, elapsedS: 1 }]),
      aggregate("kafkajs", "P1", 100, [{ status: "unavailable", note: "npm | down" }]),
    ],
  };
  const md = e2eMarkdown(file, { P1: "produce 100 B" });
  assert.match(md, /\| franz-go \| 300 \| 0\.03 \| 3\.00× \|/);
  assert.match(md, /\| kafkajs \| unavailable: npm \/ down \|/);
  const svg = e2eSvg(file);
  assert.match(svg, /^<svg /);
  assert.match(svg, /3\.00×/);
  assert.match(svg, /kafkajs: n\/a/);
});

Deno.test("procfs: this process is in its own tree with CPU time and a peak RSS", () => {
  assert.ok(processTree(Deno.pid).includes(Deno.pid));
  assert.equal(readStat(Deno.pid)!.ppid > 0, true);
  assert.ok(treeCpuSeconds(Deno.pid) > 0);
  assert.ok(treePeakRssMiB(Deno.pid) > 10);
  assert.equal(readStat(2 ** 30), undefined);
});

Deno.test("runner: follows BEGIN/END, waits for stdin to close, reports failures", async () => {
  const script = [
    "echo hello; echo BEGIN",
    "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
    'echo \'END {"records":10,"bytes":1000,"elapsed_s":0.5,"latencies_us":[3,1,2]}\'',
    "cat > /dev/null",
  ].join("; ");
  const ok = await runPeer({ cmd: ["sh", "-c", script], timeoutMs: 30_000 });
  assert.equal(ok.status, "ok");
  assert.equal(ok.records, 10);
  assert.equal(ok.elapsedS, 0.5);
  assert.deepEqual(ok.latenciesUs, [3, 1, 2]);
  assert.ok(ok.cpuS! > 0, "the busy loop between BEGIN and END used CPU");
  assert.ok(ok.peakRssMiB! > 0);

  const bad = await runPeer({
    cmd: ["sh", "-c", "echo BEGIN; echo oops >&2; exit 3"],
    timeoutMs: 30_000,
  });
  assert.equal(bad.status, "failed");
  assert.match(bad.note!, /exit 3 after BEGIN\. oops/);

  const na = await runPeer({ cmd: ["sh", "-c", "echo UNAVAILABLE not built"], timeoutMs: 30_000 });
  assert.equal(na.status, "unavailable");
  assert.equal(na.note, "not built");

  const slow = await runPeer({ cmd: ["sleep", "30"], timeoutMs: 200 });
  assert.equal(slow.status, "failed");
  assert.match(slow.note!, /killed after 0\.2 s/);
});
