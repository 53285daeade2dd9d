/**
 * Options shared by the producer, the consumer and the admin client.
 *
 * @module
 */

import type { TlsOptions } from "../net/connection.ts";
import type { Logger } from "../protocol/logger.ts";
import type { SaslOptions } from "../net/sasl_flow.ts";
import type { Transport } from "../net/transport.ts";

/** How failed requests are retried: exponential backoff with jitter, under a deadline. */
export interface RetryOptions {
  /** First backoff. Default 100 ms (Java's retry.backoff.ms). */
  initialBackoffMs?: number;
  /** Largest backoff. Default 1000 ms (Java's retry.backoff.max.ms). */
  maxBackoffMs?: number;
  /** Backoff growth per attempt. Default 2. */
  multiplier?: number;
  /** Random spread, as a fraction of the backoff (0-1). Default 0.2. */
  jitter?: number;
  /**
   * Overall time allowed for an operation and its retries, nested ones (metadata refreshes,
   * reconnects) included. Default 60 s. A call's `timeoutMs`, `signal` or `maxBlockMs` can
   * end it sooner, never later.
   */
  deadlineMs?: number;
  /** Attempts at most (the deadline usually ends retries first). Default unlimited. */
  maxAttempts?: number;
}

/**
 * What every client takes: where the cluster is and how to talk to it.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "@denokafka/kafka";
 * const options: ClientOptions = {
 *   brokers: ["127.0.0.1:9092"],
 *   clientId: "billing",
 *   sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" },
 * };
 * console.log(options.brokers.length);
 * ```
 */
export interface ClientOptions {
  /** Bootstrap brokers, `host:port`. Any of them may be down. */
  brokers: readonly string[];
  /** Sent in every request; shows up in broker logs and quotas. Default `denokafka`. */
  clientId?: string;
  /** TLS; `true` for the system roots. */
  tls?: TlsOptions | boolean;
  /** SASL authentication. */
  sasl?: SaslOptions;
  /** TCP/TLS connect plus handshake, per attempt. Default 10 s. */
  connectTimeoutMs?: number;
  /** Per request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Retries of retriable failures. */
  retry?: RetryOptions;
  /** Metadata is refreshed at least this often. Default 5 min (metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  /** Requests in flight per connection. Default 5. */
  maxInFlight?: number;
  /** Largest response accepted. Default 100 MiB. */
  maxFrameBytes?: number;
  /** Where to log. Default: silent. */
  logger?: Logger;
  /**
   * How sockets are opened: `denoTransport()`, `nodeTransport()`,
   * `cloudflareTransport(connect)` or your own. Default: the runtime's (Deno's under Deno,
   * `node:net` under Node and Bun); Cloudflare Workers must pass one.
   */
  transport?: Transport;
  /**
   * Connections per broker, at most. By default each broker gets one connection per lane
   * (metadata and admin, produce, each fetch lane, group joins, heartbeats): up to about five.
   * With a budget, the first lanes used get their own connection and the rest share the
   * `default` one; `1` puts everything on one socket per broker, which a Cloudflare Worker
   * needs (6 sockets at once per request). The cost: requests on a shared socket are answered
   * in order, so a heartbeat or commit can wait behind a fetch long poll (up to the
   * consumer's `fetchMaxWaitMs`) or a group join, and `maxInFlight` slots are shared. Default:
   * no limit.
   */
  maxConnectionsPerBroker?: number;
}

/** Parses `host:port` (IPv6 as `[::1]:9092`). */
export function parseBroker(address: string): { host: string; port: number } {
  if (typeof address !== "string") throw new TypeError("a broker address must be a string");
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new TypeError(`broker address must be host:port, got "${address}"`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new RangeError(`bad port in broker address "${address}"`);
  return { host: m[1]!, port };
}

/** Checks options that every client shares; throws TypeError/RangeError. */
export function validateClientOptions(options: ClientOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new TypeError("options.brokers must be a non-empty array of host:port strings");
  }
  for (const b of options.brokers) parseBroker(b);
  for (
    const k of [
      "connectTimeoutMs",
      "requestTimeoutMs",
      "metadataMaxAgeMs",
      "maxInFlight",
      "maxFrameBytes",
      "maxConnectionsPerBroker",
    ] as const
  ) {
    const v = options[k];
    if (v !== undefined && (typeof v !== "number" || !(v > 0))) {
      throw new RangeError(`options.${k} must be a positive number`);
    }
  }
  const t = options.transport;
  if (t !== undefined && (t === null || typeof t.connect !== "function")) {
    throw new TypeError("options.transport must have a connect(host, port, options) method");
  }
}
