/**
 * The consumer API (in progress).
 *
 * @example
 * ```ts
 * import * as consumer from "@denokafka/kafka/consumer";
 * console.log(typeof consumer);
 * ```
 *
 * @module
 */

export {};
