/**
 * Producers and transactions (KIP-664): describe a partition's active producers, list and
 * describe transactions.
 *
 * @module
 */

import type { TopicPartition } from "../cluster/types.ts";
import { Api } from "../protocol/apis.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  answered,
  checkArray,
  checkIds,
  checkTopLevel,
  findPartition,
  itemError,
  type Outcome,
} from "./context.ts";
import { checkPartition, partitionName } from "./offsets.ts";

/**
 * A producer with state in a partition.
 *
 * @example
 * ```ts
 * import type { ProducerState } from "@denokafka/kafka/admin";
 * const inTxn = (p: ProducerState) => p.currentTransactionStartOffset >= 0n;
 * console.log(typeof inTxn);
 * ```
 */
export interface ProducerState {
  /** The producer id. */
  readonly producerId: bigint;
  /** Its epoch. */
  readonly producerEpoch: number;
  /** The last sequence number written. */
  readonly lastSequence: number;
  /** The timestamp of its last write (ms). */
  readonly lastTimestamp: number;
  /** The coordinator epoch of its last transaction marker, or -1. */
  readonly coordinatorEpoch: number;
  /** Where its open transaction starts, or -1n. */
  readonly currentTransactionStartOffset: bigint;
}

/**
 * The active producers of one partition.
 *
 * @example
 * ```ts
 * import type { PartitionProducers } from "@denokafka/kafka/admin";
 * const count = (p: PartitionProducers) => p.producers.length;
 * console.log(typeof count);
 * ```
 */
export interface PartitionProducers extends TopicPartition {
  /** Its active producers. */
  readonly producers: readonly ProducerState[];
}

/**
 * A transaction in `listTransactions`.
 *
 * @example
 * ```ts
 * import type { TransactionListing } from "@denokafka/kafka/admin";
 * const open = (t: TransactionListing) => t.state === "Ongoing";
 * console.log(typeof open);
 * ```
 */
export interface TransactionListing {
  /** The transactional id. */
  readonly transactionalId: string;
  /** The current producer id. */
  readonly producerId: bigint;
  /** Its state: `Empty`, `Ongoing`, `PrepareCommit`, `CompleteCommit`... */
  readonly state: string;
  /** The coordinator's node id. */
  readonly coordinator: number;
}

/**
 * Filters of `listTransactions`.
 *
 * @example
 * ```ts
 * import type { ListTransactionsOptions } from "@denokafka/kafka/admin";
 * const o: ListTransactionsOptions = { states: ["Ongoing"], durationMs: 60_000 };
 * console.log(o.states);
 * ```
 */
export interface ListTransactionsOptions extends AdminCallOptions {
  /** Only these states. */
  states?: readonly string[];
  /** Only these producer ids. */
  producerIds?: readonly bigint[];
  /** Only transactions running longer than this (ListTransactions v1+, KIP-994). */
  durationMs?: number;
  /** Only transactional ids matching this regular expression (v2+, KIP-1152). */
  transactionalIdPattern?: string;
}

/**
 * A transaction's state at its coordinator.
 *
 * @example
 * ```ts
 * import type { TransactionDescription } from "@denokafka/kafka/admin";
 * const parts = (t: TransactionDescription) => t.partitions.length;
 * console.log(typeof parts);
 * ```
 */
export interface TransactionDescription {
  /** The transactional id. */
  readonly transactionalId: string;
  /** Its state. */
  readonly state: string;
  /** The transaction timeout. */
  readonly timeoutMs: number;
  /** When the open transaction started (ms), or -1. */
  readonly startTimeMs: number;
  /** The producer id. */
  readonly producerId: bigint;
  /** The producer epoch. */
  readonly producerEpoch: number;
  /** The partitions in the open transaction. */
  readonly partitions: readonly TopicPartition[];
  /** The coordinator's node id. */
  readonly coordinator: number;
}

/** DescribeProducers at each partition's leader; per-partition errors as AdminBatchError. */
export function describeProducers(
  ctx: AdminContext,
  partitions: readonly TopicPartition[],
  options: AdminCallOptions = {},
): Promise<PartitionProducers[]> {
  checkArray(partitions, "partitions");
  partitions.forEach(checkPartition);
  return ctx.items<TopicPartition, PartitionProducers>(
    options,
    "describeProducers",
    partitions,
    partitionName,
    (pending, signal) =>
      ctx.byLeader(pending, signal, async (node, list) => {
        const topics = new Map<string, number[]>();
        for (const tp of list) topics.set(tp.topic, [...topics.get(tp.topic) ?? [], tp.partition]);
        const res = await ctx.cluster.send({ node }, Api.DescribeProducers, {
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        }, { signal });
        const out: Outcome<TopicPartition, PartitionProducers>[] = [];
        for (const tp of list) {
          const p = findPartition(res.topics, tp);
          if (!p) continue;
          out.push([
            tp,
            itemError(p.errorCode, partitionName(tp), p.errorMessage) ?? {
              topic: tp.topic,
              partition: tp.partition,
              producers: p.activeProducers.map((s) => ({
                producerId: s.producerId,
                producerEpoch: s.producerEpoch,
                lastSequence: s.lastSequence,
                lastTimestamp: Number(s.lastTimestamp),
                coordinatorEpoch: s.coordinatorEpoch,
                currentTransactionStartOffset: s.currentTxnStartOffset,
              })),
            },
          ]);
        }
        return out;
      }),
    { topicOf: (tp) => tp.topic },
  );
}

/** ListTransactions on every broker (each lists the transactions it coordinates). */
export function listTransactions(
  ctx: AdminContext,
  options: ListTransactionsOptions = {},
): Promise<TransactionListing[]> {
  return ctx.listEveryBroker(options, async (node, signal) => {
    const res = await ctx.cluster.send({ node }, Api.ListTransactions, {
      stateFilters: options.states ?? [],
      producerIdFilters: options.producerIds ?? [],
      durationFilter: BigInt(options.durationMs ?? -1),
      transactionalIdPattern: options.transactionalIdPattern ?? null,
    }, { signal });
    checkTopLevel(res.errorCode, `ListTransactions on broker ${node}`);
    return res.transactionStates.map((t): TransactionListing => ({
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      state: t.transactionState,
      coordinator: node,
    }));
  }, (t) => t.transactionalId);
}

/** DescribeTransactions at each id's coordinator; per-id errors as AdminBatchError. */
export function describeTransactions(
  ctx: AdminContext,
  transactionalIds: readonly string[],
  options: AdminCallOptions = {},
): Promise<TransactionDescription[]> {
  checkIds(transactionalIds, "transactional id");
  return ctx.atCoordinators<TransactionDescription>(
    "transaction",
    options,
    "describeTransactions",
    transactionalIds,
    async (broker, list, signal) => {
      const res = await ctx.cluster.send({ address: broker }, Api.DescribeTransactions, {
        transactionalIds: list,
      }, { signal });
      return answered(
        list,
        (id) => res.transactionStates.find((x) => x.transactionalId === id),
        (t, id) =>
          itemError(t.errorCode, `transactional id ${id}`) ?? {
            transactionalId: id,
            state: t.transactionState,
            timeoutMs: t.transactionTimeoutMs,
            startTimeMs: Number(t.transactionStartTimeMs),
            producerId: t.producerId,
            producerEpoch: t.producerEpoch,
            partitions: t.topics.flatMap((x) =>
              x.partitions.map((partition) => ({ topic: x.topic, partition }))
            ),
            coordinator: broker.nodeId,
          },
      );
    },
  );
}
