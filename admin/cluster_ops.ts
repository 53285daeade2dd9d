/**
 * Cluster-wide operations: describe the cluster, the brokers' log dirs, leader elections and
 * partition reassignments.
 *
 * @module
 */

import type { TopicPartition } from "../cluster/types.ts";
import { Api } from "../protocol/apis.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  checkArray,
  checkTopLevel,
  findPartition,
  itemError,
  type Outcome,
} from "./context.ts";
import { type AclOperation, authorizedOperations } from "./enums.ts";
import { checkPartition, partitionName } from "./offsets.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/**
 * A broker in `describeCluster`.
 *
 * @example
 * ```ts
 * import type { ClusterBroker } from "@denokafka/kafka/admin";
 * const addr = (b: ClusterBroker) => `${b.host}:${b.port}`;
 * console.log(typeof addr);
 * ```
 */
export interface ClusterBroker {
  /** Node id. */
  readonly nodeId: number;
  /** Advertised host. */
  readonly host: string;
  /** Advertised port. */
  readonly port: number;
  /** Rack, if configured. */
  readonly rack: string | null;
  /** Whether the broker is fenced (only listed with `includeFencedBrokers`). */
  readonly fenced: boolean;
}

/**
 * The cluster as DescribeCluster reports it.
 *
 * @example
 * ```ts
 * import type { ClusterDescription } from "@denokafka/kafka/admin";
 * const size = (c: ClusterDescription) => c.brokers.length;
 * console.log(typeof size);
 * ```
 */
export interface ClusterDescription {
  /** The cluster id. */
  readonly clusterId: string;
  /**
   * The controller's node id as the broker reports it. In KRaft this is a broker that forwards
   * to the active controller (controllers are not reachable by clients).
   */
  readonly controllerId: number;
  /** The brokers. */
  readonly brokers: readonly ClusterBroker[];
  /** What the caller may do on the cluster, when asked for. */
  readonly authorizedOperations?: readonly AclOperation[] | undefined;
}

/**
 * Options of `describeCluster`.
 *
 * @example
 * ```ts
 * import type { DescribeClusterOptions } from "@denokafka/kafka/admin";
 * const o: DescribeClusterOptions = { includeFencedBrokers: true };
 * console.log(o.includeFencedBrokers);
 * ```
 */
export interface DescribeClusterOptions extends AdminCallOptions {
  /** Ask which cluster operations the caller may perform (KIP-430). */
  includeAuthorizedOperations?: boolean;
  /** List fenced brokers too (DescribeCluster v2+, KIP-1073). */
  includeFencedBrokers?: boolean;
}

/**
 * One partition replica in a log dir.
 *
 * @example
 * ```ts
 * import type { LogDirReplica } from "@denokafka/kafka/admin";
 * const mb = (r: LogDirReplica) => Number(r.size) / 2 ** 20;
 * console.log(typeof mb);
 * ```
 */
export interface LogDirReplica extends TopicPartition {
  /** Bytes on disk. */
  readonly size: bigint;
  /** How far the replica lags its leader (or the future replica the current one). */
  readonly offsetLag: bigint;
  /** Whether this is a future replica (being moved between dirs). */
  readonly isFuture: boolean;
}

/**
 * A broker's log dir.
 *
 * @example
 * ```ts
 * import type { LogDirDescription } from "@denokafka/kafka/admin";
 * const full = (d: LogDirDescription) => d.usableBytes < 2n ** 30n;
 * console.log(typeof full);
 * ```
 */
export interface LogDirDescription {
  /** The broker's node id. */
  readonly broker: number;
  /** The directory's path. */
  readonly path: string;
  /** The directory's error (e.g. KAFKA_STORAGE_ERROR), or 0. */
  readonly errorCode: number;
  /** Volume size, or -1n if unknown. */
  readonly totalBytes: bigint;
  /** Free space, or -1n if unknown. */
  readonly usableBytes: bigint;
  /** The replicas it holds. */
  readonly replicas: readonly LogDirReplica[];
}

/**
 * Options of `describeLogDirs`.
 *
 * @example
 * ```ts
 * import type { DescribeLogDirsOptions } from "@denokafka/kafka/admin";
 * const o: DescribeLogDirsOptions = { brokers: [1], partitions: [{ topic: "t", partition: 0 }] };
 * console.log(o.brokers);
 * ```
 */
export interface DescribeLogDirsOptions extends AdminCallOptions {
  /** Which brokers (default: all). */
  brokers?: readonly number[];
  /** Only replicas of these partitions (default: all). */
  partitions?: readonly TopicPartition[];
}

/**
 * The outcome of a leader election for one partition. `electionNeeded` is false when the
 * right leader was already in place (ELECTION_NOT_NEEDED is not a failure).
 *
 * @example
 * ```ts
 * import type { ElectionResult } from "@denokafka/kafka/admin";
 * const moved = (r: ElectionResult) => r.electionNeeded;
 * console.log(typeof moved);
 * ```
 */
export interface ElectionResult extends TopicPartition {
  /** False when the preferred (or any, for unclean) leader was already leading. */
  readonly electionNeeded: boolean;
}

/**
 * A partition's target replicas for `alterPartitionReassignments`; `replicas: null` cancels
 * an ongoing reassignment.
 *
 * @example
 * ```ts
 * import type { PartitionReassignment } from "@denokafka/kafka/admin";
 * const r: PartitionReassignment = { topic: "t", partition: 0, replicas: [2, 3, 1] };
 * console.log(r.replicas);
 * ```
 */
export interface PartitionReassignment extends TopicPartition {
  /** Target replica node ids, preferred leader first; null cancels. */
  readonly replicas: readonly number[] | null;
}

/**
 * An ongoing reassignment.
 *
 * @example
 * ```ts
 * import type { OngoingReassignment } from "@denokafka/kafka/admin";
 * const busy = (r: OngoingReassignment) => r.adding.length + r.removing.length;
 * console.log(typeof busy);
 * ```
 */
export interface OngoingReassignment extends TopicPartition {
  /** The current replica set (including those being added). */
  readonly replicas: readonly number[];
  /** Replicas being added. */
  readonly adding: readonly number[];
  /** Replicas being removed. */
  readonly removing: readonly number[];
}

/** DescribeCluster: id, controller and brokers as the cluster reports them. */
export function describeCluster(
  ctx: AdminContext,
  options: DescribeClusterOptions = {},
): Promise<ClusterDescription> {
  return ctx.call(options, async (signal) => {
    const res = await ctx.cluster.send({ any: true }, Api.DescribeCluster, {
      includeClusterAuthorizedOperations: options.includeAuthorizedOperations ?? false,
      endpointType: 1,
      includeFencedBrokers: options.includeFencedBrokers ?? false,
    }, { signal });
    checkTopLevel(res.errorCode, "DescribeCluster", res.errorMessage);
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: res.brokers.map((b) => ({
        nodeId: b.brokerId,
        host: b.host,
        port: b.port,
        rack: b.rack,
        fenced: b.isFenced,
      })).sort((a, b) => a.nodeId - b.nodeId),
      ...options.includeAuthorizedOperations &&
        { authorizedOperations: authorizedOperations(res.clusterAuthorizedOperations) },
    };
  });
}

/** DescribeLogDirs on each broker. */
export function describeLogDirs(
  ctx: AdminContext,
  options: DescribeLogDirsOptions = {},
): Promise<LogDirDescription[]> {
  if (options.brokers !== undefined) {
    checkArray(options.brokers, "brokers");
    for (const b of options.brokers) {
      if (!Number.isInteger(b)) throw new TypeError(`bad node id ${b}`);
    }
  }
  options.partitions?.forEach(checkPartition);
  const topics = options.partitions
    ? [...Map.groupBy(options.partitions, (p) => p.topic)].map(([topic, ps]) => ({
      topic,
      partitions: ps.map((p) => p.partition),
    }))
    : null;
  return ctx.call(options, async (signal) => {
    const per = await ctx.eachBroker(signal, async (node) => {
      const res = await ctx.cluster.send({ node }, Api.DescribeLogDirs, { topics }, { signal });
      checkTopLevel(res.errorCode, `DescribeLogDirs on broker ${node}`);
      return res.results.map((d): LogDirDescription => ({
        broker: node,
        path: d.logDir,
        errorCode: d.errorCode,
        totalBytes: d.totalBytes,
        usableBytes: d.usableBytes,
        replicas: d.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            size: p.partitionSize,
            offsetLag: p.offsetLag,
            isFuture: p.isFutureKey,
          }))
        ),
      }));
    }, options.brokers);
    return [...per.values()].flat();
  });
}

/**
 * ElectLeaders (KIP-460): `preferred` moves leadership back to each partition's first
 * replica; `unclean` lets an out-of-sync replica lead a leaderless partition. Without
 * partitions, every eligible partition. Per-partition errors as AdminBatchError.
 */
export async function electLeaders(
  ctx: AdminContext,
  type: "preferred" | "unclean",
  partitions: readonly TopicPartition[] | null,
  options: AdminCallOptions = {},
): Promise<ElectionResult[]> {
  if (type !== "preferred" && type !== "unclean") {
    throw new TypeError(`election type must be "preferred" or "unclean", got "${type}"`);
  }
  if (partitions !== null) {
    checkArray(partitions, "partitions");
    partitions.forEach(checkPartition);
  }
  const electionType = type === "preferred" ? 0 : 1;
  const body = (list: readonly TopicPartition[] | null) => ({
    electionType,
    topicPartitions: list === null
      ? null
      : [...Map.groupBy(list, (p) => p.topic)].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => p.partition),
      })),
    timeoutMs: ctx.brokerTimeoutMs(options),
  });
  const convert = (
    res: {
      replicaElectionResults: {
        topic: string;
        partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[];
      }[];
    },
  ) =>
    res.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, ...p }))
    );
  if (partitions === null) {
    // Every partition: there are no items to report on, only what the broker found.
    return await ctx.call(options, async (signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.ElectLeaders, body(null), {
        signal,
        timeoutMs: ctx.requestTimeoutMs(options),
      });
      checkTopLevel(res.errorCode, "ElectLeaders");
      return convert(res).filter((p) => p.errorCode === ErrorCode.NONE).map((p) => ({
        topic: p.topic,
        partition: p.partition,
        electionNeeded: true,
      }));
    });
  }
  return await ctx.items<TopicPartition, ElectionResult>(
    options,
    "electLeaders",
    partitions,
    partitionName,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.ElectLeaders, body(pending), {
        signal,
        timeoutMs: ctx.requestTimeoutMs(options),
      });
      checkTopLevel(res.errorCode, "ElectLeaders");
      const results = convert(res);
      const out: Outcome<TopicPartition, ElectionResult>[] = [];
      for (const tp of pending) {
        const r = results.find((x) => x.topic === tp.topic && x.partition === tp.partition);
        if (!r) continue;
        const notNeeded = r.errorCode === ErrorCode.ELECTION_NOT_NEEDED;
        out.push([
          tp,
          (notNeeded ? undefined : itemError(r.errorCode, partitionName(tp), r.errorMessage)) ??
            { topic: tp.topic, partition: tp.partition, electionNeeded: !notNeeded },
        ]);
      }
      return out;
    },
    { topicOf: (tp) => tp.topic },
  );
}

/** AlterPartitionReassignments (KIP-455); per-partition errors as AdminBatchError. */
export async function alterPartitionReassignments(
  ctx: AdminContext,
  reassignments: readonly PartitionReassignment[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkArray(reassignments, "reassignments");
  for (const r of reassignments) {
    checkPartition(r);
    if (r.replicas !== null) {
      checkArray(r.replicas, `${partitionName(r)} replicas`);
      for (const id of r.replicas) {
        if (!Number.isInteger(id) || id < 0) throw new RangeError(`bad node id ${id}`);
      }
    }
  }
  await ctx.items<PartitionReassignment, void>(
    options,
    "alterPartitionReassignments",
    reassignments,
    partitionName,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.AlterPartitionReassignments, {
        timeoutMs: ctx.brokerTimeoutMs(options),
        topics: [...Map.groupBy(pending, (p) => p.topic)].map(([name, ps]) => ({
          name,
          partitions: ps.map((p) => ({ partitionIndex: p.partition, replicas: p.replicas })),
        })),
      }, { signal, timeoutMs: ctx.requestTimeoutMs(options) });
      checkTopLevel(res.errorCode, "AlterPartitionReassignments", res.errorMessage);
      const out: Outcome<PartitionReassignment, void>[] = [];
      for (const r of pending) {
        const p = findPartition(res.responses, r);
        if (p) out.push([r, itemError(p.errorCode, partitionName(r), p.errorMessage)]);
      }
      return out;
    },
    { topicOf: (r) => r.topic },
  );
}

/** ListPartitionReassignments: the reassignments in progress (of some partitions, or all). */
export function listPartitionReassignments(
  ctx: AdminContext,
  partitions: readonly TopicPartition[] | null = null,
  options: AdminCallOptions = {},
): Promise<OngoingReassignment[]> {
  if (partitions !== null) {
    checkArray(partitions, "partitions");
    partitions.forEach(checkPartition);
  }
  return ctx.call(options, async (signal) => {
    const res = await ctx.cluster.send({ controller: true }, Api.ListPartitionReassignments, {
      timeoutMs: ctx.brokerTimeoutMs(options),
      topics: partitions === null
        ? null
        : [...Map.groupBy(partitions, (p) => p.topic)].map(([name, ps]) => ({
          name,
          partitionIndexes: ps.map((p) => p.partition),
        })),
    }, { signal, timeoutMs: ctx.requestTimeoutMs(options) });
    checkTopLevel(res.errorCode, "ListPartitionReassignments", res.errorMessage);
    return res.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        adding: p.addingReplicas,
        removing: p.removingReplicas,
      }))
    );
  });
}
