/**
 * The cluster layer shared by the producer, consumer and admin client: bootstrap, the metadata
 * cache, leader/coordinator/controller routing, connection lanes per broker, and retries.
 *
 * @module
 */

import { Api, type ApiDef } from "../protocol/apis.ts";
import { Connection, type RequestOptions } from "../protocol/connection.ts";
import {
  AuthenticationError,
  ClosedError,
  ConnectionError,
  KafkaError,
  ProtocolError,
} from "../protocol/errors.ts";
import { type Logger, silentLogger } from "../protocol/logger.ts";
import { type BrokerInfo, type ClusterInfo, MetadataCache, type TopicErrors } from "./metadata.ts";
import { type ClientOptions, parseBroker, validateClientOptions } from "./options.ts";
import { type RetryPolicy, retryPolicy, withRetry, type WithRetryOptions } from "./retry.ts";

/**
 * A connection lane (`default`, `produce`, `fetch`, `group`, `heartbeat`, or any name). Each
 * broker gets one connection per lane, so that long polls (fetch,
 * join) never delay heartbeats, commits or metadata, which Kafka would otherwise serve in
 * order behind them on the same socket.
 */
export type Lane = string;

/** Where to send a request. */
export type Target =
  | { node: number }
  | { address: { host: string; port: number } }
  | { any: true };

/** Coordinator kinds for FindCoordinator (key type 0 and 1). */
export type CoordinatorType = "group" | "transaction";

/** Options for a single routed request. */
export interface SendOptions extends RequestOptions {
  /** The connection lane. Default `default`. */
  lane?: Lane;
}

const COORDINATOR_ERRORS = new Set([14, 15, 16]); // LOAD_IN_PROGRESS, NOT_AVAILABLE, NOT_COORDINATOR
const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

/**
 * Routes requests to the right broker over pooled connections, keeping metadata fresh.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@denokafka/kafka";
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
  readonly #coordinators = new Map<string, BrokerInfo>();
  readonly #interest = new Set<string>();
  #refresh: Promise<TopicErrors> | undefined;
  #refreshAll = false;
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
    Deno.unrefTimer(this.#timer);
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
    const key = `${address.host}:${address.port}#${lane}`;
    const existing = this.#conns.get(key);
    if (existing) return existing;
    const o = this.#options;
    const opening = Connection.connect({
      host: address.host,
      port: address.port,
      ...o.clientId !== undefined && { clientId: o.clientId },
      ...o.tls !== undefined && { tls: o.tls },
      ...o.sasl !== undefined && { sasl: o.sasl },
      ...o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs },
      ...o.requestTimeoutMs !== undefined && { requestTimeoutMs: o.requestTimeoutMs },
      ...o.maxInFlight !== undefined && { maxInFlight: o.maxInFlight },
      ...o.maxFrameBytes !== undefined && { maxFrameBytes: o.maxFrameBytes },
      ...signal !== undefined && { signal },
      logger: this.#logger,
    }).then((conn) => {
      if (this.#closed) {
        conn.close();
        throw new ClosedError("client");
      }
      this.#logger.debug("connected", { broker: key });
      conn.onClose(() => {
        if (this.#conns.get(key) === opening) this.#conns.delete(key);
      });
      return conn;
    }, (e) => {
      if (this.#conns.get(key) === opening) this.#conns.delete(key);
      throw e;
    });
    this.#conns.set(key, opening);
    return opening;
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
    let best: Connection | undefined;
    for (const [key, p] of this.#conns) {
      if (!key.endsWith("#default")) continue;
      const c = await p.catch(() => undefined);
      if (c && !c.closed && (!best || c.inFlight < best.inFlight)) best = c;
    }
    if (best) return best;
    const candidates = [...shuffle(this.#cache.brokers()), ...this.#bootstrap];
    const failures: string[] = [];
    let last: unknown;
    for (const address of candidates) {
      try {
        return await this.connectTo(address, "default", signal);
      } catch (e) {
        // Wrong credentials or an unsupported broker will not get better on the next one.
        if (e instanceof AuthenticationError || signal?.aborted) throw e;
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
    if (this.#refresh && (this.#refreshAll || (topics !== null && topics.length === 0))) {
      return this.#refresh;
    }
    const run = this.#fetchMetadata(topics, options).finally(() => {
      if (this.#refresh === run) this.#refresh = undefined;
    });
    this.#refresh = run;
    this.#refreshAll = topics === null;
    return run;
  }

  async #fetchMetadata(
    topics: readonly string[] | null,
    options: { signal?: AbortSignal | undefined; allowAutoCreate?: boolean },
  ): Promise<TopicErrors> {
    return await this.retry(async (_attempt, signal) => {
      const conn = await this.connectToAny(signal);
      const res = await conn.request(Api.Metadata, {
        topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
        allowAutoTopicCreation: options.allowAutoCreate ?? false,
        includeTopicAuthorizedOperations: false,
      }, { signal });
      return this.#cache.update(res, topics === null);
    }, { signal: options.signal });
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
    const version = conn.versionFor(Api.FindCoordinator as ApiDef<unknown, unknown>);
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
    if (found.errorCode !== 0) {
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
    options: SendOptions = {},
  ): Promise<Res> {
    const lane = options.lane ?? "default";
    const conn = "node" in target
      ? await this.connectToNode(target.node, lane, options.signal)
      : "address" in target
      ? await this.connectTo(target.address, lane, options.signal)
      : await this.connectToAny(options.signal);
    return await conn.request(api, body, options);
  }

  /** Sends one request to the coordinator of `key`, once; forgets it on coordinator errors. */
  async sendToCoordinator<Req, Res>(
    type: CoordinatorType,
    key: string,
    api: ApiDef<Req, Res>,
    body: Req,
    options: SendOptions = {},
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
    options: WithRetryOptions & { coordinator?: [CoordinatorType, string] } = {},
  ): Promise<T> {
    const { coordinator, onError, ...rest } = options;
    return withRetry(this.#policy, fn, {
      ...rest,
      onError: async (e, ctx) => {
        if (this.#closed) return false;
        if (onError) return await onError(e, ctx);
        if (!(e instanceof KafkaError) || !e.retriable) return false;
        this.#logger.debug("retrying", { attempt: ctx.attempt, error: e.message });
        if (e instanceof ProtocolError && COORDINATOR_ERRORS.has(e.code) && coordinator) {
          this.forgetCoordinator(...coordinator);
        }
        if (e instanceof ConnectionError && coordinator) this.forgetCoordinator(...coordinator);
        if ((e instanceof ProtocolError && e.refreshMetadata) || e instanceof ConnectionError) {
          await this.refreshMetadata([...this.#interest]).catch(() => {});
        }
        return true;
      },
    });
  }

  /** Closes every connection and timer. Later calls fail with {@linkcode ClosedError}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const all = [...this.#conns.values()];
    this.#conns.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => {})));
    await this.#refresh?.catch(() => {});
  }

  /** Closes the cluster (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
