/**
 * The launcher's one error type. It lives apart from the modules that throw it (the jar
 * downloader, the port check, the process plumbing, the node backends), so none of them
 * imports another only to reach it.
 *
 * @module
 */

import { KafkaError } from "../../protocol/errors.ts";

/**
 * A launcher failure: a missing program, a failed download, a broker that did not start.
 *
 * @example
 * ```ts
 * import { LauncherError } from "./errors.ts";
 * const e = new LauncherError("java not found: install a JDK 17+");
 * console.log(e.name); // LauncherError
 * ```
 */
export class LauncherError extends KafkaError {}
