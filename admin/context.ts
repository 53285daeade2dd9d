/**
 * The machinery every admin call shares: retries under the call's deadline, per-item results
 * with per-item retries, and routing to partition leaders, coordinators and every broker.
 * Internal to the admin client.
 *
 * @module
 */

import type { BrokerInfo } from "../cluster/metadata.ts";
import type { Cluster, CoordinatorType } from "../cluster/cluster.ts";
import type { ApiDef } from "../protocol/apis.ts";
import { ConnectionError, KafkaError, ProtocolError, TimeoutError } from "../protocol/errors.ts";
import { AdminBatchError, type BatchItemResult } from "./errors.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/**
 * Options every admin call takes.
 *
 * @example
 * ```ts
 * import type { AdminCallOptions } from "@denokafka/kafka/admin";
 * const o: AdminCallOptions = { timeoutMs: 10_000, signal: AbortSignal.timeout(15_000) };
 * console.log(o.timeoutMs);
 * ```
 */
export interface AdminCallOptions {
  /** Cancels the call; it rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Time allowed for the call and its retries. The call ends by the earliest of this, the
   * signal and the client's `retry.deadlineMs` (default 60 s), with a TimeoutError. Also the
   * broker-side timeout of requests that carry one (capped by the request timeout).
   */
  timeoutMs?: number | undefined;
}

/** One item's outcome within an attempt: its value, or its error. */
export type Outcome<I, V> = readonly [item: I, result: V | KafkaError];

/** How the per-item engine treats an item's failure. */
export interface ItemPolicy<I> {
  /** The topic an item is about: refreshed on stale-metadata errors. */
  topicOf?: ((item: I) => string | undefined) | undefined;
  /** The coordinator an item went to: forgotten on coordinator errors. */
  coordinatorOf?: ((item: I) => [CoordinatorType, string] | undefined) | undefined;
  /** Overrides which item errors are retried. */
  retriable?: ((error: KafkaError, item: I) => boolean) | undefined;
}

/** Thrown inside an attempt to retry the items that failed retriably. */
class RetryItems extends KafkaError {
  readonly failed: ReadonlyArray<readonly [unknown, KafkaError]>;
  constructor(failed: ReadonlyArray<readonly [unknown, KafkaError]>) {
    super(`${failed.length} item(s) to retry`, { retriable: true });
    this.failed = failed;
  }
}

/** A topic-partition an item is about. */
interface PartitionItem {
  readonly topic: string;
  readonly partition: number;
}

/**
 * The shared machinery of the admin client's calls.
 *
 * @example
 * ```ts ignore
 * const ctx = new AdminContext(cluster);
 * const md = await ctx.call({}, (signal) => cluster.send({ any: true }, Api.Metadata, { topics: [] }, { signal }));
 * ```
 */
export class AdminContext {
  /** The cluster the admin talks to. */
  readonly cluster: Cluster;

  /** Wraps a cluster. */
  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  /** The `timeoutMs` to put in requests that carry one (CreateTopics, DeleteRecords...). */
  brokerTimeoutMs(options: AdminCallOptions): number {
    const request = this.cluster.options.requestTimeoutMs ?? 30_000;
    return Math.max(1, Math.min(options.timeoutMs ?? request, request));
  }

  /** The client-side timeout of such a request: the broker's wait plus a margin. */
  requestTimeoutMs(options: AdminCallOptions): number {
    return this.brokerTimeoutMs(options) + (this.cluster.options.requestTimeoutMs ?? 30_000);
  }

  /** Runs one request (or several, as one unit) with retries under the call's deadline. */
  call<T>(
    options: AdminCallOptions,
    fn: (signal: AbortSignal) => Promise<T>,
    hints: { topics?: readonly string[]; coordinator?: [CoordinatorType, string] } = {},
  ): Promise<T> {
    checkOptions(options);
    return this.cluster.retry((_attempt, signal) => fn(signal), {
      signal: options.signal,
      deadlineMs: options.timeoutMs,
      topics: hints.topics ?? [],
      coordinator: hints.coordinator,
    });
  }

  /**
   * Runs a batch call item by item: `attempt` is called with the items still pending and
   * reports each one's outcome; retriable item errors are retried (after a metadata refresh or
   * coordinator lookup when the error calls for one) until the deadline. Resolves with the
   * values in input order, or rejects with {@linkcode AdminBatchError} when any item failed.
   * A failure of the whole request rejects with that error.
   */
  async items<I, V>(
    options: AdminCallOptions,
    operation: string,
    items: readonly I[],
    nameOf: (item: I) => string,
    attempt: (pending: readonly I[], signal: AbortSignal) => Promise<ReadonlyArray<Outcome<I, V>>>,
    policy: ItemPolicy<I> = {},
  ): Promise<V[]> {
    checkOptions(options);
    if (new Set(items).size !== items.length) {
      throw new TypeError(`${operation}: the same item is listed twice`);
    }
    const done = new Map<I, V | KafkaError>();
    let pending: readonly I[] = items;
    const topicsOf = (list: readonly I[]) => {
      const set = new Set<string>();
      for (const i of list) {
        const t = policy.topicOf?.(i);
        if (t !== undefined) set.add(t);
      }
      return [...set];
    };
    const logger = this.cluster.logger;
    if (items.length > 0) {
      try {
        await this.cluster.retry(async (_n, signal) => {
          const out = await attempt(pending, signal);
          const again: (readonly [I, KafkaError])[] = [];
          const asked = new Set(pending);
          const seen = new Set<I>();
          for (const [item, result] of out) {
            if (seen.has(item) || !asked.has(item)) continue;
            seen.add(item);
            if (result instanceof KafkaError && this.#retriable(result, item, policy)) {
              again.push([item, result]);
            } else done.set(item, result);
          }
          for (const item of pending) {
            if (!seen.has(item)) {
              done.set(
                item,
                new KafkaError(`${operation}: the broker sent no result for ${nameOf(item)}`),
              );
            }
          }
          if (again.length > 0) {
            pending = again.map(([item]) => item);
            throw new RetryItems(again);
          }
        }, {
          signal: options.signal,
          deadlineMs: options.timeoutMs,
          onError: async (e, ctx) => {
            if (e instanceof RetryItems) {
              for (const [item, error] of e.failed as (readonly [I, KafkaError])[]) {
                logger.debug("admin item failed, retrying", {
                  operation,
                  item: nameOf(item),
                  attempt: ctx.attempt,
                  error: error instanceof ProtocolError ? error.errorName : error.name,
                });
              }
              // One recovery per distinct cause is enough: refreshes are shared anyway.
              const topics = topicsOf(pending);
              const coordinators = new Map<string, [CoordinatorType, string]>();
              for (const [item] of e.failed as (readonly [I, KafkaError])[]) {
                const c = policy.coordinatorOf?.(item);
                if (c) coordinators.set(c.join("\0"), c);
              }
              const refresh = e.failed.find(([, err]) => needsRefresh(err));
              if (refresh) await this.cluster.recover(refresh[1], { topics, signal: ctx.signal });
              for (const c of coordinators.values()) this.cluster.forgetCoordinator(...c);
              return true;
            }
            return await this.cluster.recover(e, { topics: topicsOf(pending), signal: ctx.signal });
          },
        });
      } catch (e) {
        // Out of time or attempts: the last error of each item is its result.
        const retry = e instanceof RetryItems
          ? e
          : e instanceof TimeoutError && e.cause instanceof RetryItems
          ? e.cause
          : undefined;
        if (retry === undefined) throw e;
        for (const [item, error] of retry.failed as (readonly [I, KafkaError])[]) {
          done.set(item, error);
        }
      }
    }
    const results: BatchItemResult<V>[] = items.map((item) => {
      const r = done.get(item);
      const name = nameOf(item);
      return r instanceof KafkaError
        ? { name, ok: false, error: r }
        : { name, ok: true, value: r as V };
    });
    if (results.some((r) => !r.ok)) {
      const error = new AdminBatchError<V>(operation, results);
      logger.debug("admin call had failed items", {
        operation,
        failed: error.failures().map((f) => ({
          item: f.name,
          error: f.error instanceof ProtocolError ? f.error.errorName : f.error.name,
        })),
      });
      throw error;
    }
    return results.map((r) => (r as { value: V }).value);
  }

  #retriable<I>(error: KafkaError, item: I, policy: ItemPolicy<I>): boolean {
    if (policy.retriable) return policy.retriable(error, item);
    return this.defaultRetriable(error, policy.topicOf?.(item));
  }

  /**
   * Whether an item error is worth retrying: retriable errors are, except "no such topic"
   * (UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID), which is final unless the topic was just
   * created and may not have reached every broker yet.
   */
  defaultRetriable(error: KafkaError, topic: string | undefined): boolean {
    if (!error.retriable) return false;
    if (
      error instanceof ProtocolError &&
      (error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
        error.code === ErrorCode.UNKNOWN_TOPIC_ID)
    ) {
      return topic !== undefined && this.cluster.topicMayAppear(topic);
    }
    return true;
  }

  /**
   * Sends items about partitions to each partition's leader (one request per leader, in
   * parallel). Items whose leader is unknown, and the items of a request that failed, get
   * that error as their outcome, so the engine retries just them.
   */
  async byLeader<I extends PartitionItem, V>(
    items: readonly I[],
    signal: AbortSignal,
    send: (node: number, items: readonly I[]) => Promise<ReadonlyArray<Outcome<I, V>>>,
  ): Promise<Outcome<I, V>[]> {
    const cache = this.cluster.metadata;
    const stale = new Set<string>();
    for (const i of items) {
      const p = cache.partition(i.topic, i.partition);
      if (!p || p.leader < 0) stale.add(i.topic);
    }
    let topicErrors = new Map<string, number>();
    if (stale.size > 0) topicErrors = await this.cluster.refreshMetadata([...stale], { signal });
    const out: Outcome<I, V>[] = [];
    const groups = new Map<number, I[]>();
    for (const i of items) {
      const p = cache.partition(i.topic, i.partition);
      if (!p) {
        const code = topicErrors.get(i.topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        out.push([i, new ProtocolError(code, `${i.topic}-${i.partition}`)]);
      } else if (p.leader < 0) {
        const code = p.errorCode !== ErrorCode.NONE ? p.errorCode : ErrorCode.LEADER_NOT_AVAILABLE;
        out.push([i, new ProtocolError(code, `${i.topic}-${i.partition}`)]);
      } else {
        const list = groups.get(p.leader);
        if (list) list.push(i);
        else groups.set(p.leader, [i]);
      }
    }
    const sent = await Promise.all(
      [...groups].map(([node, list]) => this.#guard(list, signal, () => send(node, list))),
    );
    for (const s of sent) out.push(...s);
    return out;
  }

  /**
   * Sends items to the coordinator of their group or transactional id (one request per
   * coordinator). Lookup and request failures become the items' outcomes.
   */
  async byCoordinator<I, V>(
    type: CoordinatorType,
    items: readonly I[],
    keyOf: (item: I) => string,
    signal: AbortSignal,
    send: (broker: BrokerInfo, items: readonly I[]) => Promise<ReadonlyArray<Outcome<I, V>>>,
  ): Promise<Outcome<I, V>[]> {
    const out: Outcome<I, V>[] = [];
    const groups = new Map<number, { broker: BrokerInfo; items: I[] }>();
    await Promise.all(items.map(async (i) => {
      try {
        const broker = await this.cluster.coordinator(type, keyOf(i), signal);
        const g = groups.get(broker.nodeId);
        if (g) g.items.push(i);
        else groups.set(broker.nodeId, { broker, items: [i] });
      } catch (e) {
        if (signal.aborted || !(e instanceof KafkaError)) throw e;
        out.push([i, e]);
      }
    }));
    const sent = await Promise.all(
      [...groups.values()].map((g) => this.#guard(g.items, signal, () => send(g.broker, g.items))),
    );
    for (const s of sent) out.push(...s);
    return out;
  }

  /**
   * Sends items in groups (one request per distinct `keyOf`, in parallel); a failed request
   * becomes the outcome of its items.
   */
  async grouped<I, V>(
    items: readonly I[],
    keyOf: (item: I) => string,
    signal: AbortSignal,
    send: (key: string, items: readonly I[]) => Promise<ReadonlyArray<Outcome<I, V>>>,
  ): Promise<Outcome<I, V>[]> {
    const groups = new Map<string, I[]>();
    for (const i of items) {
      const k = keyOf(i);
      const list = groups.get(k);
      if (list) list.push(i);
      else groups.set(k, [i]);
    }
    const sent = await Promise.all(
      [...groups].map(([k, list]) => this.#guard(list, signal, () => send(k, list))),
    );
    return sent.flat();
  }

  /** Runs `fn` for each listed broker (default: every broker in metadata), in parallel. */
  async eachBroker<T>(
    signal: AbortSignal,
    fn: (nodeId: number) => Promise<T>,
    nodes?: readonly number[],
  ): Promise<Map<number, T>> {
    let ids = nodes;
    if (ids === undefined) {
      await this.cluster.refreshMetadata([], { signal });
      ids = this.cluster.metadata.brokers().map((b) => b.nodeId).sort((a, b) => a - b);
    }
    const results = await Promise.all(ids.map(async (id) => [id, await fn(id)] as const));
    return new Map(results);
  }

  /**
   * Runs a batch call on ids (group or transactional ids) at their coordinators: `send` gets
   * one coordinator and the ids it owns. Per-id errors as {@linkcode AdminBatchError}; a
   * coordinator error makes the id's coordinator be looked up again.
   */
  atCoordinators<V>(
    type: CoordinatorType,
    options: AdminCallOptions,
    operation: string,
    ids: readonly string[],
    send: (
      broker: BrokerInfo,
      ids: readonly string[],
      signal: AbortSignal,
    ) => Promise<ReadonlyArray<Outcome<string, V>>>,
  ): Promise<V[]> {
    return this.items<string, V>(
      options,
      operation,
      ids,
      (id) => id,
      (pending, signal) =>
        this.byCoordinator(
          type,
          pending,
          (id) => id,
          signal,
          (broker, list) => send(broker, list, signal),
        ),
      { coordinatorOf: (id) => [type, id] },
    );
  }

  /**
   * A listing every broker answers for what it coordinates (groups, transactions): `ask` runs
   * on each broker in parallel; the lists are merged and sorted by `keyOf`.
   */
  listEveryBroker<T>(
    options: AdminCallOptions,
    ask: (node: number, signal: AbortSignal) => Promise<T[]>,
    keyOf: (item: T) => string,
  ): Promise<T[]> {
    return this.call(options, async (signal) => {
      const per = await this.eachBroker(signal, (node) => ask(node, signal));
      return [...per.values()].flat().sort((a, b) => {
        const x = keyOf(a);
        const y = keyOf(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
    });
  }

  /** The version the broker will speak for `api` on a connection to any broker. */
  async versionFor<Req, Res>(api: ApiDef<Req, Res>, signal: AbortSignal): Promise<number> {
    const conn = await this.cluster.connectToAny(signal);
    return conn.versionFor(api);
  }

  async #guard<I, V>(
    items: readonly I[],
    signal: AbortSignal,
    fn: () => Promise<ReadonlyArray<Outcome<I, V>>>,
  ): Promise<ReadonlyArray<Outcome<I, V>>> {
    try {
      return await fn();
    } catch (e) {
      if (signal.aborted || !(e instanceof KafkaError)) throw e;
      // One broker failing must not sink the items other brokers answered.
      return items.map((i) => [i, e] as const);
    }
  }
}

function checkOptions(options: AdminCallOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  if (
    options.timeoutMs !== undefined &&
    !(typeof options.timeoutMs === "number" && options.timeoutMs > 0)
  ) {
    throw new RangeError("options.timeoutMs must be a positive number");
  }
}

/**
 * Checks a list of ids (`what` names one: "group id", "transactional id"): an array of
 * non-empty strings, none listed twice.
 */
export function checkIds(ids: readonly string[], what: string): void {
  checkArray(ids, `${what}s`);
  const seen = new Set<string>();
  for (const id of ids) {
    if (typeof id !== "string" || id === "") throw new TypeError(`a ${what} must be a string`);
    if (seen.has(id)) throw new TypeError(`${what} "${id}" is listed twice`);
    seen.add(id);
  }
}

/** Throws a ProtocolError for a non-zero top-level error code. */
export function checkTopLevel(
  code: number,
  what: string,
  message?: string | null,
): void {
  if (code !== ErrorCode.NONE) throw new ProtocolError(code, what, message);
}

/** A partition's entry in a response's per-topic list, if the broker answered for it. */
export function findPartition<P extends { partitionIndex: number }>(
  topics: readonly { name: string; partitions: readonly P[] }[],
  tp: { topic: string; partition: number },
): P | undefined {
  return topics.find((t) => t.name === tp.topic)?.partitions.find((x) =>
    x.partitionIndex === tp.partition
  );
}

/**
 * The outcome of each item a response answered: `answerOf` finds an item's answer in the
 * response, `outcome` turns it into the item's value or error. An item without an answer is
 * left out; the per-item engine reports it as unanswered.
 */
export function answered<I, A, V>(
  items: readonly I[],
  answerOf: (item: I) => A | undefined,
  outcome: (answer: A, item: I) => V | KafkaError,
): Outcome<I, V>[] {
  const out: Outcome<I, V>[] = [];
  for (const item of items) {
    const answer = answerOf(item);
    if (answer !== undefined) out.push([item, outcome(answer, item)]);
  }
  return out;
}

/** Turns an item's error code into an outcome error, or undefined when it is 0. */
export function itemError(
  code: number,
  what: string,
  message?: string | null,
): ProtocolError | undefined {
  return code === ErrorCode.NONE ? undefined : new ProtocolError(code, what, message);
}

function needsRefresh(e: KafkaError): boolean {
  return e instanceof ConnectionError ||
    (e instanceof ProtocolError && (e.refreshMetadata || e.code === ErrorCode.NOT_CONTROLLER));
}

/**
 * For single-item forms (`createTopic`...): rethrows a batch error as its item's own error,
 * so callers can catch the ProtocolError directly.
 */
export function unwrapSingle(e: unknown): never {
  if (e instanceof AdminBatchError) {
    const first = e.errors[0];
    if (first) throw first;
  }
  throw e;
}

/** Throws TypeError unless `x` is an array (without narrowing readonly arrays to any[]). */
export function checkArray(x: unknown, what: string): void {
  if (!Array.isArray(x)) throw new TypeError(`${what} must be an array`);
}
