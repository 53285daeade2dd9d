/**
 * Known answers for the partitioner hashes (Kafka's UtilsTest murmur2 vectors, the FNV-1a and
 * CRC-32 reference vectors) and the partition arithmetic of each client. Byte-for-byte parity
 * on 100k random keys against the real clients lives in tests/integration/producer_partitioner_test.ts.
 */

import assert from "node:assert/strict";
import {
  builtInPartitioner,
  consistentPartition,
  crc32,
  fnv1a32,
  javaPartitionForKey,
  murmur2,
  saramaHashPartition,
  saramaReferenceHashPartition,
  StickyPartition,
} from "../../producer/mod.ts";

const enc = new TextEncoder();

Deno.test("murmur2: Kafka's UtilsTest vectors", () => {
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [s, h] of cases) assert.equal(murmur2(enc.encode(s)), h, s);
});

Deno.test("fnv1a32 and crc32: reference vectors", () => {
  assert.equal(fnv1a32(new Uint8Array(0)), 0x811c9dc5);
  assert.equal(fnv1a32(enc.encode("a")), 0xe40c292c);
  assert.equal(fnv1a32(enc.encode("foobar")), 0xbf9cf968);
  assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("partition arithmetic: sign handling differs exactly where each client's does", () => {
  // Find keys whose hash is negative as int32, where the variants disagree.
  let checked = 0;
  for (let i = 0; i < 2000; i++) {
    const key = enc.encode(`key-${i}`);
    const n = 7;
    const m = murmur2(key);
    assert.equal(javaPartitionForKey(key, n), (m & 0x7fffffff) % n);
    const f = fnv1a32(key) | 0;
    const rem = f % n;
    const sarama = (rem < 0 ? -rem : rem) + 0; // Go has no -0
    assert.equal(saramaHashPartition(key, n), sarama);
    assert.equal(saramaReferenceHashPartition(key, n), (f & 0x7fffffff) % n);
    assert.equal(consistentPartition(key, n), crc32(key) % n);
    if (f < 0 && saramaHashPartition(key, n) !== saramaReferenceHashPartition(key, n)) checked++;
  }
  assert.ok(checked > 100, "the two sarama variants should disagree on many negative hashes");
});

Deno.test("builtInPartitioner: keyless behaviour of each", () => {
  const input = { topic: "t", key: null, partitionCount: 4, available: [1, 3] };
  assert.equal(builtInPartitioner("default")(input), -1);
  assert.equal(builtInPartitioner("consistent")(input), 0);
  assert.equal(builtInPartitioner("murmur2")(input), javaPartitionForKey(new Uint8Array(0), 4));
  // An empty key is a key: hashed, as librdkafka's murmur2_random and kafka-go's Murmur2 do.
  const empty = { ...input, key: new Uint8Array(0) };
  const emptyPartition = javaPartitionForKey(new Uint8Array(0), 4);
  for (let i = 0; i < 20; i++) {
    assert.equal(builtInPartitioner("murmur2_random")(empty), emptyPartition);
  }
  for (let i = 0; i < 50; i++) {
    assert.ok([1, 3].includes(builtInPartitioner("consistent_random")(input)));
    assert.ok([1, 3].includes(builtInPartitioner("random")(input)));
  }
  const rr = builtInPartitioner("round_robin");
  const all = { ...input, available: [0, 1, 2, 3] };
  assert.deepEqual([0, 1, 2, 3, 4].map(() => rr(all)), [0, 1, 2, 3, 0]);
  assert.throws(() => builtInPartitioner("nope" as "random"), RangeError);
});

Deno.test("StickyPartition: stays until a batch worth of bytes, then moves", () => {
  const s = new StickyPartition(1000);
  const avail = [0, 1, 2, 3, 4, 5, 6, 7];
  const first = s.current(8, avail);
  s.produced(400, 8, avail);
  s.produced(400, 8, avail);
  assert.equal(s.current(8, avail), first);
  let moved = false;
  for (let i = 0; i < 20 && !moved; i++) {
    const before = s.current(8, avail);
    s.produced(1000, 8, avail);
    moved = s.current(8, avail) !== before;
  }
  assert.ok(moved, "after many batch-size chunks the partition should change");
});
