/**
 * The body of a consumer CRC worker (see `crc_pool.ts`): it receives a fetch response's
 * buffer (transferred, never copied), checks the CRC-32C of every complete v2 record batch in
 * the partitions' record ranges it is told, and sends the buffer back with a verdict per
 * range.
 *
 * Not part of the public API; loaded with `new Worker(new URL(...), { type: "module" })`.
 *
 * @module
 */

import { type CrcJob, type CrcResult, verifyRanges } from "./crc_pool.ts";

/** The worker-side global scope, typed by hand so this file checks with the window lib too. */
interface WorkerScope {
  onmessage: ((e: MessageEvent<CrcJob>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  const job = e.data;
  let ok: Uint8Array;
  try {
    ok = verifyRanges(new Uint8Array(job.buffer), job.ranges);
  } catch {
    // Nothing verified: the consumer's thread checks every batch as it decodes it.
    ok = new Uint8Array(job.ranges.length >> 1);
  }
  const result: CrcResult = { id: job.id, buffer: job.buffer, ok };
  scope.postMessage(result, [job.buffer, ok.buffer as ArrayBuffer]);
};

// Tells the consumer the module loaded: jobs are sent only to workers that said so.
scope.postMessage({ id: -1, buffer: new ArrayBuffer(0), ok: new Uint8Array(0) }, []);
