/**
 * The transport layer: how a {@linkcode Connection} gets its byte stream. One small interface,
 * with built-in implementations for Deno (`Deno.connect`), Node and Bun (`node:net` /
 * `node:tls`) and Cloudflare Workers (`connect()` from `cloudflare:sockets`). A user can pass
 * their own in `ClientOptions.transport`.
 *
 * @module
 */

import type { TlsOptions } from "./connection.ts";
import { denoTransport } from "./deno_transport.ts";
import { nodeTransport } from "./node_transport.ts";
import { runtime } from "./runtime.ts";

/**
 * An open byte stream to a broker. `Deno.Conn` fits as it is; the Node and Cloudflare
 * transports adapt their sockets to it.
 *
 * @example
 * ```ts
 * import type { TransportSocket } from "@denokafka/kafka";
 * const closed: TransportSocket = {
 *   read: () => Promise.resolve(null),
 *   write: (p) => Promise.resolve(p.length),
 *   close: () => {},
 * };
 * console.log(await closed.read(new Uint8Array(8))); // null
 * ```
 */
export interface TransportSocket {
  /** Reads into `p`; resolves with the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Writes some of `p`; resolves with the byte count written. The caller does not reuse `p`
   * afterwards (a transport may keep it until it is flushed).
   */
  write(p: Uint8Array): Promise<number>;
  /** Closes the socket; pending reads end. */
  close(): void;
}

/**
 * What {@linkcode Transport.connect} takes besides the address.
 *
 * @example
 * ```ts
 * import type { TransportConnectOptions } from "@denokafka/kafka";
 * const o: TransportConnectOptions = { tls: { caCerts: [] } };
 * console.log(o.tls !== undefined);
 * ```
 */
export interface TransportConnectOptions {
  /** TLS settings; omit for plaintext. */
  tls?: TlsOptions;
  /** Aborts the connect (the connection's connect timeout, or the client closing). */
  signal?: AbortSignal;
}

/**
 * Opens sockets to brokers. The connection layer does the rest (framing, timeouts, SASL).
 *
 * Errors: a TLS certificate the client does not trust should reject with an
 * `AuthenticationError` (it will not get better on retry); anything else (refused, reset,
 * unreachable) with any error, which the connection reports as a retriable
 * `ConnectionError`.
 *
 * @example
 * ```ts
 * import type { Transport } from "@denokafka/kafka";
 * const refusing: Transport = {
 *   name: "refusing",
 *   connect: (host, port) => Promise.reject(new Error(`${host}:${port} refused`)),
 * };
 * console.log(refusing.name);
 * ```
 */
export interface Transport {
  /** For logs and error messages: `deno`, `node`, `cloudflare`, or the user's name. */
  readonly name: string;
  /** Opens a socket to `host:port`, over TLS when `options.tls` is given. */
  connect(host: string, port: number, options: TransportConnectOptions): Promise<TransportSocket>;
}

/**
 * The transport for the runtime this runs on: Deno's under Deno, `node:net` under Node and
 * Bun. Cloudflare Workers have no default (their `connect` can only be imported statically
 * in the Worker): pass `cloudflareTransport(connect)`.
 *
 * @example
 * ```ts
 * import { defaultTransport } from "@denokafka/kafka";
 * console.log(defaultTransport().name); // "deno" under Deno
 * ```
 */
export function defaultTransport(): Transport {
  const rt = runtime();
  if (rt === "deno") return denoTransport();
  if (rt === "node" || rt === "bun") return nodeTransport();
  throw new TypeError(
    `no default transport on this runtime (${rt}): pass options.transport, e.g. ` +
      `cloudflareTransport(connect) with connect from "cloudflare:sockets"`,
  );
}
