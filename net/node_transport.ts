/**
 * The Node transport: `node:net` and `node:tls`, the default under Node and Bun (Bun
 * implements both). The modules are imported on the first connect, so merely loading the
 * library loads neither (workerd, say, need not have them).
 *
 * A Node socket pushes `data` events; {@linkcode TransportSocket.read} pulls. The adapter
 * queues what arrives and pauses the socket once a few reads' worth is queued, so a slow
 * reader holds back the broker through TCP instead of buffering without bound.
 *
 * @module
 */

import { AuthenticationError } from "../protocol/errors.ts";
import { TlsHandshakeError } from "./tls_handshake_error.ts";
import type { Transport, TransportConnectOptions, TransportSocket } from "./transport.ts";

/** The parts of a `node:net` Socket (or `node:tls` TLSSocket) used here. */
interface NodeSocket {
  setNoDelay(on: boolean): unknown;
  write(data: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  pause(): unknown;
  resume(): unknown;
  destroy(err?: Error): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

interface NodeNet {
  connect(o: { host: string; port: number; noDelay?: boolean }): NodeSocket;
}

interface NodeTls {
  connect(o: {
    host: string;
    port: number;
    servername?: string;
    ca?: string[];
    cert?: string;
    key?: string;
  }): NodeSocket;
  readonly rootCertificates: readonly string[];
}

/** Queued bytes past which the socket is paused until reads catch up. */
const HIGH_WATER = 1024 * 1024;

/**
 * `node:net` / `node:tls` sockets: the default under Node and Bun. TLS trusts Node's bundled
 * roots plus `tls.caCerts` (as Deno does), verifies `tls.serverName` when given, and supports
 * client certificates.
 *
 * @example
 * ```ts
 * import { nodeTransport, Producer } from "@denokafka/kafka";
 * const producer = new Producer({ brokers: ["127.0.0.1:9092"], transport: nodeTransport() });
 * await producer.close();
 * ```
 */
export function nodeTransport(): Transport {
  return { name: "node", connect: (host, port, options) => open(host, port, options) };
}

async function open(
  host: string,
  port: number,
  options: TransportConnectOptions,
): Promise<TransportSocket> {
  const tls = options.tls;
  let socket: NodeSocket;
  if (!tls) {
    const net = await import("node:net") as unknown as NodeNet;
    socket = net.connect({ host, port, noDelay: true });
  } else {
    const nodeTls = await import("node:tls") as unknown as NodeTls;
    socket = nodeTls.connect({
      host,
      port,
      // SNI and the name verified: IP addresses are verified against the certificate's IP
      // entries by Node itself, and may not be sent as SNI.
      ...(tls.serverName ?? (isIp(host) ? undefined : host)) !== undefined &&
        { servername: tls.serverName ?? host },
      // `ca` replaces Node's roots; Deno adds to them. Keep Deno's meaning.
      ...tls.caCerts && { ca: [...nodeTls.rootCertificates, ...tls.caCerts] },
      ...tls.cert !== undefined && { cert: tls.cert },
      ...tls.key !== undefined && { key: tls.key },
    });
  }
  const adapter = new NodeSocketAdapter(socket);
  try {
    await adapter.opened(tls ? "secureConnect" : "connect", options.signal);
  } catch (e) {
    adapter.close();
    const code = (e as { code?: string }).code;
    if (tls && code !== "ECONNREFUSED" && !options.signal?.aborted) {
      // Broken off without a word of TLS (a reset, or "wrong version number" for bytes that
      // are no TLS record): maybe a plaintext listener; the connection asks it.
      const reset = code === "ECONNRESET";
      if (reset || code === "EPROTO") {
        throw new TlsHandshakeError(`${host}:${port}`, e, { reset });
      }
      // An untrusted certificate will not become trustworthy on retry (as Java's
      // SslAuthenticationException): an authentication failure, not retriable.
      throw new AuthenticationError(
        `TLS handshake with ${host}:${port} failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
    throw e;
  }
  socket.setNoDelay(true);
  return adapter;
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** A pull-style {@linkcode TransportSocket} over a push-style Node socket. */
class NodeSocketAdapter implements TransportSocket {
  readonly #socket: NodeSocket;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  #error: Error | undefined;
  #waiter: (() => void) | undefined;
  #drainWaiters: Array<() => void> = [];

  constructor(socket: NodeSocket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= HIGH_WATER && !this.#paused) {
        this.#paused = true;
        socket.pause();
      }
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e: Error) => {
      this.#error ??= e;
      this.#wake();
    });
    socket.on("drain", () => {
      for (const w of this.#drainWaiters.splice(0)) w();
    });
  }

  /** Resolves once the socket is connected (and its TLS handshake done), or rejects. */
  opened(event: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (e?: Error) => {
        this.#socket.off(event, onOpen);
        this.#socket.off("error", onError);
        this.#socket.off("close", onClose);
        signal?.removeEventListener("abort", onAbort);
        if (e) reject(e);
        else resolve();
      };
      const onOpen = () => done();
      const onError = (e: Error) => done(e);
      const onClose = () => done(this.#error ?? new Error("socket closed while connecting"));
      const onAbort = () => done(new Error("connect aborted"));
      this.#socket.once(event, onOpen);
      this.#socket.once("error", onError);
      this.#socket.once("close", onClose);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((r) => this.#waiter = r);
    }
    let n = 0;
    while (n < p.length && this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const take = Math.min(head.length, p.length - n);
      p.set(take === head.length ? head : head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
    }
    this.#queued -= n;
    if (this.#paused && this.#queued < HIGH_WATER / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.#error) throw this.#error;
    if (this.#ended) throw new Error("socket closed");
    // Node keeps `p` until it is flushed; the connection never reuses a written buffer.
    if (!this.#socket.write(p)) {
      await new Promise<void>((resolve, reject) => {
        const onDone = () => {
          this.#socket.off("error", onDone);
          this.#socket.off("close", onDone);
          if (this.#error) reject(this.#error);
          else resolve();
        };
        this.#drainWaiters.push(onDone);
        this.#socket.once("error", onDone);
        this.#socket.once("close", onDone);
      });
    }
    return p.length;
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#wake();
    for (const w of this.#drainWaiters.splice(0)) w();
  }
}
