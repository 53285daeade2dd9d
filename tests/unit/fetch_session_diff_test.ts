// Copyright the @denokafka/kafka authors. MIT license.
/**
 * The per-topic fetch session (bench/PROFILE.md, Session 16) against the one string key per
 * partition it replaced: random sequences of wanted lists, responses, failures and resets must
 * give the same send list (in order) and the same forget set.
 */
import assert from "node:assert/strict";
import {
  FetchSession,
  type SessionPartition,
  type SessionRequest,
} from "../../consumer/fetch_session.ts";
import { Rng } from "./messages_arbitrary.ts";

/** The algorithm before Session 16, copied as it was (consumer/fetch_session.ts at 5e6810a). */
class OldFetchSession {
  #id = 0;
  #epoch = 0;
  #sent = new Map<string, SessionPartition>();

  static key(p: SessionPartition): string {
    return `${p.topicId}\u0000${p.topic}\u0000${p.partition}`;
  }

  static same(a: SessionPartition, b: SessionPartition): boolean {
    return a.fetchOffset === b.fetchOffset && a.maxBytes === b.maxBytes &&
      a.currentLeaderEpoch === b.currentLeaderEpoch && a.lastFetchedEpoch === b.lastFetchedEpoch;
  }

  build(wanted: readonly SessionPartition[]): SessionRequest {
    if (this.#epoch === 0 || this.#id === 0) {
      return { sessionId: 0, sessionEpoch: 0, send: [...wanted], forget: [] };
    }
    const send: SessionPartition[] = [];
    const seen = new Set<string>();
    for (const p of wanted) {
      const k = OldFetchSession.key(p);
      seen.add(k);
      const prev = this.#sent.get(k);
      if (!prev || !OldFetchSession.same(prev, p)) send.push(p);
    }
    const forget: SessionPartition[] = [];
    for (const [k, p] of this.#sent) if (!seen.has(k)) forget.push(p);
    return { sessionId: this.#id, sessionEpoch: this.#epoch, send, forget };
  }

  succeeded(req: SessionRequest, wanted: readonly SessionPartition[], sessionId: number): void {
    if (req.sessionEpoch === 0) {
      this.#id = sessionId;
      this.#epoch = sessionId === 0 ? 0 : 1;
    } else {
      this.#epoch = this.#epoch >= 0x7fffffff ? 1 : this.#epoch + 1;
    }
    this.#sent = new Map(wanted.map((p) => [OldFetchSession.key(p), p]));
  }

  reset(): void {
    this.#id = 0;
    this.#epoch = 0;
    this.#sent.clear();
  }
}

const ZERO = "00000000-0000-0000-0000-000000000000";

function show(p: SessionPartition): string {
  return `${p.topicId}/${p.topic}/${p.partition}@${p.fetchOffset}:${p.maxBytes}:` +
    `${p.currentLeaderEpoch}:${p.lastFetchedEpoch}`;
}

function wantedList(r: () => number, offsets: Map<string, bigint>): SessionPartition[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // Topic "a" under two ids (recreated) and none (before Fetch v13), "b" likewise, and "c".
  const topics = [["a", "A"], ["a", "A2"], ["a", ZERO], ["b", "B"], ["b", ZERO], ["c", "C"]];
  const out: SessionPartition[] = [];
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const [topic, topicId] = pick(topics) as [string, string];
    const partition = Math.floor(r() * 4);
    const k = `${topicId}/${topic}/${partition}`;
    let offset = offsets.get(k) ?? 0n;
    if (r() < 0.3) offsets.set(k, offset += BigInt(1 + Math.floor(r() * 3)));
    const p: SessionPartition = {
      topic,
      topicId,
      partition,
      fetchOffset: offset,
      lastFetchedEpoch: r() < 0.9 ? -1 : 3,
      currentLeaderEpoch: r() < 0.9 ? 0 : 1,
      maxBytes: r() < 0.9 ? 100 : 200,
    };
    out.push(p);
    // Duplicates: the same object twice, or an equal copy, or one with another offset.
    const d = r();
    if (d < 0.05) out.push(p);
    else if (d < 0.1) out.push({ ...p });
    else if (d < 0.13) out.push({ ...p, fetchOffset: p.fetchOffset + 1n });
  }
  // Sometimes the same list again (nothing moved), in another order.
  return out;
}

Deno.test("fetch session: the per-topic map agrees with the per-partition key it replaced", () => {
  for (let seed = 1; seed <= 3000; seed++) {
    // A failure names its seed.
    const rand = new Rng(seed);
    const r = () => rand.next();
    const neu = new FetchSession();
    const old = new OldFetchSession();
    const offsets = new Map<string, bigint>();
    let last: SessionPartition[] = [];
    for (let step = 0; step < 40; step++) {
      let wanted: SessionPartition[];
      const w = r();
      if (w < 0.2) wanted = last;
      else if (w < 0.3) wanted = [...last].sort(() => r() - 0.5);
      else if (w < 0.4) wanted = last.map((p) => ({ ...p })); // equal copies, new objects
      else wanted = wantedList(r, offsets);
      last = wanted;
      const a = neu.build(wanted);
      const b = old.build(wanted);
      const where = `seed ${seed} step ${step}`;
      assert.deepEqual([a.sessionId, a.sessionEpoch], [b.sessionId, b.sessionEpoch], where);
      assert.deepEqual(a.send.map(show), b.send.map(show), `send, ${where}`);
      assert.deepEqual(a.forget.map(show).sort(), b.forget.map(show).sort(), `forget, ${where}`);
      const o = r();
      if (o < 0.75) {
        // Answered: a new session sometimes, none (id 0) sometimes.
        const id = a.sessionEpoch === 0 ? (r() < 0.85 ? 7 : 0) : a.sessionId;
        neu.succeeded(a, wanted, id);
        old.succeeded(b, wanted, id);
      } else if (o < 0.9) {
        neu.reset();
        old.reset();
      } // else: the request failed without a reset (nothing recorded).
    }
  }
});
