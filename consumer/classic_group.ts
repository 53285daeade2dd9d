/**
 * The classic group protocol (internal): JoinGroup, SyncGroup, Heartbeat, LeaveGroup, with
 * client-side assignors, eager or cooperative (KIP-429) rebalancing and static membership
 * (KIP-345).
 *
 * Heartbeats run on their own timer and connection lane, whatever the reader does: a slow
 * reader never makes the member miss its session and trigger a rebalance. Rebalances are run
 * by one loop, so joins, revocations and assignments never interleave.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { sleep } from "../cluster/retry.ts";
import { Api } from "../protocol/apis.ts";
import { KafkaError, ProtocolError } from "../protocol/errors.ts";
import type { Assignor } from "./assignor.ts";
import {
  CONSUMER_PROTOCOL_VERSION,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "./consumer_protocol.ts";
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
import type { ConsumerGroupMetadata, TopicPartition, TopicPartitionOffset } from "./types.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { COORDINATOR_ERRORS } from "../protocol/error_sets.ts";

/** Thrown inside the loop to start the join over (not an error for the user). */
class Rejoin extends KafkaError {
  constructor(why: string) {
    super(why, { retriable: true });
  }
}

/**
 * A member of a classic consumer group.
 *
 * @example
 * ```ts ignore
 * const group = new ClassicGroup(cluster, options, assignors, host);
 * group.start();
 * await group.close(true);
 * ```
 */
export class ClassicGroup implements GroupMembership {
  readonly #cluster: Cluster;
  readonly #options: ResolvedConsumerOptions;
  readonly #groupId: string;
  readonly #assignors: readonly Assignor[];
  readonly #cooperative: boolean;
  readonly #host: GroupHost;
  readonly #abort = new AbortController();
  readonly #wake = new Notifier();
  #memberId = "";
  #generation = -1;
  #owned: TopicPartition[] = [];
  /** The last assignment received (the sticky assignor's "previous assignment"). */
  #lastAssignment: TopicPartition[] = [];
  #rejoin = true;
  #lost = false;
  #loop: Promise<void> | undefined;
  #heartbeat: Promise<void> | undefined;
  #heartbeatAbort: AbortController | undefined;
  /** Partition counts of the topics the last assignment covered (to notice new partitions). */
  #snapshot = new Map<string, number>();
  #subscribed: string[] = [];
  #closed = false;

  /** A member of `options.groupId` (not joined until {@linkcode start}). */
  constructor(
    cluster: Cluster,
    options: ResolvedConsumerOptions,
    assignors: readonly Assignor[],
    host: GroupHost,
  ) {
    this.#cluster = cluster;
    this.#options = options;
    this.#groupId = options.groupId!;
    this.#assignors = assignors;
    // Java's rule: cooperative only when every configured assignor supports it.
    this.#cooperative = assignors.every((a) => a.rebalanceProtocol === "cooperative");
    this.#host = host;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  metadata(): ConsumerGroupMetadata {
    return groupMetadata(this.#options, this.#memberId, this.#generation);
  }

  owned(): TopicPartition[] {
    return [...this.#owned];
  }

  subscriptionChanged(): void {
    this.#rejoin = true;
    this.#wake.notify();
  }

  async commit(offsets: readonly TopicPartitionOffset[], signal?: AbortSignal): Promise<void> {
    if (offsets.length === 0) return;
    await this.#cluster.retry(async (_attempt, sig) => {
      const errors = await commitOffsets(this.#cluster, this.#groupId, offsets, {
        generationIdOrMemberEpoch: this.#generation,
        memberId: this.#memberId,
        groupInstanceId: this.#options.groupInstanceId,
      }, sig);
      for (const [key, code] of errors) {
        if (code === ErrorCode.NONE) continue;
        if (code === ErrorCode.REBALANCE_IN_PROGRESS || code === ErrorCode.ILLEGAL_GENERATION) {
          // The group moved on: offsets are committed again on revocation (Java's
          // CommitFailedException / RebalanceInProgressException).
          this.subscriptionChanged();
        }
        throw new ProtocolError(
          code,
          `OffsetCommit ${this.#groupId} ${key.replace("\u0000", "-")}`,
        );
      }
    }, { coordinator: ["group", this.#groupId], ...signal && { signal } });
  }

  async close(leave: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new KafkaError("consumer closed"));
    this.#wake.notify();
    await this.#stopHeartbeat();
    await this.#loop?.catch(() => {});
    if (this.#owned.length > 0) {
      const owned = this.#owned;
      this.#owned = [];
      await this.#host.revoked(owned, this.#lost).catch((e) => {
        this.#host.logger.warn("revocation on close failed", { error: (e as Error).message });
      });
    }
    if (leave && this.#memberId !== "") {
      try {
        const broker = await this.#cluster.coordinator("group", this.#groupId);
        const conn = await this.#cluster.connectTo(broker, "commit");
        const version = conn.versionFor(Api.LeaveGroup);
        // v3+ (KIP-345) names members, with their static ids; before, one member id.
        const res = await conn.request(
          Api.LeaveGroup,
          version >= 3
            ? {
              groupId: this.#groupId,
              members: [{
                memberId: this.#memberId,
                groupInstanceId: this.#options.groupInstanceId,
                reason: "the consumer is closing",
              }],
            }
            : { groupId: this.#groupId, memberId: this.#memberId },
          { timeoutMs: 5_000 },
        );
        const code = res.errorCode || (res.members?.[0]?.errorCode ?? ErrorCode.NONE);
        if (code !== ErrorCode.NONE) throw new ProtocolError(code, `LeaveGroup ${this.#groupId}`);
      } catch (e) {
        this.#host.logger.warn("LeaveGroup failed", { error: (e as Error).message });
      }
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.#rejoin) {
          await this.#wake.wait(signal, this.#options.metadataMaxAgeMs);
          if (!this.#rejoin && !signal.aborted) await this.#checkMetadata(signal);
          continue;
        }
        await this.#joinAndSync(signal);
        failures = 0;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof Rejoin) {
          this.#host.logger.debug("rejoining", { group: this.#groupId, why: e.message });
          continue;
        }
        const what = "group rebalance failed";
        const at = { group: this.#groupId, what, failures: ++failures, signal };
        if (!await retryOrFail(this.#host, this.#cluster, e, at)) return;
      }
    }
  }

  /** Rejoins when the subscription or the partition counts it covers changed. */
  async #checkMetadata(signal: AbortSignal): Promise<void> {
    try {
      const topics = await this.#host.resolveSubscription(signal);
      const mine = [...topics].sort();
      if (mine.join("\u0000") !== this.#subscribed.join("\u0000")) {
        this.#rejoin = true;
        return;
      }
      // The topics this member subscribes to and, for the leader, every member's: a new
      // topic (count 0 before) or new partitions call for a rebalance.
      for (const topic of new Set([...this.#snapshot.keys(), ...mine])) {
        const count = this.#snapshot.get(topic) ?? 0;
        const now = this.#cluster.metadata.topic(topic)?.partitions.length ?? 0;
        if (now !== count) {
          this.#host.logger.info("partition count changed, rejoining", { topic, count: now });
          this.#rejoin = true;
          return;
        }
      }
    } catch (e) {
      if (!signal.aborted) {
        this.#host.logger.warn("metadata check failed", { error: (e as Error).message });
      }
    }
  }

  async #loseAll(): Promise<void> {
    this.#lost = false;
    if (this.#owned.length === 0) return;
    const owned = this.#owned;
    this.#owned = [];
    await this.#host.revoked(owned, true);
  }

  async #joinAndSync(signal: AbortSignal): Promise<void> {
    await this.#stopHeartbeat();
    if (this.#lost) await this.#loseAll();
    const topics = [...await this.#host.resolveSubscription(signal)].sort();
    this.#subscribed = topics;
    this.#snapshot = new Map(
      topics.map((t) => [t, this.#cluster.metadata.topic(t)?.partitions.length ?? 0]),
    );
    if (!this.#cooperative && this.#owned.length > 0) {
      // Eager protocol: give everything up before joining (commits happen in revoked()).
      const owned = this.#owned;
      this.#owned = [];
      await this.#host.revoked(owned, false);
    }
    const protocols = this.#assignors.map((a) => ({
      name: a.name,
      metadata: encodeSubscription({
        version: CONSUMER_PROTOCOL_VERSION,
        topics,
        userData: a.userData?.({
          owned: this.#cooperative ? this.#owned : this.#lastAssignment,
          generation: this.#generation,
        }) ?? null,
        ownedPartitions: this.#owned,
        generationId: this.#generation,
        rackId: this.#options.rackId,
      }),
    }));
    const join = await this.#joinGroup(protocols, signal);
    this.#generation = join.generationId;
    this.#memberId = join.memberId;
    const protocol = join.protocolName ?? "";
    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    if (join.leader === join.memberId && !join.skipAssignment) {
      assignments = await this.#assign(protocol, join.members, signal);
    }
    const sync = await this.#cluster.sendToCoordinator("group", this.#groupId, Api.SyncGroup, {
      groupId: this.#groupId,
      generationId: this.#generation,
      memberId: this.#memberId,
      groupInstanceId: this.#options.groupInstanceId,
      protocolType: "consumer",
      protocolName: protocol,
      assignments,
    }, { lane: "join", signal, timeoutMs: this.#options.rebalanceTimeoutMs + 5_000 });
    if (sync.errorCode !== ErrorCode.NONE) this.#groupError(sync.errorCode, "SyncGroup");
    const assignment = decodeAssignment(sync.assignment).partitions;
    this.#lastAssignment = assignment;
    this.#rejoin = false;
    this.#startHeartbeat();
    this.#host.logger.info("joined group", {
      group: this.#groupId,
      generation: this.#generation,
      member: this.#memberId,
      protocol,
      partitions: assignment.length,
    });
    if (this.#cooperative) {
      const revoked = minus(this.#owned, assignment);
      const added = minus(assignment, this.#owned);
      if (revoked.length > 0) {
        this.#owned = minus(this.#owned, revoked);
        await this.#host.revoked(revoked, false);
        // KIP-429: the partitions given up go to their new owners in a follow-up rebalance.
        this.#rejoin = true;
      }
      if (added.length > 0) {
        this.#owned = [...this.#owned, ...added];
        await this.#host.assigned(added);
      }
    } else {
      this.#owned = assignment;
      if (assignment.length > 0) await this.#host.assigned(assignment);
    }
  }

  async #joinGroup(protocols: { name: string; metadata: Uint8Array }[], signal: AbortSignal) {
    for (;;) {
      const res = await this.#cluster.sendToCoordinator("group", this.#groupId, Api.JoinGroup, {
        groupId: this.#groupId,
        sessionTimeoutMs: this.#options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.#options.rebalanceTimeoutMs,
        memberId: this.#memberId,
        groupInstanceId: this.#options.groupInstanceId,
        protocolType: "consumer",
        protocols,
        reason: null,
      }, { lane: "join", signal, timeoutMs: this.#options.rebalanceTimeoutMs + 5_000 });
      if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        // KIP-394: the coordinator gives the id, then waits for a join that uses it.
        this.#memberId = res.memberId;
        continue;
      }
      if (res.errorCode !== ErrorCode.NONE) this.#groupError(res.errorCode, "JoinGroup");
      return res;
    }
  }

  /** Handles a group error code of JoinGroup/SyncGroup/Heartbeat; always throws. */
  #groupError(code: number, api: string): never {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION) {
      // Our membership is gone: the partitions we hold are lost, not revoked.
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
      this.#generation = -1;
      this.#lost = this.#owned.length > 0;
      this.#rejoin = true;
      throw new Rejoin(
        `${api}: ${code === ErrorCode.UNKNOWN_MEMBER_ID ? "unknown member" : "old generation"}`,
      );
    }
    if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
      this.#rejoin = true;
      throw new Rejoin(`${api}: rebalance in progress`);
    }
    if (COORDINATOR_ERRORS.has(code)) this.#cluster.forgetCoordinator("group", this.#groupId);
    if (code === ErrorCode.FENCED_INSTANCE_ID) {
      throw new ProtocolError(
        code,
        `${api} ${this.#groupId}: another instance uses ` +
          `group.instance.id "${this.#options.groupInstanceId}"`,
      );
    }
    throw new ProtocolError(code, `${api} ${this.#groupId}`);
  }

  /** The leader's job: run the chosen assignor over every member's subscription. */
  async #assign(
    protocol: string,
    members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[],
    signal: AbortSignal,
  ): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const assignor = this.#assignors.find((a) => a.name === protocol);
    if (!assignor) {
      throw new KafkaError(`the group chose assignor "${protocol}", which this member lacks`);
    }
    const decoded = members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      subscription: decodeSubscription(m.metadata),
    }));
    const topics = [...new Set(decoded.flatMap((m) => m.subscription.topics))].sort();
    if (topics.some((t) => !this.#cluster.metadata.topic(t))) {
      await this.#cluster.refreshMetadata(topics, { signal });
    }
    const counts = new Map<string, number>();
    for (const t of topics) {
      const info = this.#cluster.metadata.topic(t);
      if (info && info.partitions.length > 0) counts.set(t, info.partitions.length);
    }
    // The leader watches every member's topics for new partitions.
    for (const t of topics) this.#snapshot.set(t, counts.get(t) ?? 0);
    const result = assignor.assign(decoded, counts);
    return decoded.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment({
        version: CONSUMER_PROTOCOL_VERSION,
        partitions: result.get(m.memberId) ?? [],
        userData: null,
      }),
    }));
  }

  #startHeartbeat(): void {
    const ctl = new AbortController();
    this.#heartbeatAbort = ctl;
    const generation = this.#generation;
    this.#heartbeat = this.#heartbeatLoop(generation, ctl.signal);
  }

  async #stopHeartbeat(): Promise<void> {
    this.#heartbeatAbort?.abort();
    this.#heartbeatAbort = undefined;
    await this.#heartbeat;
    this.#heartbeat = undefined;
  }

  async #heartbeatLoop(generation: number, signal: AbortSignal): Promise<void> {
    let wait = this.#options.heartbeatIntervalMs;
    while (!signal.aborted) {
      try {
        await sleep(wait, signal);
      } catch {
        return;
      }
      wait = this.#options.heartbeatIntervalMs;
      try {
        const res = await this.#cluster.sendToCoordinator("group", this.#groupId, Api.Heartbeat, {
          groupId: this.#groupId,
          generationId: generation,
          memberId: this.#memberId,
          groupInstanceId: this.#options.groupInstanceId,
        }, {
          lane: "heartbeat",
          signal,
          timeoutMs: Math.max(
            this.#options.heartbeatIntervalMs,
            this.#options.sessionTimeoutMs / 2,
          ),
        });
        if (res.errorCode === ErrorCode.NONE) continue;
        if (COORDINATOR_ERRORS.has(res.errorCode)) {
          this.#cluster.forgetCoordinator("group", this.#groupId);
          wait = Math.min(wait, 500);
          continue;
        }
        if (res.errorCode === ErrorCode.FENCED_INSTANCE_ID) {
          this.#host.fail(new ProtocolError(res.errorCode, `Heartbeat ${this.#groupId}`));
          return;
        }
        if (
          res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID ||
          res.errorCode === ErrorCode.ILLEGAL_GENERATION
        ) {
          if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
          this.#generation = -1;
          this.#lost = this.#owned.length > 0;
        }
        // REBALANCE_IN_PROGRESS and the above: rejoin (the loop stops this heartbeat).
        this.#host.logger.info("rebalance needed", {
          group: this.#groupId,
          errorCode: res.errorCode,
        });
        this.#rejoin = true;
        this.#wake.notify();
        return;
      } catch (e) {
        if (signal.aborted) return;
        // Coordinator unreachable: find it again and retry soon, within the session.
        this.#cluster.forgetCoordinator("group", this.#groupId);
        this.#host.logger.debug("heartbeat failed", { error: (e as Error).message });
        wait = Math.min(this.#options.heartbeatIntervalMs, 500);
      }
    }
  }
}
