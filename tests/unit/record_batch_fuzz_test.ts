/**
 * Bounded, seeded fuzzing of the batch decoder: random, mutated and truncated input may only
 * ever produce a result or a KafkaError subclass (never a RangeError, TypeError, hang or crash).
 * Set FUZZ_SEED to replay a run; FUZZ_ITERATIONS to run longer.
 */
import assert from "node:assert/strict";
import { Compression, type CompressionCodec } from "../../protocol/compression/mod.ts";
import { KafkaError } from "../../protocol/errors.ts";
import { encodeControlBatch, RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20240611);
const ITERATIONS = Number(Deno.env.get("FUZZ_ITERATIONS") ?? 4000);

/** xorshift32: small, seedable, good enough to pick mutations. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return {
    int: (n: number) => next() % n,
    bytes(n: number) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
}

type Rng = ReturnType<typeof rng>;

function validBatch(r: Rng): Uint8Array {
  if (r.int(10) === 0) {
    return encodeControlBatch({
      type: r.int(2) ? "commit" : "abort",
      coordinatorEpoch: r.int(100),
      producerId: BigInt(r.int(1000)),
      producerEpoch: r.int(10),
      timestamp: 1_700_000_000_000,
    });
  }
  const codecs: CompressionCodec[] = [
    Compression.None,
    Compression.None,
    Compression.Gzip,
    Compression.Zstd,
  ];
  const b = new RecordBatchBuilder({ compression: codecs[r.int(codecs.length)]! });
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) {
    const headers = Array.from({ length: r.int(3) }, () => ({
      key: "h" + r.int(5),
      value: r.int(3) ? r.bytes(r.int(20)) : null,
    }));
    b.append(
      1_700_000_000_000 + r.int(1 << 30) - (1 << 29),
      r.int(3) ? r.bytes(r.int(30)) : null,
      r.int(5) ? r.bytes(r.int(r.int(10) === 0 ? 500 : 40)) : null,
      headers,
    );
  }
  return b.finish();
}

function mutate(r: Rng, input: Uint8Array): Uint8Array {
  const b = input.slice();
  switch (r.int(7)) {
    case 0: // flip a few bits
      for (let k = 0, n = 1 + r.int(4); k < n; k++) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    case 1: // overwrite a byte with an interesting value
      b[r.int(b.length)] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe][r.int(6)]!;
      return b;
    case 2: // truncate
      return b.subarray(0, r.int(b.length));
    case 3: // smash a header field (lengths, counts, magic, attributes)
      b[[8, 9, 10, 11, 16, 21, 22, 57, 58, 59, 60][r.int(11)]!] = r.int(256);
      return b;
    case 4: // legacy magic over v2 bytes: exercises the v0/v1 parser on garbage
      b[16] = r.int(2);
      return b;
    case 5: { // splice random bytes into the records section
      if (b.length <= 61) return b;
      const at = 61 + r.int(b.length - 61);
      b.set(r.bytes(Math.min(8, b.length - at)), at);
      return b;
    }
    default: // a random tail after a valid batch
      return Uint8Array.from([...b, ...r.bytes(r.int(80))]);
  }
}

function check(input: Uint8Array, checkCrc: boolean, label: string): void {
  try {
    const d = decodeRecordBatches(input, { checkCrc, maxDecompressedBytes: 1 << 20 });
    for (const batch of d.batches) {
      assert.equal(batch.records.length, batch.count);
      for (const rec of batch.records) {
        // Views never point outside their buffer.
        for (const v of [rec.key, rec.value]) {
          if (v !== null) assert.ok(v.byteOffset + v.length <= v.buffer.byteLength);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof KafkaError)) {
      assert.fail(`${label}: non-Kafka error ${String(e)} for input ${hexOf(input)}`);
    }
  }
}

const hexOf = (b: Uint8Array) =>
  Array.from(b.subarray(0, 400), (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test(`record batch fuzz: mutated batches (seed ${SEED})`, () => {
  const r = rng(SEED);
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < ITERATIONS && Date.now() < deadline; i++) {
    const valid = validBatch(r);
    const two = r.int(4) === 0 ? Uint8Array.from([...valid, ...validBatch(r)]) : valid;
    let input = mutate(r, two);
    if (r.int(4) === 0) input = mutate(r, input);
    check(input, r.int(2) === 0, `iteration ${i}`);
  }
});

Deno.test(`record batch fuzz: random bytes (seed ${SEED})`, () => {
  const r = rng(SEED + 1);
  for (let i = 0; i < ITERATIONS; i++) {
    const input = r.bytes(r.int(200));
    // Make some inputs look like batch headers so the parser goes deeper than the magic.
    if (input.length > 17 && r.int(2)) {
      input[16] = r.int(3);
      new DataView(input.buffer).setInt32(8, input.length - 12);
    }
    check(input, r.int(4) === 0, `random ${i}`);
  }
});

Deno.test("record batch fuzz: every truncation and every single-byte change of one batch", () => {
  const r = rng(SEED + 2);
  const batch = validBatch(r);
  for (let cut = 0; cut <= batch.length; cut++) check(batch.subarray(0, cut), true, `cut ${cut}`);
  for (let i = 0; i < batch.length; i++) {
    for (const v of [0x00, 0x7f, 0x80, 0xff]) {
      const b = batch.slice();
      b[i] = v;
      check(b, false, `byte ${i} = ${v}`);
    }
  }
});
