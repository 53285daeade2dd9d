/**
 * A scripted in-memory socket for edge cases a real broker cannot produce: truncated frames,
 * slow peers, garbage bytes, silence. It is not a broker: each test answers by hand.
 */

import { type AnyApiDef, decodeRequest, encodeResponse } from "../../protocol/apis.ts";
import type { Socket } from "../../net/connection.ts";

/** A request seen by the fake peer. */
export interface SeenRequest {
  api: AnyApiDef;
  version: number;
  correlationId: number;
  body: unknown;
}

/** The peer side of a connection under test. */
export class FakeSocket implements Socket {
  #inbound: Uint8Array[] = [];
  #waiting: ((n: number | null) => void) | undefined;
  #waitingBuf: Uint8Array | undefined;
  #eof = false;
  #pendingWrite = new Uint8Array(0);
  closed = false;
  /** Requests written by the client, decoded. */
  readonly requests: SeenRequest[] = [];
  /** Called for each complete request frame the client writes. */
  onRequest: ((req: SeenRequest) => void) | undefined;
  /** Makes every write fail (a broken pipe). */
  failWrites = false;
  /**
   * The largest buffer the reader offered to read into (its `ArrayBuffer`'s size): what the
   * connection allocated for incoming bytes, measured without looking at process memory.
   */
  largestReadBuffer = 0;

  read(p: Uint8Array): Promise<number | null> {
    this.largestReadBuffer = Math.max(this.largestReadBuffer, p.buffer.byteLength);
    if (this.#inbound.length > 0) return Promise.resolve(this.#copyInto(p));
    if (this.#eof || this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#waitingBuf = p;
    });
  }

  #copyInto(p: Uint8Array): number {
    const chunk = this.#inbound[0]!;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#inbound.shift();
    else this.#inbound[0] = chunk.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.failWrites) return Promise.reject(new Deno.errors.BrokenPipe("broken pipe"));
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    const all = new Uint8Array(this.#pendingWrite.length + p.length);
    all.set(this.#pendingWrite);
    all.set(p, this.#pendingWrite.length);
    let off = 0;
    while (all.length - off >= 4) {
      const size = new DataView(all.buffer, off).getInt32(0);
      if (all.length - off - 4 < size) break;
      const frame = all.subarray(off + 4, off + 4 + size);
      const { header, api, body } = decodeRequest(frame);
      const seen = {
        api,
        version: header.apiVersion,
        correlationId: header.correlationId,
        body,
      };
      this.requests.push(seen);
      queueMicrotask(() => this.onRequest?.(seen));
      off += 4 + size;
    }
    this.#pendingWrite = all.slice(off);
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closed = true;
    this.#wake(null);
  }

  /** Delivers raw bytes to the client. */
  push(bytes: Uint8Array): void {
    this.#inbound.push(bytes.slice());
    if (this.#waiting) {
      const n = this.#copyInto(this.#waitingBuf!);
      this.#wake(n);
    }
  }

  /** Sends a well-formed response to a seen request. */
  reply(req: SeenRequest, body: unknown, correlationId = req.correlationId): void {
    this.push(encodeResponse(req.api, req.version, correlationId, body));
  }

  /** Ends the stream, as a peer closing its side. */
  end(): void {
    this.#eof = true;
    if (this.#inbound.length === 0) this.#wake(null);
  }

  #wake(n: number | null): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    this.#waitingBuf = undefined;
    w?.(n);
  }
}
