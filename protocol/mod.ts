/**
 * The low-level Kafka protocol layer: primitives, message schemas, record batches,
 * compression, connections and SASL. Use it when you need to speak to one broker directly,
 * as kafka-go's `Conn` allows.
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
export * from "./writer.ts";
export * from "./reader.ts";
export * from "./compression/mod.ts";
export * from "./crc32c.ts";
export * from "./record_batch.ts";
export * from "./record_batch_builder.ts";
export * from "./record_batch_decoder.ts";
export * from "./control_record.ts";
export * from "./sasl/mod.ts";
