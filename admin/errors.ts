/**
 * The error of a batch admin call in which some items failed.
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";

/**
 * One item of a batch admin call: its value when it succeeded, its error when it failed.
 *
 * @example
 * ```ts
 * import type { BatchItemResult } from "@denokafka/kafka/admin";
 * const r: BatchItemResult<number> = { name: "orders", ok: true, value: 3 };
 * if (r.ok) console.log(r.value);
 * ```
 */
export type BatchItemResult<T> =
  | { readonly name: string; readonly ok: true; readonly value: T }
  | { readonly name: string; readonly ok: false; readonly error: KafkaError };

/**
 * Rejects a batch admin call (`createTopics`, `deleteRecords`, ...) when any item failed.
 * Like `AggregateError`, `errors` lists the failures; `results` lists every item in the order
 * given, succeeded or not, so nothing is swallowed. Each item error is usually a
 * `ProtocolError` carrying the broker's code for that item. Retriable when every failure is.
 *
 * @example
 * ```ts ignore
 * import { Admin, AdminBatchError } from "@denokafka/kafka/admin";
 * await using admin = new Admin({ brokers: ["127.0.0.1:9092"] });
 * try {
 *   await admin.createTopics([{ name: "a" }, { name: "b" }]);
 * } catch (e) {
 *   if (!(e instanceof AdminBatchError)) throw e;
 *   for (const f of e.failures()) console.log(f.name, f.error.message);
 * }
 * ```
 */
export class AdminBatchError<T = unknown> extends KafkaError {
  /** The admin operation, e.g. `createTopics`. */
  readonly operation: string;
  /** Every item, in the order given. */
  readonly results: readonly BatchItemResult<T>[];
  /** The failed items' errors, in order (as `AggregateError.errors`). */
  readonly errors: readonly KafkaError[];

  /** Builds the error from every item's outcome (at least one of them failed). */
  constructor(operation: string, results: readonly BatchItemResult<T>[]) {
    const failed = results.filter((r) => !r.ok) as { name: string; error: KafkaError }[];
    const shown = failed.slice(0, 3).map((f) => `${f.name}: ${f.error.message}`).join("; ");
    const more = failed.length > 3 ? `; and ${failed.length - 3} more` : "";
    super(`${operation}: ${failed.length} of ${results.length} failed (${shown}${more})`, {
      retriable: failed.length > 0 && failed.every((f) => f.error.retriable),
    });
    this.operation = operation;
    this.results = results;
    this.errors = failed.map((f) => f.error);
  }

  /** The failed items with their errors. */
  failures(): { name: string; error: KafkaError }[] {
    const out: { name: string; error: KafkaError }[] = [];
    for (const r of this.results) if (!r.ok) out.push({ name: r.name, error: r.error });
    return out;
  }

  /** The values of the items that succeeded. */
  successes(): { name: string; value: T }[] {
    const out: { name: string; value: T }[] = [];
    for (const r of this.results) if (r.ok) out.push({ name: r.name, value: r.value });
    return out;
  }

  /** The error of the item called `name`, if it failed. */
  errorFor(name: string): KafkaError | undefined {
    for (const r of this.results) if (r.name === name && !r.ok) return r.error;
    return undefined;
  }
}
