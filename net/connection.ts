/**
 * One connection to one broker: framing, correlation ids, pipelining with a max in-flight,
 * per-request timeouts and AbortSignal, ApiVersions negotiation and SASL. It never retries:
 * retries, routing and metadata belong to the cluster layer.
 *
 * @module
 */

import { type ApiDef, decodeResponse, encodeRequestFrame } from "../protocol/apis.ts";
import {
  abortReason,
  AuthenticationError,
  ClosedError,
  ConnectionError,
  DecodeError,
  KafkaError,
  ProtocolError,
  TimeoutError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import { clipToDeadline } from "../protocol/deadline.ts";
import { FrameReader } from "./frame_reader.ts";
import { probeListener } from "./listener_probe.ts";
import { type Logger, silentLogger } from "../protocol/logger.ts";
import { type ApiVersionRange, negotiateApiVersions, type VersionTable } from "./negotiate.ts";
import { authenticate, type SaslOptions } from "./sasl_flow.ts";
import { Writer } from "../protocol/writer.ts";
import { defaultTransport, type Transport } from "./transport.ts";
import { TlsHandshakeError } from "./tls_handshake_error.ts";
import { isPermissionError, unrefTimer } from "./runtime.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/** The byte-stream a connection runs on: a transport's socket; tests pass fake sockets. */
export interface Socket {
  /** Reads into `p`; resolves with the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves with the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the socket; pending reads end. */
  close(): void;
}

/** TLS settings. `true` means TLS with the system roots and hostname verification. */
export interface TlsOptions {
  /** Extra trusted CA certificates, PEM. */
  caCerts?: string[];
  /** Client certificate chain (PEM) for mutual TLS. */
  cert?: string;
  /** Client private key (PEM) for mutual TLS. */
  key?: string;
  /**
   * The name to verify the broker's certificate against, when it differs from the host
   * connected to. (Deno cannot combine this with a client certificate.)
   */
  serverName?: string;
}

/** Options for {@linkcode Connection.connect}. */
export interface ConnectionOptions {
  /** Broker host name or IP. */
  host: string;
  /** Broker port. */
  port: number;
  /** Client id sent in every request header. Default `denokafka`. */
  clientId?: string;
  /** TLS settings; omit for plaintext. */
  tls?: TlsOptions | boolean;
  /** SASL settings; omit for none. */
  sasl?: SaslOptions;
  /** Time allowed for TCP/TLS connect, ApiVersions and SASL together. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default per-request timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /** Requests sent but not yet answered, at most. Default 5. */
  maxInFlight?: number;
  /** Largest response frame accepted. Default 100 MiB. */
  maxFrameBytes?: number;
  /** Aborts the connect. */
  signal?: AbortSignal;
  /** Where to log. Default: silent. */
  logger?: Logger;
  /** Opens sockets. Default: the runtime's ({@linkcode defaultTransport}). */
  transport?: Transport;
  /** Opens the socket; for tests with fake sockets. Overrides `transport`. */
  socketFactory?: (opts: { host: string; port: number; tls?: TlsOptions }) => Promise<Socket>;
  /** Skip ApiVersions (tests only): use these versions instead. */
  versions?: VersionTable;
}

/** Per-request options. */
export interface RequestOptions {
  /**
   * Use this version instead of the negotiated highest. It must be in both this client's and
   * the broker's range, else the request fails at once, unsent, with
   * {@linkcode UnsupportedVersionError}.
   */
  version?: number;
  /** Overrides the connection's default request timeout. */
  timeoutMs?: number;
  /**
   * Cancels the request; its late reply, if any, is dropped. A request without a response
   * (`expectResponse: false`) stops waiting for its write.
   */
  signal?: AbortSignal;
  /** Whether the broker will answer (false only for Produce with acks=0). Default true. */
  expectResponse?: boolean;
  /**
   * Writes byte fields of 128 KiB and more (Produce's record batches) to the socket straight
   * from the body's buffers instead of copying them into the frame. The caller must leave
   * those bytes unchanged until the request is answered; if it is not (a timeout, an abort, a
   * lost connection), for as long as a write of them may still be queued. Default false.
   */
  zeroCopy?: boolean;
}

interface Pending {
  api: ApiDef<unknown, unknown>;
  version: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  /** When it times out, on the `performance.now()` clock (see #checkDeadlines). */
  deadline: number;
  /** The timeout it was given, for the TimeoutError. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Timed out or aborted: the reply is dropped when it comes. */
  abandoned: boolean;
  /** The frame's buffer when it was taken from the writer: reused once answered. */
  frame: Uint8Array | undefined;
}

/** What an answered request's resolve and reject become (see #dispatch). */
const NOOP = (): void => {};
const DEFAULT_MAX_FRAME = 100 * 1024 * 1024;
/** Small frames queued together are merged into one write (fewer syscalls). */
const MERGE_LIMIT = 256 * 1024;
/** A frame at least this large (and filling half its writer) takes the writer's buffer. */
const TAKE_FRAME_BYTES = 64 * 1024;
/**
 * With `zeroCopy`, a byte field this large is written from its own buffer, as a write of its
 * own: copying 128 KiB costs more than the extra writes around it (bench/PROFILE.md, Session 11
 * P2).
 */
const ZERO_COPY_BYTES = 128 * 1024;
/** Answered large frames kept for reuse per connection (a produce pipeline's worth). */
const MAX_SPARE_FRAMES = 2;
/** The longest delay a timer takes (a longer one fires at once); a later deadline re-arms. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * A connection to one Kafka broker.
 *
 * @example
 * ```ts ignore
 * import { Api } from "@denokafka/kafka/protocol";
 * import { Connection } from "@denokafka/kafka/net";
 * await using conn = await Connection.connect({ host: "127.0.0.1", port: 9092 });
 * const md = await conn.request(Api.Metadata, { topics: null });
 * console.log(md.brokers.length);
 * ```
 */
export class Connection {
  readonly #socket: Socket;
  readonly #broker: string;
  readonly #clientId: string;
  readonly #requestTimeoutMs: number;
  readonly #maxInFlight: number;
  readonly #logger: Logger;
  readonly #frames: FrameReader;
  readonly #writer = new Writer(64 * 1024);
  readonly #pending = new Map<number, Pending>();
  /** Buffers of answered large frames, for the writer to reuse (at most MAX_SPARE_FRAMES). */
  readonly #spareFrames: Uint8Array[] = [];
  readonly #slotWaiters: Array<() => void> = [];
  #writeQueue: Uint8Array[] = [];
  #writeLoop: Promise<void> | undefined;
  /** Whether the write loop is running (it will see a newly queued frame). */
  #writing = false;
  #inFlight = 0;
  #nextCorrelationId = 0;
  #closed = false;
  #closeError: KafkaError | undefined;
  #versions: VersionTable = new Map();
  /** The broker's own range per API; undefined when ApiVersions was skipped (tests). */
  #brokerRanges: Map<number, ApiVersionRange> | undefined;
  #readLoop: Promise<void>;
  #exclusive: Promise<void> | undefined;
  readonly #closeListeners: Array<(error: KafkaError | undefined) => void> = [];
  #reauthTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The one timer of the pending requests' deadlines, armed for `#deadlineAt` (Infinity: not
   * armed). A timer per request cost a Node-style `Timeout` and a closure per request, ~1.5 KB
   * of garbage and ~5 µs of CPU per awaited send (bench/PROFILE.md, Session 13 P4).
   */
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAt = Infinity;
  readonly #onDeadline = () => this.#checkDeadlines();
  #sasl: SaslOptions | undefined;
  readonly #opts: ConnectionOptions;
  /** Responses received: 1 means only ApiVersions (see #diagnoseClose). */
  #answered = 0;

  private constructor(socket: Socket, opts: ConnectionOptions) {
    this.#opts = opts;
    this.#socket = socket;
    this.#broker = `${opts.host}:${opts.port}`;
    this.#clientId = opts.clientId ?? "denokafka";
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#maxInFlight = Math.max(1, opts.maxInFlight ?? 5);
    this.#logger = opts.logger ?? silentLogger;
    this.#frames = new FrameReader(socket, opts.maxFrameBytes ?? DEFAULT_MAX_FRAME, {
      peer: this.#broker,
    });
    this.#sasl = opts.sasl;
    this.#readLoop = this.#runReadLoop();
  }

  /**
   * Opens a connection: TCP or TLS, then ApiVersions negotiation, then SASL when configured.
   * Fails with {@linkcode ConnectionError}, {@linkcode TimeoutError},
   * {@linkcode AuthenticationError} or {@linkcode UnsupportedVersionError}.
   */
  static async connect(opts: ConnectionOptions): Promise<Connection> {
    validateOptions(opts);
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    const broker = `${opts.host}:${opts.port}`;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    const tls = opts.tls === true ? {} : opts.tls || undefined;
    let socket: Socket;
    try {
      socket = await raceSignal(
        (opts.socketFactory ?? openSocket(opts.transport, signal))(
          { host: opts.host, port: opts.port, ...tls && { tls } },
        ),
        signal,
        (s) => s.close(),
      );
    } catch (e) {
      throw connectFailure(e, broker, signal, opts.signal, timeoutMs);
    }
    const conn = new Connection(socket, opts);
    try {
      await raceSignal(conn.#handshake(opts, signal), signal);
    } catch (e) {
      await conn.close();
      throw connectFailure(e, broker, signal, opts.signal, timeoutMs);
    }
    return conn;
  }

  /** `host:port` of the broker. */
  get broker(): string {
    return this.#broker;
  }

  /** Whether the connection is closed (by either side). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The versions negotiated with the broker, by API key. */
  get versions(): VersionTable {
    return this.#versions;
  }

  /**
   * The version to use for `api`: the highest both sides support.
   * Throws {@linkcode UnsupportedVersionError} naming the API when there is none.
   */
  versionFor(api: Pick<ApiDef<unknown, unknown>, "key" | "name">): number {
    const v = this.#versions.get(api.key);
    if (v === undefined) {
      throw new UnsupportedVersionError(api.name, {
        apiKey: api.key,
        detail: `broker ${this.#broker} offers no overlapping version`,
      });
    }
    return v;
  }

  /**
   * An explicit version must be one both sides speak: the encoder knows only this client's
   * range, and a broker closes the connection on a version outside its own (Kafka 3.9 tops out
   * at Produce v11 and dropped the socket on v12), which would fail every request in flight.
   * So it fails here, before anything is sent, saying which versions would do.
   */
  #checkVersion(api: ApiDef<unknown, unknown>, version: number): number {
    // Checked on every request that names its version (every Produce): the error and its
    // text are built only when it fails.
    if (!Number.isInteger(version) || version < api.minVersion || version > api.maxVersion) {
      throw this.#versionProblem(
        api,
        version,
        `this client speaks ${api.name} v${api.minVersion}-v${api.maxVersion}`,
      );
    }
    const ranges = this.#brokerRanges;
    if (ranges === undefined) return version;
    const theirs = ranges.get(api.key);
    if (theirs === undefined) {
      throw this.#versionProblem(api, version, `broker ${this.#broker} does not offer ${api.name}`);
    }
    if (version < theirs.minVersion || version > theirs.maxVersion) {
      throw this.#versionProblem(
        api,
        version,
        `broker ${this.#broker} speaks ${api.name} v${theirs.minVersion}-v${theirs.maxVersion}`,
      );
    }
    return version;
  }

  #versionProblem(
    api: ApiDef<unknown, unknown>,
    version: number,
    detail: string,
  ): UnsupportedVersionError {
    const best = this.#versions.get(api.key);
    return new UnsupportedVersionError(api.name, {
      apiKey: api.key,
      version,
      detail: detail +
        (best === undefined
          ? `; no version of ${api.name} works with this broker`
          : `; ask for a version in both ranges, or leave \`version\` out to use v${best}, ` +
            `the highest both speak`),
    });
  }

  /** Registers a callback run once when the connection closes, with the error if it broke. */
  onClose(listener: (error: KafkaError | undefined) => void): void {
    if (this.#closed) listener(this.#closeError);
    else this.#closeListeners.push(listener);
  }

  /**
   * Sends one request and resolves with its decoded response. For Produce with acks=0 pass
   * `expectResponse: false`; it then resolves with `undefined` once written.
   */
  request<Req, Res>(
    api: ApiDef<Req, Res>,
    body: Req,
    options: RequestOptions = {},
  ): Promise<Res> {
    // Not an async function: #send's promise is the caller's, without a frame and a promise
    // of its own around it (bench/PROFILE.md, Session 13 P4). Errors still reject.
    try {
      if (this.#closed) throw this.#closeError ?? new ClosedError(`connection to ${this.#broker}`);
      const version = options.version === undefined
        ? this.versionFor(api)
        : this.#checkVersion(api, options.version);
      const exclusive = this.#exclusive;
      if (exclusive) return exclusive.then(() => this.#send(api, version, body, options));
      return this.#send(api, version, body, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #send<Req, Res>(
    api: ApiDef<Req, Res>,
    version: number,
    body: Req,
    options: RequestOptions,
  ): Promise<Res> {
    const signal = options.signal;
    if (signal?.aborted) throw abortReason(signal);
    const expectResponse = options.expectResponse ?? true;
    if (expectResponse) await this.#acquireSlot(signal);
    if (this.#closed) {
      if (expectResponse) this.#releaseSlot();
      throw this.#closeError ?? new ClosedError(`connection to ${this.#broker}`);
    }
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (correlationId + 1) & 0x7fffffff;
    let frame: Uint8Array | Uint8Array[];
    let taken = false;
    try {
      const spliceMin = options.zeroCopy ? ZERO_COPY_BYTES : Infinity;
      encodeRequestFrame(
        api,
        version,
        correlationId,
        this.#clientId,
        body,
        this.#writer,
        spliceMin,
      );
      // The socket may keep the frame until it is flushed, so it must own its bytes. A large
      // frame (Produce) takes the writer's buffer rather than a copy of it: a fresh zeroed
      // buffer costs less than copying a MiB (bench/PROFILE.md, messages_bench.ts).
      // Once the broker has answered, the whole request was written (the socket let go of
      // it), so the buffer goes back to the writer for a later frame: no copy, no allocation.
      // Spliced (zeroCopy): the frame is in pieces, the large fields' own buffers among them.
      const w = this.#writer;
      if (w.splicedLength > 0) frame = w.takeParts();
      else {
        taken = w.length >= TAKE_FRAME_BYTES && w.length * 2 >= w.capacity;
        frame = taken ? w.take(this.#spareFrames.pop()) : w.finish().slice();
      }
    } catch (e) {
      if (expectResponse) this.#releaseSlot();
      throw e;
    }
    if (!expectResponse) {
      // The write is the whole request: the signal gives up waiting for it (the frame stays
      // queued, and is written if the socket ever drains).
      const written = this.#enqueueWrite(frame);
      if (signal) written.catch(() => {});
      await (signal ? raceSignal(written, signal) : written);
      return undefined as Res;
    }
    // A request never waits past the deadline its caller's signal carries.
    const timeoutMs = clipToDeadline(options.timeoutMs ?? this.#requestTimeoutMs, signal);
    return await new Promise<Res>((resolve, reject) => {
      const p: Pending = {
        api,
        version,
        resolve: resolve as (v: unknown) => void,
        reject,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        signal,
        onAbort: undefined,
        abandoned: false,
        frame: taken ? new Uint8Array((frame as Uint8Array).buffer) : undefined,
      };
      if (p.deadline < this.#deadlineAt) this.#armDeadline(p.deadline);
      if (signal) {
        p.onAbort = () => this.#abandon(correlationId, p, abortReason(signal));
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.#pending.set(correlationId, p);
      this.#enqueueWrite(frame).catch(() => {/* reported through the read loop / close */});
    });
  }

  /** Gives up on a request: the caller is rejected now, the late reply will be dropped. */
  #abandon(correlationId: number, p: Pending, error: unknown): void {
    if (p.abandoned || !this.#pending.has(correlationId)) return;
    p.abandoned = true;
    this.#settle(p);
    this.#releaseSlot();
    p.reject(error);
  }

  /**
   * Arms the deadline timer for `at`. The timer is left armed when a request is answered: it
   * fires at the earliest deadline it was armed for, times out what is due by then and re-arms
   * for the earliest of the rest (#checkDeadlines). With one timeout for all requests (the
   * usual case), a new request's deadline is later than the armed one and costs no timer.
   */
  #armDeadline(at: number): void {
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = Number.isFinite(at)
      ? setTimeout(this.#onDeadline, Math.min(Math.ceil(at - performance.now()), MAX_TIMER_MS))
      : undefined;
  }

  /** Times out the requests whose deadline has come, earliest first; re-arms for the rest. */
  #checkDeadlines(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Infinity;
    if (this.#closed) return;
    const now = performance.now();
    let due: [number, Pending][] | undefined;
    let next = Infinity;
    for (const entry of this.#pending) {
      const p = entry[1];
      if (p.abandoned) continue;
      if (p.deadline <= now) (due ??= []).push(entry);
      else if (p.deadline < next) next = p.deadline;
    }
    if (next !== Infinity) this.#armDeadline(next);
    if (due === undefined) return;
    if (due.length > 1) due.sort((a, b) => a[1].deadline - b[1].deadline);
    for (const [correlationId, p] of due) {
      this.#abandon(
        correlationId,
        p,
        new TimeoutError(
          `${p.api.name} v${p.version} to ${this.#broker} timed out after ${p.timeoutMs} ms`,
          { timeoutMs: p.timeoutMs },
        ),
      );
    }
  }

  #settle(p: Pending): void {
    if (p.onAbort && p.signal) p.signal.removeEventListener("abort", p.onAbort);
    p.onAbort = undefined;
  }

  #acquireSlot(signal: AbortSignal | undefined): Promise<void> {
    if (this.#inFlight < this.#maxInFlight) {
      this.#inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.#inFlight++;
        resolve();
      };
      const onAbort = () => {
        const i = this.#slotWaiters.indexOf(grant);
        if (i >= 0) this.#slotWaiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#slotWaiters.push(grant);
    });
  }

  #releaseSlot(): void {
    this.#inFlight--;
    const next = this.#slotWaiters.shift();
    if (next) next();
  }

  #enqueueWrite(frame: Uint8Array | Uint8Array[]): Promise<void> {
    if (frame instanceof Uint8Array) this.#writeQueue.push(frame);
    else for (const part of frame) this.#writeQueue.push(part);
    // `#writing` is set and cleared synchronously by the loop itself. (Clearing the loop's
    // promise in a `.finally` left a window between the loop's last look at the queue and that
    // callback, in which a frame was queued with no loop to write it until the next request.)
    if (!this.#writing || this.#writeLoop === undefined) this.#writeLoop = this.#runWriteLoop();
    return this.#writeLoop;
  }

  async #runWriteLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#writeQueue.length > 0 && !this.#closed) {
        const batch = this.#writeQueue;
        this.#writeQueue = [];
        for (const chunk of mergeSmall(batch)) await writeAll(this.#socket, chunk);
      }
    } catch (e) {
      this.#fail(
        new ConnectionError(`write to ${this.#broker} failed: ${errorText(e)}`, {
          broker: this.#broker,
          cause: e,
        }),
      );
      // Closed by close() (which forgets its error) while a write was under way: a write of a
      // frame's later piece fails then, and the caller of an acks=0 Produce still gets a
      // typed error, not `undefined`.
      throw this.#closeError ?? new ClosedError(`connection to ${this.#broker}`);
    } finally {
      this.#writing = false;
    }
  }

  async #runReadLoop(): Promise<void> {
    try {
      while (true) {
        const frame = await this.#frames.next();
        if (frame === null) {
          const hint = await this.#diagnoseClose();
          this.#fail(
            hint ?? new ConnectionError(`connection to ${this.#broker} closed by the broker`, {
              broker: this.#broker,
            }),
          );
          return;
        }
        this.#dispatch(frame);
      }
    } catch (e) {
      if (this.#closed) return;
      const err = e instanceof KafkaError ? e : new ConnectionError(
        `read from ${this.#broker} failed: ${errorText(e)}`,
        { broker: this.#broker, cause: e },
      );
      this.#fail(err);
    }
  }

  #dispatch(frame: Uint8Array): void {
    if (frame.length < 4) throw new DecodeError(`response frame of ${frame.length} bytes`);
    const correlationId = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>>
      0;
    const p = this.#pending.get(correlationId);
    if (p === undefined) {
      // Kafka answers in order on a connection; an id we never sent means the stream is
      // out of sync, and nothing after it can be trusted.
      throw new DecodeError(`response with unknown correlation id ${correlationId}`);
    }
    this.#pending.delete(correlationId);
    this.#answered++;
    if (p.frame !== undefined && this.#spareFrames.length < MAX_SPARE_FRAMES) {
      this.#spareFrames.push(p.frame);
    }
    if (p.abandoned) return; // a timed-out or aborted request's late reply
    this.#settle(p);
    this.#releaseSlot();
    let body: unknown;
    try {
      body = decodeResponse(p.api, p.version, frame);
    } catch (e) {
      // A response we cannot decode leaves the stream position uncertain for nothing else
      // (frames are length-delimited), so only this request fails.
      p.reject(
        e instanceof KafkaError
          ? e
          : new DecodeError(`cannot decode ${p.api.name} v${p.version}: ${errorText(e)}`),
      );
      return;
    }
    p.resolve(body);
    // The abort listener (which holds `p`) stays reachable from the caller's signal after its
    // removal until a full collection in Deno; through `resolve` it would hold the response
    // too, so a consumer's fetch responses outlived the young-generation collections and
    // waited for mark-compacts (C1-1KiB: 173 -> 96 MiB peak RSS, 1.11 -> 0.81 CPU s/M;
    // bench/PROFILE.md, session 15, consumer peak RSS).
    p.resolve = p.reject = NOOP;
  }

  /**
   * Why the broker hung up, when that is a misconfiguration rather than a failure: a SASL
   * listener answers ApiVersions to anyone (KIP-43) and then closes the connection on the
   * first other request of a client that did not authenticate. A probe that asks for an
   * unknown mechanism tells such a listener from a broker that merely died (which retrying
   * may cure), and names the mechanisms it enables.
   */
  async #diagnoseClose(): Promise<KafkaError | undefined> {
    if (this.#sasl || this.#answered !== 1 || this.#pending.size === 0 || this.#closed) {
      return undefined;
    }
    const o = this.#opts;
    const tls = o.tls === true ? {} : o.tls || undefined;
    const probe = await probeListener(
      () =>
        (o.socketFactory ?? openSocket(o.transport, new AbortController().signal))({
          host: o.host,
          port: o.port,
          ...tls && { tls },
        }),
      Math.min(2_000, o.connectTimeoutMs ?? 10_000),
    );
    if (probe?.saslMechanisms === undefined) return undefined;
    const offered = probe.saslMechanisms.join(", ") || "none";
    return new AuthenticationError(
      `${this.#broker} requires SASL authentication and closed the connection: set the sasl ` +
        `option (the broker enables: ${offered})`,
    );
  }

  /** Runs `fn` with no other request in flight (used by re-authentication, KIP-368). */
  async #runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let release!: () => void;
    this.#exclusive = new Promise<void>((r) => release = r);
    try {
      while (this.#inFlight > 0 && !this.#closed) await delay(1);
      return await fn();
    } finally {
      this.#exclusive = undefined;
      release();
    }
  }

  async #handshake(opts: ConnectionOptions, signal: AbortSignal): Promise<void> {
    if (opts.versions) {
      this.#versions = opts.versions;
    } else {
      const negotiated = await negotiateApiVersions(
        (api, version, body) => this.#send(api, version, body, { signal }),
        this.#broker,
      );
      this.#versions = negotiated.versions;
      this.#brokerRanges = negotiated.brokerRanges;
    }
    if (this.#sasl) await this.#authenticate(signal);
  }

  async #authenticate(signal: AbortSignal | undefined): Promise<void> {
    const sasl = this.#sasl!;
    const [host, port] = splitBroker(this.#broker);
    const reauthAfterMs = await authenticate({
      options: sasl,
      host,
      port,
      ...signal && { signal },
      request: (api, body) =>
        this.#send(api, this.versionFor(api), body, {
          ...signal && { signal },
        }),
    });
    this.#scheduleReauth(reauthAfterMs);
  }

  /**
   * KIP-368: when the broker gives a session lifetime, re-authenticate before it runs out
   * (`afterMs` is already jittered to 85-95% of it so a fleet does not re-authenticate at once).
   */
  #scheduleReauth(afterMs: number): void {
    if (afterMs <= 0 || this.#closed) return;
    const timer = setTimeout(() => {
      this.#reauthTimer = undefined;
      this.#runExclusive(() => this.#authenticate(undefined)).then(
        () => this.#logger.debug("re-authenticated", { broker: this.#broker }),
        (e) => {
          this.#logger.warn("re-authentication failed", {
            broker: this.#broker,
            error: errorText(e),
          });
          this.#fail(e instanceof KafkaError ? e : new ConnectionError(errorText(e)));
        },
      );
    }, afterMs);
    unrefTimer(timer);
    this.#reauthTimer = timer;
  }

  /** Marks the connection broken: every pending request fails with `error`. */
  #fail(error: KafkaError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#logger.debug("connection closed", { broker: this.#broker, error: error.message });
    this.#teardown(error);
  }

  #teardown(error: KafkaError): void {
    if (this.#reauthTimer !== undefined) clearTimeout(this.#reauthTimer);
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Infinity;
    try {
      this.#socket.close();
    } catch { /* already closed */ }
    for (const p of this.#pending.values()) {
      if (p.abandoned) continue;
      this.#settle(p);
      p.reject(error);
    }
    this.#pending.clear();
    for (const w of this.#slotWaiters.splice(0)) w();
    this.#writeQueue = [];
    for (const l of this.#closeListeners.splice(0)) l(this.#closeError);
  }

  /**
   * Closes the connection. Pending requests fail with {@linkcode ConnectionError}; later
   * calls fail with {@linkcode ClosedError}. Safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#teardown(
        new ConnectionError(`connection to ${this.#broker} was closed`, { broker: this.#broker }),
      );
      this.#closeError = undefined;
    }
    await this.#readLoop;
  }

  /** Closes the connection (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function validateOptions(opts: ConnectionOptions): void {
  if (typeof opts.host !== "string" || opts.host === "") {
    throw new TypeError("host must be a non-empty string");
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new RangeError(`port must be an integer in 1..65535, got ${opts.port}`);
  }
  for (
    const k of ["connectTimeoutMs", "requestTimeoutMs", "maxInFlight", "maxFrameBytes"] as const
  ) {
    const v = opts[k];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) {
      throw new RangeError(`${k} must be a positive number, got ${v}`);
    }
  }
}

/** The socket factory over `transport` (default: the runtime's). */
function openSocket(
  transport: Transport | undefined,
  signal: AbortSignal,
): (opts: { host: string; port: number; tls?: TlsOptions }) => Promise<Socket> {
  const t = transport ?? defaultTransport();
  return async ({ host, port, tls }) => {
    try {
      return await t.connect(host, port, { ...tls && { tls }, signal });
    } catch (e) {
      if (!(e instanceof TlsHandshakeError)) throw e;
      // A broker that hangs up on a ClientHello may be a plaintext listener: ask it so.
      const plain = await probeListener(() => t.connect(host, port, { signal }), 2_000);
      if (plain?.kafka) {
        throw new AuthenticationError(
          `TLS handshake with ${host}:${port} failed: the broker does not speak TLS here ` +
            `(it answers plaintext Kafka): remove the tls option or use the broker's TLS port`,
          { cause: e.cause },
        );
      }
      if (e.reset) throw e; // a reset: a network failure, retriable
      throw new AuthenticationError(
        `TLS handshake with ${host}:${port} failed: ${errorText(e.cause)}`,
        { cause: e.cause },
      );
    }
  };
}

function connectFailure(
  e: unknown,
  broker: string,
  signal: AbortSignal,
  userSignal: AbortSignal | undefined,
  timeoutMs: number,
): Error {
  if (userSignal?.aborted) return abortReason(userSignal);
  // Waiting will not grant a permission: say which flag is missing, and do not retry.
  if (isPermissionError(e)) {
    return new ConnectionError(
      `no permission to connect to ${broker}: run Deno with --allow-net=${broker} ` +
        `(or a wider --allow-net) (${errorText(e)})`,
      { broker, cause: e, retriable: false },
    );
  }
  if (e instanceof KafkaError && !(e instanceof ConnectionError && signal.aborted)) {
    if (!(e instanceof ProtocolError) || e.code !== ErrorCode.NONE) return e;
  }
  if (signal.aborted) {
    return new TimeoutError(`connecting to ${broker} timed out after ${timeoutMs} ms`, {
      timeoutMs,
      cause: e,
    });
  }
  if (e instanceof TypeError || e instanceof RangeError) return e;
  return new ConnectionError(`cannot connect to ${broker}: ${errorText(e)}`, {
    broker,
    cause: e,
  });
}

/** Resolves like `p`, or rejects when `signal` aborts (disposing of a late result). */
function raceSignal<T>(
  p: Promise<T>,
  signal: AbortSignal,
  dispose?: (late: T) => void,
): Promise<T> {
  if (signal.aborted) {
    p.then((v) => dispose?.(v), () => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener("abort", onAbort);
      if (done) dispose?.(v);
      else resolve(v);
    }, (e) => {
      signal.removeEventListener("abort", onAbort);
      if (!done) reject(e);
    });
  });
}

async function writeAll(socket: Socket, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await socket.write(data.subarray(off));
}

/** Merges runs of small frames so one write carries many requests. */
function mergeSmall(frames: Uint8Array[]): Uint8Array[] {
  if (frames.length < 2) return frames;
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const flush = () => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) {
      const merged = new Uint8Array(runBytes);
      let o = 0;
      for (const f of run) {
        merged.set(f, o);
        o += f.length;
      }
      out.push(merged);
    }
    run = [];
    runBytes = 0;
  };
  for (const f of frames) {
    // A large frame or piece (zeroCopy's record batches) goes alone: copying it to save a
    // write costs more than the write.
    if (f.length >= ZERO_COPY_BYTES) {
      flush();
      out.push(f);
      continue;
    }
    if (runBytes + f.length > MERGE_LIMIT) flush();
    run.push(f);
    runBytes += f.length;
  }
  flush();
  return out;
}

function splitBroker(broker: string): [string, number] {
  const i = broker.lastIndexOf(":");
  return [broker.slice(0, i), Number(broker.slice(i + 1))];
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
