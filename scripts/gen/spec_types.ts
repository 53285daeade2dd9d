/**
 * The primitive field types of Kafka's message specs (`common/message/*.json`): every other
 * type is a struct, or an array (`[]`) of one or of a primitive. Shared by the generator and
 * the tests that build values for a schema.
 *
 * @module
 */

/**
 * The primitive types a spec field may have.
 *
 * @example
 * ```ts ignore
 * PRIMITIVE_TYPES.has("int32"); // true
 * PRIMITIVE_TYPES.has("MetadataResponseTopic"); // false: a struct
 * ```
 */
export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  "int8",
  "int16",
  "int32",
  "int64",
  "uint16",
  "uint32",
  "float64",
  "bool",
  "string",
  "bytes",
  "records",
  "uuid",
]);
