/**
 * SCRAM users (KIP-554): describe, upsert and delete credentials. The broker never sees the
 * password: the client sends a random salt and the salted password, PBKDF2 computed here with
 * WebCrypto, as Kafka's AlterUserScramCredentials requires.
 *
 * @module
 */

import { Api } from "../protocol/apis.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  answered,
  checkArray,
  checkTopLevel,
  itemError,
  type Outcome,
} from "./context.ts";
import { SCRAM_MECHANISM, type ScramMechanism } from "./enums.ts";

/** Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations / broker maximum). */
const MIN_ITERATIONS = 4096;
const MAX_ITERATIONS = 16384;
const DEFAULT_ITERATIONS = 8192;
const SALT_BYTES = 32;

/**
 * A stored SCRAM credential: its mechanism and iteration count (never the secret).
 *
 * @example
 * ```ts
 * import type { ScramCredentialInfo } from "@denokafka/kafka/admin";
 * const c: ScramCredentialInfo = { mechanism: "SCRAM-SHA-256", iterations: 8192 };
 * console.log(c.iterations);
 * ```
 */
export interface ScramCredentialInfo {
  /** The mechanism. */
  readonly mechanism: ScramMechanism;
  /** PBKDF2 iterations. */
  readonly iterations: number;
}

/**
 * A user's SCRAM credentials.
 *
 * @example
 * ```ts
 * import type { UserScramCredentials } from "@denokafka/kafka/admin";
 * const mechs = (u: UserScramCredentials) => u.credentials.map((c) => c.mechanism);
 * console.log(typeof mechs);
 * ```
 */
export interface UserScramCredentials {
  /** The user name. */
  readonly user: string;
  /** One entry per mechanism the user has a credential for. */
  readonly credentials: readonly ScramCredentialInfo[];
}

/**
 * Creates or replaces a user's credential for one mechanism.
 *
 * @example
 * ```ts
 * import type { ScramUpsertion } from "@denokafka/kafka/admin";
 * const u: ScramUpsertion = { user: "bob", mechanism: "SCRAM-SHA-512", password: "s3cret" };
 * console.log(u.user);
 * ```
 */
export interface ScramUpsertion {
  /** The user name. */
  readonly user: string;
  /** The mechanism. */
  readonly mechanism: ScramMechanism;
  /** The password (only its salted hash leaves this process). */
  readonly password: string;
  /** PBKDF2 iterations, 4096-16384. Default 8192. */
  readonly iterations?: number | undefined;
  /** The salt. Default: 32 random bytes. */
  readonly salt?: Uint8Array | undefined;
}

/**
 * Removes a user's credential for one mechanism.
 *
 * @example
 * ```ts
 * import type { ScramDeletion } from "@denokafka/kafka/admin";
 * const d: ScramDeletion = { user: "bob", mechanism: "SCRAM-SHA-512" };
 * console.log(d.mechanism);
 * ```
 */
export interface ScramDeletion {
  /** The user name. */
  readonly user: string;
  /** The mechanism. */
  readonly mechanism: ScramMechanism;
}

const HASH: Record<ScramMechanism, [hash: string, bits: number]> = {
  "SCRAM-SHA-256": ["SHA-256", 256],
  "SCRAM-SHA-512": ["SHA-512", 512],
};

/**
 * SCRAM's SaltedPassword: `Hi(password, salt, iterations)` of RFC 5802, i.e. PBKDF2 with
 * HMAC-SHA-256/512 and the hash's output length. Like Kafka's ScramFormatter, the password is
 * used as raw UTF-8 (no SASLprep).
 *
 * @example
 * ```ts
 * import { scramSaltedPassword } from "@denokafka/kafka/admin";
 * const sp = await scramSaltedPassword("SCRAM-SHA-256", "pencil", new Uint8Array(16), 4096);
 * console.log(sp.length); // 32
 * ```
 */
export async function scramSaltedPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const h = HASH[mechanism];
  if (!h) throw new TypeError(`unknown SCRAM mechanism "${mechanism}"`);
  if (typeof password !== "string" || password === "") {
    throw new TypeError("a SCRAM password must be a non-empty string");
  }
  if (!(salt instanceof Uint8Array) || salt.length === 0) {
    throw new TypeError("a SCRAM salt must be a non-empty Uint8Array");
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError("iterations must be a positive integer");
  }
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: h[0], salt: new Uint8Array(salt), iterations },
    key,
    h[1],
  );
  return new Uint8Array(bits);
}

function checkUser(user: unknown): asserts user is string {
  if (typeof user !== "string" || user === "") throw new TypeError("a user name must be a string");
}

/** DescribeUserScramCredentials: every user (no list), or the listed ones (per-user errors). */
export function describeUserScramCredentials(
  ctx: AdminContext,
  users: readonly string[] | undefined,
  options: AdminCallOptions = {},
): Promise<UserScramCredentials[]> {
  const convert = (
    r: { user: string; credentialInfos: { mechanism: number; iterations: number }[] },
  ) => ({
    user: r.user,
    credentials: r.credentialInfos.map((c) => ({
      mechanism: SCRAM_MECHANISM.name(c.mechanism, "UNKNOWN") as ScramMechanism,
      iterations: c.iterations,
    })),
  });
  if (users === undefined) {
    return ctx.call(options, async (signal) => {
      const res = await ctx.cluster.send({ any: true }, Api.DescribeUserScramCredentials, {
        users: null,
      }, { signal });
      checkTopLevel(res.errorCode, "DescribeUserScramCredentials", res.errorMessage);
      return res.results.map(convert);
    });
  }
  checkArray(users, "users");
  users.forEach(checkUser);
  if (new Set(users).size !== users.length) throw new TypeError("a user is listed twice");
  return ctx.items<string, UserScramCredentials>(
    options,
    "describeUserScramCredentials",
    users,
    (u) => u,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ any: true }, Api.DescribeUserScramCredentials, {
        users: pending.map((name) => ({ name })),
      }, { signal });
      checkTopLevel(res.errorCode, "DescribeUserScramCredentials", res.errorMessage);
      return answered(
        pending,
        (u) => res.results.find((x) => x.user === u),
        (r, u) => itemError(r.errorCode, `user ${u}`, r.errorMessage) ?? convert(r),
      );
    },
  );
}

type Alteration =
  | { kind: "upsert"; value: ScramUpsertion }
  | { kind: "delete"; value: ScramDeletion };

/**
 * AlterUserScramCredentials: upserts and deletions in one request; per-alteration errors
 * (the broker reports per user) as AdminBatchError.
 */
export async function alterUserScramCredentials(
  ctx: AdminContext,
  upsertions: readonly ScramUpsertion[],
  deletions: readonly ScramDeletion[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkArray(upsertions, "upsertions");
  checkArray(deletions, "deletions");
  const prepared = new Map<
    ScramUpsertion,
    { iterations: number; salt: Uint8Array; saltedPassword: Uint8Array }
  >();
  for (const u of upsertions) {
    checkUser(u?.user);
    SCRAM_MECHANISM.code(u.mechanism, "SCRAM mechanism");
    const iterations = u.iterations ?? DEFAULT_ITERATIONS;
    if (
      !Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS
    ) {
      throw new RangeError(
        `${u.user}: SCRAM iterations must be ${MIN_ITERATIONS}-${MAX_ITERATIONS}, got ${iterations}`,
      );
    }
    const salt = u.salt ?? crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    prepared.set(u, {
      iterations,
      salt,
      saltedPassword: await scramSaltedPassword(u.mechanism, u.password, salt, iterations),
    });
  }
  for (const d of deletions) {
    checkUser(d?.user);
    SCRAM_MECHANISM.code(d.mechanism, "SCRAM mechanism");
  }
  const items: Alteration[] = [
    ...upsertions.map((value) => ({ kind: "upsert" as const, value })),
    ...deletions.map((value) => ({ kind: "delete" as const, value })),
  ];
  const nameOf = (a: Alteration) => `${a.kind} ${a.value.user} ${a.value.mechanism}`;
  try {
    await ctx.items<Alteration, void>(
      options,
      "alterUserScramCredentials",
      items,
      nameOf,
      async (pending, signal) => {
        // Kafka refuses two alterations of one user in a request (DUPLICATE_RESOURCE), even
        // for different mechanisms: send rounds in which each user appears once.
        const out: Outcome<Alteration, void>[] = [];
        let left = [...pending];
        while (left.length > 0) {
          const users = new Set<string>();
          const round: Alteration[] = [];
          const later: Alteration[] = [];
          for (const a of left) {
            if (users.has(a.value.user)) later.push(a);
            else {
              users.add(a.value.user);
              round.push(a);
            }
          }
          left = later;
          const res = await ctx.cluster.send({ controller: true }, Api.AlterUserScramCredentials, {
            deletions: round.filter((a) => a.kind === "delete").map((a) => ({
              name: a.value.user,
              mechanism: SCRAM_MECHANISM.code(a.value.mechanism, "SCRAM mechanism"),
            })),
            upsertions: round.flatMap((a) => {
              if (a.kind !== "upsert") return [];
              const p = prepared.get(a.value)!;
              return [{
                name: a.value.user,
                mechanism: SCRAM_MECHANISM.code(a.value.mechanism, "SCRAM mechanism"),
                iterations: p.iterations,
                salt: p.salt,
                saltedPassword: p.saltedPassword,
              }];
            }),
          }, { signal });
          for (const a of round) {
            const r = res.results.find((x) => x.user === a.value.user);
            if (r) out.push([a, itemError(r.errorCode, nameOf(a), r.errorMessage)]);
          }
        }
        return out;
      },
    );
  } finally {
    // Best-effort hygiene: the salted password is as good as the password to an attacker.
    for (const p of prepared.values()) p.saltedPassword.fill(0);
  }
}
