/**
 * Captures golden bytes from real Kafka exchanges: kcat (librdkafka) and Kafka's own Java
 * clients talk to the test broker's PLAINTEXT listener while dumpcap records the loopback
 * interface; the TCP payloads are then reassembled per connection and direction, cut into
 * Kafka frames by their size prefix, and written as small JSON fixtures under
 * `tests/unit/fixtures/golden/` (checked by `tests/unit/golden_capture_test.ts`).
 *
 * ```sh
 * deno task kafka:up
 * deno run -A scripts/capture_golden.ts          # rewrites tests/unit/fixtures/golden/
 * deno run -A scripts/capture_golden.ts --keep   # also keeps the .pcapng (path printed)
 * ```
 *
 * Needs root (or capture rights) and tshark (`apt-get install tshark`, installed when missing
 * and running as root). Other engineers use the same broker concurrently, so everything is
 * captured on port 9092 and only the connections whose requests carry one of our client ids
 * are kept; tshark is used only to list TCP segments, never to interpret Kafka bytes (its
 * Kafka dissector is consulted afterwards as an independent cross-check of the headers).
 *
 * @module
 */

import { apiByKey } from "../protocol/apis.ts";
import { broker, ensureKcat, runJavaTool } from "../tests/helpers/broker.ts";

const OUT_DIR = new URL("../tests/unit/fixtures/golden/", import.meta.url).pathname;
const PORT = 9092;
const utf8 = new TextEncoder();

/** A record each peer produces and must read back. */
interface GoldenRecord {
  key: string;
  value: string;
  headers: { key: string; value: string }[];
  timestamp: number;
}

/** One peer's part of the capture. */
interface PeerInfo {
  peer: "kcat" | "java";
  software: string;
  clientIds: string[];
  topic: string;
  record: GoldenRecord;
  commands: string[];
}

/** One reassembled Kafka frame (size prefix included). */
interface Frame {
  stream: number;
  direction: "request" | "response";
  firstPacket: number;
  bytes: Uint8Array;
}

function fail(message: string): never {
  console.error(`capture_golden: ${message}`);
  Deno.exit(1);
}

/** Quotes a shell word when needed, for the commands recorded in the README. */
function sh(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function run(
  cmd: string,
  args: string[],
  opts: { stdin?: Uint8Array; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

async function ensureTshark(): Promise<void> {
  const ok = async () => {
    try {
      return (await run("tshark", ["-v"])).code === 0;
    } catch {
      return false;
    }
  };
  if (await ok()) return;
  if (Deno.uid() !== 0) fail("tshark is missing: sudo apt-get install -y tshark");
  const env = ["DEBIAN_FRONTEND=noninteractive"];
  let r = await run("env", [...env, "apt-get", "install", "-y", "-q", "tshark"], {
    timeoutMs: 600_000,
  });
  if (r.code !== 0) {
    await run("env", [...env, "apt-get", "update", "-q"], { timeoutMs: 600_000 });
    r = await run("env", [...env, "apt-get", "install", "-y", "-q", "tshark"], {
      timeoutMs: 600_000,
    });
  }
  if (r.code !== 0 || !(await ok())) fail(`could not install tshark: ${r.stderr.trim()}`);
}

/** Starts dumpcap and resolves once it reports that it is capturing. */
async function startCapture(file: string) {
  const child = new Deno.Command("dumpcap", {
    args: ["-i", "lo", "-f", `tcp port ${PORT}`, "-w", file],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const deadline = Date.now() + 20_000;
  while (!log.includes("Capturing on")) {
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 1000));
    const next = await Promise.race([reader.read(), timer]);
    if (next === "timeout") {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        fail(`dumpcap did not start: ${log}`);
      }
      continue;
    }
    if (next.done) fail(`dumpcap exited: ${log}`);
    log += next.value;
  }
  // Keep draining stderr so dumpcap never blocks on a full pipe.
  const drained = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return log;
      log += value;
    }
  })();
  return {
    async stop(): Promise<string> {
      child.kill("SIGTERM"); // dumpcap finishes the pcapng file on SIGTERM
      const status = await child.status;
      const text = await drained;
      if (!status.success && status.signal !== "SIGTERM") fail(`dumpcap failed: ${text}`);
      return text;
    },
  };
}

/** The Java peer: an Admin creating the topics, an idempotent producer, two consumers. */
const JAVA_PEER = `
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.*;

public class GoldenPeer {
  static String hex(byte[] b) { return b == null ? "null" : HexFormat.of().formatHex(b); }

  static Properties base(String bootstrap, String clientId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", clientId);
    return p;
  }

  static void consume(Properties p, String topic) {
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 60_000;
      while (System.currentTimeMillis() < deadline) {
        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(500));
        for (ConsumerRecord<byte[], byte[]> r : rs) {
          StringBuilder hs = new StringBuilder();
          for (Header h : r.headers()) hs.append(h.key()).append(':').append(hex(h.value())).append(',');
          System.out.println("CONSUMED " + p.get("client.id") + " offset=" + r.offset() + " ts=" + r.timestamp()
              + " key=" + hex(r.key()) + " value=" + hex(r.value()) + " headers=" + hs);
          c.commitSync();
          return;
        }
      }
      throw new IllegalStateException("no record within 60 s");
    }
  }

  public static void main(String[] a) throws Exception {
    String bootstrap = a[0], prefix = a[1], topic = a[3];
    long ts = Long.parseLong(a[4]);
    HexFormat hf = HexFormat.of();
    try (Admin admin = Admin.create(base(bootstrap, prefix + "-admin"))) {
      List<NewTopic> ts2 = new ArrayList<>();
      for (String t : a[2].split(",")) ts2.add(new NewTopic(t, 1, (short) 1));
      admin.createTopics(ts2).all().get();
    }
    Properties pp = base(bootstrap, prefix + "-producer");
    pp.put("key.serializer", ByteArraySerializer.class.getName());
    pp.put("value.serializer", ByteArraySerializer.class.getName());
    pp.put("compression.type", "none");
    pp.put("acks", "all");
    pp.put("linger.ms", "0");
    try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(pp)) {
      List<Header> headers = new ArrayList<>();
      for (int i = 7; i + 1 < a.length; i += 2) headers.add(new RecordHeader(a[i], hf.parseHex(a[i + 1])));
      RecordMetadata md = prod.send(new ProducerRecord<>(topic, 0, ts, hf.parseHex(a[5]), hf.parseHex(a[6]), headers)).get();
      System.out.println("PRODUCED offset=" + md.offset() + " ts=" + md.timestamp());
    }
    Properties classic = base(bootstrap, prefix + "-consumer");
    classic.put("group.id", topic + "-classic");
    consume(classic, topic);
    Properties kip848 = base(bootstrap, prefix + "-consumer848");
    kip848.put("group.id", topic + "-kip848");
    kip848.put("group.protocol", "consumer");
    consume(kip848, topic);
  }
}
`;

/** One TCP segment as tshark lists it. */
interface Segment {
  frame: number;
  stream: number;
  toBroker: boolean;
  syn: boolean;
  seq: number;
  payload: Uint8Array;
}

async function readSegments(file: string): Promise<Segment[]> {
  const r = await run("tshark", [
    "-r",
    file,
    "-o",
    "tcp.relative_sequence_numbers:TRUE",
    "-T",
    "fields",
    "-E",
    "separator=\t",
    "-e",
    "frame.number",
    "-e",
    "tcp.stream",
    "-e",
    "tcp.dstport",
    "-e",
    "tcp.flags.syn",
    "-e",
    "tcp.seq",
    "-e",
    "tcp.payload",
  ], { timeoutMs: 300_000 });
  if (r.code !== 0) fail(`tshark -r failed: ${r.stderr}`);
  const out: Segment[] = [];
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [frame, stream, dst, syn, seq, payload] = line.split("\t");
    out.push({
      frame: Number(frame),
      stream: Number(stream),
      toBroker: Number(dst) === PORT,
      syn: syn === "1" || syn === "True",
      seq: Number(seq),
      payload: fromHex(payload ?? ""),
    });
  }
  return out;
}

/**
 * Reassembles each stream's two byte streams (dropping retransmitted bytes by sequence
 * number) and cuts them into size-prefixed frames. Streams whose opening handshake was not
 * captured are skipped: they started before the capture and cannot be framed.
 */
function reassemble(segments: Segment[]): Map<number, Frame[]> {
  interface Dir {
    next: number;
    chunks: { frame: number; bytes: Uint8Array }[];
    broken: boolean;
  }
  const streams = new Map<number, { syn: boolean; dirs: [Dir, Dir] }>();
  for (const s of segments) {
    let st = streams.get(s.stream);
    if (st === undefined) {
      const d = (): Dir => ({ next: 1, chunks: [], broken: false });
      st = { syn: s.syn && s.toBroker, dirs: [d(), d()] };
      streams.set(s.stream, st);
    }
    if (s.payload.length === 0) continue;
    const dir = st.dirs[s.toBroker ? 0 : 1];
    if (s.seq + s.payload.length <= dir.next) continue; // a retransmission
    if (s.seq > dir.next) {
      dir.broken = true; // a gap: bytes lost by the capture
      continue;
    }
    dir.chunks.push({ frame: s.frame, bytes: s.payload.subarray(dir.next - s.seq) });
    dir.next = s.seq + s.payload.length;
  }
  const result = new Map<number, Frame[]>();
  for (const [stream, st] of streams) {
    if (!st.syn) continue;
    const frames: Frame[] = [];
    for (const [i, dir] of st.dirs.entries()) {
      const direction = i === 0 ? "request" : "response";
      let total = 0;
      for (const c of dir.chunks) total += c.bytes.length;
      const all = new Uint8Array(total);
      const startFrame: number[] = [];
      let p = 0;
      for (const c of dir.chunks) {
        all.set(c.bytes, p);
        for (let k = 0; k < c.bytes.length; k++) startFrame.push(c.frame);
        p += c.bytes.length;
      }
      let pos = 0;
      while (pos + 4 <= all.length) {
        const size = new DataView(all.buffer, pos).getInt32(0);
        if (size < 0 || pos + 4 + size > all.length) break;
        frames.push({
          stream,
          direction,
          firstPacket: startFrame[pos]!,
          bytes: all.slice(pos, pos + 4 + size),
        });
        pos += 4 + size;
      }
      if (dir.broken || pos !== all.length) {
        frames.push({ stream, direction, firstPacket: -1, bytes: new Uint8Array(0) }); // marker
      }
    }
    result.set(stream, frames);
  }
  return result;
}

/** The request header fields we need to classify a request frame (size prefix included). */
function requestHeader(b: Uint8Array) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const apiKey = v.getInt16(4);
  const apiVersion = v.getInt16(6);
  const correlationId = v.getInt32(8);
  const len = v.getInt16(12);
  const clientId = len < 0 ? null : new TextDecoder().decode(b.subarray(14, 14 + len));
  return { apiKey, apiVersion, correlationId, clientId };
}

const EXTRA_NAMES: Record<number, string> = {
  71: "GetTelemetrySubscriptions",
  72: "PushTelemetry",
};

function apiName(key: number): string {
  return apiByKey(key)?.name ?? EXTRA_NAMES[key] ?? `ApiKey${key}`;
}

/** tshark's own reading of the request headers, per stream, as an independent cross-check. */
async function dissectorHeaders(file: string): Promise<Map<number, string[]>> {
  const r = await run("tshark", [
    "-r",
    file,
    "-Y",
    `kafka && tcp.dstport == ${PORT}`,
    "-T",
    "fields",
    "-E",
    "separator=\t",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
    "-e",
    "tcp.stream",
    "-e",
    "kafka.api_key",
    "-e",
    "kafka.api_version",
    "-e",
    "kafka.correlation_id",
  ], { timeoutMs: 300_000 });
  const out = new Map<number, string[]>();
  if (r.code !== 0) return out;
  for (const line of r.stdout.split("\n")) {
    const [stream, keys, versions, ids] = line.split("\t");
    if (!stream || !keys) continue;
    const ks = keys.split(","), vs = (versions ?? "").split(","), cs = (ids ?? "").split(",");
    const list = out.get(Number(stream)) ?? [];
    for (let i = 0; i < ks.length; i++) list.push(`${ks[i]}/${vs[i]}/${cs[i]}`);
    out.set(Number(stream), list);
  }
  return out;
}

async function main() {
  const keep = Deno.args.includes("--keep");
  if (Deno.uid() !== 0) console.warn("capture_golden: not root; dumpcap may lack capture rights");
  await ensureTshark();
  const kcat = await ensureKcat();
  const b = await broker();
  const bootstrap = b.bootstrap("PLAINTEXT")[0]!;
  if (!bootstrap.endsWith(`:${PORT}`)) fail(`expected PLAINTEXT on port ${PORT}, got ${bootstrap}`);
  if (!b.jarsDir) fail("no jars directory known for the broker");

  const run8 = crypto.randomUUID().slice(0, 8);
  const kcatTopic = `golden-kcat-${run8}`;
  const javaTopic = `golden-java-${run8}`;
  const now = Date.now();
  const kcatInfo: PeerInfo = {
    peer: "kcat",
    software: "",
    clientIds: ["golden-kcat-producer", "golden-kcat-consumer"],
    topic: kcatTopic,
    record: {
      key: "golden-key-kcat",
      value: "golden value from kcat \u2713",
      headers: [{ key: "dup", value: "first" }, { key: "dup", value: "second" }],
      timestamp: -1, // librdkafka stamps it: read back from the consumer below
    },
    commands: [],
  };
  const javaInfo: PeerInfo = {
    peer: "java",
    software: "",
    clientIds: [
      "golden-java-admin",
      "golden-java-producer",
      "golden-java-consumer",
      "golden-java-consumer848",
    ],
    topic: javaTopic,
    record: {
      key: "golden-key-java",
      value: "golden value from the Java client \u2713",
      headers: [{ key: "dup", value: "first" }, { key: "dup", value: "second" }],
      timestamp: now,
    },
    commands: [],
  };

  const kcatVersion = (await run(kcat, ["-V"])).stdout;
  const kv = /Version (\S+) .*librdkafka (\S+)/.exec(kcatVersion);
  kcatInfo.software = kv ? `kcat ${kv[1]} (librdkafka ${kv[2]})` : kcatVersion.trim();
  let clientsJar = "";
  for await (const e of Deno.readDir(b.jarsDir)) {
    if (/^kafka-clients-[\d.]+\.jar$/.test(e.name)) clientsJar = e.name;
  }
  const javaVersion = (await run("java", ["-version"])).stderr.split("\n")[0]!.trim();
  javaInfo.software = `${clientsJar.replace(/\.jar$/, "")} on ${javaVersion}`;
  const tsharkVersion = (await run("tshark", ["-v"])).stdout.split("\n")[0]!.trim()
    .replace(/\.$/, "");

  const work = await Deno.makeTempDir({ prefix: "golden-capture-" });
  const pcap = `${work}/golden.pcapng`;
  const javaFile = `${work}/GoldenPeer.java`;
  await Deno.writeTextFile(javaFile, JAVA_PEER);

  console.log(`capturing on lo, tcp port ${PORT} -> ${pcap}`);
  const capture = await startCapture(pcap);
  let captureLog = "";
  try {
    // 1. The Java peer: Admin (CreateTopics for both topics), idempotent producer, classic and
    //    KIP-848 consumers.
    const hex = (s: string) => toHex(utf8.encode(s));
    const r = javaInfo.record;
    const javaArgs = [
      bootstrap,
      "golden-java",
      `${kcatTopic},${javaTopic}`,
      javaTopic,
      String(r.timestamp),
      hex(r.key),
      hex(r.value),
      ...r.headers.flatMap((h) => [h.key, hex(h.value)]),
    ];
    javaInfo.commands.push(
      `java -cp '<kafka jars>/*' GoldenPeer.java ${javaArgs.map(sh).join(" ")} ` +
        "(source embedded in scripts/capture_golden.ts)",
    );
    const jr = await runJavaTool(javaFile, javaArgs, { broker: b, timeoutMs: 240_000 });
    if (jr.code !== 0) fail(`Java peer failed (${jr.code}):\n${jr.stdout}\n${jr.stderr}`);
    console.log(jr.stdout.trim());
    const consumed = jr.stdout.split("\n").filter((l) => l.startsWith("CONSUMED"));
    const want = `offset=0 ts=${r.timestamp} key=${hex(r.key)} value=${hex(r.value)} headers=` +
      r.headers.map((h) => `${h.key}:${hex(h.value)},`).join("");
    if (consumed.length !== 2 || !consumed.every((l) => l.endsWith(want))) {
      fail(`the Java consumers did not read back the record:\n${jr.stdout}`);
    }

    // 2. kcat: produce one uncompressed record with a key and two headers, then read it back.
    const k = kcatInfo.record;
    const produceArgs = [
      "-P",
      "-b",
      bootstrap,
      "-t",
      kcatTopic,
      "-p",
      "0",
      "-z",
      "none",
      "-X",
      "client.id=golden-kcat-producer",
      "-X",
      "compression.codec=none",
      "-k",
      k.key,
      ...k.headers.flatMap((h) => ["-H", `${h.key}=${h.value}`]),
      "-c",
      "1",
    ];
    kcatInfo.commands.push(`printf %s ${sh(k.value)} | kcat ${produceArgs.map(sh).join(" ")}`);
    const pr = await run(kcat, produceArgs, { stdin: utf8.encode(k.value) });
    if (pr.code !== 0) fail(`kcat producer failed: ${pr.stderr}`);
    const consumeArgs = [
      "-C",
      "-b",
      bootstrap,
      "-t",
      kcatTopic,
      "-p",
      "0",
      "-o",
      "beginning",
      "-c",
      "1",
      "-X",
      "client.id=golden-kcat-consumer",
      "-f",
      "%o\\t%T\\t%k\\t%h\\t%s\\n",
    ];
    kcatInfo.commands.push(`kcat ${consumeArgs.map(sh).join(" ")}`);
    const cr = await run(kcat, consumeArgs);
    if (cr.code !== 0) fail(`kcat consumer failed: ${cr.stderr}`);
    const [offset, ts, key, headers, value] = cr.stdout.replace(/\n$/, "").split("\t");
    const wantHeaders = k.headers.map((h) => `${h.key}=${h.value}`).join(",");
    if (offset !== "0" || key !== k.key || value !== k.value || headers !== wantHeaders) {
      fail(`kcat did not read back the record: ${JSON.stringify(cr.stdout)}`);
    }
    k.timestamp = Number(ts);
    // Let the last FIN/ACK packets reach the capture before stopping it.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    captureLog = await capture.stop();
  }
  console.log(captureLog.trim());

  const streams = reassemble(await readSegments(pcap));
  const dissected = await dissectorHeaders(pcap);
  const ourIds = new Map<string, PeerInfo>();
  for (const p of [kcatInfo, javaInfo]) for (const id of p.clientIds) ourIds.set(id, p);

  for (const sub of ["kcat", "java"]) {
    await Deno.remove(`${OUT_DIR}${sub}`, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${OUT_DIR}${sub}`, { recursive: true });
  }
  const files: string[] = [];
  const counters = new Map<string, number>();
  const connections = new Map<number, number>();
  const connectionCounters = new Map<string, number>();
  const summary = new Map<string, Set<string>>();
  let crossChecked = 0;
  let ourConnections = 0;
  // Exchanges in capture order (the packet that carried a request's first byte).
  const exchanges: { peer: PeerInfo; clientId: string; req: Frame; res: Frame | undefined }[] = [];
  for (const [stream, frames] of streams) {
    const reqs = frames.filter((f) => f.direction === "request");
    if (reqs.length === 0 || reqs[0]!.bytes.length < 14) continue;
    const first = requestHeader(reqs[0]!.bytes);
    const peer = first.clientId === null ? undefined : ourIds.get(first.clientId);
    if (peer === undefined) continue;
    if (frames.some((f) => f.bytes.length === 0)) {
      fail(`stream ${stream} of ${first.clientId} could not be reassembled completely`);
    }
    ourConnections++;
    const responses = new Map<number, Frame>();
    for (const f of frames) {
      if (f.direction !== "response") continue;
      const id = new DataView(f.bytes.buffer, f.bytes.byteOffset).getInt32(4);
      responses.set(id, f);
    }
    const ours: string[] = [];
    for (const req of reqs) {
      const h = requestHeader(req.bytes);
      if (h.clientId !== first.clientId) fail(`stream ${stream} mixes client ids`);
      ours.push(`${h.apiKey}/${h.apiVersion}/${h.correlationId}`);
      exchanges.push({ peer, clientId: h.clientId!, req, res: responses.get(h.correlationId) });
    }
    const theirs = dissected.get(stream);
    if (theirs !== undefined) {
      if (theirs.join(" ") !== ours.join(" ")) {
        console.warn(
          `stream ${stream}: tshark's Kafka dissector saw ${theirs.join(" ")}, we ${
            ours.join(" ")
          }`,
        );
      } else crossChecked++;
    }
  }
  exchanges.sort((a, b) => a.req.firstPacket - b.req.firstPacket);
  for (const ex of exchanges) {
    const h = requestHeader(ex.req.bytes);
    const n = (counters.get(ex.peer.peer) ?? 0) + 1;
    counters.set(ex.peer.peer, n);
    if (!connections.has(ex.req.stream)) {
      const c = connectionCounters.get(ex.peer.peer) ?? 0;
      connectionCounters.set(ex.peer.peer, c + 1);
      connections.set(ex.req.stream, c);
    }
    const name = apiName(h.apiKey);
    const set = summary.get(ex.peer.peer) ?? new Set();
    set.add(`${name} v${h.apiVersion}`);
    summary.set(ex.peer.peer, set);
    for (const f of [ex.req, ex.res]) {
      if (f === undefined) continue;
      const file = `${ex.peer.peer}/${
        String(n).padStart(3, "0")
      }-${name}-v${h.apiVersion}-${f.direction}.json`;
      const body = {
        peer: ex.peer.peer,
        clientId: ex.clientId,
        connection: connections.get(ex.req.stream),
        direction: f.direction,
        apiKey: h.apiKey,
        apiName: name,
        apiVersion: h.apiVersion,
        correlationId: h.correlationId,
        hex: toHex(f.bytes),
      };
      await Deno.writeTextFile(`${OUT_DIR}${file}`, JSON.stringify(body, null, 2) + "\n");
      files.push(file);
    }
  }
  for (const p of [kcatInfo, javaInfo]) {
    if (!summary.has(p.peer)) fail(`no frames of ${p.peer} were captured`);
  }

  const date = new Date().toISOString();
  const index = {
    capturedAt: date,
    broker: { version: b.version, listener: `PLAINTEXT ${bootstrap}`, nodeIds: b.nodeIds },
    tshark: tsharkVersion,
    peers: [kcatInfo, javaInfo],
    frames: files,
  };
  await Deno.writeTextFile(`${OUT_DIR}index.json`, JSON.stringify(index, null, 2) + "\n");
  await Deno.writeTextFile(
    `${OUT_DIR}README.md`,
    readme(index.capturedAt, b.version ?? "?", tsharkVersion, [kcatInfo, javaInfo], summary),
  );
  await new Deno.Command("deno", { args: ["fmt", "-q", OUT_DIR] }).output();
  console.log(
    `wrote ${files.length} frames to ${OUT_DIR} (request headers of ${crossChecked}/${ourConnections} ` +
      `connections agree with tshark's Kafka dissector)`,
  );
  for (const [peer, apis] of summary) console.log(`  ${peer}: ${[...apis].join(", ")}`);
  if (keep) console.log(`capture kept: ${pcap}`);
  else await Deno.remove(work, { recursive: true });
}

function readme(
  date: string,
  brokerVersion: string,
  tshark: string,
  peers: PeerInfo[],
  summary: Map<string, Set<string>>,
): string {
  const lines = [
    "# Golden frames captured from real Kafka exchanges",
    "",
    "Written by `scripts/capture_golden.ts`; checked by `tests/unit/golden_capture_test.ts`.",
    "Do not edit by hand: rerun the script (it needs root for the loopback capture and the",
    "test broker: `deno task kafka:up && deno run -A scripts/capture_golden.ts`).",
    "",
    `- Captured: ${date}`,
    `- Broker: Apache Kafka ${brokerVersion} (the test bed, PLAINTEXT 127.0.0.1:9092)`,
    `- Capture: \`dumpcap -i lo -f 'tcp port 9092'\`, ${tshark}; TCP payloads listed with`,
    "  `tshark -T fields -e tcp.payload` and reassembled per connection and direction by the",
    "  script (tshark's Kafka dissector only cross-checks the request headers). Connections of",
    "  other clients on the shared broker are dropped by their request header client id.",
    "",
    "Each `<peer>/NNN-<Api>-v<version>-<request|response>.json` holds one whole frame (size",
    "prefix included) as `hex`, with the direction, API key and version, correlation id, client",
    "id, and the peer's connection number. `index.json` lists the frames and, per peer, the",
    "topic and the record that was produced (key, value, headers, timestamp).",
    "",
  ];
  for (const p of peers) {
    lines.push(`## ${p.peer}: ${p.software}`, "");
    lines.push(`Client ids: ${p.clientIds.map((c) => `\`${c}\``).join(", ")}.`, "");
    lines.push("Commands:", "");
    for (const c of p.commands) lines.push("```sh", c, "```", "");
    lines.push(`APIs: ${[...(summary.get(p.peer) ?? [])].join(", ")}.`, "");
  }
  return lines.join("\n");
}

if (import.meta.main) await main();
