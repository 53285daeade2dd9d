/**
 * The cluster layer shared by the producer, consumer and admin client: bootstrap, the metadata
 * cache, leader/coordinator/controller routing, connection lanes per broker, and retries.
 *
 * @module
 */

import { Api, type ApiDef } from "../protocol/apis.ts";
import { Connection, type RequestOptions } from "../net/connection.ts";
import {
  abortReason,
  AuthenticationError,
  ClosedError,
  ConnectionError,
  KafkaError,
  ProtocolError,
  TimeoutError,
} from "../protocol/errors.ts";
import { anySignal, clipToDeadline } from "../protocol/deadline.ts";
import { type Logger, silentLogger } from "../protocol/logger.ts";
import { unrefTimer } from "../net/runtime.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import { type BrokerInfo, type ClusterInfo, MetadataCache, type TopicErrors } from "./metadata.ts";
import { type ClientOptions, parseBroker, validateClientOptions } from "./options.ts";
import { type RetryPolicy, retryPolicy, withRetry, type WithRetryOptions } from "./retry.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { COORDINATOR_ERRORS } from "../protocol/error_sets.ts";

/**
 * A connection lane (`default`, `produce`, `fetch`, `group`, `heartbeat`, or any name). Each
 * broker gets one connection per lane, so that long polls (fetch,
 * join) never delay heartbeats, commits or metadata, which Kafka would otherwise serve in
 * order behind them on the same socket.
 */
export type Lane = string;

/**
 * Where to send a request: a node id, an address, any live broker, or the controller (as
 * metadata names it; in KRaft that is any broker, which forwards to the active controller).
 */
export type Target =
  | { node: number }
  | { address: { host: string; port: number } }
  | { any: true }
  | { controller: true };

/** Hints for {@linkcode Cluster.recover}: what to refresh after a failure. */
export interface RecoverHints {
  /** Topics whose metadata to refresh on stale-metadata errors (default: the interest set). */
  topics?: readonly string[] | undefined;
  /** The coordinator to forget on coordinator errors. */
  coordinator?: [CoordinatorType, string] | undefined;
  /** Bounds the metadata refresh. */
  signal?: AbortSignal | undefined;
}

/** Options of {@linkcode Cluster.retry}. */
export interface ClusterRetryOptions extends WithRetryOptions {
  /** The coordinator the operation talks to, forgotten on coordinator errors. */
  coordinator?: [CoordinatorType, string] | undefined;
  /** Topics to refresh on stale-metadata errors (default: the interest set). */
  topics?: readonly string[] | undefined;
}

/** Coordinator kinds for FindCoordinator (key type 0 and 1). */
export type CoordinatorType = "group" | "transaction";

/** Options for a single routed request. */
export interface ClusterSendOptions extends RequestOptions {
  /** The connection lane. Default `default`. */
  lane?: Lane;
}

/**
 * Routes requests to the right broker over pooled connections, keeping metadata fresh.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@denokafka/kafka/cluster";
 * import { Api } from "@denokafka/kafka/protocol";
 * await using cluster = new Cluster({ brokers: ["127.0.0.1:9092"] });
 * await cluster.refreshMetadata(null);
 * console.log(cluster.info().brokers);
 * ```
 */
export class Cluster {
  readonly #options: ClientOptions;
  readonly #policy: RetryPolicy;
  readonly #logger: Logger;
  readonly #bootstrap: { host: string; port: number }[];
  readonly #cache = new MetadataCache();
  readonly #conns = new Map<string, Promise<Connection>>();
  /** The settled, open subset of #conns. */
  readonly #live = new Map<string, Connection>();
  /** Lanes given their own connection per broker, under `maxConnectionsPerBroker`. */
  readonly #lanes = new Map<string, Set<Lane>>();
  /** liveConnection's key per broker (the metadata's object) and lane, built once. */
  readonly #nodeKeys = new WeakMap<BrokerInfo, Map<Lane, string>>();
  readonly #coordinators = new Map<string, BrokerInfo>();
  readonly #interest = new Set<string>();
  /** Topics being created, by expiry time: UNKNOWN_TOPIC_OR_PARTITION for them is transient. */
  readonly #expected = new Map<string, number>();
  /** Aborted by close(), so that retries and backoffs in progress end at once. */
  readonly #closing = new AbortController();
  #refresh: SharedRefresh | undefined;
  #timer: ReturnType<typeof setInterval>;
  #closed = false;

  /** Creates the cluster view; nothing connects until the first request. */
  constructor(options: ClientOptions) {
    validateClientOptions(options);
    this.#options = options;
    this.#policy = retryPolicy(options.retry);
    this.#logger = options.logger ?? silentLogger;
    this.#bootstrap = options.brokers.map(parseBroker);
    const every = options.metadataMaxAgeMs ?? 300_000;
    this.#timer = setInterval(() => this.#periodicRefresh(), every);
    unrefTimer(this.#timer);
  }

  /** The logger given in the options (or a silent one). */
  get logger(): Logger {
    return this.#logger;
  }

  /** The resolved retry policy. */
  get retryPolicy(): RetryPolicy {
    return this.#policy;
  }

  /** The options the cluster was created with. */
  get options(): ClientOptions {
    return this.#options;
  }

  /** The metadata cache. */
  get metadata(): MetadataCache {
    return this.#cache;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Cluster id, controller and brokers from the last metadata. */
  info(): ClusterInfo {
    return this.#cache.info();
  }

  /** Topics kept fresh by the periodic refresh (the producer's and consumer's topics). */
  addInterest(topics: Iterable<string>): void {
    for (const t of topics) this.#interest.add(t);
  }

  /** Stops refreshing topics that are no longer used. */
  removeInterest(topics: Iterable<string>): void {
    for (const t of topics) this.#interest.delete(t);
  }

  /**
   * Notes topics that were just created: for `forMs`, UNKNOWN_TOPIC_OR_PARTITION about them
   * means "not propagated yet" (retry after a refresh) rather than "no such topic".
   * `forMs <= 0` withdraws that (after a delete).
   */
  expectTopics(topics: Iterable<string>, forMs = 15_000): void {
    const until = Date.now() + forMs;
    for (const t of topics) {
      if (forMs > 0) this.#expected.set(t, until);
      else this.#expected.delete(t);
    }
  }

  /**
   * Whether `topic` was created recently enough that its absence is still transient: until
   * the grace period ends or metadata shows the topic (after which a missing partition is
   * really missing).
   */
  topicMayAppear(topic: string): boolean {
    const until = this.#expected.get(topic);
    if (until === undefined) return false;
    if (until >= Date.now() && !this.#cache.topic(topic)) return true;
    this.#expected.delete(topic);
    return false;
  }

  /** Aborts when {@linkcode close} is called: for long waits of the clients built on this. */
  get closeSignal(): AbortSignal {
    return this.#closing.signal;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError("client");
  }

  /** Opens (or reuses) the connection for `lane` to `host:port`. */
  connectTo(
    address: { host: string; port: number },
    lane: Lane = "default",
    signal?: AbortSignal,
  ): Promise<Connection> {
    this.#checkOpen();
    const key = this.#connectionKey(address, lane);
    const existing = this.#conns.get(key);
    if (existing) return existing;
    const options = this.#options;
    // The attempt is shared, but it need not outlast the caller that starts it: its connect
    // timeout is clipped to that caller's remaining deadline.
    const connectTimeoutMs = clipToDeadline(options.connectTimeoutMs ?? 10_000, signal);
    const opening = Connection.connect({
      host: address.host,
      port: address.port,
      ...options.clientId !== undefined && { clientId: options.clientId },
      ...options.tls !== undefined && { tls: options.tls },
      ...options.sasl !== undefined && { sasl: options.sasl },
      connectTimeoutMs,
      ...options.requestTimeoutMs !== undefined && { requestTimeoutMs: options.requestTimeoutMs },
      ...options.maxInFlight !== undefined && { maxInFlight: options.maxInFlight },
      ...options.maxFrameBytes !== undefined && { maxFrameBytes: options.maxFrameBytes },
      ...options.transport !== undefined && { transport: options.transport },
      // The connection is shared, so one caller's signal must not abort it for the others:
      // only close() does; each caller stops waiting on its own signal below.
      signal: this.#closing.signal,
      logger: this.#logger,
    }).then((conn) => {
      if (this.#closed) {
        conn.close();
        throw new ClosedError("client");
      }
      this.#logger.debug("connected", { broker: `${address.host}:${address.port}`, key });
      this.#live.set(key, conn);
      conn.onClose(() => {
        if (this.#conns.get(key) === opening) this.#conns.delete(key);
        if (this.#live.get(key) === conn) this.#live.delete(key);
      });
      return conn;
    }, (e) => {
      if (this.#conns.get(key) === opening) this.#conns.delete(key);
      if (this.#closed) throw new ClosedError("client", { cause: e });
      throw e;
    });
    this.#conns.set(key, opening);
    return followSignal(opening, signal);
  }

  /** The key of `lane`'s connection to `address` in #conns and #live. */
  #connectionKey(address: { host: string; port: number }, lane: Lane): string {
    const broker = `${address.host}:${address.port}`;
    return `${broker}#${this.#budgetLane(broker, lane)}`;
  }

  /**
   * The open connection for `lane` to broker `nodeId`, if there is one: what
   * {@linkcode Cluster.connectToNode} would resolve with, without its promise, its async
   * frames and the strings of its key (an awaited send's produce request takes this path;
   * bench/PROFILE.md, Session 13 P4). Undefined while there is none yet (or it is closed, or
   * the node is not in the metadata, or this client is closed): ask connectToNode then.
   *
   * @example
   * ```ts ignore
   * const conn = cluster.liveConnection(1, "produce") ??
   *   await cluster.connectToNode(1, "produce");
   * ```
   */
  liveConnection(nodeId: number, lane: Lane = "default"): Connection | undefined {
    if (this.#closed) return undefined;
    const broker = this.#cache.broker(nodeId);
    if (broker === undefined) return undefined;
    let keys = this.#nodeKeys.get(broker);
    if (keys === undefined) this.#nodeKeys.set(broker, keys = new Map());
    let key = keys.get(lane);
    // A lane's place under the budget, once given, does not change (#budgetLane).
    if (key === undefined) keys.set(lane, key = this.#connectionKey(broker, lane));
    const conn = this.#live.get(key);
    return conn === undefined || conn.closed ? undefined : conn;
  }

  /**
   * The lane `lane` really uses on `broker` under `maxConnectionsPerBroker`: its own while
   * the budget lasts (first come, first served; `default` always counts), else `default`.
   */
  #budgetLane(broker: string, lane: Lane): Lane {
    const budget = this.#options.maxConnectionsPerBroker;
    if (budget === undefined || lane === "default") return lane;
    let lanes = this.#lanes.get(broker);
    if (lanes === undefined) this.#lanes.set(broker, lanes = new Set(["default"]));
    if (lanes.has(lane)) return lane;
    if (lanes.size >= budget) return "default";
    lanes.add(lane);
    return lane;
  }

  /** The connection for `lane` to broker `nodeId`, refreshing metadata if it is unknown. */
  async connectToNode(
    nodeId: number,
    lane: Lane = "default",
    signal?: AbortSignal,
  ): Promise<Connection> {
    let broker = this.#cache.broker(nodeId);
    if (!broker) {
      await this.refreshMetadata([], { signal });
      broker = this.#cache.broker(nodeId);
    }
    if (!broker) {
      throw new ConnectionError(`broker ${nodeId} is not in the cluster metadata`, {
        retriable: true,
      });
    }
    return await this.connectTo(broker, lane, signal);
  }

  /**
   * A connection to any live broker: an open one with the fewest requests in flight, else
   * each known broker and then each bootstrap address in turn, skipping dead ones.
   */
  async connectToAny(signal?: AbortSignal): Promise<Connection> {
    this.#checkOpen();
    // Only settled connections count: waiting on one still connecting (perhaps to a host that
    // swallows packets) would stall every request behind it.
    let best: Connection | undefined;
    for (const [key, c] of this.#live) {
      if (!key.endsWith("#default")) continue;
      if (!c.closed && (!best || c.inFlight < best.inFlight)) best = c;
    }
    if (best) return best;
    const candidates = [...shuffle(this.#cache.brokers()), ...this.#bootstrap];
    const failures: string[] = [];
    let last: unknown;
    for (const address of candidates) {
      try {
        return await this.connectTo(address, "default", signal);
      } catch (e) {
        // Wrong credentials, a missing permission, a TLS mismatch or an unsupported broker
        // will not get better on the next address or attempt: fail fast.
        if (e instanceof AuthenticationError || signal?.aborted) throw e;
        if (e instanceof KafkaError && !e.retriable) throw e;
        if (e instanceof TypeError || e instanceof RangeError) throw e;
        last = e;
        failures.push(`${address.host}:${address.port}: ${(e as Error).message}`);
        this.#logger.warn("broker unreachable", { broker: `${address.host}:${address.port}` });
      }
    }
    throw new ConnectionError(`no broker reachable (${failures.join("; ")})`, { cause: last });
  }

  /**
   * Fetches metadata for `topics` (`null`: every topic; `[]`: brokers only) and merges it into
   * the cache. Concurrent calls share one request. Resolves with per-topic error codes.
   */
  refreshMetadata(
    topics: readonly string[] | null,
    options: { signal?: AbortSignal | undefined; allowAutoCreate?: boolean } = {},
  ): Promise<TopicErrors> {
    this.#checkOpen();
    const current = this.#refresh;
    // A refresh in flight that covers these topics answers this call too (unless every caller
    // of it gave up, which stops it).
    if (
      current && !current.stopped && !options.allowAutoCreate &&
      (current.topics === null || (topics !== null && topics.every((t) => current.topics!.has(t))))
    ) {
      return current.join(options.signal);
    }
    const refresh: SharedRefresh = new SharedRefresh(
      topics === null ? null : new Set(topics),
      (signal) =>
        this.#fetchMetadata(topics, {
          ...options,
          signal,
          failed: (e) => refresh.lastError = e,
        }),
      this.#closing.signal,
    );
    refresh.run.then(() => {}, () => {}).finally(() => {
      if (this.#refresh === refresh) this.#refresh = undefined;
    });
    this.#refresh = refresh;
    return refresh.join(options.signal);
  }

  async #fetchMetadata(
    topics: readonly string[] | null,
    options: {
      signal?: AbortSignal | undefined;
      allowAutoCreate?: boolean;
      failed?: (e: unknown) => void;
    },
  ): Promise<TopicErrors> {
    // Not this.retry(): its recovery refreshes metadata, which would wait on this very call.
    // A failed attempt drops its connection from the pool, so the next one tries another
    // broker (or the next bootstrap address).
    return await withRetry(this.#policy, async (_attempt, signal) => {
      const conn = await this.connectToAny(signal);
      const res = await conn.request(Api.Metadata, {
        topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
        allowAutoTopicCreation: options.allowAutoCreate ?? false,
        includeTopicAuthorizedOperations: false,
      }, { signal });
      if (res.errorCode !== ErrorCode.NONE) throw new ProtocolError(res.errorCode, "Metadata");
      return this.#cache.update(res, topics === null);
    }, {
      signal: options.signal,
      what: "metadata refresh",
      onError: (e, ctx) => {
        options.failed?.(e);
        if (this.#closed || !(e instanceof KafkaError) || !e.retriable) return false;
        this.#logger.debug("metadata request failed, retrying", {
          attempt: ctx.attempt,
          error: errorName(e),
        });
        return true;
      },
    });
  }

  /** `signal` combined with the close signal (keeping its deadline), so close() ends waits. */
  #withClosing(signal: AbortSignal | undefined): AbortSignal {
    return anySignal(signal, this.#closing.signal);
  }

  #periodicRefresh(): void {
    if (this.#closed || this.#refresh) return;
    const topics = [...this.#interest];
    this.refreshMetadata(topics).catch((e) => {
      this.#logger.warn("periodic metadata refresh failed", { error: (e as Error).message });
    });
  }

  /** The leader's node id for a partition, or -1 when unknown. */
  leaderFor(topic: string, partition: number): number {
    return this.#cache.partition(topic, partition)?.leader ?? -1;
  }

  /**
   * The leader of a partition, refreshing the topic's metadata when it is not cached or has no
   * leader. Fails with ProtocolError UNKNOWN_TOPIC_OR_PARTITION (no such topic or partition)
   * or LEADER_NOT_AVAILABLE (retriable).
   */
  async leaderOf(topic: string, partition: number, signal?: AbortSignal): Promise<number> {
    let p = this.#cache.partition(topic, partition);
    let topicError: number | undefined;
    if (!p || p.leader < 0) {
      const errors = await this.refreshMetadata([topic], { signal });
      topicError = errors.get(topic);
      p = this.#cache.partition(topic, partition);
    }
    if (!p) {
      const code = topicError ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      throw new ProtocolError(code, `${topic}-${partition}`);
    }
    if (p.leader < 0) {
      throw new ProtocolError(
        p.errorCode !== ErrorCode.NONE ? p.errorCode : ErrorCode.LEADER_NOT_AVAILABLE,
        `${topic}-${partition}`,
      );
    }
    return p.leader;
  }

  /**
   * The controller's node id from metadata (refreshed when unknown). In KRaft, brokers name a
   * random live broker here and forward controller requests themselves.
   */
  async controller(signal?: AbortSignal): Promise<number> {
    let id = this.#cache.info().controllerId;
    if (id < 0 || !this.#cache.broker(id)) {
      await this.refreshMetadata([], { signal });
      id = this.#cache.info().controllerId;
    }
    if (id < 0) throw new ConnectionError("the cluster reports no controller", { retriable: true });
    return id;
  }

  /** The coordinator of a group or transactional id (cached until it moves). */
  async coordinator(
    type: CoordinatorType,
    key: string,
    signal?: AbortSignal,
  ): Promise<BrokerInfo> {
    const cacheKey = `${type}:${key}`;
    const cached = this.#coordinators.get(cacheKey);
    if (cached) return cached;
    const conn = await this.connectToAny(signal);
    const version = conn.versionFor(Api.FindCoordinator);
    const keyType = type === "group" ? 0 : 1;
    const res = await conn.request(
      Api.FindCoordinator,
      version >= 4 ? { keyType, coordinatorKeys: [key] } : { keyType, key },
      signal ? { signal } : {},
    );
    let found: {
      errorCode: number;
      errorMessage: string | null;
      nodeId: number;
      host: string;
      port: number;
    };
    if (version >= 4) {
      const c = res.coordinators[0];
      if (!c) throw new KafkaError(`FindCoordinator returned no coordinator for ${cacheKey}`);
      found = c;
    } else found = res;
    if (found.errorCode !== ErrorCode.NONE) {
      throw new ProtocolError(found.errorCode, `FindCoordinator ${cacheKey}`, found.errorMessage);
    }
    const broker: BrokerInfo = {
      nodeId: found.nodeId,
      host: found.host,
      port: found.port,
      rack: null,
    };
    this.#coordinators.set(cacheKey, broker);
    return broker;
  }

  /** Forgets a cached coordinator (after NOT_COORDINATOR and the like). */
  forgetCoordinator(type: CoordinatorType, key: string): void {
    this.#coordinators.delete(`${type}:${key}`);
  }

  /** Sends one request to a broker, once (no retry). */
  async send<Req, Res>(
    target: Target,
    api: ApiDef<Req, Res>,
    body: Req,
    options: ClusterSendOptions = {},
  ): Promise<Res> {
    const lane = options.lane ?? "default";
    const conn = "node" in target
      ? await this.connectToNode(target.node, lane, options.signal)
      : "address" in target
      ? await this.connectTo(target.address, lane, options.signal)
      : "controller" in target
      ? await this.connectToNode(await this.controller(options.signal), lane, options.signal)
      : await this.connectToAny(options.signal);
    return await conn.request(api, body, options);
  }

  /** Sends one request to the coordinator of `key`, once; forgets it on coordinator errors. */
  async sendToCoordinator<Req, Res>(
    type: CoordinatorType,
    key: string,
    api: ApiDef<Req, Res>,
    body: Req,
    options: ClusterSendOptions = {},
  ): Promise<Res> {
    const broker = await this.coordinator(type, key, options.signal);
    try {
      return await this.send({ address: broker }, api, body, options);
    } catch (e) {
      if (e instanceof ConnectionError) this.forgetCoordinator(type, key);
      throw e;
    }
  }

  /**
   * Runs `fn` with retries (exponential backoff, jitter, deadline). Retriable Kafka errors are
   * retried; a stale-metadata error or a broken connection triggers a metadata refresh first,
   * and coordinator errors drop the cached coordinator (pass `coordinator` to say which).
   */
  retry<T>(
    fn: (attempt: number, signal: AbortSignal) => Promise<T>,
    options: ClusterRetryOptions = {},
  ): Promise<T> {
    const { coordinator, topics, onError, ...rest } = options;
    const signal = this.#withClosing(options.signal);
    return withRetry(this.#policy, fn, {
      ...rest,
      signal,
      onError: async (e, ctx) => {
        if (this.#closed) return false;
        if (onError) return await onError(e, ctx);
        // The recovery (a metadata refresh) runs under this operation's remaining deadline.
        const again = await this.recover(e, { topics, coordinator, signal: ctx.signal });
        if (again) {
          this.#logger.debug("retrying", {
            attempt: ctx.attempt,
            error: errorName(e),
            message: (e as Error).message,
          });
        }
        return again;
      },
    }).catch((e) => {
      // An operation cut short by close() reports the close, not a bare AbortError.
      if (this.#closed && !options.signal?.aborted) throw new ClosedError("client", { cause: e });
      throw e;
    });
  }

  /**
   * Decides whether a failure is worth retrying and prepares the retry: a stale-metadata
   * error (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH, ...), a broken
   * connection or NOT_CONTROLLER refreshes metadata; coordinator errors forget the coordinator.
   */
  async recover(error: unknown, hints: RecoverHints = {}): Promise<boolean> {
    if (this.#closed || !(error instanceof KafkaError) || !error.retriable) return false;
    const { coordinator } = hints;
    const isProtocol = error instanceof ProtocolError;
    const broken = error instanceof ConnectionError || error instanceof TimeoutError;
    if (coordinator && ((isProtocol && COORDINATOR_ERRORS.has(error.code)) || broken)) {
      this.forgetCoordinator(...coordinator);
    }
    if (
      (isProtocol && (error.refreshMetadata || error.code === ErrorCode.NOT_CONTROLLER)) ||
      error instanceof ConnectionError
    ) {
      const topics = hints.topics ?? [...this.#interest];
      await this.refreshMetadata(topics, { signal: hints.signal }).catch(() => {});
    }
    return true;
  }

  /** Closes every connection and timer. Later calls fail with {@linkcode ClosedError}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#closing.abort(new ClosedError("client"));
    const all = [...this.#conns.values()];
    this.#logger.debug("closing", { connections: all.length });
    this.#conns.clear();
    this.#live.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => {})));
    await this.#refresh?.run.catch(() => {});
  }

  /** Closes the cluster (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Kafka's error name for protocol errors, else the class name: a log field. */
function errorName(e: unknown): string {
  if (e instanceof ProtocolError) return e.errorName;
  return e instanceof Error ? e.name : typeof e;
}

/**
 * One metadata request shared by every caller that wants it. Each caller waits under its own
 * signal and deadline; the request itself runs until it is answered, the cluster closes, or
 * every caller has given up (then it is aborted: nobody is left to wait for it).
 */
class SharedRefresh {
  readonly topics: Set<string> | null;
  readonly run: Promise<TopicErrors>;
  /** The last failed attempt: what a caller whose deadline passes is told. */
  lastError: unknown;
  readonly #stop = new AbortController();
  #waiting = 0;
  #unbounded = false;

  constructor(
    topics: Set<string> | null,
    fetch: (signal: AbortSignal) => Promise<TopicErrors>,
    closing: AbortSignal,
  ) {
    this.topics = topics;
    this.run = fetch(AbortSignal.any([this.#stop.signal, closing]));
  }

  /** Whether it was stopped because every caller gave up. */
  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Waits for the shared result under `signal`. */
  join(signal: AbortSignal | undefined): Promise<TopicErrors> {
    // A caller without a signal waits for as long as the run takes: never abort it early.
    if (!signal) this.#unbounded = true;
    this.#waiting++;
    return followSignal(this.run, signal, () => {
      if (--this.#waiting === 0 && !this.#unbounded) {
        this.#stop.abort(new DOMException("every caller gave up", "AbortError"));
      }
    }).catch((e) => {
      // A caller out of time learns what kept the metadata from coming.
      if (e instanceof TimeoutError && signal?.aborted && this.lastError instanceof Error) {
        throw new TimeoutError(`${e.message} (last error: ${this.lastError.message})`, {
          ...e.timeoutMs !== undefined && { timeoutMs: e.timeoutMs },
          cause: this.lastError,
        });
      }
      throw e;
    });
  }
}

/** Resolves like `p` unless `signal` aborts first (the shared `p` carries on for others). */
function followSignal<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  onLeave?: () => void,
): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    queueMicrotask(() => onLeave?.());
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(abortReason(signal));
      onLeave?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
