/**
 * The consumer's pieces that need no broker: the batch header walk of a fetch response, the
 * read_committed filter (aborted transactions, interleaved producers, control batches),
 * records cut to a start and an end offset, incremental fetch sessions (KIP-227), and the
 * ConsumerProtocol decoders against garbage.
 */

import assert from "node:assert/strict";
import { batchRecords, Chunk, scanBatches } from "../../consumer/chunk.ts";
import { decodeAssignment, decodeSubscription } from "../../consumer/consumer_protocol.ts";
import { FetchSession, type SessionPartition } from "../../consumer/fetch_session.ts";
import { PartitionState } from "../../consumer/partition_state.ts";
import type { ConsumerRecord } from "../../consumer/types.ts";
import { DecodeError } from "../../protocol/errors.ts";
import { encodeControlBatch, RecordBatchBuilder } from "../../protocol/record_batch_builder.ts";
import { decodeRecordBatches } from "../../protocol/record_batch_decoder.ts";

const enc = new TextEncoder();

function batch(
  baseOffset: number,
  values: string[],
  opts: { producerId?: number; transactional?: boolean; epoch?: number } = {},
): Uint8Array {
  const b = new RecordBatchBuilder({
    baseOffset,
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerId === undefined ? -1 : 0,
    baseSequence: opts.producerId === undefined ? -1 : 0,
    transactional: opts.transactional ?? false,
    partitionLeaderEpoch: opts.epoch ?? 3,
  });
  values.forEach((v, i) => b.append(1000 + baseOffset + i, null, enc.encode(v)));
  return b.finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every record a chunk yields, as the consumer's delivery loop would. */
function drain(bytes: Uint8Array, aborted: { producerId: bigint; firstOffset: bigint }[] | null) {
  const ps = new PartitionState("t", 0);
  ps.startAt(0n, -1);
  const chunk = new Chunk(ps, bytes, aborted, { bytes: 0, refs: 1 }, 0n, -1, 0n, -1);
  const out: ConsumerRecord[] = [];
  for (let b = chunk.nextBatch(true, 1 << 20); b; b = chunk.nextBatch(true, 1 << 20)) {
    if (!chunk.skip(b, true)) batchRecords(b, "t", 0, 0n, -1n, out);
  }
  return out.map((r) => `${r.offset}:${new TextDecoder().decode(r.value!)}`);
}

Deno.test("chunk: the header walk finds complete batches and the next offset", () => {
  const bytes = concat(batch(0, ["a", "b"]), batch(2, ["c"], { epoch: 7 }));
  const s = scanBatches(bytes);
  assert.equal(s.count, 2);
  assert.equal(s.nextOffset, 3n);
  assert.equal(s.lastEpoch, 7);
  assert.equal(s.used, bytes.length);
  // A truncated tail (a fetch cut at its byte limit) is left out.
  const cut = scanBatches(bytes.subarray(0, bytes.length - 3));
  assert.equal(cut.count, 1);
  assert.equal(cut.nextOffset, 2n);
});

Deno.test("chunk: read_committed drops aborted transactions, keeps interleaved producers", () => {
  const bytes = concat(
    batch(0, ["p1-a", "p1-b"], { producerId: 1, transactional: true }),
    batch(2, ["p2-a"], { producerId: 2, transactional: true }),
    batch(3, ["plain"]),
    encodeControlBatch({
      type: "abort",
      coordinatorEpoch: 0,
      producerId: 1,
      producerEpoch: 0,
      baseOffset: 4,
    }),
    batch(5, ["p2-b"], { producerId: 2, transactional: true }),
    encodeControlBatch({
      type: "commit",
      coordinatorEpoch: 0,
      producerId: 2,
      producerEpoch: 0,
      baseOffset: 6,
    }),
    // Producer 1 again, in a new (committed) transaction after its abort marker.
    batch(7, ["p1-c"], { producerId: 1, transactional: true }),
  );
  assert.deepEqual(drain(bytes, [{ producerId: 1n, firstOffset: 0n }]), [
    "2:p2-a",
    "3:plain",
    "5:p2-b",
    "7:p1-c",
  ]);
  // Without aborted transactions everything but the markers is returned.
  assert.equal(drain(bytes, null).length, 6);
});

Deno.test("chunk: records are cut to the start and end offsets", () => {
  const bytes = batch(10, ["a", "b", "c", "d", "e"]);
  const ps = new PartitionState("t", 0);
  const chunk = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 10n, -1, 15n, 3);
  const b = chunk.nextBatch(true, 1 << 20)!;
  const out: ConsumerRecord[] = [];
  batchRecords(b, "t", 0, 12n, 14n, out);
  assert.deepEqual(out.map((r) => r.offset), [12n, 13n]);
  assert.equal(out[0]!.timestamp, 1012);
  assert.equal(out[0]!.timestampType, "create");
  assert.equal(out[0]!.leaderEpoch, 3);
  assert.deepEqual(out[0]!.headers, []);
});

Deno.test("chunk: a corrupt batch is a DecodeError and can be retried", () => {
  const bytes = batch(0, ["a"]);
  bytes[bytes.length - 1]! ^= 0xff;
  const ps = new PartitionState("t", 0);
  const chunk = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 0n, -1, 1n, 3);
  assert.throws(() => chunk.nextBatch(true, 1 << 20), DecodeError);
  assert.equal(chunk.exhausted, false, "the position stays on the failed batch");
});

Deno.test("chunk: a flipped byte deep inside a large batch is a DecodeError at that batch", () => {
  // Two 1000 x 1 KiB batches, as in catch-up: the CRC runs its large-input path (WebAssembly,
  // else the braids) over ~1 MB.
  const value = new Uint8Array(1024).map((_, i) => i * 31);
  const big = (base: number) => {
    const b = new RecordBatchBuilder({ baseOffset: base, initialCapacity: 1000 * 1040 });
    for (let i = 0; i < 1000; i++) b.append(1000 + i, null, value);
    return b.finish();
  };
  const first = big(0);
  // Where record 500's value sits: a flip there leaves the batch decodable, only the CRC sees it.
  const probe = big(1000);
  const middle = decodeRecordBatches(probe).batches[0]!.records[500]!.value!.byteOffset + 7;
  // maxTimestamp (header, inside the CRC), record 500's value, the last value byte.
  for (const at of [40, middle, probe.length - 2]) {
    const second = big(1000);
    second[at]! ^= 0x04;
    const bytes = concat(first, second);
    const ps = new PartitionState("t", 0);
    const chunk = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 0n, -1, 2000n, 3);
    assert.equal(chunk.nextBatch(true, 1 << 20)?.records.length, 1000, "the sound batch");
    assert.throws(() => chunk.nextBatch(true, 1 << 20), DecodeError, `flip at ${at}`);
    assert.equal(chunk.exhausted, false);
    // Without the check the same bytes decode: the error above came from the CRC.
    assert.equal(chunk.nextBatch(false, 1 << 20)?.records.length, 1000);
  }
});

function part(partition: number, fetchOffset: bigint): SessionPartition {
  return {
    topic: "t",
    topicId: "id",
    partition,
    fetchOffset,
    lastFetchedEpoch: -1,
    currentLeaderEpoch: 0,
    maxBytes: 100,
  };
}

Deno.test("fetch session: full, then only what changed, and what to forget", () => {
  const s = new FetchSession();
  const wanted1 = [part(0, 0n), part(1, 0n), part(2, 0n)];
  const r1 = s.build(wanted1);
  assert.deepEqual([r1.sessionId, r1.sessionEpoch, r1.send.length], [0, 0, 3]);
  s.succeeded(r1, wanted1, 77);
  // Partition 1 got data (new offset), partition 2 is paused (forgotten).
  const wanted2 = [part(0, 0n), part(1, 5n)];
  const r2 = s.build(wanted2);
  assert.deepEqual([r2.sessionId, r2.sessionEpoch], [77, 1]);
  assert.deepEqual(r2.send.map((p) => p.partition), [1]);
  assert.deepEqual(r2.forget.map((p) => p.partition), [2]);
  s.succeeded(r2, wanted2, 77);
  const r3 = s.build(wanted2);
  assert.deepEqual([r3.sessionEpoch, r3.send.length, r3.forget.length], [2, 0, 0]);
  // An error resets: the next request is full again.
  s.reset();
  const r4 = s.build(wanted2);
  assert.deepEqual([r4.sessionId, r4.sessionEpoch, r4.send.length], [0, 0, 2]);
  // A broker that declines sessions (id 0) gets full requests every time.
  s.succeeded(r4, wanted2, 0);
  assert.equal(s.build(wanted2).sessionEpoch, 0);
});

Deno.test("fetch session: several topics, interleaved, and a topic recreated under a new id", () => {
  const s = new FetchSession();
  const p = (topic: string, topicId: string, partition: number, fetchOffset: bigint) => ({
    ...part(partition, fetchOffset),
    topic,
    topicId,
  });
  const wanted1 = [p("a", "A", 0, 0n), p("b", "B", 0, 0n), p("a", "A", 1, 0n), p("b", "B", 1, 0n)];
  s.succeeded(s.build(wanted1), wanted1, 9);
  // Nothing moved: nothing sent, nothing forgotten, whatever the order.
  const same = [wanted1[3]!, wanted1[0]!, wanted1[2]!, wanted1[1]!];
  const r1 = s.build(same);
  assert.deepEqual([r1.send.length, r1.forget.length], [0, 0]);
  // b-1 moved; a-1 no longer wanted; "a" recreated (id A2): its partition 0 is a new one.
  const wanted2 = [p("b", "B", 0, 0n), p("a", "A2", 0, 0n), p("b", "B", 1, 7n)];
  const r2 = s.build(wanted2);
  assert.deepEqual(r2.send.map((x) => `${x.topicId}-${x.partition}`), ["A2-0", "B-1"]);
  assert.deepEqual(r2.forget.map((x) => `${x.topicId}-${x.partition}`).sort(), ["A-0", "A-1"]);
  s.succeeded(r2, wanted2, 9);
  const r3 = s.build(wanted2);
  assert.deepEqual([r3.send.length, r3.forget.length], [0, 0]);
});

Deno.test("consumer protocol: garbage is a DecodeError, never a huge allocation", () => {
  const huge = new Uint8Array([0, 3, 0x7f, 0xff, 0xff, 0xff]);
  assert.throws(() => decodeSubscription(huge), DecodeError);
  assert.throws(() => decodeAssignment(huge), DecodeError);
  assert.throws(() => decodeSubscription(new Uint8Array([0xff, 0xff])), DecodeError);
  assert.deepEqual(decodeAssignment(new Uint8Array(0)).partitions, []);
  for (let i = 0; i < 2000; i++) {
    const junk = crypto.getRandomValues(new Uint8Array(1 + (i % 40)));
    for (const fn of [decodeSubscription, decodeAssignment]) {
      try {
        fn(junk);
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e));
      }
    }
  }
});

Deno.test("chunk: records built straight from the bytes equal the decoded batch's, field by field", () => {
  const h = [{ key: "trace", value: enc.encode("x") }, { key: "n", value: null }];
  const parts: Uint8Array[] = [];
  for (const [base, tsType] of [[0, 0], [3, 1], [2 ** 40, 0]] as const) {
    const b = new RecordBatchBuilder({
      baseOffset: base,
      timestampType: tsType,
      partitionLeaderEpoch: 9,
    });
    b.append(5_000 + base, enc.encode("k"), enc.encode("v1"), h);
    b.append(4_000 + base, null, null);
    b.append(7_000 + base, new Uint8Array(0), enc.encode("v3"));
    parts.push(b.finish());
  }
  const bytes = concat(...parts);
  const ps = new PartitionState("t", 4);
  const a = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 0n, -1, 0n, -1);
  const b = new Chunk(ps, bytes, null, { bytes: 0, refs: 1 }, 0n, -1, 0n, -1);
  const expected: ConsumerRecord[] = [];
  for (let x = a.nextBatch(true, 1 << 20); x; x = a.nextBatch(true, 1 << 20)) {
    batchRecords(x, "t", 4, 0n, -1n, expected);
  }
  const got: ConsumerRecord[] = [];
  for (let x = b.nextRecords(true, 1 << 20); x; x = b.nextRecords(true, 1 << 20)) {
    got.push(...x.records);
  }
  assert.equal(got.length, 9);
  assert.deepEqual(got.map((r) => ({ ...r })), expected.map((r) => ({ ...r })));
  assert.deepEqual(got.map((r) => r.offset), [
    0n,
    1n,
    2n,
    3n,
    4n,
    5n,
    2n ** 40n,
    2n ** 40n + 1n,
    2n ** 40n + 2n,
  ]);
  assert.equal(got[3]!.timestampType, "log-append");
  assert.equal(got[0]!.headers[0]!.key, "trace");
});
