/**
 * The logging hook shared by every layer. The library never logs secrets: no password,
 * token, SASL message or key/value bytes ever reach a logger.
 *
 * @module
 */

/** Log levels, from most to least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields attached to a log entry. */
export type LogFields = Record<string, unknown>;

/**
 * A logger: one function per level, each taking a message and structured fields.
 * `console` fits this shape, so `logger: console` works.
 *
 * @example
 * ```ts
 * import type { Logger } from "@denokafka/kafka/protocol";
 * const logger: Logger = {
 *   debug: () => {},
 *   info: (msg, fields) => console.log(msg, fields),
 *   warn: (msg, fields) => console.warn(msg, fields),
 *   error: (msg, fields) => console.error(msg, fields),
 * };
 * logger.info("connected", { broker: "127.0.0.1:9092" });
 * ```
 */
export interface Logger {
  /** Fine-grained detail (requests, retries). */
  debug(message: string, fields?: LogFields): void;
  /** Lifecycle events (connected, joined a group). */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong but was handled (a retry, a rebalance). */
  warn(message: string, fields?: LogFields): void;
  /** Something failed and was reported to the caller. */
  error(message: string, fields?: LogFields): void;
}

const noop = () => {};

/**
 * A logger that drops everything: the default.
 *
 * @example
 * ```ts
 * import { silentLogger } from "@denokafka/kafka/protocol";
 * silentLogger.info("not printed");
 * ```
 */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * A logger printing JSON lines to the console at or above `level`.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "@denokafka/kafka/protocol";
 * const log = consoleLogger("warn");
 * log.debug("hidden");
 * ```
 */
export function consoleLogger(level: LogLevel = "info"): Logger {
  const min = ORDER[level];
  const at = (l: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[l] < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: l, message, ...fields });
    if (l === "error" || l === "warn") console.error(line);
    else console.log(line);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
