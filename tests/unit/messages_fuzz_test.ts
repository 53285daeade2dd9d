/**
 * A bounded, seeded fuzz of every response decoder at every version (and of the response
 * framing): random bytes, truncations and mutations of valid encodings must either decode or
 * raise a KafkaError (DecodeError...), never a RangeError from a DataView, a TypeError, a hang
 * or a huge allocation.
 */
import assert, { throws } from "node:assert/strict";
import {
  allApis,
  type AnyApiDef,
  DecodeError,
  decodeResponse,
  decoderFor,
  encodeResponse,
  KafkaError,
  Reader,
  Writer,
} from "../../protocol/mod.ts";
import { arbitraryMessage, Rng } from "./messages_arbitrary.ts";

/** The whole fuzz run stays within this budget (plus one decoder call). */
const BUDGET_MS = 4000;
/** No single decode of a small input may take this long (a hang or a runaway allocation). */
const SLOW_MS = 250;

function check(what: string, f: () => unknown, failures: string[]): void {
  const once = (first: boolean): number => {
    const t0 = performance.now();
    try {
      f();
    } catch (e) {
      if (first && !(e instanceof KafkaError)) {
        failures.push(`${what}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
    }
    return performance.now() - t0;
  };
  let dt = once(true);
  // A runaway decode is slow every time; a busy machine (a collection, another process on the
  // core) is slow once. The same input is timed again before it counts.
  for (let i = 0; i < 2 && dt > SLOW_MS; i++) dt = Math.min(dt, once(false));
  if (dt > SLOW_MS) failures.push(`${what}: took ${dt.toFixed(0)} ms`);
}

function mutate(rng: Rng, valid: Uint8Array): Uint8Array {
  const b = valid.slice();
  const kind = rng.int(0, 5);
  if (b.length === 0) return rng.bytes(rng.int(1, 8));
  const at = rng.int(0, b.length - 1);
  switch (kind) {
    case 0: // one bit
      b[at]! ^= 1 << rng.int(0, 7);
      return b;
    case 1: // an extreme byte, as in a corrupt length
      b[at] = [0x00, 0x7f, 0x80, 0xff][rng.int(0, 3)]!;
      return b;
    case 2: // a run of 0xff (int32 -1, huge varints)
      for (let i = at; i < Math.min(b.length, at + rng.int(1, 5)); i++) b[i] = 0xff;
      return b;
    case 3: // a deleted byte
      return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1)]);
    case 4: // an inserted byte
      return new Uint8Array([...b.subarray(0, at), rng.int(0, 255), ...b.subarray(at)]);
    default: // several random bytes
      for (let i = 0; i < 4; i++) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
      return b;
  }
}

Deno.test("fuzz: response decoders only ever raise KafkaErrors", () => {
  const rng = new Rng(0xf022);
  const failures: string[] = [];
  const deadline = performance.now() + BUDGET_MS;
  const targets: { api: AnyApiDef; v: number }[] = [];
  for (const api of allApis()) {
    for (let v = api.minVersion; v <= api.maxVersion; v++) targets.push({ api, v });
  }
  let runs = 0;
  let round = 0;
  outer: while (true) {
    for (const { api, v } of targets) {
      // The first round always completes (every API version gets its inputs, however slow or
      // loaded the machine); the time budget only bounds the extra rounds.
      if (round > 0 && performance.now() > deadline) break outer;
      const dec = decoderFor(api.response, v);
      const where = `${api.response.name} v${v}`;
      // Random bytes.
      for (let i = 0; i < 4; i++) {
        const junk = rng.bytes(rng.int(0, 48));
        check(`${where} random`, () => dec(new Reader(junk)), failures);
      }
      // A valid encoding, its truncations and mutations.
      const w = new Writer();
      api.encodeResponse(w, v, arbitraryMessage(api.response, v, rng, { maxArray: 2 }));
      const valid = w.toBytes();
      for (let i = 0; i < 6; i++) {
        const cut = rng.int(0, Math.max(0, valid.length - 1));
        check(`${where} cut ${cut}`, () => dec(new Reader(valid.subarray(0, cut))), failures);
      }
      for (let i = 0; i < 12; i++) {
        const m = mutate(rng, valid);
        check(`${where} mutated`, () => dec(new Reader(m)), failures);
      }
      // Through the framing, header included.
      const frame = encodeResponse(api, v, 1, arbitraryMessage(api.response, v, rng)).slice(4);
      for (let i = 0; i < 4; i++) {
        const m = mutate(rng, frame);
        check(`${where} frame`, () => decodeResponse(api, v, m), failures);
      }
      runs += 27;
      if (failures.length > 20) break outer;
    }
    round++;
  }
  assert(
    failures.length === 0,
    `${failures.length} failures:\n${failures.slice(0, 20).join("\n")}`,
  );
  assert(round >= 1 && runs >= targets.length * 27, `only ${runs} inputs`);
});

Deno.test("fuzz: claimed lengths are checked before anything is allocated", () => {
  // Metadata v0 response: brokers array claiming 2^31-1 entries in a few bytes.
  const hugeArray = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  throws(() => decoderFor(allApis()[3]!.response, 0)(new Reader(hugeArray)), DecodeError);
  // Fetch v12 response: a compact array count of ~2^32 as a 5-byte uvarint.
  const fetch = allApis().find((a) => a.name === "Fetch")!;
  const hugeCompact = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  throws(() => decoderFor(fetch.response, 12)(new Reader(hugeCompact)), DecodeError);
  // A string claiming 32767 bytes.
  const heartbeat = allApis().find((a) => a.name === "Heartbeat")!;
  throws(
    () => decoderFor(heartbeat.request, 0)(new Reader(new Uint8Array([0x7f, 0xff, 0x61]))),
    DecodeError,
  );
  // A tagged-field section claiming 2^32-1 fields, then nothing.
  throws(
    () =>
      decoderFor(heartbeat.response, 4)(
        new Reader(new Uint8Array([0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      ),
    DecodeError,
  );
});
