/**
 * The KIP-848 consumer group protocol (internal): one ConsumerGroupHeartbeat loop; the broker
 * assigns, the member reconciles (revoke first, committing; then take the new partitions) and
 * acknowledges what it owns in its next heartbeat.
 *
 * Correctness when the member is fenced or its epoch moves on:
 * - FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID from a heartbeat: every partition is *lost*
 *   (no commit: another member may already own them) and the member rejoins at epoch 0;
 * - STALE_MEMBER_EPOCH on a commit: the commit is retried with the epoch of the next
 *   heartbeat, for the partitions still owned. A commit is only ever considered done when
 *   the broker accepted it, so no offset is skipped; and a partition that moved is never
 *   committed by its old owner after it was revoked, so no commit regresses another's.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { backoffMs, sleep } from "../cluster/retry.ts";
import { Api } from "../protocol/apis.ts";
import type { ConsumerGroupHeartbeatResponse } from "../protocol/messages/consumer_group_heartbeat.ts";
import {
  KafkaError,
  ProtocolError,
  TimeoutError,
  UnsupportedFeatureError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import {
  type GroupHost,
  type GroupMembership,
  groupMetadata,
  minus,
  retryOrFail,
} from "./group.ts";
import { Notifier } from "./notifier.ts";
import { commitOffsets } from "./offsets.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import {
  type ConsumerGroupMetadata,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from "./types.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { COORDINATOR_ERRORS } from "../protocol/error_sets.ts";

/**
 * The error for a broker without the KIP-848 protocol: a typed, non-retriable failure that
 * says what to do, instead of UNSUPPORTED_VERSION from deep inside the heartbeat loop.
 */
function noConsumerProtocol(broker: string, cause: unknown): UnsupportedFeatureError {
  return new UnsupportedFeatureError("ConsumerGroupHeartbeat", {
    apiKey: Api.ConsumerGroupHeartbeat.key,
    broker,
    feature: "the consumer group protocol (KIP-848)",
    hint: 'use groupProtocol: "classic", or enable it on the broker (on by default from ' +
      "Kafka 4.0; a preview in 3.7-3.9: group.coordinator.rebalance.protocols=classic,consumer)",
    cause,
  });
}

/**
 * A member of a KIP-848 consumer group.
 *
 * @example
 * ```ts ignore
 * const group = new ModernGroup(cluster, options, host);
 * group.start();
 * await group.close(true);
 * ```
 */
export class ModernGroup implements GroupMembership {
  readonly #cluster: Cluster;
  readonly #options: ResolvedConsumerOptions;
  readonly #groupId: string;
  readonly #host: GroupHost;
  readonly #abort = new AbortController();
  readonly #wake = new Notifier();
  /** Wakes commits waiting for a new member epoch. */
  readonly #epochChanged = new Notifier();
  #memberId = "";
  #epoch = 0;
  #intervalMs = 5_000;
  #owned: TopicPartition[] = [];
  /** The newest assignment from the broker, not yet reconciled (topic id -> partitions). */
  #target: Map<string, number[]> | undefined;
  #reconciling: Promise<void> | undefined;
  /** Partitions lost to fencing, to report (in order with later assignments). */
  #lostPending: TopicPartition[] = [];
  /** Counts fencings, so a reconciliation that spans one stops. */
  #fences = 0;
  #sendFull = true;
  #ackNeeded = false;
  #subscription: string[] = [];
  #resolveNow = true;
  #subscriptionSent = "";
  #loop: Promise<void> | undefined;
  #closed = false;

  /** A member of `options.groupId` (not joined until {@linkcode start}). */
  constructor(cluster: Cluster, options: ResolvedConsumerOptions, host: GroupHost) {
    this.#cluster = cluster;
    this.#options = options;
    this.#groupId = options.groupId!;
    this.#host = host;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  metadata(): ConsumerGroupMetadata {
    return groupMetadata(this.#options, this.#memberId, this.#epoch > 0 ? this.#epoch : -1);
  }

  owned(): TopicPartition[] {
    return [...this.#owned];
  }

  subscriptionChanged(): void {
    this.#resolveNow = true;
    this.#wake.notify();
  }

  async commit(offsets: readonly TopicPartitionOffset[], signal?: AbortSignal): Promise<void> {
    let pending = [...offsets];
    const deadline = Date.now() + this.#cluster.retryPolicy.deadlineMs;
    let attempt = 0;
    while (pending.length > 0) {
      // Only the owner may commit: a partition revoked meanwhile was committed on revocation.
      const owned = new Set(this.#owned.map((tp) => tpKey(tp.topic, tp.partition)));
      pending = pending.filter((o) => owned.has(tpKey(o.topic, o.partition)));
      if (pending.length === 0) return;
      const epoch = this.#epoch;
      const errors = await this.#cluster.retry(
        (_a, sig) =>
          commitOffsets(this.#cluster, this.#groupId, pending, {
            generationIdOrMemberEpoch: epoch,
            memberId: this.#memberId,
            groupInstanceId: this.#options.groupInstanceId,
          }, sig),
        { coordinator: ["group", this.#groupId], ...signal && { signal } },
      );
      const failed: TopicPartitionOffset[] = [];
      let stale = false;
      for (const o of pending) {
        const code = errors.get(tpKey(o.topic, o.partition)) ?? ErrorCode.NONE;
        if (code === ErrorCode.NONE) continue;
        if (code === ErrorCode.STALE_MEMBER_EPOCH || COORDINATOR_ERRORS.has(code)) {
          stale ||= code === ErrorCode.STALE_MEMBER_EPOCH;
          failed.push(o);
          continue;
        }
        throw new ProtocolError(code, `OffsetCommit ${this.#groupId} ${o.topic}-${o.partition}`);
      }
      pending = failed;
      if (pending.length === 0) return;
      if (Date.now() >= deadline) {
        throw new TimeoutError(`OffsetCommit ${this.#groupId}: no current member epoch in time`, {
          timeoutMs: this.#cluster.retryPolicy.deadlineMs,
        });
      }
      if (stale && this.#abort.signal.aborted) {
        // Closing: no heartbeat will bring a newer epoch.
        throw new ProtocolError(
          ErrorCode.STALE_MEMBER_EPOCH,
          `OffsetCommit ${this.#groupId} while leaving`,
        );
      }
      if (stale && this.#epoch === epoch) {
        // The broker moved our epoch on; the next heartbeat tells us the new one.
        this.#wake.notify();
        await this.#epochChanged.wait(signal, this.#intervalMs + 1_000).catch((e) => {
          if (signal?.aborted) throw e;
        });
      } else {
        await sleep(backoffMs(this.#cluster.retryPolicy, ++attempt), signal);
      }
    }
  }

  async close(leave: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new KafkaError("consumer closed"));
    this.#wake.notify();
    await this.#loop?.catch(() => {});
    await this.#reconciling?.catch(() => {});
    if (this.#lostPending.length > 0) {
      const lost = this.#lostPending;
      this.#lostPending = [];
      await this.#host.revoked(lost, true).catch(() => {});
    }
    if (this.#owned.length > 0) {
      const owned = this.#owned;
      await this.#host.revoked(owned, false).catch((e) => {
        this.#host.logger.warn("revocation on close failed", { error: (e as Error).message });
      });
      this.#owned = [];
    }
    if (this.#epoch > 0 && this.#memberId !== "") {
      // -1 leaves; -2 is a static member's temporary leave (it keeps its assignment for the
      // session timeout, so a restart does not rebalance).
      const leaveEpoch = leave || this.#options.groupInstanceId === null ? -1 : -2;
      try {
        await this.#cluster.sendToCoordinator("group", this.#groupId, Api.ConsumerGroupHeartbeat, {
          groupId: this.#groupId,
          memberId: this.#memberId,
          memberEpoch: leaveEpoch,
          instanceId: this.#options.groupInstanceId,
        }, { lane: "heartbeat", timeoutMs: 5_000 });
      } catch (e) {
        this.#host.logger.warn("leaving the group failed", { error: (e as Error).message });
      }
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    let next = 0;
    let resolvedAt = 0;
    while (!signal.aborted) {
      try {
        // The subscription (a pattern's matches) is looked up again when told, or as often as
        // metadata is refreshed; not at every heartbeat.
        if (this.#resolveNow || Date.now() - resolvedAt >= this.#options.metadataMaxAgeMs) {
          this.#resolveNow = false;
          this.#subscription = [...await this.#host.resolveSubscription(signal)].sort();
          resolvedAt = Date.now();
        }
        const topics = this.#subscription;
        const wait = next - Date.now();
        if (wait > 0 && !this.#ackNeeded && this.#subscriptionSent === topics.join("\u0000")) {
          await this.#wake.wait(signal, Math.min(wait, this.#options.metadataMaxAgeMs));
          continue;
        }
        await this.#heartbeat(signal);
        failures = 0;
        next = Date.now() + this.#intervalMs;
      } catch (e) {
        if (signal.aborted) return;
        const what = "consumer group heartbeat failed";
        const at = { group: this.#groupId, what, failures: ++failures, signal };
        if (!await retryOrFail(this.#host, this.#cluster, e, at)) return;
      }
    }
  }

  async #heartbeat(signal: AbortSignal): Promise<void> {
    const conn = await this.#cluster.connectTo(
      await this.#cluster.coordinator("group", this.#groupId, signal),
      "heartbeat",
      signal,
    );
    let version: number;
    try {
      version = conn.versionFor(Api.ConsumerGroupHeartbeat);
    } catch (e) {
      if (e instanceof UnsupportedVersionError) throw noConsumerProtocol(conn.broker, e);
      throw e;
    }
    if (this.#memberId === "" && version >= 1) this.#memberId = crypto.randomUUID();
    const full = this.#sendFull || this.#epoch === 0;
    const topics = this.#subscription;
    const subKey = topics.join("\u0000");
    const sendSubscription = full || subKey !== this.#subscriptionSent;
    const ownedNow = this.#owned;
    const sendOwned = full || this.#ackNeeded;
    let res: ConsumerGroupHeartbeatResponse;
    try {
      res = await conn.request(Api.ConsumerGroupHeartbeat, {
        groupId: this.#groupId,
        memberId: this.#memberId,
        memberEpoch: this.#epoch,
        instanceId: full ? this.#options.groupInstanceId : null,
        rackId: full ? this.#options.rackId : null,
        rebalanceTimeoutMs: full ? this.#options.rebalanceTimeoutMs : -1,
        subscribedTopicNames: sendSubscription ? topics : null,
        serverAssignor: full ? this.#options.serverAssignor : null,
        topicPartitions: sendOwned ? this.#topicIdPartitions(ownedNow) : null,
      }, { signal, timeoutMs: Math.max(this.#options.rebalanceTimeoutMs, 30_000) });
    } catch (e) {
      this.#cluster.forgetCoordinator("group", this.#groupId);
      throw e;
    }
    const code = res.errorCode;
    if (code === ErrorCode.NONE) {
      if (res.memberId) this.#memberId = res.memberId;
      if (res.memberEpoch !== this.#epoch) {
        this.#epoch = res.memberEpoch;
        this.#epochChanged.notify();
      }
      if (res.heartbeatIntervalMs > 0) this.#intervalMs = res.heartbeatIntervalMs;
      this.#sendFull = false;
      if (sendSubscription) this.#subscriptionSent = subKey;
      if (sendOwned && ownedNow === this.#owned) this.#ackNeeded = false;
      if (res.assignment) {
        this.#target = new Map(
          res.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions]]),
        );
        this.#startReconcile();
      }
      return;
    }
    if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.#host.logger.warn("fenced from the consumer group, rejoining", {
        group: this.#groupId,
        errorCode: code,
      });
      // Lost, not revoked: no commit. The reconcile task tells the consumer, in order with
      // any assignment that follows the rejoin.
      this.#lostPending.push(...this.#owned);
      this.#owned = [];
      this.#fences++;
      this.#target = undefined;
      this.#epoch = 0;
      this.#sendFull = true;
      this.#ackNeeded = false;
      this.#epochChanged.notify();
      this.#startReconcile();
      return;
    }
    if (COORDINATOR_ERRORS.has(code)) {
      this.#cluster.forgetCoordinator("group", this.#groupId);
      throw new ProtocolError(code, `ConsumerGroupHeartbeat ${this.#groupId}`, res.errorMessage);
    }
    if (code === ErrorCode.UNSUPPORTED_VERSION) {
      // A 3.x broker lists the API but answers it so while its KIP-848 coordinator is off;
      // Java's consumer fails at once here too (it does not fall back to classic).
      throw noConsumerProtocol(
        conn.broker,
        new ProtocolError(code, `ConsumerGroupHeartbeat ${this.#groupId}`, res.errorMessage),
      );
    }
    if (code === ErrorCode.UNRELEASED_INSTANCE_ID) {
      // The previous incarnation of this static member has not left yet: try again.
      throw new KafkaError(
        `ConsumerGroupHeartbeat ${this.#groupId}: instance id still in use (${code})`,
        { retriable: true },
      );
    }
    throw new ProtocolError(code, `ConsumerGroupHeartbeat ${this.#groupId}`, res.errorMessage);
  }

  #topicIdPartitions(owned: readonly TopicPartition[]) {
    const byTopic = new Map<string, number[]>();
    for (const tp of owned) {
      const id = this.#cluster.metadata.topic(tp.topic)?.topicId;
      if (!id) continue;
      let list = byTopic.get(id);
      if (!list) byTopic.set(id, list = []);
      list.push(tp.partition);
    }
    return [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions }));
  }

  #startReconcile(): void {
    if (this.#reconciling) return;
    this.#reconciling = this.#reconcile().catch((e) => {
      if (!this.#abort.signal.aborted) this.#host.fail(e);
    }).finally(() => {
      this.#reconciling = undefined;
      const more = this.#target !== undefined || this.#lostPending.length > 0;
      if (more && !this.#abort.signal.aborted) this.#startReconcile();
    });
  }

  /** Moves the owned partitions to the newest target: revoke (commit) first, then assign. */
  async #reconcile(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (this.#lostPending.length > 0) {
        const lost = this.#lostPending;
        this.#lostPending = [];
        await this.#host.revoked(lost, true);
        continue;
      }
      const target = this.#target;
      if (!target) return;
      let unresolved = false;
      const wanted: TopicPartition[] = [];
      for (const [topicId, partitions] of target) {
        let name = this.#cluster.metadata.topicName(topicId);
        if (name === undefined) {
          await this.#cluster.refreshMetadata(this.#subscription, { signal }).catch(() => {});
          name = this.#cluster.metadata.topicName(topicId);
        }
        if (name === undefined) {
          unresolved = true;
          continue;
        }
        for (const p of partitions) wanted.push({ topic: name, partition: p });
      }
      const fences = this.#fences;
      const revoked = minus(this.#owned, wanted);
      const added = minus(wanted, this.#owned);
      if (revoked.length > 0) {
        await this.#host.revoked(revoked, false);
        this.#owned = minus(this.#owned, revoked);
      }
      if (fences !== this.#fences) continue;
      if (added.length > 0) {
        this.#owned = [...this.#owned, ...added];
        await this.#host.assigned(added);
      }
      if (revoked.length > 0 || added.length > 0) {
        this.#ackNeeded = true;
        this.#wake.notify();
      }
      if (this.#target === target) {
        if (!unresolved) this.#target = undefined;
        else await sleep(backoffMs(this.#cluster.retryPolicy, 1), signal);
      }
    }
  }
}
