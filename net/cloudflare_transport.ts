/**
 * The Cloudflare Workers transport: `connect()` from `cloudflare:sockets`, with
 * `secureTransport: "on"` for TLS. That module can only be imported inside workerd, so the
 * Worker imports `connect` itself and passes it in.
 *
 * What Workers cannot do: trust a CA of your own (`tls.caCerts`; only the public roots are
 * trusted), present a client certificate, or verify a name other than the host connected to.
 * Those options fail with a `TypeError` rather than connecting less safely. A Worker may have
 * 6 connections open at once: see `maxConnectionsPerBroker`.
 *
 * @module
 */

import type { Transport, TransportConnectOptions, TransportSocket } from "./transport.ts";

/**
 * A Workers socket, as `connect()` from `cloudflare:sockets` returns it.
 *
 * @example
 * ```ts
 * import type { CloudflareSocket } from "@denokafka/kafka";
 * const s: Partial<CloudflareSocket> = {};
 * console.log(s.readable === undefined);
 * ```
 */
export interface CloudflareSocket {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves once connected (rejects when the connect fails). */
  readonly opened: Promise<unknown>;
  /** Closes both directions. */
  close(): Promise<void>;
}

/**
 * `connect()` from `cloudflare:sockets`.
 *
 * @example
 * ```ts
 * import type { CloudflareConnect } from "@denokafka/kafka";
 * const refuse: CloudflareConnect = () => {
 *   throw new Error("not in a Worker");
 * };
 * console.log(typeof refuse);
 * ```
 */
export type CloudflareConnect = (
  address: { hostname: string; port: number },
  options?: { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean },
) => CloudflareSocket;

/**
 * Sockets from `cloudflare:sockets`, for Cloudflare Workers (and workerd).
 *
 * @example
 * ```ts ignore
 * import { connect } from "cloudflare:sockets";
 * import { cloudflareTransport, Producer } from "@denokafka/kafka";
 * const producer = new Producer({
 *   brokers: ["kafka.example.com:9093"],
 *   tls: true,
 *   transport: cloudflareTransport(connect),
 *   maxConnectionsPerBroker: 1, // a Worker may hold 6 sockets at once
 * });
 * await producer.close();
 * ```
 */
export function cloudflareTransport(connect: CloudflareConnect): Transport {
  if (typeof connect !== "function") {
    throw new TypeError('cloudflareTransport needs connect() from "cloudflare:sockets"');
  }
  return {
    name: "cloudflare",
    connect: (host, port, options) => open(connect, host, port, options),
  };
}

async function open(
  connect: CloudflareConnect,
  host: string,
  port: number,
  options: TransportConnectOptions,
): Promise<TransportSocket> {
  const tls = options.tls;
  if (tls) {
    if (tls.caCerts && tls.caCerts.length > 0) {
      throw new TypeError(
        "tls.caCerts cannot be used in Cloudflare Workers: connect() trusts only public CAs",
      );
    }
    if (tls.cert || tls.key) {
      throw new TypeError("Cloudflare Workers sockets cannot present a client certificate");
    }
    if (tls.serverName && tls.serverName !== host) {
      throw new TypeError("Cloudflare Workers sockets verify only the host connected to");
    }
  }
  const socket = connect({ hostname: host, port }, { secureTransport: tls ? "on" : "off" });
  const adapter = new StreamSocket(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = () => reject(new Error("connect aborted"));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.opened.then(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, (e) => {
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      });
    });
  } catch (e) {
    adapter.close();
    throw e;
  }
  return adapter;
}

/** A {@linkcode TransportSocket} over a readable/writable stream pair. */
class StreamSocket implements TransportSocket {
  readonly #socket: CloudflareSocket;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #rest: Uint8Array | undefined;
  #closed = false;

  constructor(socket: CloudflareSocket) {
    this.#socket = socket;
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
  }

  async read(p: Uint8Array): Promise<number | null> {
    let chunk = this.#rest;
    this.#rest = undefined;
    while (chunk === undefined || chunk.length === 0) {
      if (this.#closed) return null;
      const r = await this.#reader.read();
      if (r.done) return null;
      chunk = r.value;
    }
    const n = Math.min(chunk.length, p.length);
    p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (n < chunk.length) this.#rest = chunk.subarray(n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#writer.write(p);
    return p.length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.cancel().catch(() => {});
    this.#writer.abort().catch(() => {});
    this.#socket.close().catch(() => {});
  }
}
