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

function key(p: SessionPartition): string {
  return `${p.topicId}\u0000${p.topic}\u0000${p.partition}`;
}

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
  #sent = new Map<string, SessionPartition>();

  /** The request for `wanted` partitions. */
  build(wanted: readonly SessionPartition[]): SessionRequest {
    if (this.#epoch === INITIAL_EPOCH || this.#id === 0) {
      return { sessionId: 0, sessionEpoch: INITIAL_EPOCH, send: [...wanted], forget: [] };
    }
    const send: SessionPartition[] = [];
    const seen = new Set<string>();
    for (const p of wanted) {
      const k = key(p);
      seen.add(k);
      const prev = this.#sent.get(k);
      if (!prev || !same(prev, p)) send.push(p);
    }
    const forget: SessionPartition[] = [];
    for (const [k, p] of this.#sent) if (!seen.has(k)) forget.push(p);
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
    this.#sent = new Map(wanted.map((p) => [key(p), p]));
  }

  /** Forgets the session (after an error): the next request is full. */
  reset(): void {
    this.#id = 0;
    this.#epoch = INITIAL_EPOCH;
    this.#sent.clear();
  }

  /** The fields of a request that closes the session (sent on close). */
  closing(): { sessionId: number; sessionEpoch: number } | undefined {
    if (this.#id === 0) return undefined;
    return { sessionId: this.#id, sessionEpoch: FINAL_EPOCH };
  }
}
