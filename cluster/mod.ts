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
