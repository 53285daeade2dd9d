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
export { AdminBatchError } from "./errors.ts";
// The option, result and enum types of Admin's methods: one list, admin/types.ts, which the
// root re-exports too.
export type * from "./types.ts";
export type { TopicPartition, TopicPartitionOffset } from "../cluster/types.ts";
// The options every client shares: one list, cluster/client_options.ts.
export type * from "../cluster/client_options.ts";
export { KafkaError, ProtocolError } from "../protocol/errors.ts";
// Helpers beyond the client: decode a group's authorized-operations bit field, derive a SCRAM
// salted password.
export { authorizedOperations } from "./enums.ts";
export { scramSaltedPassword } from "./scram.ts";
