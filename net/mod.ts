/**
 * Transports: how the client reaches brokers on each runtime. The default fits the runtime
 * (Deno, or `node:net` under Node and Bun); Cloudflare Workers pass
 * `cloudflareTransport(connect)`.
 *
 * @example
 * ```ts
 * import { defaultTransport, runtime } from "@denokafka/kafka";
 * console.log(runtime(), defaultTransport().name);
 * ```
 *
 * @module
 */

export type { Transport, TransportConnectOptions, TransportSocket } from "./transport.ts";
export { defaultTransport } from "./transport.ts";
export { denoTransport } from "./deno_transport.ts";
export { nodeTransport } from "./node_transport.ts";
export type { CloudflareConnect, CloudflareSocket } from "./cloudflare_transport.ts";
export { cloudflareTransport } from "./cloudflare_transport.ts";
export { TlsHandshakeError } from "./tls_handshake_error.ts";
export type { RuntimeName } from "./runtime.ts";
export { runtime } from "./runtime.ts";
// One broker, directly (kafka-go's `Conn`): the connection, its framing, version negotiation
// and the SASL flow.
export * from "./frame_reader.ts";
export * from "./negotiate.ts";
export * from "./connection.ts";
export { authenticate, type AuthenticateParams, type SaslRequestFn } from "./sasl_flow.ts";
export { probeListener } from "./listener_probe.ts";
export type { ListenerProbe } from "./listener_probe.ts";
