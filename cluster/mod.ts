/**
 * The cluster layer shared by the producer, consumer and admin client: bootstrap, metadata,
 * leader and coordinator routing, connection lanes, and retries with backoff.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@denokafka/kafka";
 * await using cluster = new Cluster({ brokers: ["127.0.0.1:9092"] });
 * await cluster.refreshMetadata(null);
 * console.log(cluster.info().brokers.length);
 * ```
 *
 * @module
 */

export * from "./options.ts";
export * from "./retry.ts";
export * from "./metadata.ts";
export * from "./cluster.ts";
export * from "./types.ts";
// The types the cluster layer's signatures mention, so its documentation is complete.
export type { Connection, RequestOptions } from "../net/connection.ts";
export type { ApiDef } from "../protocol/api_def.ts";
export type { Reader } from "../protocol/reader.ts";
export type { Writer } from "../protocol/writer.ts";
export type { FieldDefault, FieldSchema, MessageSchema } from "../protocol/schema.ts";
export type { VersionTable } from "../net/negotiate.ts";
