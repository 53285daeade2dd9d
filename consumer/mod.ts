/**
 * The consumer: a Web `ReadableStream` of records, pulled by its reader within one memory
 * budget, reading assigned partitions or as a member of a consumer group (classic protocol
 * with Java-compatible assignors, or KIP-848).
 *
 * @example
 * ```ts ignore
 * import { Consumer } from "@denokafka/kafka/consumer";
 * await using consumer = new Consumer({ brokers: ["127.0.0.1:9092"] });
 * consumer.assign([{ topic: "events", partition: 0, offset: "earliest", end: "latest" }]);
 * for await (const r of consumer) console.log(r.offset, r.value?.length);
 * ```
 *
 * @module
 */

export { Consumer } from "./consumer.ts";
// The options every client shares: one list, cluster/client_options.ts.
export type * from "../cluster/client_options.ts";
export type { AssignorName, ConsumerOptions } from "./options.ts";
export type {
  ConsumerCloseOptions,
  ConsumerGroupMetadata,
  ConsumerRecord,
  EndOffset,
  PartitionAssignment,
  PartitionLag,
  RebalanceCallback,
  StartOffset,
  TopicPartition,
  TopicPartitionOffset,
} from "./types.ts";
export type { Assignor, AssignorMember } from "./assignor.ts";
export {
  cooperativeStickyAssignor,
  rangeAssignor,
  resolveAssignor,
  roundRobinAssignor,
  stickyAssign,
  stickyAssignor,
} from "./assignors/mod.ts";
export {
  CONSUMER_PROTOCOL_VERSION,
  decodeAssignment,
  decodeStickyUserData,
  decodeSubscription,
  encodeAssignment,
  encodeCooperativeUserData,
  encodeStickyUserData,
  encodeSubscription,
  type MemberAssignment,
  type Subscription,
} from "./consumer_protocol.ts";
