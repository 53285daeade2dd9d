/**
 * Asks a listener what it speaks, to turn a misconfiguration into a hint instead of a retry
 * loop. Used only after a failure that looks like one: a TLS handshake the peer broke off, or
 * a plaintext connection the broker closed on its first request after ApiVersions (which a
 * SASL listener answers before authentication, KIP-43).
 *
 * The probe sends ApiVersions v0 and then SaslHandshake v1 for PLAIN: a SASL listener answers
 * with the mechanisms it enables (with NONE when PLAIN is one of them, else with
 * UNSUPPORTED_SASL_MECHANISM, which a broker sends only after its failed-authentication
 * delay, hence PLAIN); any other listener refuses the handshake (ILLEGAL_SASL_STATE) or hangs
 * up. The probe never authenticates: it closes the socket after the handshake.
 *
 * @module
 */

import { Api, type ApiDef, decodeResponse, encodeRequestFrame } from "../protocol/apis.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { FrameReader } from "./frame_reader.ts";
import type { Socket } from "./connection.ts";

/** What a listener turned out to speak. */
export interface ListenerProbe {
  /** It answered ApiVersions: it speaks Kafka over this transport. */
  readonly kafka: boolean;
  /** The SASL mechanisms it requires, when it is a SASL listener. */
  readonly saslMechanisms: readonly string[] | undefined;
}

/** The most widely enabled mechanism: asking for it is answered at once when it is. */
const PROBE_MECHANISM = "PLAIN";

/**
 * Probes a listener over the socket `open` gives, within `timeoutMs`; `undefined` when it did
 * not answer like a Kafka broker at all (or in time).
 *
 * @example
 * ```ts ignore
 * const p = await probeListener(() => Deno.connect({ hostname: "127.0.0.1", port: 9093 }), 1000);
 * console.log(p?.saslMechanisms); // [ "PLAIN", "SCRAM-SHA-256", ... ] on a SASL listener
 * ```
 */
export async function probeListener(
  open: () => Promise<Socket>,
  timeoutMs: number,
): Promise<ListenerProbe | undefined> {
  let socket: Socket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const work = (async (): Promise<ListenerProbe | undefined> => {
    socket = await open();
    const frames = new FrameReader(socket, 1024 * 1024);
    const ask = async <Req, Res>(
      api: ApiDef<Req, Res>,
      version: number,
      id: number,
      body: Req,
    ): Promise<Res | undefined> => {
      const frame = encodeRequestFrame(api, version, id, "denokafka-probe", body).slice();
      let off = 0;
      while (off < frame.length) off += await socket!.write(frame.subarray(off));
      const reply = await frames.next();
      if (reply === null) return undefined;
      return decodeResponse(api, version, reply);
    };
    const versions = await ask(Api.ApiVersions, 0, 1, {});
    if (versions === undefined) return undefined;
    let hs: { errorCode: number; mechanisms: readonly string[] } | undefined;
    try {
      hs = await ask(Api.SaslHandshake, 1, 2, { mechanism: PROBE_MECHANISM });
    } catch {
      hs = undefined; // hung up or refused: not a SASL listener
    }
    const sasl = hs !== undefined &&
        (hs.errorCode === ErrorCode.NONE || hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM)
      ? hs.mechanisms
      : undefined;
    return { kafka: true, saslMechanisms: sasl };
  })().catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    try {
      socket?.close();
    } catch { /* already closed */ }
    // A socket opened after the race was lost is closed when it arrives.
    work.then(() => {
      try {
        socket?.close();
      } catch { /* already closed */ }
    });
  }
}
