/**
 * The producer API (in progress).
 *
 * @example
 * ```ts
 * import * as producer from "@denokafka/kafka/producer";
 * console.log(typeof producer);
 * ```
 *
 * @module
 */

export {};
