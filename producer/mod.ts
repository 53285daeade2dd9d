/**
 * The producer: a `WritableStream<ProducerRecord>` with backpressure, awaited sends, batching
 * per partition, compression, idempotence (on by default), transactions, and the partitioners
 * of the Java client, sarama, kafka-go and librdkafka.
 *
 * @example
 * ```ts ignore
 * import { Producer } from "@denokafka/kafka/producer";
 * await using producer = new Producer({ brokers: ["127.0.0.1:9092"], defaultTopic: "events" });
 * const md = await producer.send({ key: "user-1", value: "signed up" });
 * console.log(md.partition, md.offset);
 * ```
 *
 * @module
 */

export * from "./producer.ts";
export type { Acks, ProducerOptions } from "./options.ts";
// Types the producer's API refers to, re-exported so its documentation is complete.
export { ClosedError, KafkaError, ProtocolError, TimeoutError } from "../protocol/errors.ts";
// The options every client shares (one list, cluster/client_options.ts) and the partition
// types. `ProducerOptions.cluster` is a `Cluster` of `@denokafka/kafka/cluster`.
export type * from "../cluster/client_options.ts";
export type { TopicPartition, TopicPartitionOffset } from "../cluster/types.ts";
export type { CompressionName } from "../protocol/compression/mod.ts";
export * from "./record.ts";
export * from "./errors.ts";
export * from "./partitioners.ts";
export * from "./pipeline.ts";
export * from "./pipeline_map.ts";
