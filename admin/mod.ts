/**
 * The admin client: topics, configs, consumer groups, offsets and records, ACLs, SCRAM users,
 * quotas, producers and transactions, leader elections and reassignments.
 *
 * Batch calls resolve with one result per item when all succeed and reject with
 * {@linkcode AdminBatchError} (every item's value or error) when any fails; single-item forms
 * reject with the item's own `ProtocolError`.
 *
 * @example
 * ```ts ignore
 * import { Admin, AdminBatchError } from "@denokafka/kafka/admin";
 * await using admin = new Admin({ brokers: ["127.0.0.1:9092"] });
 * try {
 *   await admin.createTopics([{ name: "a", numPartitions: 3 }, { name: "b" }]);
 * } catch (e) {
 *   if (e instanceof AdminBatchError) console.log(e.failures());
 *   else throw e;
 * }
 * ```
 *
 * @module
 */

export { Admin } from "./admin.ts";
export { AdminBatchError, type BatchItemResult } from "./errors.ts";
export type { AdminCallOptions } from "./context.ts";
export type { TopicPartition, TopicPartitionOffset } from "../cluster/types.ts";
// The options every client shares: one list, cluster/client_options.ts.
export type * from "../cluster/client_options.ts";
export { KafkaError, ProtocolError } from "../protocol/errors.ts";
export {
  type AclOperation,
  type AclPatternType,
  type AclPermission,
  type AclResourceType,
  type AlterConfigOpType,
  authorizedOperations,
  type ConfigResourceType,
  type ConfigSource,
  type ConfigType,
  type ScramMechanism,
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
export {
  type ScramCredentialInfo,
  type ScramDeletion,
  scramSaltedPassword,
  type ScramUpsertion,
  type UserScramCredentials,
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
