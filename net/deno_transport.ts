/**
 * The Deno transport: `Deno.connect` / `Deno.connectTls` / `Deno.startTls`, the default under
 * Deno (and on Deno Deploy). `Deno.Conn` already is a {@linkcode TransportSocket}.
 *
 * The `Deno` global is reached through a small local type rather than the `Deno` namespace,
 * so that the same source type-checks for the npm build, where no Deno types exist.
 *
 * @module
 */

import type { TlsOptions } from "./connection.ts";
import { AuthenticationError } from "../protocol/errors.ts";
import { TlsHandshakeError } from "./tls_handshake_error.ts";
import type { Transport, TransportConnectOptions, TransportSocket } from "./transport.ts";

interface DenoConn extends TransportSocket {
  setNoDelay(on: boolean): void;
}

interface DenoTlsConn extends TransportSocket {
  handshake(): Promise<unknown>;
}

interface DenoNet {
  connect(o: { hostname: string; port: number }): Promise<DenoConn>;
  connectTls(o: {
    hostname: string;
    port: number;
    caCerts: string[];
    cert?: string;
    key?: string;
  }): Promise<DenoTlsConn>;
  startTls(conn: DenoConn, o: { hostname: string; caCerts: string[] }): Promise<DenoTlsConn>;
  errors: {
    ConnectionRefused: typeof Error;
    ConnectionReset: typeof Error;
    ConnectionAborted: typeof Error;
    UnexpectedEof: typeof Error;
    InvalidData: typeof Error;
  };
}

function deno(): DenoNet {
  const d = (globalThis as unknown as { Deno?: DenoNet }).Deno;
  if (d === undefined) throw new TypeError("the Deno transport needs the Deno runtime");
  return d;
}

/**
 * Deno's own sockets: the default under Deno. TLS trusts the system roots plus
 * `tls.caCerts`; `tls.serverName` cannot be combined with a client certificate (Deno's
 * `startTls` takes none).
 *
 * @example
 * ```ts
 * import { denoTransport, Producer } from "@denokafka/kafka";
 * const producer = new Producer({ brokers: ["127.0.0.1:9092"], transport: denoTransport() });
 * await producer.close();
 * ```
 */
export function denoTransport(): Transport {
  return { name: "deno", connect: (host, port, options) => open(host, port, options) };
}

async function open(
  host: string,
  port: number,
  options: TransportConnectOptions,
): Promise<TransportSocket> {
  const D = deno();
  const tls: TlsOptions | undefined = options.tls;
  if (!tls) {
    const conn = await D.connect({ hostname: host, port });
    conn.setNoDelay(true);
    return conn;
  }
  const caCerts = tls.caCerts ?? [];
  let conn: DenoTlsConn;
  if (tls.serverName && tls.serverName !== host) {
    if (tls.cert || tls.key) {
      throw new TypeError("tls.serverName cannot be combined with a client certificate in Deno");
    }
    const tcp = await D.connect({ hostname: host, port });
    tcp.setNoDelay(true);
    conn = await D.startTls(tcp, { hostname: tls.serverName, caCerts });
  } else {
    const base = { hostname: host, port, caCerts };
    conn = tls.cert && tls.key
      ? await D.connectTls({ ...base, cert: tls.cert, key: tls.key })
      : await D.connectTls(base);
  }
  try {
    // Fail here, with a TLS error, rather than on the first request.
    await conn.handshake();
  } catch (e) {
    conn.close();
    if (e instanceof D.errors.ConnectionRefused) throw e;
    // Broken off without a word of TLS: maybe a plaintext listener; the connection asks it.
    const reset = e instanceof D.errors.ConnectionReset || e instanceof D.errors.ConnectionAborted;
    if (
      reset || e instanceof D.errors.UnexpectedEof ||
      (e instanceof D.errors.InvalidData && !/certificate/i.test(String(e)))
    ) {
      throw new TlsHandshakeError(`${host}:${port}`, e, { reset });
    }
    // A certificate the client cannot trust will not become trustworthy on retry: like
    // Java's SslAuthenticationException, this is an authentication failure, not retriable.
    throw new AuthenticationError(
      `TLS handshake with ${host}:${port} failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return conn;
}
