/**
 * `deno task bench:compare`: the side-by-side benchmark against the best clients.
 *
 * ```
 * deno run -A bench/compare/main.ts [--quick] [--rounds N] [--clients a,b] [--workloads P1,C1-100B]
 *                                   [--records N] [--timeout S] [--caveat TEXT] [--no-write]
 *                                   [--broker-data DIR|disk] [--broker-warmup N]
 * ```
 *
 * It starts (or reuses) the local broker with the launcher, installs every peer into
 * bench/peers/, writes the shared payload files, fills the C1 topics once, then runs every
 * workload for every client, alternating the client order over the rounds, each run on a
 * fresh topic that is deleted afterwards. Medians go to bench/results/latest.json ("e2e") and
 * into bench/README.md with the chart bench/results/e2e.svg.
 *
 * @module
 */

import { KafkaError } from "../../protocol/errors.ts";
import { up } from "../../scripts/kafka/cluster.ts";
import { type LayoutOptions, logConfigProperty } from "../../scripts/kafka/config.ts";
import {
  type ClientName,
  CLIENTS,
  PIPELINE,
  SETTINGS,
  supports,
  type Workload,
  workloads,
} from "./config.ts";
import { ensurePayloadFile } from "./payloads.ts";
import { type Installed, installPeer } from "./peers.ts";
import { updateReadme } from "./readme.ts";
import { aggregate, type E2eResult, machineInfo, readResults, writeResults } from "./results.ts";
import { type RunOutcome, runPeer } from "./runner.ts";
import { createTopic, deleteTopic } from "./topics.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const PEERS = `${ROOT}/bench/peers`;
const RESULTS = `${ROOT}/bench/results/latest.json`;

interface Args {
  quick: boolean;
  rounds: number;
  clients: ClientName[];
  workloads: string[] | undefined;
  records: number | undefined;
  timeoutS: number;
  caveat: string | undefined;
  write: boolean;
  /** The broker's log folder root (tmpfs), or "disk" for the test bed's own under .kafka/. */
  brokerData: string;
  /** Unmeasured passes over the produce workloads before the rounds (the broker's JIT). */
  brokerWarmup: number;
}

/** Deleted topics' files go 1 s after the delete instead of 60 s (Kafka's default). */
const DELETE_DELAY = "log.segment.delete.delay.ms=1000";

/** The broker's logs go here unless `--broker-data` says otherwise (when /dev/shm is tmpfs). */
const TMPFS_DATA = "/dev/shm/denokafka-bench";

/**
 * The broker options of the benchmark: the logs on tmpfs and deleted topics' files removed a
 * second after the delete (Kafka's default is 60 s), so the harness can wait for them before
 * the next run. bench/README.md ("Fairness") says why.
 */
function brokerLayout(brokerData: string): LayoutOptions | undefined {
  if (brokerData === "disk") return undefined;
  // The log manager's tasks (the deletion among them) start 30 s after the broker by default.
  return {
    dataRoot: brokerData,
    extraProperties: [DELETE_DELAY, "log.initial.task.delay.ms=1000"],
  };
}

/** The filesystem type of the mount holding `path` (the longest matching mount point). */
function fsType(path: string): string | undefined {
  let best: { dir: string; type: string } | undefined;
  try {
    for (const line of Deno.readTextFileSync("/proc/mounts").split("\n")) {
      const [, dir, type] = line.split(" ");
      if (!dir || !type) continue;
      const under = path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
      if (under && (!best || dir.length > best.dir.length)) best = { dir, type };
    }
  } catch {
    return undefined;
  }
  return best?.type;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    quick: false,
    rounds: 0,
    clients: [...CLIENTS],
    workloads: undefined,
    records: undefined,
    timeoutS: 0,
    caveat: undefined,
    write: true,
    brokerData: fsType("/dev/shm") === "tmpfs" ? TMPFS_DATA : "disk",
    brokerWarmup: -1,
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${f} needs a value`);
      return v;
    };
    if (f === "--quick") a.quick = true;
    else if (f === "--no-write") a.write = false;
    else if (f === "--rounds") a.rounds = Number(value());
    else if (f === "--records") a.records = Number(value());
    else if (f === "--timeout") a.timeoutS = Number(value());
    else if (f === "--caveat") a.caveat = value();
    else if (f === "--broker-data") a.brokerData = value().replace(/\/$/, "");
    else if (f === "--broker-warmup") a.brokerWarmup = Number(value());
    else if (f === "--workloads") a.workloads = value().split(",");
    else if (f === "--clients") {
      a.clients = value().split(",").map((c) => {
        if (!(CLIENTS as readonly string[]).includes(c)) {
          throw new RangeError(`unknown client ${c}`);
        }
        return c as ClientName;
      });
    } else throw new TypeError(`unknown flag ${f}`);
  }
  a.rounds ||= a.quick ? 1 : 3;
  if (a.brokerWarmup < 0) a.brokerWarmup = a.quick ? 0 : 2;
  a.timeoutS ||= a.quick ? 180 : 600;
  return a;
}

function log(line: string): void {
  console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

function short(n: number): string {
  return n >= 1e6
    ? `${(n / 1e6).toFixed(2)}M`
    : n >= 1e3
    ? `${(n / 1e3).toFixed(1)}k`
    : n.toFixed(0);
}

function describe(o: RunOutcome, w: Workload): string {
  if (o.status !== "ok") return `${o.status}: ${o.note ?? ""}`;
  const rate = o.records! / o.elapsedS!;
  const parts = [
    `${short(rate)} rec/s`,
    `${((rate * w.size) / 1e6).toFixed(1)} MB/s`,
    `cpu ${((o.cpuS ?? NaN) / o.records! * 1e6).toFixed(2)} s/M`,
    `broker ${((o.brokerCpuS ?? NaN) / o.records! * 1e6).toFixed(2)} s/M`,
    `rss ${o.peakRssMiB?.toFixed(0)} MiB`,
  ];
  if (o.latenciesUs) {
    const l = [...o.latenciesUs].sort((a, b) => a - b);
    parts.push(`p50 ${l[Math.floor(l.length / 2)]!.toFixed(0)} µs`);
  }
  return parts.join(", ");
}

/**
 * Waits until the broker has removed a deleted topic's partition folders from its log folder
 * (at most 30 s), so the freeing of their memory is not inside the next run's measured phase.
 */
async function waitForDeletion(dataDir: string | undefined, topic: string): Promise<void> {
  if (!dataDir) return;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let left = false;
    try {
      for (const e of Deno.readDirSync(dataDir)) {
        if (e.name.startsWith(`${topic}-`)) {
          left = true;
          break;
        }
      }
    } catch {
      return; // not readable from here (Docker): nothing to wait for
    }
    if (!left) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`broker: ${topic}'s files still there after 30 s`);
}

/**
 * Writes dirty pages out between runs (`sync`): a run that wrote a gigabyte would otherwise
 * leave the kernel flushing it during the next client's measured phase.
 */
async function settle(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output().catch(() => {});
}

function peerArgs(
  w: Workload,
  topic: string,
  bootstrap: string,
  payloads: string,
  output?: string,
): string[] {
  const flags: Record<string, string | number> = {
    mode: w.mode,
    bootstrap,
    topic,
    records: w.records,
    warmup: w.warmup,
    size: w.size,
    payloads,
    compression: w.compression,
    "linger-ms": SETTINGS.lingerMs,
    "batch-bytes": w.mode === "produce" && w.fillBatchBytes !== undefined
      ? w.fillBatchBytes
      : SETTINGS.batchBytes,
    "in-flight": SETTINGS.inFlight,
    idempotence: String(SETTINGS.idempotence),
    acks: SETTINGS.acks,
    "buffer-bytes": SETTINGS.bufferBytes,
    partitions: w.partitions ?? SETTINGS.partitions,
    ...output !== undefined && {
      output,
      "transaction-ms": PIPELINE.transactionMs,
      "transaction-records": PIPELINE.transactionRecords,
    },
  };
  return Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const t0 = performance.now();
  let list = workloads(args.quick);
  if (args.workloads) {
    const unknown = args.workloads.filter((id) => !list.some((w) => w.id === id));
    if (unknown.length > 0) throw new RangeError(`unknown workload(s) ${unknown.join(", ")}`);
    list = list.filter((w) => args.workloads!.includes(w.id));
  }
  if (args.records) {
    list = list.map((w) => ({
      ...w,
      records: args.records!,
      warmup: Math.floor(args.records! / 10),
    }));
  }

  log("broker: starting or reusing the local test bed (scripts/kafka/cluster.ts up())");
  const layout = brokerLayout(args.brokerData);
  const state = await up({ progress: (l) => log(l), ...(layout && { layout }) });
  const bootstrap = state.listeners.PLAINTEXT.split(",")[0]!;
  const brokerPid = state.mode === "jars" ? state.brokers[0]!.pid : 0;
  if (!brokerPid) log("broker: runs under Docker, its CPU time is not measured");
  const dataDir = state.mode === "jars" ? state.brokers[0]!.dataDir : undefined;
  // Only a broker started with the short delete delay removes the files soon enough to wait.
  const deletionDir = state.extraProperties?.includes(DELETE_DELAY) ? dataDir : undefined;
  const brokerData = dataDir ? `${dataDir} (${fsType(dataDir) ?? "unknown"})` : "Docker volume";
  log(`broker: logs in ${brokerData}`);

  await Deno.mkdir(PEERS, { recursive: true });
  const ctx = {
    root: ROOT,
    peersDir: PEERS,
    jarsDir: state.jarsDir,
    javaLogProperty: logConfigProperty(state.version, state.toolsLogConfig),
    log,
  };
  const peers = new Map<ClientName, Installed>();
  for (const c of args.clients) {
    log(`install: ${c}`);
    const p = await installPeer(c, ctx);
    peers.set(c, p);
    log(p.ok ? `install: ${c} ready: ${p.version}` : `install: ${c} NOT AVAILABLE: ${p.reason}`);
  }

  const payloadDir = `${PEERS}/payloads`;
  const payloadFiles = new Map<number, string>();
  for (const size of new Set(list.map((w) => w.size))) {
    payloadFiles.set(
      size,
      await ensurePayloadFile(payloadDir, size, SETTINGS.poolBytes, SETTINGS.seed),
    );
  }

  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const logDir = `${PEERS}/logs/${runId}`;
  await Deno.mkdir(logDir, { recursive: true });
  log(`run ${runId}: ${args.rounds} round(s), ${list.length} workload(s), logs in ${logDir}`);

  // C1 and X1: one input topic per workload, filled once (same bytes for every client) by the
  // first producer peer that is available, preferring Java's ProducerPerformance.
  const filled = new Map<string, string>();
  const fillers = (["java", "franz-go", "librdkafka"] as const).map((c) =>
    [c, peers.get(c)] as const
  );
  const readsInput = (w: Workload) => w.mode === "consume" || w.mode === "pipeline";
  for (const w of list.filter(readsInput)) {
    const topic = `bench-${runId}-${w.id}`;
    await createTopic(bootstrap, topic, w.partitions ?? SETTINGS.partitions);
    let done = false;
    for (const [name, p] of fillers) {
      const peer = p ?? (name === "java" ? await installPeer("java", ctx) : undefined);
      if (!peer?.ok) continue;
      log(`fill ${topic}: ${w.records} x ${w.size} B with ${name}`);
      const fill: Workload = { ...w, mode: "produce", warmup: 0 };
      const o = await runPeer({
        cmd: peer.command(peerArgs(fill, topic, bootstrap, payloadFiles.get(w.size)!)),
        timeoutMs: args.timeoutS * 1000,
        logFile: `${logDir}/fill-${w.id}.log`,
      });
      if (o.status === "ok") {
        done = true;
        break;
      }
      log(`fill with ${name} failed: ${o.note}`);
    }
    if (!done) throw new KafkaError(`could not fill ${topic}: no producer peer works`);
    filled.set(w.id, topic);
    await settle();
  }

  // The broker's JIT: a fresh broker spent its first ~10 million records of the 1 KiB
  // workloads compiling (C2 threads up to 1.2 CPU s per million, its user CPU 2.8 -> 1.0 s/M
  // over the first rounds), which fell on whichever client ran first. Unmeasured passes over
  // the produce workloads first, with the first client that can, on topics deleted after.
  const warmer = args.clients.find((c) => peers.get(c)?.ok && supports(c, "produce"));
  const warmPeer = warmer ? peers.get(warmer) : undefined;
  for (let pass = 0; warmPeer?.ok && pass < args.brokerWarmup; pass++) {
    for (const w of list.filter((w) => w.mode === "produce")) {
      const topic = `bench-${runId}-${w.id}-warmup${pass + 1}`;
      await createTopic(bootstrap, topic, w.partitions ?? SETTINGS.partitions);
      try {
        const o = await runPeer({
          cmd: warmPeer.command(
            peerArgs(w, topic, bootstrap, payloadFiles.get(w.size)!),
          ),
          brokerPid,
          timeoutMs: args.timeoutS * 1000,
          logFile: `${logDir}/warmup${pass + 1}-${w.id}-${warmer}.log`,
          ...(warmPeer.env && { env: warmPeer.env }),
        });
        log(`[broker warm-up ${pass + 1}] ${w.id} ${warmer}: ${describe(o, w)}`);
      } finally {
        await deleteTopic(bootstrap, topic).catch(() => {});
        await waitForDeletion(deletionDir, topic);
        await settle();
      }
    }
  }

  const outcomes = new Map<string, RunOutcome[]>();
  const key = (c: ClientName, w: string) => `${c}\u0000${w}`;
  try {
    for (let round = 0; round < args.rounds; round++) {
      // Alternate: each round starts one client later, so no client always runs first.
      const order = args.clients.map((_, i) => args.clients[(i + round) % args.clients.length]!);
      for (const w of list) {
        for (const c of order) {
          const peer = peers.get(c)!;
          // P4's sends are split over the rounds; its percentiles pool all of them.
          const run = w.mode === "latency"
            ? { ...w, records: Math.ceil(w.records / args.rounds) }
            : w;
          let o: RunOutcome;
          if (!peer.ok) {
            o = { status: "unavailable", note: peer.reason };
          } else if (!supports(c, w.mode)) {
            o = { status: "unavailable", note: `no ${w.mode} peer for ${c}` };
          } else {
            // The topic written: a fresh one per run (the pipeline's output), deleted after.
            const fresh = `bench-${runId}-${w.id}-${c}-r${round + 1}`;
            const topic = readsInput(w) ? filled.get(w.id)! : fresh;
            const output = w.mode === "pipeline" ? fresh : undefined;
            if (w.mode !== "consume") {
              await createTopic(bootstrap, fresh, w.partitions ?? SETTINGS.partitions);
            }
            try {
              o = await runPeer({
                cmd: peer.command(
                  peerArgs(run, topic, bootstrap, payloadFiles.get(w.size)!, output),
                ),
                brokerPid,
                timeoutMs: args.timeoutS * 1000,
                logFile: `${logDir}/r${round + 1}-${w.id}-${c}.log`,
                ...(peer.env && { env: peer.env }),
              });
            } finally {
              if (w.mode !== "consume") {
                await deleteTopic(bootstrap, fresh).catch(() => {});
                await waitForDeletion(deletionDir, fresh);
                await settle();
              }
            }
            log(`[r${round + 1}] ${w.id} ${c}: ${describe(o, w)}`);
          }
          const k = key(c, w.id);
          outcomes.set(k, [...(outcomes.get(k) ?? []), o]);
        }
      }
    }
  } finally {
    for (const topic of filled.values()) await deleteTopic(bootstrap, topic).catch(() => {});
  }

  const rows: E2eResult[] = [];
  for (const w of list) {
    for (const c of args.clients) {
      rows.push(aggregate(c, w.id, w.size, outcomes.get(key(c, w.id)) ?? []));
    }
  }
  const durationS = Math.round((performance.now() - t0) / 1000);
  log(`done in ${durationS} s`);
  for (const r of rows) {
    console.log(
      `${r.workload.padEnd(13)} ${r.client.padEnd(12)} ${
        r.status === "ok"
          ? `${short(r.records_per_s!).padStart(7)} rec/s ${String(r.mb_per_s).padStart(7)} MB/s` +
            ` cpu ${r.cpu_s_per_million} s/M` +
            (r.p50_us !== null ? ` p50 ${r.p50_us} p99 ${r.p99_us} p99.9 ${r.p999_us} µs` : "")
          : `${r.status}: ${r.note}`
      }`,
    );
  }
  if (!args.write) return;

  const file = await readResults(RESULTS);
  file.date = new Date().toISOString();
  file.machine = await machineInfo();
  const versions: Record<string, string> = {
    ...Object.fromEntries(Object.entries(file.versions).filter(([k]) => !k.startsWith("e2e "))),
    "e2e broker": `Apache Kafka ${state.version} (${state.mode}, 1 node, loopback PLAINTEXT)`,
  };
  for (const [c, p] of peers) if (p.ok) versions[`e2e ${c}`] = p.version;
  file.versions = versions;
  file.unavailable = [...peers].flatMap((
    [client, p],
  ) => (p.ok ? [] : [{ client, reason: p.reason }]));
  file.e2e_meta = {
    date: new Date().toISOString(),
    quick: args.quick,
    rounds: args.rounds,
    duration_s: durationS,
    workloads: Object.fromEntries(list.map((w) => [w.id, {
      title: w.title,
      mode: w.mode,
      size: w.size,
      compression: w.compression,
      records: w.records,
      warmup: w.warmup,
    }])),
    settings: SETTINGS,
    broker_data: brokerData,
    broker_warmup_passes: warmer ? args.brokerWarmup : 0,
    ...(args.caveat && { caveat: args.caveat }),
  };
  file.e2e = rows;
  await writeResults(RESULTS, file);
  const titles = Object.fromEntries(list.map((w) => [w.id, w.title]));
  await updateReadme(`${ROOT}/bench/README.md`, `${ROOT}/bench/results/e2e.svg`, file, titles);
  log(`wrote ${RESULTS}, bench/README.md and bench/results/e2e.svg`);
}

if (import.meta.main) await main();
