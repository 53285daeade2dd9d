/**
 * The framing Java's `ConsumerProtocol` puts around the generated consumer-protocol formats
 * (`messages/consumer_protocol.ts`): an int16 version, then the body of that version. A version
 * newer than this client knows is read with the newest known layout, as Java does: the specs
 * promise that new versions only append fields. The consumer (JoinGroup/SyncGroup) and the
 * admin client (DescribeGroups) both decode through here.
 *
 * @module
 */

import { DecodeError } from "./errors.ts";
import {
  type ConsumerProtocolAssignment,
  ConsumerProtocolAssignmentSchema,
  type ConsumerProtocolSubscription,
  ConsumerProtocolSubscriptionSchema,
} from "./messages/consumer_protocol.ts";
import { Reader } from "./reader.ts";
import { decoderFor, encoderFor, type MessageSchema, parseVersions } from "./schema.ts";
import { Writer } from "./writer.ts";

/**
 * A decoded consumer-protocol value with the version its bytes carried.
 *
 * @example
 * ```ts
 * import type { ConsumerProtocolAssignment, Versioned } from "@denokafka/kafka/protocol";
 * const count = (v: Versioned<ConsumerProtocolAssignment>) => v.value.assignedPartitions.length;
 * console.log(typeof count); // function
 * ```
 */
export interface Versioned<T> {
  /** The version in the bytes (may be newer than the layout read). */
  readonly version: number;
  /** The fields of the newest layout up to that version. */
  readonly value: T;
}

function decodeVersioned<T>(schema: MessageSchema, bytes: Uint8Array): Versioned<T> {
  const r = new Reader(bytes);
  let version: number;
  try {
    version = r.int16();
  } catch (e) {
    throw new DecodeError(`${schema.name}: no version`, { cause: e });
  }
  if (version < 0) throw new DecodeError(`${schema.name} version ${version}`);
  const layout = Math.min(version, parseVersions(schema.validVersions).max);
  try {
    return { version, value: decoderFor<T>(schema, layout)(r) };
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`cannot decode ${schema.name}: ${(e as Error).message}`, { cause: e });
  }
}

function encodeVersioned<T>(schema: MessageSchema, version: number, value: T): Uint8Array {
  const v = Math.min(version, parseVersions(schema.validVersions).max);
  const w = new Writer(64);
  w.int16(v);
  encoderFor<T>(schema, v)(w, value);
  return w.toBytes();
}

/**
 * Decodes a member's subscription (JoinGroup protocol metadata). Malformed bytes raise
 * {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { decodeConsumerSubscription, encodeConsumerSubscription } from "@denokafka/kafka/protocol";
 * const bytes = encodeConsumerSubscription(3, { topics: ["a"], userData: null,
 *   ownedPartitions: [], generationId: 2, rackId: null });
 * console.log(decodeConsumerSubscription(bytes).value.generationId); // 2
 * ```
 */
export function decodeConsumerSubscription(
  bytes: Uint8Array,
): Versioned<ConsumerProtocolSubscription> {
  return decodeVersioned(ConsumerProtocolSubscriptionSchema, bytes);
}

/**
 * Encodes a subscription with `version` (capped at the newest this client knows).
 *
 * @example
 * ```ts
 * import { encodeConsumerSubscription } from "@denokafka/kafka/protocol";
 * const bytes = encodeConsumerSubscription(0, { topics: ["a"], userData: null,
 *   ownedPartitions: [], generationId: -1, rackId: null });
 * console.log(bytes.length); // 13
 * ```
 */
export function encodeConsumerSubscription(
  version: number,
  value: ConsumerProtocolSubscription,
): Uint8Array {
  return encodeVersioned(ConsumerProtocolSubscriptionSchema, version, value);
}

/**
 * Decodes the assignment SyncGroup returns. Empty bytes (what a member given nothing gets from
 * some clients) are an empty version-0 assignment; malformed bytes raise {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { decodeConsumerAssignment } from "@denokafka/kafka/protocol";
 * console.log(decodeConsumerAssignment(new Uint8Array(0)).value.assignedPartitions); // []
 * ```
 */
export function decodeConsumerAssignment(bytes: Uint8Array): Versioned<ConsumerProtocolAssignment> {
  if (bytes.length === 0) return { version: 0, value: { assignedPartitions: [], userData: null } };
  return decodeVersioned(ConsumerProtocolAssignmentSchema, bytes);
}

/**
 * Encodes an assignment with `version` (capped at the newest this client knows).
 *
 * @example
 * ```ts
 * import { decodeConsumerAssignment, encodeConsumerAssignment } from "@denokafka/kafka/protocol";
 * const bytes = encodeConsumerAssignment(3, { userData: null,
 *   assignedPartitions: [{ topic: "t", partitions: [0, 2] }] });
 * console.log(decodeConsumerAssignment(bytes).value.assignedPartitions[0]?.partitions); // [ 0, 2 ]
 * ```
 */
export function encodeConsumerAssignment(
  version: number,
  value: ConsumerProtocolAssignment,
): Uint8Array {
  return encodeVersioned(ConsumerProtocolAssignmentSchema, version, value);
}
