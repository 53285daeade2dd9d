/**
 * A Deno-native Apache Kafka client in pure TypeScript, built on Web Streams.
 *
 * The root exports what a user of the clients needs: the producer, consumer and admin client
 * with their options and results, the options they share, the typed errors, the partitioners,
 * the transports, logging and the pipeline helpers. The layers beneath have their own entry
 * points: `@denokafka/kafka/protocol` (codecs, message schemas, error codes),
 * `@denokafka/kafka/net` (one broker connection, transports) and `@denokafka/kafka/cluster`
 * (metadata, routing and retries shared by the clients).
 *
 * @example
 * ```ts
 * import { KafkaError } from "@denokafka/kafka";
 * console.log(new KafkaError("x") instanceof Error); // true
 * ```
 *
 * @module
 */

// ---- clients ----
export { Producer } from "./producer/producer.ts";
export { Consumer } from "./consumer/consumer.ts";
export { Admin } from "./admin/admin.ts";

// ---- options every client shares: brokers, client id, TLS, SASL, transport, retry, logger ----
export type * from "./cluster/client_options.ts";
export type { TopicPartition, TopicPartitionOffset } from "./cluster/types.ts";

// ---- producer options and results ----
export type { Acks, ProducerOptions } from "./producer/options.ts";
export type { CompressionName } from "./protocol/compression/mod.ts";
export type { CloseOptions, ProducerMetrics, SendOptions } from "./producer/producer.ts";
export type {
  ConsumerGroupMetadata,
  DeliveryReport,
  ProducerRecord,
  ProducerRecordHeader,
  RecordMetadata,
  TransactionOffset,
} from "./producer/record.ts";

// ---- consumer options and results ----
export type { AssignorName, ConsumerOptions } from "./consumer/options.ts";
export type {
  ConsumerCloseOptions,
  ConsumerRecord,
  EndOffset,
  PartitionAssignment,
  PartitionLag,
  RebalanceCallback,
  StartOffset,
} from "./consumer/types.ts";
// A custom classic-protocol assignor; the built-in ones are chosen by name (AssignorName).
export type { Assignor, AssignorMember } from "./consumer/assignor.ts";

// ---- admin options and results: one list, admin/types.ts, which ./admin re-exports too ----
export type * from "./admin/types.ts";

// ---- errors: every failure is a KafkaError ----
export {
  AuthenticationError,
  ClosedError,
  ConnectionError,
  DecodeError,
  KafkaError,
  ProtocolError,
  TimeoutError,
  UnsupportedFeatureError,
  UnsupportedVersionError,
} from "./protocol/errors.ts";
export { TlsHandshakeError } from "./net/tls_handshake_error.ts";
export {
  ProducerFencedError,
  TransactionStateError,
  UnknownTopicError,
} from "./producer/errors.ts";
export { AdminBatchError } from "./admin/errors.ts";
export { PipelineError } from "./producer/pipeline.ts";

// ---- partitioners: chosen by name, or a function; the peers' keyed choices for custom ones ----
export type { Partitioner, PartitionerInput, PartitionerName } from "./producer/partitioners.ts";
export {
  builtInPartitioner,
  consistentPartition,
  javaPartitionForKey,
  murmur2,
  saramaHashPartition,
  saramaReferenceHashPartition,
} from "./producer/partitioners.ts";

// ---- transports: how sockets are opened on each runtime (the default fits runtime()) ----
export { defaultTransport } from "./net/transport.ts";
export { runtime, type RuntimeName } from "./net/runtime.ts";
export { denoTransport } from "./net/deno_transport.ts";
export { nodeTransport } from "./net/node_transport.ts";
export {
  type CloudflareConnect,
  type CloudflareSocket,
  cloudflareTransport,
} from "./net/cloudflare_transport.ts";

// ---- logging ----
export { consoleLogger, silentLogger } from "./protocol/logger.ts";

// ---- pipelines: consume, transform, produce ----
export {
  mapConsumer,
  type MapConsumerOptions,
  type MappedRecords,
  mapRecords,
} from "./producer/pipeline_map.ts";
export {
  type PipelineChunk,
  type PipelineConsumer,
  type PipelineEnvelope,
  type PipelineGuarantee,
  type PipelineSinkOptions,
  type SourceRecord,
} from "./producer/pipeline.ts";
