/**
 * `Producer.abort()` and `close({ timeoutMs })` end promptly while a Produce request hangs,
 * whoever owns the connections: the producer's own cluster (closed under the request) or a
 * cluster the caller passed in (`cluster`), which the producer must not close, so only the
 * producer's own requests may be given up. Pending sends reject with a ClosedError, the
 * producer has no request in flight afterwards, and the caller's cluster still works.
 *
 * The matrix: the fault (a silent broker that never answers Produce; a broker that stopped
 * reading, so the Produce write itself never completes, with acks "all" and with acks 0,
 * where no answer is awaited) × who owns the cluster × how the
 * producer stops (`abort(reason)`; `close({ timeoutMs })`). The request timeout is 10 s: a
 * producer that waits for it fails the prompt bound by far.
 */

import assert from "node:assert/strict";
import { Producer } from "../../producer/producer.ts";
import { ClosedError } from "../../protocol/errors.ts";
import { FakeCluster, NO_ANSWER } from "../helpers/fake_cluster.ts";
import { FakeSocket } from "../helpers/fake_socket.ts";
import { until } from "../helpers/wait.ts";

const REQUEST_TIMEOUT_MS = 10_000;
/** How soon a stop must have settled, beyond the time it was given (and the event-loop lag). */
const PROMPT_MS = 250;
const CLOSE_TIMEOUT_MS = 100;

/** Whether a written chunk starts a Produce request frame (size, then api key 0). */
function isProduce(p: Uint8Array): boolean {
  return p.length >= 6 && p[4] === 0 && p[5] === 0;
}

/** A socket whose peer stopped reading: its Produce writes never complete (until closed). */
class StuckSocket extends FakeSocket {
  readonly held: ((e: unknown) => void)[] = [];

  override write(p: Uint8Array): Promise<number> {
    if (!isProduce(p)) return super.write(p);
    return new Promise((_, reject) => this.held.push(reject));
  }

  override close(): void {
    super.close();
    for (const reject of this.held.splice(0)) reject(new Deno.errors.BadResource("closed"));
  }
}

/** A fault: sets up `fake`, and tells when the Produce request hangs in it. */
interface Fault {
  arm(fake: FakeCluster): () => boolean;
  /** Producer options it needs. */
  options?: { acks: 0 };
}

/** Gives `fake` sockets that hold Produce writes; tells when one is held. */
function stuckWrites(fake: FakeCluster): () => boolean {
  const sockets: StuckSocket[] = [];
  fake.socketFor = () => {
    const s = new StuckSocket();
    sockets.push(s);
    return s;
  };
  return () => sockets.some((s) => s.held.length > 0);
}

const FAULTS: Record<string, Fault> = {
  "a silent broker": {
    arm(fake) {
      fake.on("Produce", () => NO_ANSWER);
      return () => fake.seen("Produce").length > 0;
    },
  },
  "a broker that stopped reading": { arm: stuckWrites },
  // No answer is awaited: the write is all there is to give up.
  "a broker that stopped reading (acks 0)": { arm: stuckWrites, options: { acks: 0 } },
};

const COMMON = {
  lingerMs: 0,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  retry: { initialBackoffMs: 1, maxBackoffMs: 5, jitter: 0 },
};

/** Who owns the cluster: makes the producer. */
const OWNERS: Record<
  string,
  { shared: boolean; make(fake: FakeCluster, extra: { acks?: 0 }): Producer }
> = {
  "the caller's cluster": {
    shared: true,
    make: (fake, extra) =>
      new Producer({ brokers: ["unused:1"], cluster: fake, ...COMMON, ...extra }),
  },
  "the producer's own cluster": {
    shared: false,
    make: (fake, extra) =>
      new Producer({
        brokers: ["fake-1:9001"],
        transport: fake.transport(),
        ...COMMON,
        ...extra,
      }),
  },
};

const REASON = new RangeError("stop");

/** How the producer stops: the call, the time it is given, and the cause its error carries. */
const STOPS: Record<string, { run(p: Producer): Promise<void>; givenMs: number; cause: unknown }> =
  {
    "abort(reason)": { run: (p) => p.abort(REASON), givenMs: 0, cause: REASON },
    [`close({ timeoutMs: ${CLOSE_TIMEOUT_MS} })`]: {
      run: (p) => p.close({ timeoutMs: CLOSE_TIMEOUT_MS }),
      givenMs: CLOSE_TIMEOUT_MS,
      cause: undefined,
    },
  };

/** Milliseconds until `p` settles, and how. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const t0 = performance.now();
  const [result] = await Promise.allSettled([p]);
  return { ms: Math.round(performance.now() - t0), result: result! };
}

/** Measures the event loop's lag (ms late of a 20 ms tick, at most) until stopped. */
function lagMeter(): { stop(): number } {
  let lag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 20);
    last = now;
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(lag);
    },
  };
}

for (const [faultName, fault] of Object.entries(FAULTS)) {
  for (const [ownerName, owner] of Object.entries(OWNERS)) {
    for (const [stopName, stop] of Object.entries(STOPS)) {
      Deno.test(`producer ${stopName} with ${faultName}, on ${ownerName}: settles promptly`, async () => {
        await using fake = new FakeCluster(1, { requestTimeoutMs: REQUEST_TIMEOUT_MS });
        fake.addTopic("t", 1);
        const hanging = fault.arm(fake);
        const producer = owner.make(fake, fault.options ?? {});
        try {
          const sent = producer.send({ topic: "t", partition: 0, value: "x" });
          sent.catch(() => {});
          await until(
            "a Produce request in flight",
            () =>
              Promise.resolve(
                producer.metrics().inFlightRequests === 1 && hanging() ? true : undefined,
              ),
            10_000,
            5,
          );
          const lag = lagMeter();
          const [stopped, send] = await Promise.all([timed(stop.run(producer)), timed(sent)]);
          const lagMs = Math.min(lag.stop(), 1_000);
          const bound = stop.givenMs + PROMPT_MS + lagMs;
          assert.equal(stopped.result.status, "fulfilled", "the stop resolves");
          assert.ok(
            stopped.ms <= bound,
            `the stop took ${stopped.ms} ms (bound ${bound}, event-loop lag ${lagMs})`,
          );
          assert.ok(send.ms <= bound, `the send settled after ${send.ms} ms (bound ${bound})`);
          assert.equal(send.result.status, "rejected", "the pending send rejects");
          const error = (send.result as PromiseRejectedResult).reason;
          assert.ok(error instanceof ClosedError, `a ClosedError, got ${error}`);
          if (stop.cause !== undefined) assert.equal(error.cause, stop.cause);
          assert.equal(producer.metrics().inFlightRequests, 0, "no request of it in flight");
          if (owner.shared) {
            // The caller's cluster stays open and usable.
            assert.equal(fake.closed, false, "the caller's cluster is not closed");
            await fake.refreshMetadata(["t"], { signal: AbortSignal.timeout(2_000) });
          }
        } finally {
          await producer.abort();
        }
      });
    }
  }
}
