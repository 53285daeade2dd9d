/**
 * The body of a producer compression worker (see `compression_pool.ts`): it receives finished
 * record batches whose records are still uncompressed, compresses them with
 * `compressRecordBatch` and sends both buffers back, transferred (never copied): the
 * compressed batch, and the input for the producer to build its next batch in.
 *
 * Not part of the public API; loaded with `new Worker(new URL(...), { type: "module" })`.
 *
 * @module
 */

import { compressRecordBatch } from "../protocol/record_batch_builder.ts";

/**
 * A batch to compress: `buffer[0, length)` is what `finishUncompressed()` returned; `output`,
 * if any, is a buffer to compress into (a reused one) when it has room.
 */
export interface CompressionJob {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly length: number;
  readonly level: number | undefined;
  readonly output: ArrayBuffer | undefined;
}

/** The worker's answer: the compressed batch, or why there is none; the input comes back. */
export interface CompressionResult {
  readonly id: number;
  readonly input: ArrayBuffer;
  readonly output?: ArrayBuffer;
  readonly offset?: number;
  readonly length?: number;
  readonly error?: string;
}

/** The worker-side global scope, typed by hand so this file checks with the window lib too. */
interface WorkerScope {
  onmessage: ((e: MessageEvent<CompressionJob>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  const job = e.data;
  let result: CompressionResult;
  let transfer: ArrayBuffer[];
  try {
    const out = compressRecordBatch(
      new Uint8Array(job.buffer, 0, job.length),
      job.level,
      job.output === undefined ? undefined : new Uint8Array(job.output),
    );
    result = {
      id: job.id,
      input: job.buffer,
      output: out.buffer as ArrayBuffer,
      offset: out.byteOffset,
      length: out.length,
    };
    transfer = [job.buffer, out.buffer as ArrayBuffer];
  } catch (err) {
    // The batch is compressed on the producer's thread instead; only the message crosses.
    result = { id: job.id, input: job.buffer, error: String(err) };
    transfer = [job.buffer];
  }
  scope.postMessage(result, transfer);
};

// Tells the producer the module loaded: jobs are sent only to workers that said so.
scope.postMessage({ id: -1, input: new ArrayBuffer(0) } satisfies CompressionResult, []);
