// The deadline matrix against fake servers on loopback (faults a real broker cannot produce on
// demand): every operation × deadline source (tests/helpers/deadline_matrix.ts) under each
// condition ends by its deadline, within max(10%, 250 ms), with TimeoutError (or the signal's
// reason); conditions that cannot heal by waiting fail fast with their typed error instead.
// The real broker's cells (TLS and SASL listeners, a stopped broker) are in
// tests/integration/deadline_broker_test.ts.
import assert from "node:assert/strict";
import {
  AuthenticationError,
  DecodeError,
  UnsupportedVersionError,
} from "../../protocol/errors.ts";
import {
  CELL_COUNT,
  checkCell,
  describeResults,
  type Expectation,
  runCells,
} from "../helpers/deadline_matrix.ts";
import { fakeBroker, type FakeBrokerMode, refusedAddress } from "../helpers/fake_broker.ts";

const DEADLINE_MS = 1_500;
/**
 * Fail-fast conditions get a long deadline: failing fast must stay clearly apart from waiting
 * for the deadline, on a loaded machine too.
 */
const FAIL_FAST_DEADLINE_MS = 10_000;

interface Condition {
  readonly name: string;
  /** The fake server (none: a refused port). */
  readonly fake: FakeBrokerMode | undefined;
  /** TLS on the client side. */
  readonly tls?: boolean;
  readonly expect: Expectation;
}

const CONDITIONS: readonly Condition[] = [
  { name: "refused port", fake: undefined, expect: { kind: "deadline" } },
  { name: "silent server", fake: "silent", expect: { kind: "deadline" } },
  { name: "reset after connect", fake: "reset", expect: { kind: "deadline" } },
  // Closed in the middle of a frame: a network failure, retried.
  { name: "truncated frame", fake: "truncated", expect: { kind: "deadline" } },
  // Answers ApiVersions, then hangs up mid-request (and does not answer a SASL probe).
  { name: "broker dying mid-request", fake: "dying", expect: { kind: "deadline" } },
  // Connected, then requests go unanswered: request timeouts are clipped to the deadline.
  { name: "requests never answered", fake: "stalled", expect: { kind: "deadline" } },
  {
    name: "garbage bytes",
    fake: "garbage",
    expect: { kind: "fail-fast", error: DecodeError },
  },
  {
    name: "plaintext client on a TLS port",
    fake: "tls",
    expect: { kind: "fail-fast", error: AuthenticationError, hint: /speaks TLS: set the tls/ },
  },
  {
    name: "TLS client on a plaintext port",
    fake: "dying",
    tls: true,
    expect: {
      kind: "fail-fast",
      error: AuthenticationError,
      hint: /does not speak TLS here/,
    },
  },
  {
    name: "SASL required but not configured",
    fake: "sasl",
    expect: {
      kind: "fail-fast",
      error: AuthenticationError,
      hint: /requires SASL.*set the sasl option.*PLAIN, SCRAM-SHA-512/,
    },
  },
  {
    name: "unsupported API version",
    fake: "unsupported",
    expect: { kind: "fail-fast", error: UnsupportedVersionError },
  },
];

for (const condition of CONDITIONS) {
  Deno.test(`deadline matrix (fake server): ${condition.name}`, async (t) => {
    const fake = condition.fake === undefined ? undefined : fakeBroker(condition.fake);
    try {
      const address = fake?.address ?? refusedAddress();
      const { results, lagMs } = await runCells(
        { brokers: [address], ...condition.tls && { tls: true } },
        condition.expect.kind === "fail-fast" ? FAIL_FAST_DEADLINE_MS : DEADLINE_MS,
        condition.expect,
      );
      console.log(describeResults(condition.name, results, lagMs));
      assert.equal(results.length, CELL_COUNT);
      for (const r of results) {
        await t.step(`${condition.name} × ${r.name}`, () => checkCell(r, condition.expect, lagMs));
      }
    } finally {
      await fake?.close();
    }
  });
}
