/**
 * Incremental fetch sessions (KIP-227), one per broker (internal). The first request of a
 * session lists every partition; later ones list only partitions whose fetch state changed,
 * and the ones to forget, so a consumer with many idle partitions sends small requests.
 *
 * @module
 */

/** What a fetch request says about one partition. */
export interface SessionPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  lastFetchedEpoch: number;
  currentLeaderEpoch: number;
  maxBytes: number;
}

/** The session fields and partition lists of the next request. */
export interface SessionRequest {
  sessionId: number;
  sessionEpoch: number;
  /** Partitions to send (all of them for a full request). */
  send: SessionPartition[];
  /** Partitions to remove from the session. */
  forget: SessionPartition[];
}

const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;

/** The session's key of a partition's topic: its id, and its name (ids are zero before v13). */
function topicKey(p: SessionPartition): string {
  return `${p.topicId}\u0000${p.topic}`;
}

/**
 * What the broker's session holds: topic key → partition → what was sent. Nested, so that a
 * request of many partitions of one topic makes one string key, not one per partition
 * (256 partitions over two lanes build a request every few milliseconds).
 */
type Sent = Map<string, Map<number, SessionPartition>>;

function same(a: SessionPartition, b: SessionPartition): boolean {
  return a.fetchOffset === b.fetchOffset && a.maxBytes === b.maxBytes &&
    a.currentLeaderEpoch === b.currentLeaderEpoch && a.lastFetchedEpoch === b.lastFetchedEpoch;
}

/**
 * The client side of one broker's fetch session.
 *
 * @example
 * ```ts ignore
 * const s = new FetchSession();
 * const req = s.build(partitions);
 * // ...send; on success:
 * s.succeeded(req, response.sessionId);
 * ```
 */
export class FetchSession {
  #id = 0;
  #epoch = INITIAL_EPOCH;
  /** What the broker's session holds, as of the last successful response. */
  #sent: Sent = new Map();
  /** How many partitions {@linkcode #sent} holds. */
  #count = 0;

  /** The request for `wanted` partitions. */
  build(wanted: readonly SessionPartition[]): SessionRequest {
    if (this.#epoch === INITIAL_EPOCH || this.#id === 0) {
      return { sessionId: 0, sessionEpoch: INITIAL_EPOCH, send: [...wanted], forget: [] };
    }
    const send: SessionPartition[] = [];
    /** What was sent for partitions still wanted (forget the rest). */
    const kept = new Set<SessionPartition>();
    let lastTopic: string | undefined;
    let lastId: string | undefined;
    let parts: Map<number, SessionPartition> | undefined;
    for (const p of wanted) {
      if (p.topic !== lastTopic || p.topicId !== lastId) {
        lastTopic = p.topic;
        lastId = p.topicId;
        parts = this.#sent.get(topicKey(p));
      }
      const prev = parts?.get(p.partition);
      if (prev !== undefined) kept.add(prev);
      if (!prev || !same(prev, p)) send.push(p);
    }
    const forget: SessionPartition[] = [];
    if (kept.size < this.#count) {
      for (const m of this.#sent.values()) {
        for (const p of m.values()) if (!kept.has(p)) forget.push(p);
      }
    }
    return { sessionId: this.#id, sessionEpoch: this.#epoch, send, forget };
  }

  /** Records a successful response to `req` (built from `wanted`). */
  succeeded(req: SessionRequest, wanted: readonly SessionPartition[], sessionId: number): void {
    if (req.sessionEpoch === INITIAL_EPOCH) {
      // The broker may decline to create a session (id 0): then every request stays full.
      this.#id = sessionId;
      this.#epoch = sessionId === 0 ? INITIAL_EPOCH : 1;
    } else {
      this.#epoch = this.#epoch >= 0x7fffffff ? 1 : this.#epoch + 1;
    }
    const sent: Sent = new Map();
    let count = 0;
    let lastTopic: string | undefined;
    let lastId: string | undefined;
    let parts: Map<number, SessionPartition> | undefined;
    for (const p of wanted) {
      if (parts === undefined || p.topic !== lastTopic || p.topicId !== lastId) {
        lastTopic = p.topic;
        lastId = p.topicId;
        const k = topicKey(p);
        parts = sent.get(k);
        if (parts === undefined) sent.set(k, parts = new Map());
      }
      if (!parts.has(p.partition)) count++;
      parts.set(p.partition, p);
    }
    this.#sent = sent;
    this.#count = count;
  }

  /** Forgets the session (after an error): the next request is full. */
  reset(): void {
    this.#id = 0;
    this.#epoch = INITIAL_EPOCH;
    this.#sent.clear();
    this.#count = 0;
  }

  /** The fields of a request that closes the session (sent on close). */
  closing(): { sessionId: number; sessionEpoch: number } | undefined {
    if (this.#id === 0) return undefined;
    return { sessionId: this.#id, sessionEpoch: FINAL_EPOCH };
  }
}
