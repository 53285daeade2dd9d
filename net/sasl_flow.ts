/**
 * Runs SASL on a connection: SaslHandshake, then SaslAuthenticate round trips (KIP-152).
 *
 * @module
 */

import { Api, type ApiDef } from "../protocol/apis.ts";
import { authenticateSasl, checkSaslHandshake } from "../protocol/sasl/authenticate.ts";
import { saslMechanism, type SaslOptions } from "../protocol/sasl/options.ts";

export type { SaslOptions };

/** Sends one request on the connection being authenticated. */
export type SaslRequestFn = <Req, Res>(api: ApiDef<Req, Res>, body: Req) => Promise<Res>;

/** What {@linkcode authenticate} needs from the connection. */
export interface AuthenticateParams {
  /** The configured mechanism. */
  options: SaslOptions;
  /** The broker's host, for mechanisms that need it. */
  host: string;
  /** The broker's port. */
  port: number;
  /** Aborts the exchange. */
  signal?: AbortSignal;
  /** Sends one request on this connection (never through a retrying layer). */
  request: SaslRequestFn;
}

/**
 * Authenticates the connection; resolves with the delay before re-authentication is due
 * (KIP-368), or 0 when the broker set no session lifetime. Failures are AuthenticationError.
 *
 * @example
 * ```ts ignore
 * const reauthAfterMs = await authenticate({ options, host, port, request });
 * ```
 */
export async function authenticate(params: AuthenticateParams): Promise<number> {
  const mechanism = saslMechanism(params.options);
  const hs = await params.request(Api.SaslHandshake, { mechanism: mechanism.name });
  checkSaslHandshake(mechanism.name, hs.errorCode, hs.mechanisms);
  const outcome = await authenticateSasl(
    mechanism,
    { host: params.host, port: params.port, ...params.signal && { signal: params.signal } },
    async (authBytes) => {
      const response = await params.request(Api.SaslAuthenticate, { authBytes });
      return {
        errorCode: response.errorCode,
        errorMessage: response.errorMessage,
        authBytes: response.authBytes,
        sessionLifetimeMs: response.sessionLifetimeMs,
      };
    },
  );
  return outcome.reauthenticateAfterMs ?? 0;
}
