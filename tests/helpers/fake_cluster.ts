/**
 * A scripted stand-in for a Kafka cluster, for unit tests of client code paths (the producer's
 * sender, accumulator and idempotence) without a broker. It is a test double, not a broker:
 * each API is answered by a handler the test writes (`on` for every request, `once` for the
 * next one), with defaults for the APIs every client needs (ApiVersions, Metadata,
 * InitProducerId, Produce). Protocol behaviour is proven against the real broker elsewhere.
 *
 * Everything above the socket is the real thing: `FakeCluster` is a `Cluster` whose connections
 * are real `Connection`s over {@linkcode FakeSocket}s, so requests and responses go through
 * the generated codecs at the negotiated version, and metadata, routing and retries are the
 * library's own.
 */

import { Cluster, type Lane } from "../../cluster/cluster.ts";
import type { ClientOptions } from "../../cluster/options.ts";
import { type AnyApiDef, Api } from "../../protocol/apis.ts";
import { Connection } from "../../net/connection.ts";
import type { Transport } from "../../net/transport.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { ProduceRequest, ProduceResponse } from "../../protocol/messages/mod.ts";
import { FakeSocket, type SeenRequest } from "./fake_socket.ts";

/** A request the fake answered, with the broker it went to. */
export interface FakeRequest {
  /** The API's name, e.g. `Produce`. */
  readonly api: string;
  /** The negotiated version. */
  readonly version: number;
  /** The decoded request body. */
  readonly body: unknown;
  /** The node id of the broker it was sent to. */
  readonly node: number;
  /** When the fake read it (ms since the epoch). */
  readonly at: number;
}

/**
 * Answers one request: a response body (missing fields take their schema defaults), or
 * {@linkcode NO_ANSWER} to leave it unanswered (a silent broker).
 */
export type FakeHandler = (req: FakeRequest) => unknown | Promise<unknown>;

/** Returned by a handler that does not answer. */
export const NO_ANSWER: unique symbol = Symbol("no answer");

/** A topic the fake's metadata lists. */
export interface FakeTopic {
  /** Topic id (KIP-516); a fixed one per topic by default. */
  topicId: string;
  /** The leader's node id per partition. */
  leaders: number[];
  /** The leader epoch per partition (default 0). */
  epochs: number[];
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The fields of a RecordBatch v2 header a producer test checks. */
export interface BatchHeader {
  /** The producer id (-1 without idempotence). */
  producerId: bigint;
  /** The producer epoch. */
  producerEpoch: number;
  /** The first record's sequence number. */
  baseSequence: number;
  /** How many records the batch holds. */
  count: number;
}

/** Reads the producer fields of a record batch (bytes as sent in a Produce request). */
export function batchHeader(records: Uint8Array): BatchHeader {
  const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
  return {
    producerId: v.getBigInt64(43),
    producerEpoch: v.getInt16(51),
    baseSequence: v.getInt32(53),
    count: v.getInt32(57),
  };
}

/** One partition's part of a Produce request. */
export interface ProducedPartition {
  /** Topic name (from the topic id for v13+). */
  topic: string;
  /** The partition index. */
  partition: number;
  /** The record batch header. */
  batch: BatchHeader;
}

/**
 * A `Cluster` of `nodes` fake brokers (node ids 1..n, addresses `fake-<id>:<9000+id>`). Use it
 * as the `cluster` option of a `Producer`.
 */
export class FakeCluster extends Cluster {
  /** Every request answered or left unanswered, in order. */
  readonly requests: FakeRequest[] = [];
  /** The topics the Metadata handler lists. */
  readonly topics = new Map<string, FakeTopic>();
  /** The producer id InitProducerId hands out, and the epoch of the last one. */
  producerId = 4000n;
  producerEpoch = -1;
  readonly #nodes: number;
  readonly #always = new Map<string, FakeHandler>();
  readonly #next = new Map<string, FakeHandler[]>();
  readonly #conns = new Map<string, Promise<Connection>>();
  readonly #sockets: FakeSocket[] = [];
  /** Next offset per partition for the default Produce handler. */
  readonly #offsets = new Map<string, bigint>();
  /**
   * Makes the socket of each new connection (a subclass of {@linkcode FakeSocket} can hold
   * writes, as a slow socket does); `node` is the broker's node id.
   */
  socketFor: (node: number) => FakeSocket = () => new FakeSocket();

  constructor(nodes = 1, options: Partial<ClientOptions> = {}) {
    super({
      brokers: ["fake-1:9001"],
      retry: { initialBackoffMs: 1, maxBackoffMs: 5, jitter: 0 },
      requestTimeoutMs: 5_000,
      ...options,
    });
    this.#nodes = nodes;
    this.on("ApiVersions", () => ({
      errorCode: ErrorCode.NONE,
      apiKeys: Object.values(Api).map((a: AnyApiDef) => ({
        apiKey: a.key,
        minVersion: a.minVersion,
        maxVersion: a.maxVersion,
      })),
    }));
    this.on("Metadata", (req) => this.metadataAnswer(req));
    this.on("InitProducerId", () => ({
      errorCode: ErrorCode.NONE,
      producerId: this.producerId,
      producerEpoch: ++this.producerEpoch,
    }));
    this.on("Produce", (req) => this.produceAnswer(req, () => ErrorCode.NONE));
  }

  /** Lists `name` with `partitions` partitions, led round-robin by the nodes (or by `leaders`). */
  addTopic(name: string, partitions: number, leaders?: number[]): FakeTopic {
    let id = "";
    for (let i = 0; i < 21; i++) id += ID_ALPHABET[(name.charCodeAt(i % name.length) + i) % 64];
    const topic: FakeTopic = {
      topicId: id + "A",
      leaders: leaders ?? Array.from({ length: partitions }, (_, p) => (p % this.#nodes) + 1),
      epochs: Array.from({ length: partitions }, () => 0),
    };
    this.topics.set(name, topic);
    return topic;
  }

  /** Answers every later request of `api` with `handler` (replacing the default). */
  on(api: string, handler: FakeHandler): this {
    this.#always.set(api, handler);
    return this;
  }

  /** Answers the next request of `api` with `handler`, before any `on` handler. */
  once(api: string, handler: FakeHandler): this {
    const list = this.#next.get(api) ?? [];
    list.push(handler);
    this.#next.set(api, list);
    return this;
  }

  /** The requests of one API seen so far. */
  seen(api: string): FakeRequest[] {
    return this.requests.filter((r) => r.api === api);
  }

  /** What a Produce request carried, per partition. */
  produced(req: FakeRequest): ProducedPartition[] {
    const body = req.body as ProduceRequest;
    const out: ProducedPartition[] = [];
    for (const t of body.topicData) {
      const name = t.name || this.#nameOf(t.topicId ?? "");
      for (const p of t.partitionData) {
        out.push({ topic: name, partition: p.index, batch: batchHeader(p.records!) });
      }
    }
    return out;
  }

  /**
   * The default Metadata answer: the brokers, and each asked topic (or all) from `topics`;
   * unknown ones with UNKNOWN_TOPIC_OR_PARTITION.
   */
  metadataAnswer(req: FakeRequest): unknown {
    const asked = (req.body as { topics: { name: string | null }[] | null }).topics;
    const names = asked === null ? [...this.topics.keys()] : asked.map((t) => t.name ?? "");
    return {
      brokers: Array.from({ length: this.#nodes }, (_, i) => ({
        nodeId: i + 1,
        host: `fake-${i + 1}`,
        port: 9001 + i,
        rack: null,
      })),
      clusterId: "fake",
      controllerId: 1,
      topics: names.map((name) => {
        const t = this.topics.get(name);
        if (!t) {
          return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] };
        }
        return {
          errorCode: ErrorCode.NONE,
          name,
          topicId: t.topicId,
          isInternal: false,
          partitions: t.leaders.map((leader, p) => ({
            errorCode: ErrorCode.NONE,
            partitionIndex: p,
            leaderId: leader,
            leaderEpoch: t.epochs[p] ?? 0,
            replicaNodes: [leader],
            isrNodes: [leader],
            offlineReplicas: [],
          })),
        };
      }),
    };
  }

  /**
   * A Produce answer with `errorFor(topic, partition)` per partition; partitions answered
   * without error get the next offsets of that partition.
   */
  produceAnswer(
    req: FakeRequest,
    errorFor: (topic: string, partition: number) => number,
    extra: { logStartOffset?: bigint } = {},
  ): Partial<ProduceResponse> {
    const body = req.body as ProduceRequest;
    return {
      responses: body.topicData.map((t) => {
        const name = t.name || this.#nameOf(t.topicId ?? "");
        return {
          name: t.name ?? "",
          topicId: t.topicId ?? "",
          partitionResponses: t.partitionData.map((p) => {
            const errorCode = errorFor(name, p.index);
            const key = `${name}-${p.index}`;
            const base = this.#offsets.get(key) ?? 0n;
            if (errorCode === ErrorCode.NONE) {
              this.#offsets.set(key, base + BigInt(batchHeader(p.records!).count));
            }
            return {
              index: p.index,
              errorCode,
              baseOffset: errorCode === ErrorCode.NONE ? base : -1n,
              logAppendTimeMs: -1n,
              logStartOffset: extra.logStartOffset ?? 0n,
              recordErrors: [],
              errorMessage: null,
              currentLeader: { leaderId: -1, leaderEpoch: -1 },
            };
          }),
        };
      }),
      throttleTimeMs: 0,
    } as unknown as Partial<ProduceResponse>;
  }

  #nameOf(topicId: string): string {
    for (const [name, t] of this.topics) if (t.topicId === topicId) return name;
    return "";
  }

  /**
   * A transport to these fake brokers, answered by the same handlers: for a client that opens
   * (and owns) a cluster of its own, e.g. `new Producer({ brokers: ["fake-1:9001"],
   * transport: fake.transport() })`, rather than sharing this one through `cluster`.
   */
  transport(): Transport {
    return {
      name: "fake",
      connect: (_host, port) => Promise.resolve(this.#open(port - 9000)),
    };
  }

  /** A fake socket to `node`, each request on it answered by the handlers. */
  #open(node: number): FakeSocket {
    const socket = this.socketFor(node);
    this.#sockets.push(socket);
    socket.onRequest = (seen) => void this.#answer(socket, seen, node);
    return socket;
  }

  /** Connections go to fake sockets answered by the handlers; everything above is real. */
  override connectTo(
    address: { host: string; port: number },
    lane: Lane = "default",
    _signal?: AbortSignal,
  ): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error("closed"));
    const key = `${address.host}:${address.port}#${lane}`;
    const existing = this.#conns.get(key);
    if (existing) return existing;
    const socket = this.#open(address.port - 9000);
    const opening = Connection.connect({
      host: address.host,
      port: address.port,
      socketFactory: () => Promise.resolve(socket),
      requestTimeoutMs: this.options.requestTimeoutMs ?? 5_000,
      logger: this.logger,
    });
    this.#conns.set(key, opening);
    opening.then((c) => c.onClose(() => this.#conns.delete(key)), () => this.#conns.delete(key));
    return opening;
  }

  async #answer(socket: FakeSocket, seen: SeenRequest, node: number): Promise<void> {
    const req: FakeRequest = {
      api: seen.api.name,
      version: seen.version,
      body: seen.body,
      node,
      at: Date.now(),
    };
    this.requests.push(req);
    const queued = this.#next.get(req.api);
    const handler = queued?.shift() ?? this.#always.get(req.api);
    if (!handler) throw new Error(`FakeCluster: no handler for ${req.api}`);
    const body = await handler(req);
    // Over the network an answer is a new task, never a microtask: a client loop that
    // fetches again at once must not starve the timers.
    await new Promise((r) => setTimeout(r, 0));
    if (body === NO_ANSWER || socket.closed) return;
    socket.reply(seen, body);
  }

  /** Closes the cluster and its fake connections. */
  override async close(): Promise<void> {
    await super.close();
    for (const p of this.#conns.values()) (await p.catch(() => undefined))?.close();
    for (const s of this.#sockets) s.close();
  }
}
