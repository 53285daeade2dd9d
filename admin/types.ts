/**
 * The option, result and enum types of `Admin`'s methods: one list, re-exported by
 * `@denokafka/kafka/admin` and by the root, so the two entry points cannot drift apart.
 *
 * @example
 * ```ts
 * import type { NewTopic } from "./types.ts";
 * const topic: NewTopic = { name: "events", numPartitions: 3 };
 * console.log(topic.name); // "events"
 * ```
 *
 * @module
 */

export type { AdminCallOptions } from "./context.ts";
export type { BatchItemResult } from "./errors.ts";
export type {
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
  AlterConfigOpType,
  ConfigResourceType,
  ConfigSource,
  ConfigType,
  ScramMechanism,
} from "./enums.ts";
export type {
  CreatedTopic,
  CreatePartitionsOptions,
  CreateTopicsOptions,
  DescribeTopicsOptions,
  ListTopicsOptions,
  NewPartitions,
  NewTopic,
  TopicDescription,
  TopicListing,
  TopicPartitionInfo,
  TopicRef,
} from "./topics.ts";
export type {
  AlterConfigsOptions,
  ConfigAlteration,
  ConfigEntry,
  ConfigOp,
  ConfigResource,
  ConfigSynonym,
  DescribeConfigsOptions,
  DescribeConfigsResource,
  ResourceConfigs,
} from "./configs.ts";
export type {
  DescribeGroupsOptions,
  GroupDescription,
  GroupListing,
  GroupMember,
  ListGroupOffsetsOptions,
  ListGroupsOptions,
  MemberToRemove,
} from "./groups.ts";
export type {
  DeletedRecords,
  ListedOffset,
  ListOffsetsOptions,
  OffsetQuery,
  OffsetSpec,
  RecordsToDelete,
} from "./offsets.ts";
export type {
  ClusterBroker,
  ClusterDescription,
  DescribeClusterOptions,
  DescribeLogDirsOptions,
  ElectionResult,
  LogDirDescription,
  LogDirReplica,
  OngoingReassignment,
  PartitionReassignment,
} from "./cluster_ops.ts";
export type { AclBinding, AclFilter } from "./acls.ts";
export type {
  ScramCredentialInfo,
  ScramDeletion,
  ScramUpsertion,
  UserScramCredentials,
} from "./scram.ts";
export type {
  AlterClientQuotasOptions,
  ClientQuotas,
  DescribeClientQuotasOptions,
  QuotaAlteration,
  QuotaEntity,
  QuotaFilterComponent,
} from "./quotas.ts";
export type {
  ListTransactionsOptions,
  PartitionProducers,
  ProducerState,
  TransactionDescription,
  TransactionListing,
} from "./transactions.ts";
