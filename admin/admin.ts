/**
 * The admin client.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import type { ClientOptions } from "../cluster/options.ts";
import type { TopicPartition, TopicPartitionOffset } from "../cluster/types.ts";
import * as acls from "./acls.ts";
import * as clusterOps from "./cluster_ops.ts";
import * as configs from "./configs.ts";
import { type AdminCallOptions, AdminContext, unwrapSingle } from "./context.ts";
import * as groups from "./groups.ts";
import * as offsets from "./offsets.ts";
import * as quotas from "./quotas.ts";
import * as scram from "./scram.ts";
import * as topics from "./topics.ts";
import * as txns from "./transactions.ts";
import type { ScramMechanism } from "./enums.ts";

/**
 * Manages topics, configs, consumer groups, offsets, ACLs, SCRAM users, quotas and
 * transactions, like Java's `Admin`, sarama's `ClusterAdmin` and the `kafka-*.sh` tools.
 *
 * **Errors.** A batch call (`createTopics`, `deleteRecords`, `describeGroups`, ...) resolves
 * with one result per item, in the order given, when every item succeeded; when any item
 * failed it rejects with {@linkcode AdminBatchError}, whose `results` hold every item's value
 * or error (nothing is swallowed) and whose `errors` list the failures, `AggregateError`
 * style. The single-item forms (`createTopic`, `deleteTopic`, `describeGroup`, ...) reject
 * with the item's own error, usually a `ProtocolError` (e.g. `TOPIC_ALREADY_EXISTS`). A
 * failure of the whole call (no broker reachable, the deadline passed, the signal aborted, the
 * client closed) rejects with that error. Retriable failures (a moved leader or coordinator, a
 * broken connection) are retried, per item, with backoff until the call's deadline.
 *
 * @example
 * ```ts ignore
 * import { Admin } from "@denokafka/kafka/admin";
 * await using admin = new Admin({ brokers: ["127.0.0.1:9092"] });
 * await admin.createTopic("orders", { numPartitions: 3, replicationFactor: 1 });
 * const [t] = await admin.describeTopics(["orders"]);
 * console.log(t!.partitions.length); // 3
 * const latest = await admin.listTopicOffsets("orders", "latest");
 * console.log(latest.map((o) => o.offset));
 * ```
 */
export class Admin {
  readonly #cluster: Cluster;
  readonly #ctx: AdminContext;

  /** Creates the client; nothing connects until the first call. */
  constructor(options: ClientOptions) {
    this.#cluster = new Cluster(options);
    this.#ctx = new AdminContext(this.#cluster);
  }

  // ---- topics ----

  /** Creates topics (CreateTopics). */
  async createTopics(
    list: readonly topics.NewTopic[],
    options?: topics.CreateTopicsOptions,
  ): Promise<topics.CreatedTopic[]> {
    return await topics.createTopics(this.#ctx, list, options);
  }

  /** Creates one topic; rejects with its ProtocolError (e.g. TOPIC_ALREADY_EXISTS). */
  async createTopic(
    name: string,
    options: Omit<topics.NewTopic, "name"> & topics.CreateTopicsOptions = {},
  ): Promise<topics.CreatedTopic> {
    const { numPartitions, replicationFactor, assignments, configs: cfg, ...call } = options;
    const spec: topics.NewTopic = {
      name,
      ...numPartitions !== undefined && { numPartitions },
      ...replicationFactor !== undefined && { replicationFactor },
      ...assignments !== undefined && { assignments },
      ...cfg !== undefined && { configs: cfg },
    };
    const [t] = await topics.createTopics(this.#ctx, [spec], call).catch(unwrapSingle);
    return t!;
  }

  /** Deletes topics by name or id (DeleteTopics). */
  async deleteTopics(list: readonly topics.TopicRef[], options?: AdminCallOptions): Promise<void> {
    return await topics.deleteTopics(this.#ctx, list, options);
  }

  /** Deletes one topic; rejects with its ProtocolError (e.g. UNKNOWN_TOPIC_OR_PARTITION). */
  async deleteTopic(topic: topics.TopicRef, options?: AdminCallOptions): Promise<void> {
    await topics.deleteTopics(this.#ctx, [topic], options).catch(unwrapSingle);
  }

  /** Lists topics (internal ones with `includeInternal`), sorted by name. */
  async listTopics(options?: topics.ListTopicsOptions): Promise<topics.TopicListing[]> {
    return await topics.listTopics(this.#ctx, options);
  }

  /** Describes topics: partitions, leaders, replicas, ISR. */
  async describeTopics(
    names: readonly string[],
    options?: topics.DescribeTopicsOptions,
  ): Promise<topics.TopicDescription[]> {
    return await topics.describeTopics(this.#ctx, names, options);
  }

  /** Describes one topic; rejects with its ProtocolError. */
  async describeTopic(
    name: string,
    options?: topics.DescribeTopicsOptions,
  ): Promise<topics.TopicDescription> {
    const [t] = await topics.describeTopics(this.#ctx, [name], options).catch(unwrapSingle);
    return t!;
  }

  /** Grows topics to new partition counts (CreatePartitions). */
  async createPartitions(
    list: readonly topics.NewPartitions[],
    options?: topics.CreatePartitionsOptions,
  ): Promise<void> {
    return await topics.createPartitions(this.#ctx, list, options);
  }

  /** Grows one topic to `count` partitions; rejects with its ProtocolError (INVALID_PARTITIONS...). */
  async growTopic(
    topic: string,
    count: number,
    options: topics.CreatePartitionsOptions & {
      assignments?: readonly (readonly number[])[];
    } = {},
  ): Promise<void> {
    const { assignments, ...call } = options;
    await topics.createPartitions(
      this.#ctx,
      [{ topic, count, ...assignments !== undefined && { assignments } }],
      call,
    ).catch(unwrapSingle);
  }

  // ---- configs ----

  /** Describes the configs of topics, brokers, broker loggers, groups (DescribeConfigs). */
  async describeConfigs(
    resources: readonly configs.DescribeConfigsResource[],
    options?: configs.DescribeConfigsOptions,
  ): Promise<configs.ResourceConfigs[]> {
    return await configs.describeConfigs(this.#ctx, resources, options);
  }

  /** Describes one resource's configs; rejects with its ProtocolError. */
  async describeConfig(
    resource: configs.DescribeConfigsResource,
    options?: configs.DescribeConfigsOptions,
  ): Promise<configs.ResourceConfigs> {
    const [r] = await configs.describeConfigs(this.#ctx, [resource], options).catch(unwrapSingle);
    return r!;
  }

  /** Alters configs incrementally: set, delete, append, subtract (IncrementalAlterConfigs). */
  async alterConfigs(
    alterations: readonly configs.ConfigAlteration[],
    options?: configs.AlterConfigsOptions,
  ): Promise<void> {
    return await configs.alterConfigs(this.#ctx, alterations, options);
  }

  /** Alters one resource's configs; rejects with its ProtocolError. */
  async alterConfig(
    alteration: configs.ConfigAlteration,
    options?: configs.AlterConfigsOptions,
  ): Promise<void> {
    await configs.alterConfigs(this.#ctx, [alteration], options).catch(unwrapSingle);
  }

  // ---- groups ----

  /** Lists groups on every broker, sorted by id. */
  async listGroups(options?: groups.ListGroupsOptions): Promise<groups.GroupListing[]> {
    return await groups.listGroups(this.#ctx, options);
  }

  /** Describes groups (classic and KIP-848) at their coordinators. */
  async describeGroups(
    groupIds: readonly string[],
    options?: groups.DescribeGroupsOptions,
  ): Promise<groups.GroupDescription[]> {
    return await groups.describeGroups(this.#ctx, groupIds, options);
  }

  /** Describes one group; rejects with its ProtocolError (e.g. GROUP_ID_NOT_FOUND). */
  async describeGroup(
    groupId: string,
    options?: groups.DescribeGroupsOptions,
  ): Promise<groups.GroupDescription> {
    const [g] = await groups.describeGroups(this.#ctx, [groupId], options).catch(unwrapSingle);
    return g!;
  }

  /** Deletes empty groups with their committed offsets. */
  async deleteGroups(groupIds: readonly string[], options?: AdminCallOptions): Promise<void> {
    return await groups.deleteGroups(this.#ctx, groupIds, options);
  }

  /** Deletes one group; rejects with its ProtocolError (e.g. NON_EMPTY_GROUP). */
  async deleteGroup(groupId: string, options?: AdminCallOptions): Promise<void> {
    await groups.deleteGroups(this.#ctx, [groupId], options).catch(unwrapSingle);
  }

  /** A group's committed offsets (OffsetFetch), sorted by topic and partition. */
  async listGroupOffsets(
    groupId: string,
    options?: groups.ListGroupOffsetsOptions,
  ): Promise<TopicPartitionOffset[]> {
    return await groups.listGroupOffsets(this.#ctx, groupId, options);
  }

  /**
   * Sets a group's committed offsets (the group must have no active members), as
   * `kafka-consumer-groups.sh --reset-offsets` does.
   */
  async alterGroupOffsets(
    groupId: string,
    list: readonly TopicPartitionOffset[],
    options?: AdminCallOptions,
  ): Promise<void> {
    return await groups.alterGroupOffsets(this.#ctx, groupId, list, options);
  }

  /** Deletes a group's committed offsets for some partitions (OffsetDelete). */
  async deleteGroupOffsets(
    groupId: string,
    partitions: readonly TopicPartition[],
    options?: AdminCallOptions,
  ): Promise<void> {
    return await groups.deleteGroupOffsets(this.#ctx, groupId, partitions, options);
  }

  /** Removes members from a group (LeaveGroup for them); without a list, every member. */
  async removeGroupMembers(
    groupId: string,
    members?: readonly groups.MemberToRemove[],
    options?: AdminCallOptions,
  ): Promise<void> {
    return await groups.removeGroupMembers(this.#ctx, groupId, members, options);
  }

  // ---- offsets and records ----

  /** Looks up offsets: earliest, latest, max timestamp, or by timestamp (ListOffsets). */
  async listOffsets(
    queries: readonly offsets.OffsetQuery[],
    options?: offsets.ListOffsetsOptions,
  ): Promise<offsets.ListedOffset[]> {
    return await offsets.listOffsets(this.#ctx, queries, options);
  }

  /** Looks up one offset spec for every partition of a topic, by partition. */
  async listTopicOffsets(
    topic: string,
    spec: offsets.OffsetSpec,
    options?: offsets.ListOffsetsOptions,
  ): Promise<offsets.ListedOffset[]> {
    const t = await this.describeTopic(topic, options);
    const queries = t.partitions.map((p) => ({ topic, partition: p.partition, spec }));
    return await offsets.listOffsets(this.#ctx, queries, options);
  }

  /** Deletes records before an offset in each partition (DeleteRecords). */
  async deleteRecords(
    items: readonly offsets.RecordsToDelete[],
    options?: AdminCallOptions,
  ): Promise<offsets.DeletedRecords[]> {
    return await offsets.deleteRecords(this.#ctx, items, options);
  }

  // ---- cluster ----

  /** Describes the cluster: id, controller, brokers (DescribeCluster). */
  async describeCluster(
    options?: clusterOps.DescribeClusterOptions,
  ): Promise<clusterOps.ClusterDescription> {
    return await clusterOps.describeCluster(this.#ctx, options);
  }

  /** Describes the brokers' log dirs and the replicas in them. */
  async describeLogDirs(
    options?: clusterOps.DescribeLogDirsOptions,
  ): Promise<clusterOps.LogDirDescription[]> {
    return await clusterOps.describeLogDirs(this.#ctx, options);
  }

  /** Elects leaders: `preferred` or `unclean`, for some partitions or (null) all. */
  async electLeaders(
    type: "preferred" | "unclean",
    partitions: readonly TopicPartition[] | null,
    options?: AdminCallOptions,
  ): Promise<clusterOps.ElectionResult[]> {
    return await clusterOps.electLeaders(this.#ctx, type, partitions, options);
  }

  /** Starts (or, with `replicas: null`, cancels) partition reassignments. */
  async alterPartitionReassignments(
    list: readonly clusterOps.PartitionReassignment[],
    options?: AdminCallOptions,
  ): Promise<void> {
    return await clusterOps.alterPartitionReassignments(this.#ctx, list, options);
  }

  /** Lists reassignments in progress. */
  async listPartitionReassignments(
    partitions?: readonly TopicPartition[] | null,
    options?: AdminCallOptions,
  ): Promise<clusterOps.OngoingReassignment[]> {
    return await clusterOps.listPartitionReassignments(this.#ctx, partitions ?? null, options);
  }

  // ---- security ----

  /** The ACLs matching a filter (default: all). */
  async describeAcls(
    filter?: acls.AclFilter,
    options?: AdminCallOptions,
  ): Promise<acls.AclBinding[]> {
    return await acls.describeAcls(this.#ctx, filter, options);
  }

  /** Creates ACLs. */
  async createAcls(
    bindings: readonly acls.AclBinding[],
    options?: AdminCallOptions,
  ): Promise<void> {
    return await acls.createAcls(this.#ctx, bindings, options);
  }

  /** Deletes the ACLs matching each filter; resolves with what each filter deleted. */
  async deleteAcls(
    filters: readonly acls.AclFilter[],
    options?: AdminCallOptions,
  ): Promise<acls.AclBinding[][]> {
    return await acls.deleteAcls(this.#ctx, filters, options);
  }

  /** SCRAM credentials of the listed users, or of every user. */
  async describeUserScramCredentials(
    users?: readonly string[],
    options?: AdminCallOptions,
  ): Promise<scram.UserScramCredentials[]> {
    return await scram.describeUserScramCredentials(this.#ctx, users, options);
  }

  /** Upserts and deletes SCRAM credentials in one request. */
  async alterUserScramCredentials(
    changes: {
      upsertions?: readonly scram.ScramUpsertion[];
      deletions?: readonly scram.ScramDeletion[];
    },
    options?: AdminCallOptions,
  ): Promise<void> {
    return await scram.alterUserScramCredentials(
      this.#ctx,
      changes.upsertions ?? [],
      changes.deletions ?? [],
      options,
    );
  }

  /** Creates or replaces one user's SCRAM credential; rejects with its ProtocolError. */
  async upsertScramCredential(
    upsertion: scram.ScramUpsertion,
    options?: AdminCallOptions,
  ): Promise<void> {
    await scram.alterUserScramCredentials(this.#ctx, [upsertion], [], options).catch(unwrapSingle);
  }

  /** Deletes one user's SCRAM credential; rejects with its ProtocolError. */
  async deleteScramCredential(
    user: string,
    mechanism: ScramMechanism,
    options?: AdminCallOptions,
  ): Promise<void> {
    await scram.alterUserScramCredentials(this.#ctx, [], [{ user, mechanism }], options)
      .catch(unwrapSingle);
  }

  /** Client quotas of the entities matching a filter. */
  async describeClientQuotas(
    filter: readonly quotas.QuotaFilterComponent[],
    options?: quotas.DescribeClientQuotasOptions,
  ): Promise<quotas.ClientQuotas[]> {
    return await quotas.describeClientQuotas(this.#ctx, filter, options);
  }

  /** Sets or removes client quotas. */
  async alterClientQuotas(
    alterations: readonly quotas.QuotaAlteration[],
    options?: quotas.AlterClientQuotasOptions,
  ): Promise<void> {
    return await quotas.alterClientQuotas(this.#ctx, alterations, options);
  }

  // ---- producers and transactions ----

  /** The active producers of partitions (DescribeProducers, at each leader). */
  async describeProducers(
    partitions: readonly TopicPartition[],
    options?: AdminCallOptions,
  ): Promise<txns.PartitionProducers[]> {
    return await txns.describeProducers(this.#ctx, partitions, options);
  }

  /** Lists transactions on every broker. */
  async listTransactions(
    options?: txns.ListTransactionsOptions,
  ): Promise<txns.TransactionListing[]> {
    return await txns.listTransactions(this.#ctx, options);
  }

  /** Describes transactions at their coordinators. */
  async describeTransactions(
    transactionalIds: readonly string[],
    options?: AdminCallOptions,
  ): Promise<txns.TransactionDescription[]> {
    return await txns.describeTransactions(this.#ctx, transactionalIds, options);
  }

  // ---- lifecycle ----

  /** Closes every connection and timer; calls in progress reject with ClosedError. */
  close(): Promise<void> {
    return this.#cluster.close();
  }

  /** Closes the client (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
