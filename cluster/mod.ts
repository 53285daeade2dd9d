/**
 * The cluster layer shared by the producer, consumer and admin client: bootstrap, metadata,
 * leader and coordinator routing, connection lanes, and retries with backoff. Most users never
 * touch it; one `Cluster` can be shared by several producers (`ProducerOptions.cluster`), and it
 * sends any request of `@denokafka/kafka/protocol` to the right broker.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@denokafka/kafka/cluster";
 * await using cluster = new Cluster({ brokers: ["127.0.0.1:9092"] });
 * await cluster.refreshMetadata(null);
 * console.log(cluster.info().brokers.length);
 * ```
 *
 * @module
 */

export {
  Cluster,
  type ClusterRetryOptions,
  type ClusterSendOptions,
  type CoordinatorType,
  type Lane,
  type RecoverHints,
  type Target,
} from "./cluster.ts";
export type {
  BrokerInfo,
  ClusterInfo,
  MetadataCache,
  MetadataPayload,
  PartitionInfo,
  TopicErrors,
  TopicInfo,
  TopicPartitionInfo,
} from "./metadata.ts";
export type { RetryContext, RetryPolicy, WithRetryOptions } from "./retry.ts";
export type { TopicPartition, TopicPartitionOffset } from "./types.ts";
export type * from "./client_options.ts";
