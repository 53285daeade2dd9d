/**
 * A Deno-native Apache Kafka client in pure TypeScript, built on Web Streams.
 *
 * @example
 * ```ts
 * import { KafkaError } from "@denokafka/kafka";
 * console.log(new KafkaError("x") instanceof Error); // true
 * ```
 *
 * @module
 */

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
export * from "./cluster/mod.ts";
export type { LogFields, Logger, LogLevel } from "./protocol/logger.ts";
export { consoleLogger, silentLogger } from "./protocol/logger.ts";
export type { TlsOptions } from "./net/connection.ts";
export type {
  CloudflareConnect,
  CloudflareSocket,
  RuntimeName,
  Transport,
  TransportConnectOptions,
  TransportSocket,
} from "./net/mod.ts";
export {
  cloudflareTransport,
  defaultTransport,
  denoTransport,
  nodeTransport,
  runtime,
  TlsHandshakeError,
} from "./net/mod.ts";
export type { CompressionName } from "./protocol/compression/mod.ts";
export type { SaslOptions } from "./net/sasl_flow.ts";
export * from "./admin/mod.ts";
export type {
  OAuthBearerOptions,
  OAuthBearerToken,
  OAuthBearerTokenProvider,
  PlainOptions,
  SaslContext,
  SaslMechanism,
  SaslSecret,
  SaslSession,
  ScramOptions,
} from "./protocol/sasl/mod.ts";
export {
  builtInPartitioner,
  consistentPartition,
  crc32,
  fnv1a32,
  javaPartitionForKey,
  mapConsumer,
  mapRecords,
  murmur2,
  PipelineError,
  Producer,
  ProducerFencedError,
  saramaHashPartition,
  saramaReferenceHashPartition,
  StickyPartition,
  TransactionStateError,
  UnknownTopicError,
} from "./producer/mod.ts";
export type {
  Acks,
  CloseOptions,
  ConsumerGroupMetadata,
  DeliveryReport,
  MapConsumerOptions,
  MappedRecords,
  Partitioner,
  PartitionerInput,
  PartitionerName,
  PipelineChunk,
  PipelineConsumer,
  PipelineEnvelope,
  PipelineGuarantee,
  PipelineSinkOptions,
  ProducerMetrics,
  ProducerOptions,
  ProducerRecord,
  ProducerRecordHeader,
  RecordMetadata,
  SendOptions,
  SourceRecord,
  TransactionOffset,
} from "./producer/mod.ts";
export {
  Consumer,
  CONSUMER_PROTOCOL_VERSION,
  cooperativeStickyAssignor,
  decodeAssignment,
  decodeStickyUserData,
  decodeSubscription,
  encodeAssignment,
  encodeCooperativeUserData,
  encodeStickyUserData,
  encodeSubscription,
  rangeAssignor,
  resolveAssignor,
  roundRobinAssignor,
  stickyAssign,
  stickyAssignor,
} from "./consumer/mod.ts";
export type {
  Assignor,
  AssignorMember,
  AssignorName,
  ConsumerCloseOptions,
  ConsumerOptions,
  ConsumerRecord,
  EndOffset,
  MemberAssignment,
  PartitionAssignment,
  PartitionLag,
  RebalanceCallback,
  StartOffset,
  Subscription,
} from "./consumer/mod.ts";
