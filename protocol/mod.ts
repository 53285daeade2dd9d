/**
 * The low-level Kafka protocol layer, pure codecs safe in any worker: primitives, message
 * schemas, record batches, compression and SASL mechanisms. A connection to one broker (as
 * kafka-go's `Conn` allows) is in `@denokafka/kafka/net`.
 *
 * @example
 * ```ts
 * import { Writer, Reader } from "@denokafka/kafka/protocol";
 * const bytes = new Writer().compactString("topic").finish();
 * console.log(new Reader(bytes).compactString()); // topic
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./error_codes.ts";
export * from "./error_sets.ts";
export * from "./consumer_protocol.ts";
export * from "./offset_fetch.ts";
export * from "./topic_id_version.ts";
export * from "./writer.ts";
export * from "./reader.ts";
export * from "./compression/mod.ts";
export * from "./crc32c.ts";
export * from "./record_batch.ts";
export * from "./record_batch_builder.ts";
export * from "./record_batch_decoder.ts";
export * from "./control_record.ts";
export * from "./uuid.ts";
export * from "./schema.ts";
export * from "./headers.ts";
export * from "./apis.ts";
export * from "./messages/mod.ts";
export * from "./sasl/mod.ts";
export * from "./logger.ts";
export * from "./deadline.ts";
