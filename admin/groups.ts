/**
 * Consumer groups: list, describe (classic and KIP-848 groups), delete; list, alter and delete
 * a group's committed offsets; remove members.
 *
 * @module
 */

import type { BrokerInfo } from "../cluster/metadata.ts";
import type { TopicPartition, TopicPartitionOffset } from "../cluster/types.ts";
import { Api, type ApiDef } from "../protocol/apis.ts";
import { decodeConsumerAssignment } from "../protocol/consumer_protocol.ts";
import {
  DecodeError,
  type KafkaError,
  ProtocolError,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import { offsetFetchAnswer, offsetFetchRequest } from "../protocol/offset_fetch.ts";
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
  unwrapSingle,
} from "./context.ts";
import { type AclOperation, authorizedOperations } from "./enums.ts";
import { checkPartition, partitionName } from "./offsets.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/**
 * Connections whose broker lists ConsumerGroupDescribe but answered it UNSUPPORTED_VERSION
 * (Kafka 3.x with the KIP-848 coordinator off): their groups go straight to DescribeGroups.
 */
const noConsumerGroupDescribe = new WeakSet<object>();
/** OffsetFetch/OffsetCommit v10 address topics by id only; the admin speaks names (v9). */
const MAX_OFFSET_API_VERSION = 9;

/**
 * A group in `listGroups`.
 *
 * @example
 * ```ts
 * import type { GroupListing } from "@denokafka/kafka/admin";
 * const empty = (g: GroupListing) => g.state === "Empty";
 * console.log(typeof empty);
 * ```
 */
export interface GroupListing {
  /** The group id. */
  readonly groupId: string;
  /** `consumer` for consumer groups, `connect`, or `""` (classic groups only use it). */
  readonly protocolType: string;
  /** Its state, e.g. `Stable`, `Empty` (from brokers that report it). */
  readonly state: string;
  /** `classic`, `consumer` (KIP-848), `share`, `streams` (from brokers that report it). */
  readonly type: string;
  /** The coordinator's node id. */
  readonly coordinator: number;
}

/**
 * Options of `listGroups`.
 *
 * @example
 * ```ts
 * import type { ListGroupsOptions } from "@denokafka/kafka/admin";
 * const o: ListGroupsOptions = { states: ["Stable"], types: ["consumer"] };
 * console.log(o.states);
 * ```
 */
export interface ListGroupsOptions extends AdminCallOptions {
  /** Only groups in these states (ListGroups v4+). */
  states?: readonly string[];
  /** Only groups of these types (ListGroups v5+). */
  types?: readonly string[];
}

/**
 * A member of a group.
 *
 * @example
 * ```ts
 * import type { GroupMember } from "@denokafka/kafka/admin";
 * const show = (m: GroupMember) => `${m.clientId}@${m.clientHost}: ${m.assignment.length}`;
 * console.log(typeof show);
 * ```
 */
export interface GroupMember {
  /** The member id. */
  readonly memberId: string;
  /** The static member id (KIP-345), if any. */
  readonly groupInstanceId: string | null;
  /** The client id. */
  readonly clientId: string;
  /** The client host as the broker saw it. */
  readonly clientHost: string;
  /** Its assigned partitions (decoded for consumer groups; empty otherwise). */
  readonly assignment: readonly TopicPartition[];
  /** KIP-848 groups: the member epoch. */
  readonly memberEpoch?: number | undefined;
  /** KIP-848 groups: subscribed topic names. */
  readonly subscribedTopics?: readonly string[] | undefined;
  /** KIP-848 groups: the assignment being moved towards. */
  readonly targetAssignment?: readonly TopicPartition[] | undefined;
  /** KIP-848 groups: the member's rack. */
  readonly rackId?: string | null | undefined;
}

/**
 * A group's state and members.
 *
 * @example
 * ```ts
 * import type { GroupDescription } from "@denokafka/kafka/admin";
 * const size = (g: GroupDescription) => g.members.length;
 * console.log(typeof size);
 * ```
 */
export interface GroupDescription {
  /** The group id. */
  readonly groupId: string;
  /** `classic` (JoinGroup protocol) or `consumer` (KIP-848). */
  readonly type: "classic" | "consumer";
  /** Its state, e.g. `Stable`, `Empty`, `PreparingRebalance`. */
  readonly state: string;
  /** `consumer` for consumer groups (classic groups; `consumer` for KIP-848 groups too). */
  readonly protocolType: string;
  /** The partition assignor in use (`range`, `uniform`...), or `""`. */
  readonly protocol: string;
  /** The coordinator's node id. */
  readonly coordinator: number;
  /** The members. */
  readonly members: readonly GroupMember[];
  /** KIP-848 groups: the group epoch. */
  readonly groupEpoch?: number | undefined;
  /** KIP-848 groups: the assignment epoch. */
  readonly assignmentEpoch?: number | undefined;
  /** What the caller may do with the group, when asked for. */
  readonly authorizedOperations?: readonly AclOperation[] | undefined;
}

/**
 * Options of `describeGroups`.
 *
 * @example
 * ```ts
 * import type { DescribeGroupsOptions } from "@denokafka/kafka/admin";
 * const o: DescribeGroupsOptions = { includeAuthorizedOperations: true };
 * console.log(o.includeAuthorizedOperations);
 * ```
 */
export interface DescribeGroupsOptions extends AdminCallOptions {
  /** Ask which operations the caller may perform on each group (KIP-430). */
  includeAuthorizedOperations?: boolean;
}

/**
 * Options of `listGroupOffsets`.
 *
 * @example
 * ```ts
 * import type { ListGroupOffsetsOptions } from "@denokafka/kafka/admin";
 * const o: ListGroupOffsetsOptions = { partitions: [{ topic: "orders", partition: 0 }] };
 * console.log(o.partitions?.length);
 * ```
 */
export interface ListGroupOffsetsOptions extends AdminCallOptions {
  /** Only these partitions (those without a commit come back with offset -1n). Default all. */
  partitions?: readonly TopicPartition[];
  /** Wait for pending transactional commits to settle (KIP-447). */
  requireStable?: boolean;
}

/**
 * A member to remove from a group: by static instance id (KIP-345) or member id.
 *
 * @example
 * ```ts
 * import type { MemberToRemove } from "@denokafka/kafka/admin";
 * const m: MemberToRemove = { groupInstanceId: "worker-1" };
 * console.log(m.groupInstanceId);
 * ```
 */
export interface MemberToRemove {
  /** The static member's instance id. */
  readonly groupInstanceId?: string | undefined;
  /** The member id (dynamic members). */
  readonly memberId?: string | undefined;
  /** Why (shown in broker logs, LeaveGroup v5+). */
  readonly reason?: string | undefined;
}

function checkGroupId(id: unknown): asserts id is string {
  if (typeof id !== "string" || id === "") throw new TypeError("a group id must be a string");
}

/**
 * A member's assignment (topic → partitions) for describeGroups; undefined when malformed: a
 * member of another client may carry bytes we cannot read, which must not fail the whole call.
 */
function decodeAssignment(bytes: Uint8Array): TopicPartition[] | undefined {
  try {
    return decodeConsumerAssignment(bytes).value.assignedPartitions.flatMap((t) =>
      t.partitions.map((partition) => ({ topic: t.topic, partition }))
    );
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

function byTopic<T extends TopicPartition>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) m.set(i.topic, [...m.get(i.topic) ?? [], i]);
  return m;
}

async function offsetApiConnection<Req, Res>(
  ctx: AdminContext,
  broker: BrokerInfo,
  api: ApiDef<Req, Res>,
  signal: AbortSignal,
) {
  const conn = await ctx.cluster.connectTo(broker, "default", signal);
  const version = Math.min(
    conn.versionFor(api),
    MAX_OFFSET_API_VERSION,
  );
  return { conn, version };
}

/** ListGroups on every broker (each lists the groups it coordinates). */
export function listGroups(
  ctx: AdminContext,
  options: ListGroupsOptions = {},
): Promise<GroupListing[]> {
  return ctx.listEveryBroker(options, async (node, signal) => {
    const res = await ctx.cluster.send({ node }, Api.ListGroups, {
      statesFilter: options.states ?? [],
      typesFilter: options.types ?? [],
    }, { signal });
    checkTopLevel(res.errorCode, `ListGroups on broker ${node}`);
    return res.groups.map((g): GroupListing => ({
      groupId: g.groupId,
      protocolType: g.protocolType,
      state: g.groupState,
      type: g.groupType,
      coordinator: node,
    }));
  }, (g) => g.groupId);
}

/** Describes groups at their coordinators; per-group errors as AdminBatchError. */
export function describeGroups(
  ctx: AdminContext,
  groupIds: readonly string[],
  options: DescribeGroupsOptions = {},
): Promise<GroupDescription[]> {
  checkIds(groupIds, "group id");
  const includeOps = options.includeAuthorizedOperations ?? false;
  return ctx.atCoordinators<GroupDescription>(
    "group",
    options,
    "describeGroups",
    groupIds,
    async (broker, list, signal) => {
      const conn = await ctx.cluster.connectTo(broker, "default", signal);
      const out: Outcome<string, GroupDescription>[] = [];
      let classic: readonly string[] = list;
      // KIP-848 groups are only described by ConsumerGroupDescribe; classic ones answer it
      // with GROUP_ID_NOT_FOUND and are asked again with DescribeGroups, as Java does.
      // A 3.x broker may list the API yet answer UNSUPPORTED_VERSION (its KIP-848
      // coordinator is off): those groups fall back to DescribeGroups too, as Java's
      // DescribeConsumerGroupsHandler does.
      if (
        conn.versions.has(Api.ConsumerGroupDescribe.key) && !noConsumerGroupDescribe.has(conn)
      ) {
        let res;
        try {
          res = await conn.request(Api.ConsumerGroupDescribe, {
            groupIds: list,
            includeAuthorizedOperations: includeOps,
          }, { signal });
        } catch (e) {
          if (!(e instanceof UnsupportedVersionError)) throw e;
          noConsumerGroupDescribe.add(conn);
        }
        const again: string[] = [];
        for (const id of res ? list : []) {
          const g = res!.groups.find((x) => x.groupId === id);
          if (g?.errorCode === ErrorCode.UNSUPPORTED_VERSION) noConsumerGroupDescribe.add(conn);
          if (
            !g || g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ||
            g.errorCode === ErrorCode.UNSUPPORTED_VERSION
          ) {
            again.push(id);
            continue;
          }
          const err = itemError(g.errorCode, `group ${id}`, g.errorMessage);
          out.push([
            id,
            err ?? {
              groupId: id,
              type: "consumer",
              state: g.groupState,
              protocolType: "consumer",
              protocol: g.assignorName,
              coordinator: broker.nodeId,
              groupEpoch: g.groupEpoch,
              assignmentEpoch: g.assignmentEpoch,
              members: g.members.map((m) => ({
                memberId: m.memberId,
                groupInstanceId: m.instanceId,
                clientId: m.clientId,
                clientHost: m.clientHost,
                assignment: m.assignment.topicPartitions.flatMap((t) =>
                  t.partitions.map((partition) => ({ topic: t.topicName, partition }))
                ),
                memberEpoch: m.memberEpoch,
                subscribedTopics: m.subscribedTopicNames,
                targetAssignment: m.targetAssignment.topicPartitions.flatMap((t) =>
                  t.partitions.map((partition) => ({ topic: t.topicName, partition }))
                ),
                rackId: m.rackId,
              })),
              ...includeOps &&
                { authorizedOperations: authorizedOperations(g.authorizedOperations) },
            },
          ]);
        }
        classic = res ? again : list;
      }
      if (classic.length === 0) return out;
      const version = conn.versionFor(Api.DescribeGroups);
      const res = await conn.request(Api.DescribeGroups, {
        groups: classic,
        includeAuthorizedOperations: includeOps,
      }, { signal, version });
      for (const id of classic) {
        const g = res.groups.find((x) => x.groupId === id);
        if (!g) continue;
        // Before v6 (KIP-1043, Kafka 4.0) an unknown group is described as a "Dead" one with
        // no error; v6 answers GROUP_ID_NOT_FOUND. Give 3.x callers the same error.
        const code = version < 6 && g.errorCode === ErrorCode.NONE && g.groupState === "Dead" &&
            g.members.length === 0
          ? ErrorCode.GROUP_ID_NOT_FOUND
          : g.errorCode;
        const err = itemError(code, `group ${id}`, g.errorMessage);
        const isConsumer = g.protocolType === "consumer";
        out.push([
          id,
          err ?? {
            groupId: id,
            type: "classic",
            state: g.groupState,
            protocolType: g.protocolType,
            protocol: g.protocolData,
            coordinator: broker.nodeId,
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              assignment: (isConsumer ? decodeAssignment(m.memberAssignment) : undefined) ?? [],
            })),
            ...includeOps &&
              { authorizedOperations: authorizedOperations(g.authorizedOperations) },
          },
        ]);
      }
      return out;
    },
  );
}

/** Deletes groups (they must be empty); per-group errors as AdminBatchError. */
export async function deleteGroups(
  ctx: AdminContext,
  groupIds: readonly string[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkIds(groupIds, "group id");
  await ctx.atCoordinators<void>(
    "group",
    options,
    "deleteGroups",
    groupIds,
    async (broker, list, signal) => {
      const res = await ctx.cluster.send({ address: broker }, Api.DeleteGroups, {
        groupsNames: list,
      }, { signal });
      return answered(
        list,
        (id) => res.results.find((x) => x.groupId === id),
        (r, id): void | KafkaError => itemError(r.errorCode, `group ${id}`),
      );
    },
  );
}

/** OffsetFetch for one group: its committed offsets. */
export async function listGroupOffsets(
  ctx: AdminContext,
  groupId: string,
  options: ListGroupOffsetsOptions = {},
): Promise<TopicPartitionOffset[]> {
  checkGroupId(groupId);
  options.partitions?.forEach(checkPartition);
  const wanted = options.partitions ? [...byTopic(options.partitions)] : undefined;
  const [offsets] = await ctx.items<string, TopicPartitionOffset[]>(
    options,
    "listGroupOffsets",
    [groupId],
    (g) => g,
    (pending, signal) =>
      ctx.byCoordinator<string, TopicPartitionOffset[]>(
        "group",
        pending,
        (g) => g,
        signal,
        async (broker) => {
          const { conn, version } = await offsetApiConnection(ctx, broker, Api.OffsetFetch, signal);
          const topics = wanted?.map(([name, tps]) => ({
            name,
            partitionIndexes: tps.map((tp) => tp.partition),
          })) ?? null;
          const res = await conn.request(
            Api.OffsetFetch,
            offsetFetchRequest(version, {
              groupId,
              topics,
              requireStable: options.requireStable ?? false,
            }),
            { signal, version },
          );
          const answer = offsetFetchAnswer(version, res, groupId);
          if (!answer) return [];
          const code = answer.errorCode;
          if (code !== ErrorCode.NONE) {
            return [[
              groupId,
              new ProtocolError(code, `group ${groupId}`),
            ]];
          }
          const out: TopicPartitionOffset[] = [];
          for (const t of answer.topics) {
            for (const p of t.partitions) {
              if (p.errorCode !== ErrorCode.NONE) {
                return [[
                  groupId,
                  new ProtocolError(p.errorCode, `group ${groupId} ${t.name}-${p.partitionIndex}`),
                ]];
              }
              if (!wanted && p.committedOffset < 0n) continue;
              out.push({
                topic: t.name,
                partition: p.partitionIndex,
                offset: p.committedOffset,
                ...p.metadata !== null && p.metadata !== "" && { metadata: p.metadata },
                ...p.committedLeaderEpoch >= 0 && { leaderEpoch: p.committedLeaderEpoch },
              });
            }
          }
          out.sort((a, b) =>
            a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
          );
          return [[groupId, out]];
        },
      ),
    { coordinatorOf: (g) => ["group", g] },
  ).catch(unwrapSingle);
  return offsets!;
}

/**
 * OffsetCommit as an administrator (generation -1, no member: the group must have no active
 * members); per-partition errors as AdminBatchError.
 */
export async function alterGroupOffsets(
  ctx: AdminContext,
  groupId: string,
  offsets: readonly TopicPartitionOffset[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkGroupId(groupId);
  checkArray(offsets, "offsets");
  for (const off of offsets) {
    checkPartition(off);
    if (typeof off.offset !== "bigint" || off.offset < 0n) {
      throw new RangeError(`${partitionName(off)}: offset must be a bigint >= 0n`);
    }
  }
  await ctx.items<TopicPartitionOffset, void>(
    options,
    "alterGroupOffsets",
    offsets,
    partitionName,
    (pending, signal) =>
      ctx.byCoordinator("group", pending, () => groupId, signal, async (broker, list) => {
        const { conn, version } = await offsetApiConnection(ctx, broker, Api.OffsetCommit, signal);
        const res = await conn.request(Api.OffsetCommit, {
          groupId,
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          retentionTimeMs: -1n,
          topics: [...byTopic(list)].map(([name, tps]) => ({
            name,
            partitions: tps.map((tp) => ({
              partitionIndex: tp.partition,
              committedOffset: tp.offset,
              committedLeaderEpoch: tp.leaderEpoch ?? -1,
              committedMetadata: tp.metadata ?? "",
            })),
          })),
        }, { signal, version });
        const out: Outcome<TopicPartitionOffset, void>[] = [];
        for (const tp of list) {
          const p = findPartition(res.topics, tp);
          if (p) out.push([tp, itemError(p.errorCode, `group ${groupId} ${partitionName(tp)}`)]);
        }
        return out;
      }),
    { coordinatorOf: () => ["group", groupId], topicOf: (tp) => tp.topic },
  );
}

/** OffsetDelete: forgets a group's commits for some partitions; per-partition errors. */
export async function deleteGroupOffsets(
  ctx: AdminContext,
  groupId: string,
  partitions: readonly TopicPartition[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkGroupId(groupId);
  checkArray(partitions, "partitions");
  partitions.forEach(checkPartition);
  await ctx.items<TopicPartition, void>(
    options,
    "deleteGroupOffsets",
    partitions,
    partitionName,
    (pending, signal) =>
      ctx.byCoordinator("group", pending, () => groupId, signal, async (broker, list) => {
        const res = await ctx.cluster.send({ address: broker }, Api.OffsetDelete, {
          groupId,
          topics: [...byTopic(list)].map(([name, tps]) => ({
            name,
            partitions: tps.map((tp) => ({ partitionIndex: tp.partition })),
          })),
        }, { signal });
        // A group-level error (GROUP_ID_NOT_FOUND, NOT_COORDINATOR...) is every item's error.
        const top = itemError(res.errorCode, `group ${groupId}`);
        if (top) return list.map((tp) => [tp, top] as const);
        const out: Outcome<TopicPartition, void>[] = [];
        for (const tp of list) {
          const p = findPartition(res.topics, tp);
          if (p) out.push([tp, itemError(p.errorCode, `group ${groupId} ${partitionName(tp)}`)]);
        }
        return out;
      }),
    { coordinatorOf: () => ["group", groupId], topicOf: (tp) => tp.topic },
  );
}

/**
 * LeaveGroup on behalf of members (KIP-345); with no list, every current member of a classic
 * group. Per-member errors as AdminBatchError.
 */
export async function removeGroupMembers(
  ctx: AdminContext,
  groupId: string,
  members: readonly MemberToRemove[] | undefined,
  options: AdminCallOptions = {},
): Promise<void> {
  checkGroupId(groupId);
  let list = members;
  if (list === undefined) {
    const [g] = await describeGroups(ctx, [groupId], options).catch(unwrapSingle);
    list = g!.members.map((m) => ({
      memberId: m.memberId,
      ...m.groupInstanceId !== null && { groupInstanceId: m.groupInstanceId },
    }));
    if (list.length === 0) return;
  }
  checkArray(list, "members");
  for (const m of list) {
    if (!m || (typeof m.groupInstanceId !== "string" && typeof m.memberId !== "string")) {
      throw new TypeError("each member needs a groupInstanceId or a memberId");
    }
  }
  const nameOf = (m: MemberToRemove) => m.groupInstanceId ?? m.memberId!;
  await ctx.items<MemberToRemove, void>(
    options,
    "removeGroupMembers",
    list,
    nameOf,
    (pending, signal) =>
      ctx.byCoordinator("group", pending, () => groupId, signal, async (broker, ms) => {
        const res = await ctx.cluster.send({ address: broker }, Api.LeaveGroup, {
          groupId,
          members: ms.map((m) => ({
            memberId: m.memberId ?? "",
            groupInstanceId: m.groupInstanceId ?? null,
            reason: m.reason ?? "removed by an administrator",
          })),
        }, { signal });
        const top = itemError(res.errorCode, `group ${groupId}`);
        if (top) return ms.map((m) => [m, top] as const);
        const out: Outcome<MemberToRemove, void>[] = [];
        for (const m of ms) {
          const r = res.members.find((x) =>
            m.groupInstanceId !== undefined
              ? x.groupInstanceId === m.groupInstanceId
              : x.memberId === m.memberId
          );
          if (r) out.push([m, itemError(r.errorCode, `group ${groupId} member ${nameOf(m)}`)]);
        }
        return out;
      }),
    { coordinatorOf: () => ["group", groupId] },
  );
}
