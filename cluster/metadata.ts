/**
 * The cluster metadata cache: brokers, topics, partitions and their leaders.
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";

/** A broker as advertised in metadata. */
export interface BrokerInfo {
  /** The broker's node id. */
  readonly nodeId: number;
  /** Advertised host. */
  readonly host: string;
  /** Advertised port. */
  readonly port: number;
  /** Rack, when configured. */
  readonly rack: string | null;
}

/**
 * One partition's placement: its leader and replicas. The admin client's topic descriptions
 * list these, and the metadata cache's {@linkcode PartitionInfo} adds the last error.
 *
 * @example
 * ```ts
 * import type { TopicPartitionInfo } from "@denokafka/kafka/admin";
 * const underReplicated = (p: TopicPartitionInfo) => p.isr.length < p.replicas.length;
 * console.log(typeof underReplicated);
 * ```
 */
export interface TopicPartitionInfo {
  /** The partition index. */
  readonly partition: number;
  /** Leader node id, or -1 when there is none. */
  readonly leader: number;
  /** The leader epoch (KIP-101/320), or -1 when unknown. */
  readonly leaderEpoch: number;
  /** Replica node ids, preferred leader first. */
  readonly replicas: readonly number[];
  /** In-sync replica node ids. */
  readonly isr: readonly number[];
  /** Offline replica node ids. */
  readonly offlineReplicas: readonly number[];
}

/** One partition's placement in the metadata cache, with its last error. */
export interface PartitionInfo extends TopicPartitionInfo {
  /** Error code for this partition in the last metadata response (0 when fine). */
  readonly errorCode: number;
}

/** One topic's metadata. */
export interface TopicInfo {
  /** Topic name. */
  readonly name: string;
  /** Topic id (base64url UUID), or the zero UUID when the broker is older than 2.8. */
  readonly topicId: string;
  /** Whether this is an internal topic such as `__consumer_offsets`. */
  readonly isInternal: boolean;
  /** Partitions, sorted by index. */
  readonly partitions: readonly PartitionInfo[];
}

/** A snapshot of the whole cache. */
export interface ClusterInfo {
  /** The cluster id, when the broker reports one. */
  readonly clusterId: string | null;
  /** The controller's node id (-1 if unknown). */
  readonly controllerId: number;
  /** Live brokers. */
  readonly brokers: readonly BrokerInfo[];
}

/** The parts of a Metadata response the cache reads. */
export interface MetadataPayload {
  /** Live brokers. */
  brokers: ReadonlyArray<{ nodeId: number; host: string; port: number; rack: string | null }>;
  /** The cluster id. */
  clusterId: string | null;
  /** The controller (in KRaft, a random broker). */
  controllerId: number;
  /** Topics and their partitions. */
  topics: ReadonlyArray<{
    errorCode: number;
    name: string | null;
    topicId: string;
    isInternal: boolean;
    partitions: ReadonlyArray<{
      errorCode: number;
      partitionIndex: number;
      leaderId: number;
      leaderEpoch: number;
      replicaNodes: number[];
      isrNodes: number[];
      offlineReplicas: number[];
    }>;
  }>;
}

/** Per-topic errors from the last update, e.g. UNKNOWN_TOPIC_OR_PARTITION. */
export type TopicErrors = Map<string, number>;

/**
 * Holds the latest metadata. Updates merge: a response about some topics leaves the others.
 *
 * @example
 * ```ts
 * import { MetadataCache } from "./metadata.ts";
 * const cache = new MetadataCache();
 * cache.update({ brokers: [{ nodeId: 1, host: "h", port: 1, rack: null }], clusterId: "c",
 *   controllerId: 1, topics: [] }, true);
 * console.log(cache.broker(1)?.host); // h
 * ```
 */
export class MetadataCache {
  #brokers = new Map<number, BrokerInfo>();
  #topics = new Map<string, TopicInfo>();
  #byId = new Map<string, string>();
  #clusterId: string | null = null;
  #controllerId = -1;
  #updatedAt = 0;

  /** When the cache was last updated (ms since epoch); 0 if never. */
  get updatedAt(): number {
    return this.#updatedAt;
  }

  /**
   * Merges a Metadata response. With `full`, topics absent from it are dropped (the response
   * listed every topic). Returns per-topic error codes for topics that had one.
   */
  update(res: MetadataPayload, full: boolean): TopicErrors {
    const errors: TopicErrors = new Map();
    if (res.brokers.length > 0) {
      this.#brokers = new Map(
        res.brokers.map((b) => [b.nodeId, {
          nodeId: b.nodeId,
          host: b.host,
          port: b.port,
          rack: b.rack,
        }]),
      );
    }
    this.#clusterId = res.clusterId ?? this.#clusterId;
    this.#controllerId = res.controllerId;
    const previous = full ? new Map(this.#topics) : this.#topics;
    if (full) {
      this.#topics.clear();
      this.#byId.clear();
    }
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== ErrorCode.NONE && t.partitions.length === 0) {
        errors.set(t.name, t.errorCode);
        this.#topics.delete(t.name);
        continue;
      }
      if (t.errorCode !== ErrorCode.NONE) errors.set(t.name, t.errorCode);
      const old = previous.get(t.name);
      // KIP-320: a broker that lags behind may describe an older leader; keep the newer view
      // (unless the topic was deleted and recreated, which restarts the epochs).
      const sameTopic = old !== undefined && old.topicId === t.topicId;
      const partitions = t.partitions.map((p): PartitionInfo => {
        const was = sameTopic ? findPartition(old.partitions, p.partitionIndex) : undefined;
        if (was && p.leaderEpoch >= 0 && was.leaderEpoch > p.leaderEpoch) return was;
        return {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode,
        };
      }).sort((a, b) => a.partition - b.partition);
      this.#topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions,
      });
      this.#byId.set(t.topicId, t.name);
    }
    this.#updatedAt = Date.now();
    return errors;
  }

  /** A broker by node id. */
  broker(nodeId: number): BrokerInfo | undefined {
    return this.#brokers.get(nodeId);
  }

  /** All known brokers. */
  brokers(): BrokerInfo[] {
    return [...this.#brokers.values()];
  }

  /** A topic by name. */
  topic(name: string): TopicInfo | undefined {
    return this.#topics.get(name);
  }

  /** A topic's name from its id. */
  topicName(topicId: string): string | undefined {
    return this.#byId.get(topicId);
  }

  /** Every cached topic. */
  topics(): TopicInfo[] {
    return [...this.#topics.values()];
  }

  /** One partition's placement. */
  partition(topic: string, partition: number): PartitionInfo | undefined {
    const t = this.#topics.get(topic);
    return t && findPartition(t.partitions, partition);
  }

  /** Forgets one topic, e.g. after it was deleted. */
  forget(topic: string): void {
    const t = this.#topics.get(topic);
    if (t) this.#byId.delete(t.topicId);
    this.#topics.delete(topic);
  }

  /** Cluster id, controller and brokers. */
  info(): ClusterInfo {
    return {
      clusterId: this.#clusterId,
      controllerId: this.#controllerId,
      brokers: this.brokers(),
    };
  }
}

function findPartition(
  partitions: readonly PartitionInfo[],
  partition: number,
): PartitionInfo | undefined {
  const p = partitions[partition];
  return p?.partition === partition ? p : partitions.find((x) => x.partition === partition);
}
