/**
 * The admin API (in progress).
 *
 * @example
 * ```ts
 * import * as admin from "@denokafka/kafka/admin";
 * console.log(typeof admin);
 * ```
 *
 * @module
 */

export {};
