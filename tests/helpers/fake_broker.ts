/**
 * Fake brokers on real loopback sockets (Deno.listen on 127.0.0.1, port 0), for the faults a
 * real broker cannot produce on demand: silence, resets, garbage and truncated frames, a
 * broker dying mid-request. Also stand-ins for listener mismatches (a TLS listener's alert, a
 * SASL listener that hangs up on unauthenticated requests) where a unit test needs them.
 */

import { allApis, Api, decodeRequest, encodeResponse } from "../../protocol/apis.ts";

/** How a fake broker misbehaves. */
export type FakeBrokerMode =
  /** Accepts connections and never answers. */
  | "silent"
  /** Closes each connection as soon as it is accepted. */
  | "reset"
  /** Answers the first request with bytes that are no Kafka frame. */
  | "garbage"
  /** Answers the first request with a frame cut short, then hangs up. */
  | "truncated"
  /** Answers ApiVersions, then hangs up on the next request without answering it. */
  | "dying"
  /** Answers ApiVersions, then never answers anything else (requests time out). */
  | "stalled"
  /** Like a SASL listener: answers ApiVersions and SaslHandshake, hangs up on anything else. */
  | "sasl"
  /** Like a TLS listener reached in plaintext: answers with a TLS alert record and hangs up. */
  | "tls"
  /** Answers ApiVersions listing no API but ApiVersions itself. */
  | "unsupported";

/** A running fake broker. */
export interface FakeBroker extends AsyncDisposable {
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** The port. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const ALL_VERSIONS = allApis().map((a) => ({
  apiKey: a.key,
  minVersion: a.minVersion,
  maxVersion: a.maxVersion,
}));
/** The mechanisms the "sasl" fake says it enables. */
export const FAKE_SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-512"];
/** Kafka's socket.request.max.bytes default: a larger size claim closes the connection. */
const MAX_REQUEST = 100 * 1024 * 1024;

/**
 * Starts a fake broker.
 *
 * ```ts
 * await using fake = fakeBroker("silent");
 * console.log(fake.address);
 * ```
 */
export function fakeBroker(mode: FakeBrokerMode): FakeBroker {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let accepted = 0;
  let closed = false;
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conns.add(conn);
        const task = serve(conn, mode).catch(() => {}).finally(() => {
          conns.delete(conn);
          tasks.delete(task);
          try {
            conn.close();
          } catch { /* already closed */ }
        });
        tasks.add(task);
      }
    } catch { /* listener closed */ }
  })();
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      listener.close();
    } catch { /* already closed */ }
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await loop;
    await Promise.allSettled([...tasks]);
  };
  return {
    address: `127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * An address nothing listens on (a port just released): connecting is refused.
 *
 * ```ts
 * console.log(refusedAddress()); // 127.0.0.1:<port>
 * ```
 */
export function refusedAddress(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `127.0.0.1:${port}`;
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(buf.subarray(off));
    if (got === null) return null;
    off += got;
  }
  return buf;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function serve(conn: Deno.Conn, mode: FakeBrokerMode): Promise<void> {
  if (mode === "reset") return;
  if (mode === "silent") {
    const sink = new Uint8Array(4096);
    while (await conn.read(sink) !== null) { /* never answer */ }
    return;
  }
  while (true) {
    const head = await readExactly(conn, 4);
    if (head === null) return;
    if (mode === "tls") {
      // A TLS alert record: content type 21, TLS 1.2, length 2, fatal (2) decode_error (50).
      await writeAll(conn, new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]));
      return;
    }
    const size = new DataView(head.buffer).getInt32(0);
    // Like Kafka: an absurd size (a TLS ClientHello read as a frame) closes the connection.
    if (size < 0 || size > MAX_REQUEST) return;
    const frame = await readExactly(conn, size);
    if (frame === null) return;
    if (mode === "garbage") {
      await writeAll(conn, new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]));
      continue;
    }
    if (mode === "truncated") {
      await writeAll(conn, new Uint8Array([0, 0, 0, 64, 0, 0, 0, 1, 0, 0]));
      return;
    }
    const { header, api } = decodeRequest(frame);
    const version = header.apiVersion;
    if (api.key === Api.ApiVersions.key) {
      const apiKeys = mode === "unsupported"
        ? ALL_VERSIONS.filter((v) => v.apiKey === Api.ApiVersions.key)
        : ALL_VERSIONS;
      await writeAll(
        conn,
        encodeResponse(Api.ApiVersions, version, header.correlationId, {
          errorCode: 0,
          apiKeys,
          throttleTimeMs: 0,
        } as never),
      );
      continue;
    }
    if (mode === "sasl" && api.key === Api.SaslHandshake.key) {
      await writeAll(
        conn,
        encodeResponse(Api.SaslHandshake, version, header.correlationId, {
          errorCode: 33, // UNSUPPORTED_SASL_MECHANISM
          mechanisms: FAKE_SASL_MECHANISMS,
        }),
      );
      continue;
    }
    // Keep the connection, answer nothing more.
    if (mode === "stalled") continue;
    // "dying", "sasl" (an unauthenticated request), "unsupported": hang up unanswered.
    return;
  }
}
