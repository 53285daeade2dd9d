/**
 * Properties of the sticky and cooperative-sticky assignors on random groups (seeded):
 * validity (each partition to at most one subscribed member), completeness, balance,
 * stickiness when members join or leave, Java's claim rules (higher generation wins), and the
 * cooperative two-round protocol (nothing handed to a new owner while another still owns it,
 * and a partition is only revoked to move elsewhere).
 */

import assert from "node:assert/strict";
import { type AssignorMember, stickyAssign, type TopicPartition } from "../../consumer/mod.ts";

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const key = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`;

function member(
  id: string,
  topics: string[],
  owned: TopicPartition[] = [],
  generation = 1,
): AssignorMember {
  return {
    memberId: id,
    groupInstanceId: null,
    subscription: {
      version: 3,
      topics,
      userData: null,
      ownedPartitions: owned,
      generationId: generation,
      rackId: null,
    },
  };
}

function allPartitions(counts: Map<string, number>, members: AssignorMember[]): string[] {
  const out: string[] = [];
  for (const [t, n] of counts) {
    if (!members.some((m) => m.subscription.topics.includes(t))) continue;
    for (let p = 0; p < n; p++) out.push(`${t}-${p}`);
  }
  return out;
}

/** Validity: every member present, each partition once, only to a subscriber. */
function checkValid(
  result: Map<string, TopicPartition[]>,
  members: AssignorMember[],
  counts: Map<string, number>,
): Set<string> {
  const seen = new Set<string>();
  for (const m of members) {
    const list = result.get(m.memberId);
    assert.ok(list, `member ${m.memberId} missing`);
    for (const tp of list) {
      assert.ok(m.subscription.topics.includes(tp.topic), `${key(tp)} to a non-subscriber`);
      assert.ok(tp.partition < (counts.get(tp.topic) ?? 0), `${key(tp)} does not exist`);
      assert.ok(!seen.has(key(tp)), `${key(tp)} assigned twice`);
      seen.add(key(tp));
    }
  }
  return seen;
}

function sizes(result: Map<string, TopicPartition[]>): number[] {
  return [...result.values()].map((l) => l.length);
}

Deno.test("sticky: valid, complete and balanced on random groups", () => {
  const next = rng(42);
  for (let round = 0; round < 300; round++) {
    const topics = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, i) => `t${i}`);
    const counts = new Map(topics.map((t) => [t, 1 + Math.floor(next() * 12)]));
    const identical = next() < 0.5;
    const members = Array.from({ length: 1 + Math.floor(next() * 6) }, (_, i) => {
      const subs = identical ? topics : topics.filter(() => next() < 0.6);
      return member(`m${i}`, subs.length > 0 ? subs : [topics[0]!]);
    });
    for (const cooperative of [false, true]) {
      const result = stickyAssign(members, counts, cooperative);
      const seen = checkValid(result, members, counts);
      // Nobody owns anything yet: nothing is withheld, everything is assigned.
      assert.equal(seen.size, allPartitions(counts, members).length);
      if (identical) {
        const s = sizes(result);
        assert.ok(Math.max(...s) - Math.min(...s) <= 1, `unbalanced: ${s}`);
      } else {
        // Java's balance criterion: no member could take a partition from one holding 2+ more.
        for (const m of members) {
          const mine = result.get(m.memberId)!.length;
          for (const other of members) {
            const theirs = result.get(other.memberId)!;
            if (theirs.length <= mine + 1) continue;
            assert.ok(
              !theirs.some((tp) => m.subscription.topics.includes(tp.topic)),
              `${m.memberId} (${mine}) could take from ${other.memberId} (${theirs.length})`,
            );
          }
        }
      }
    }
  }
});

Deno.test("sticky: a joining member only takes, a leaving one only gives", () => {
  const next = rng(7);
  for (let round = 0; round < 200; round++) {
    const counts = new Map([["a", 1 + Math.floor(next() * 20)], ["b", Math.floor(next() * 10)]]);
    const topics = [...counts.keys()];
    const n = 1 + Math.floor(next() * 5);
    let members = Array.from({ length: n }, (_, i) => member(`m${i}`, topics));
    const first = stickyAssign(members, counts, false);
    // Join: everyone claims what they have (as their sticky user data / owned partitions).
    members = [
      ...members.map((m) => member(m.memberId, topics, first.get(m.memberId)!, 2)),
      member("new", topics, [], -1),
    ];
    const joined = stickyAssign(members, counts, false);
    checkValid(joined, members, counts);
    const owner = new Map<string, string>();
    for (const [m, list] of first) for (const tp of list) owner.set(key(tp), m);
    for (const [m, list] of joined) {
      for (const tp of list) {
        assert.ok(
          m === "new" || owner.get(key(tp)) === m,
          `${key(tp)} moved from ${owner.get(key(tp))} to ${m}`,
        );
      }
    }
    const s = sizes(joined);
    assert.ok(Math.max(...s) - Math.min(...s) <= 1);
    // Leave: m0 goes; the others keep all they had.
    const left = members.filter((m) => m.memberId !== "m0").map((m) =>
      member(m.memberId, topics, joined.get(m.memberId)!, 3)
    );
    const after = stickyAssign(left, counts, false);
    for (const m of left) {
      const before = new Set(joined.get(m.memberId)!.map(key));
      const now = new Set(after.get(m.memberId)!.map(key));
      const quota = Math.ceil([...counts.values()].reduce((x, y) => x + y, 0) / left.length);
      if (before.size <= quota) {
        for (const k of before) assert.ok(now.has(k), `${m.memberId} lost ${k}`);
      }
    }
  }
});

Deno.test("sticky: claims of a higher generation win; equal claims are void", () => {
  const counts = new Map([["t", 4]]);
  const tp = (p: number) => ({ topic: "t", partition: p });
  const result = stickyAssign(
    [
      member("a", ["t"], [tp(0), tp(1)], 5),
      member("b", ["t"], [tp(1), tp(2)], 4),
    ],
    counts,
    false,
  );
  assert.ok(result.get("a")!.some((x) => x.partition === 1), "the newer claim keeps t-1");
  assert.ok(result.get("b")!.some((x) => x.partition === 2));
  // Cooperative: a contested partition is withheld from nobody who claims it, but a partition
  // claimed by someone else never goes to a third member in the same round.
  const coop = stickyAssign(
    [
      member("a", ["t"], [tp(0), tp(1), tp(2), tp(3)], 5),
      member("c", ["t"], [], -1),
    ],
    counts,
    true,
  );
  assert.equal(coop.get("c")!.length, 0, "c waits until a revokes");
  assert.equal(coop.get("a")!.length, 2, "a keeps its share");
});

Deno.test("cooperative-sticky: two rounds, no double ownership, no bounce", () => {
  const next = rng(99);
  for (let round = 0; round < 200; round++) {
    const counts = new Map([["a", 1 + Math.floor(next() * 16)], ["b", 1 + Math.floor(next() * 8)]]);
    const topics = [...counts.keys()];
    // Current owners (a valid state), then some members leave and some join.
    let ids = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, i) => `m${i}`);
    let owned = stickyAssign(ids.map((id) => member(id, topics)), counts, true);
    ids = [
      ...ids.filter(() => next() < 0.7),
      ...Array.from(
        { length: Math.floor(next() * 3) },
        (_, i) => `n${round}-${i}`,
      ),
    ];
    if (ids.length === 0) ids = ["solo"];
    const revokedFrom = new Map<string, string>();
    for (let generation = 2; generation < 6; generation++) {
      const members = ids.map((id) => member(id, topics, owned.get(id) ?? [], generation));
      const result = stickyAssign(members, counts, true);
      checkValid(result, members, counts);
      const ownerOf = new Map<string, string>();
      for (const m of members) {
        for (const tp of m.subscription.ownedPartitions) ownerOf.set(key(tp), m.memberId);
      }
      for (const [m, list] of result) {
        for (const tp of list) {
          const o = ownerOf.get(key(tp));
          assert.ok(o === undefined || o === m, `${key(tp)} to ${m} while ${o} owns it`);
        }
      }
      // Members revoke what they lost and keep the rest (the next round's owned partitions).
      const next = new Map<string, TopicPartition[]>();
      for (const m of members) {
        const assigned = new Set(result.get(m.memberId)!.map(key));
        const kept = m.subscription.ownedPartitions.filter((tp) => assigned.has(key(tp)));
        const added = result.get(m.memberId)!.filter((tp) =>
          !m.subscription.ownedPartitions.some((o) => key(o) === key(tp))
        );
        for (const tp of added) {
          assert.notEqual(revokedFrom.get(key(tp)), m.memberId, `${key(tp)} bounced`);
        }
        for (const tp of m.subscription.ownedPartitions) {
          if (!assigned.has(key(tp))) revokedFrom.set(key(tp), m.memberId);
        }
        next.set(m.memberId, [...kept, ...added]);
      }
      owned = next;
    }
    // Converged: everything owned, balanced, and stable (a further round changes nothing).
    const all = [...owned.values()].flat();
    assert.equal(all.length, [...counts.values()].reduce((x, y) => x + y, 0));
    const s = [...owned.values()].map((l) => l.length);
    assert.ok(Math.max(...s) - Math.min(...s) <= 1, `unbalanced ${s}`);
    const members = ids.map((id) => member(id, topics, owned.get(id) ?? [], 9));
    const again = stickyAssign(members, counts, true);
    for (const id of ids) {
      assert.deepEqual(again.get(id)!.map(key).sort(), owned.get(id)!.map(key).sort());
    }
  }
});
