/**
 * Process and network plumbing for the launcher: start a JVM detached (it outlives the
 * launcher, logs to a file), tell whether a pid is still our broker, stop it by pid, and ask a
 * broker over the Kafka protocol whether it answers (ApiVersions, Metadata) on any listener.
 *
 * @module
 */

import { LauncherError } from "./errors.ts";

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Starts `java args...` in the background, detached from this process (own process group,
 * SIGHUP ignored, stdin from /dev/null, stdout+stderr appended to `logFile`), and returns its
 * pid. A short-lived `sh` does the fork so no child handle stays open in Deno (safe inside
 * `deno test`).
 *
 * @example
 * ```ts
 * import { spawnDetached } from "./process.ts";
 * const pid = await spawnDetached(["-version"], "/tmp/java.log");
 * console.log(pid > 0);
 * ```
 */
export async function spawnDetached(
  args: string[],
  logFile: string,
  cwd?: string,
): Promise<number> {
  const line = `trap '' HUP; java ${args.map(shellQuote).join(" ")} >> ${
    shellQuote(logFile)
  } 2>&1 < /dev/null & echo $!`;
  const out = await new Deno.Command("sh", {
    args: ["-c", line],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    detached: true,
    ...(cwd ? { cwd } : {}),
  }).output();
  const pid = Number.parseInt(new TextDecoder().decode(out.stdout).trim(), 10);
  if (!out.success || !Number.isInteger(pid) || pid <= 0) {
    throw new LauncherError(
      `could not start java: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return pid;
}

/**
 * Whether `pid` is a live (not zombie) process whose command line contains `marker` (the
 * node's config path), so a recycled pid is never mistaken for our broker.
 *
 * @example
 * ```ts
 * import { isOurProcess } from "./process.ts";
 * console.log(isOurProcess(Deno.pid, "deno")); // true
 * ```
 */
export function isOurProcess(pid: number, marker: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The state letter follows the parenthesised command name.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

/**
 * Stops one process we started: SIGTERM, wait up to `timeoutMs`, then SIGKILL. Does nothing
 * when the pid is gone or is no longer ours. Resolves to how it ended.
 *
 * @example
 * ```ts
 * import { terminate } from "./process.ts";
 * console.log(await terminate(999999, "kafka.Kafka")); // "gone"
 * ```
 */
export async function terminate(
  pid: number,
  marker: string,
  timeoutMs = 30_000,
): Promise<"gone" | "terminated" | "killed"> {
  if (!isOurProcess(pid, marker)) return "gone";
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return "gone";
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(pid, marker)) return "terminated";
    await sleep(200);
  }
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    return "terminated";
  }
  for (let i = 0; i < 50 && isOurProcess(pid, marker); i++) await sleep(100);
  return "killed";
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { sleep } from "./process.ts";
 * await sleep(10);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Whether something already listens on `127.0.0.1:port`.
 *
 * @example
 * ```ts
 * import { portInUse } from "./process.ts";
 * console.log(portInUse(1)); // false (nobody listens on port 1)
 * ```
 */
export function portInUse(port: number): boolean {
  try {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    l.close();
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return true;
    // Permission denied on a low port etc.: not ours to judge; let the broker report it.
    return false;
  }
}

/**
 * How to reach one listener for a probe.
 *
 * @example
 * ```ts
 * import type { ProbeTarget } from "./process.ts";
 * const t: ProbeTarget = { host: "127.0.0.1", port: 9094, caCerts: ["-----BEGIN..."] };
 * console.log(t.port);
 * ```
 */
export interface ProbeTarget {
  /** Host name or address. */
  readonly host: string;
  /** Port. */
  readonly port: number;
  /** Set for TLS listeners: the CA certificates (PEM) to trust. */
  readonly caCerts?: string[];
}

/**
 * The probe target of a `host:port` address (the host may itself contain colons: the port is
 * what follows the last one).
 *
 * @example
 * ```ts
 * import { hostPort } from "./process.ts";
 * console.log(hostPort("127.0.0.1:9092")); // { host: "127.0.0.1", port: 9092 }
 * ```
 */
export function hostPort(address: string): ProbeTarget {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

async function request(
  target: ProbeTarget,
  apiKey: number,
  apiVersion: number,
  body: Uint8Array,
  timeoutMs: number,
): Promise<DataView> {
  const clientId = new TextEncoder().encode("testbed-probe");
  const frame = new Uint8Array(4 + 2 + 2 + 4 + 2 + clientId.length + body.length);
  const dv = new DataView(frame.buffer);
  dv.setInt32(0, frame.length - 4);
  dv.setInt16(4, apiKey);
  dv.setInt16(6, apiVersion);
  dv.setInt32(8, 7); // correlation id
  dv.setInt16(12, clientId.length);
  frame.set(clientId, 14);
  frame.set(body, 14 + clientId.length);
  let conn: Deno.Conn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  try {
    conn = target.caCerts
      ? await Deno.connectTls({ hostname: target.host, port: target.port, caCerts: target.caCerts })
      : await Deno.connect({ hostname: target.host, port: target.port });
    if (timedOut) throw new LauncherError("probe timed out");
    await writeAll(conn, frame);
    const head = await readExactly(conn, 4);
    const size = new DataView(head.buffer).getInt32(0);
    if (size < 4 || size > 1 << 20) throw new LauncherError(`bad response size ${size}`);
    const payload = await readExactly(conn, size);
    const view = new DataView(payload.buffer);
    if (view.getInt32(0) !== 7) throw new LauncherError("correlation id mismatch");
    return new DataView(payload.buffer, 4);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new LauncherError("connection closed by the broker");
    off += got;
  }
  return out;
}

/**
 * Sends ApiVersions v0 (allowed before SASL authentication and answered on every listener) and
 * resolves to true when the broker answers with error code 0.
 *
 * @example
 * ```ts
 * import { probeApiVersions } from "./process.ts";
 * console.log(await probeApiVersions({ host: "127.0.0.1", port: 9092 }));
 * ```
 */
export async function probeApiVersions(target: ProbeTarget, timeoutMs = 5000): Promise<boolean> {
  try {
    const body = await request(target, 18, 0, new Uint8Array(0), timeoutMs);
    return body.getInt16(0) === 0;
  } catch {
    return false;
  }
}

/**
 * Sends Metadata v1 for no topics on a PLAINTEXT listener and returns the broker ids the
 * cluster reports (only registered, unfenced brokers are listed).
 *
 * @example
 * ```ts
 * import { metadataBrokerIds } from "./process.ts";
 * console.log(await metadataBrokerIds({ host: "127.0.0.1", port: 9092 })); // e.g. [1]
 * ```
 */
export async function metadataBrokerIds(target: ProbeTarget, timeoutMs = 5000): Promise<number[]> {
  const body = new Uint8Array(4); // topics: empty array (v1+: no topics, only brokers)
  const view = await request(target, 3, 1, body, timeoutMs);
  let off = 0;
  const count = view.getInt32(off);
  off += 4;
  if (count < 0 || count > 1000) throw new LauncherError(`bad broker count ${count}`);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(view.getInt32(off));
    off += 4;
    off += 2 + view.getInt16(off); // host
    off += 4; // port
    const rack = view.getInt16(off);
    off += 2 + (rack > 0 ? rack : 0);
  }
  return ids.sort((a, b) => a - b);
}

/**
 * The last `lines` lines of a text file ("" when it does not exist).
 *
 * @example
 * ```ts
 * import { tailFile } from "./process.ts";
 * console.log(await tailFile("/etc/hostname", 1));
 * ```
 */
export async function tailFile(path: string, lines = 30): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
