import assert from "node:assert/strict";
import {
  AuthenticationError,
  ConnectionError,
  KafkaError,
  ProtocolError,
} from "../../protocol/errors.ts";
import {
  authenticateSasl,
  checkSaslHandshake,
  type SaslAuthenticateReply,
} from "../../protocol/sasl/authenticate.ts";
import type { SaslMechanism } from "../../protocol/sasl/mechanism.ts";
import { saslMechanism } from "../../protocol/sasl/options.ts";
import { startScramWithNonceForTesting } from "../../protocol/sasl/scram.ts";
import * as sasl from "../../protocol/sasl/mod.ts";

const ctx = { host: "localhost", port: 9092 };
const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** A SCRAM-SHA-256 mechanism replaying the RFC 7677 exchange. */
const rfcScram: SaslMechanism = {
  name: "SCRAM-SHA-256",
  start: () =>
    startScramWithNonceForTesting(
      "SCRAM-SHA-256",
      { username: "user", password: "pencil" },
      "rOprNGfwEbeRWgbNEkqO",
    ),
};

/** A broker answering the RFC 7677 exchange, with a chosen session lifetime. */
function rfcServer(
  lifetime: number | bigint,
  serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
) {
  const seen: string[] = [];
  const fn = (bytes: Uint8Array): Promise<SaslAuthenticateReply> => {
    seen.push(dec.decode(bytes));
    const authBytes = seen.length === 1
      ? "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
      : serverFinal;
    return Promise.resolve({
      errorCode: 0,
      errorMessage: null,
      authBytes: enc.encode(authBytes),
      sessionLifetimeMs: lifetime,
    });
  };
  return { seen, fn };
}

Deno.test("authenticateSasl: drives a SCRAM exchange to completion", async () => {
  const server = rfcServer(3_600_000n);
  const outcome = await authenticateSasl(rfcScram, ctx, server.fn);
  assert.deepEqual(server.seen, [
    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  ]);
  assert.equal(outcome.mechanism, "SCRAM-SHA-256");
  assert.equal(outcome.sessionLifetimeMs, 3_600_000);
  assert.ok(outcome.reauthenticateAfterMs! >= 0.85 * 3_600_000);
  assert.ok(outcome.reauthenticateAfterMs! <= 0.95 * 3_600_000);
  assert.equal(outcome.credentialLifetimeMs, undefined);
});

Deno.test("authenticateSasl: no lifetime means no re-authentication", async () => {
  const outcome = await authenticateSasl(rfcScram, ctx, rfcServer(0).fn);
  assert.equal(outcome.sessionLifetimeMs, 0);
  assert.equal(outcome.reauthenticateAfterMs, undefined);
});

Deno.test("authenticateSasl: a forged server-final fails even when the broker says OK", async () => {
  await assert.rejects(
    authenticateSasl(
      rfcScram,
      ctx,
      rfcServer(0, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").fn,
    ),
    (e: unknown) =>
      e instanceof AuthenticationError && /server signature is invalid/.test(e.message),
  );
});

Deno.test("authenticateSasl: a broker error code becomes an AuthenticationError", async () => {
  const err = await authenticateSasl(
    sasl.plainMechanism({ username: "u", password: "hunter2" }),
    ctx,
    () =>
      Promise.resolve({
        errorCode: 58,
        errorMessage: "Authentication failed: Invalid username or password",
        authBytes: EMPTY,
      }),
  ).catch((e) => e);
  assert.ok(err instanceof AuthenticationError);
  assert.equal(
    err.message,
    "PLAIN: authentication failed: Authentication failed: Invalid username or password",
  );
  assert.ok(err.cause instanceof ProtocolError);
  assert.equal(err.cause.errorName, "SASL_AUTHENTICATION_FAILED");

  const noMessage = await authenticateSasl(
    sasl.plainMechanism({ username: "u", password: "p" }),
    ctx,
    () => Promise.resolve({ errorCode: 34, authBytes: EMPTY }),
  ).catch((e) => e);
  assert.equal(noMessage.message, "PLAIN: authentication failed: ILLEGAL_SASL_STATE");
});

Deno.test("authenticateSasl: transport errors and aborts pass through unchanged", async () => {
  const broken = new ConnectionError("socket closed", { broker: "localhost:9092" });
  await assert.rejects(
    authenticateSasl(rfcScram, ctx, () => Promise.reject(broken)),
    (e: unknown) => e === broken,
  );
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    authenticateSasl(
      sasl.plainMechanism({ username: "u", password: () => "p" }),
      { ...ctx, signal: ac.signal },
      () => Promise.resolve({ errorCode: 0, authBytes: EMPTY }),
    ),
    (e: unknown) => e instanceof DOMException && e.name === "AbortError",
  );
});

Deno.test("authenticateSasl: misbehaving custom mechanisms", async () => {
  const forever: SaslMechanism = {
    name: "X-LOOP",
    start: () => ({ done: false, step: () => new Uint8Array([1]) }),
  };
  let trips = 0;
  await assert.rejects(
    authenticateSasl(forever, ctx, () => {
      trips++;
      return Promise.resolve({ errorCode: 0, authBytes: EMPTY });
    }),
    (e: unknown) => e instanceof AuthenticationError && /16 round trips/.test(e.message),
  );
  assert.equal(trips, 16);

  const quitter: SaslMechanism = {
    name: "X-QUIT",
    start: () => ({ done: false, step: () => null }),
  };
  await assert.rejects(
    authenticateSasl(quitter, ctx, () => Promise.resolve({ errorCode: 0, authBytes: EMPTY })),
    (e: unknown) => e instanceof AuthenticationError && /stopped before completing/.test(e.message),
  );

  const thrower: SaslMechanism = {
    name: "X-THROW",
    start: () => {
      throw new TypeError("oops");
    },
  };
  await assert.rejects(
    authenticateSasl(thrower, ctx, () => Promise.resolve({ errorCode: 0, authBytes: EMPTY })),
    (e: unknown) => e instanceof AuthenticationError && e.cause instanceof TypeError,
  );

  // A custom mechanism completing in one step works like PLAIN.
  let done = false;
  const custom: SaslMechanism = {
    name: "X-ONE",
    start: () => ({
      get done() {
        return done;
      },
      lifetimeMs: 1234,
      step: (m) => {
        if (m === undefined) return enc.encode("hi");
        done = true;
        return null;
      },
    }),
  };
  const outcome = await authenticateSasl(
    custom,
    ctx,
    () => Promise.resolve({ errorCode: 0, authBytes: EMPTY }),
  );
  assert.equal(outcome.credentialLifetimeMs, 1234);
});

Deno.test("checkSaslHandshake", () => {
  checkSaslHandshake("PLAIN", 0, []);
  assert.throws(
    () => checkSaslHandshake("OAUTHBEARER", 33, ["PLAIN", "SCRAM-SHA-512"]),
    (e: unknown) =>
      e instanceof AuthenticationError &&
      e.message ===
        "SASL mechanism OAUTHBEARER is not enabled on the broker; it offers: PLAIN, SCRAM-SHA-512",
  );
  assert.throws(() => checkSaslHandshake("PLAIN", 33, []), /offers: none/);
  assert.throws(() => checkSaslHandshake("PLAIN", 34, []), AuthenticationError);
  assert.throws(
    () => checkSaslHandshake("PLAIN", 35, []),
    (e: unknown) => e instanceof ProtocolError && !(e instanceof AuthenticationError),
  );
});

Deno.test("saslMechanism: options to mechanisms", () => {
  assert.equal(saslMechanism({ mechanism: "plain", username: "u", password: "p" }).name, "PLAIN");
  assert.equal(
    saslMechanism({ mechanism: "SCRAM-SHA-256", username: "u", password: "p" }).name,
    "SCRAM-SHA-256",
  );
  assert.equal(
    saslMechanism({ mechanism: "scram-sha-512", username: "u", password: () => "p" }).name,
    "SCRAM-SHA-512",
  );
  assert.equal(saslMechanism({ mechanism: "oauthbearer", token: () => "t" }).name, "OAUTHBEARER");
  const custom: SaslMechanism = {
    name: "AWS_MSK_IAM",
    start: () => ({ done: true, step: () => null }),
  };
  assert.equal(saslMechanism(custom), custom);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => saslMechanism({ mechanism: "gssapi" } as any), /unknown SASL mechanism/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => saslMechanism({ mechanism: "plain", username: "u" } as any), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => saslMechanism({ name: "", start: () => null } as any), TypeError);
});

Deno.test("no error message, cause or inspection contains a secret", async () => {
  const PASSWORD = "Hunter2-Ünïcødé-SECRET";
  const TOKEN = "eyJTOKEN.SECRET.value";
  const secrets = [PASSWORD, TOKEN, btoa("Hunter2"), "Hunter2"];
  const errors: unknown[] = [];
  const collect = async (p: unknown) => {
    try {
      await (typeof p === "function" ? p() : p);
      assert.fail("expected a failure");
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      errors.push(e);
    }
  };
  const NONCE = "rOprNGfwEbeRWgbNEkqO";
  const SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";
  const serverFirsts = [
    `r=${NONCE}x,s=${SALT},i=4096`,
    `r=WRONG,s=${SALT},i=4096`,
    `r=${NONCE}x,s=${SALT},i=10`,
    `r=${NONCE}x,s=!!,i=4096`,
    "e=other-error",
  ];
  for (const name of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    for (const serverFirst of serverFirsts) {
      for (const serverFinal of ["v=AAAA", "e=invalid-proof", "garbage"]) {
        const s = await startScramWithNonceForTesting(
          name,
          { username: "user", password: PASSWORD },
          NONCE,
        );
        await s.step(undefined);
        await collect(async () => {
          const final = await s.step(enc.encode(serverFirst));
          // The client proof is derived from the password: it must not reach errors either.
          secrets.push(dec.decode(final!).split(",p=")[1]!);
          await s.step(enc.encode(serverFinal));
        });
      }
    }
    await collect(
      authenticateSasl(
        sasl.scramMechanism(name, { username: "u", password: PASSWORD }),
        ctx,
        () => Promise.resolve({ errorCode: 58, errorMessage: "bad credentials", authBytes: EMPTY }),
      ),
    );
  }
  await collect(
    authenticateSasl(
      sasl.plainMechanism({ username: "u", password: PASSWORD }),
      ctx,
      () => Promise.resolve({ errorCode: 58, authBytes: EMPTY }),
    ),
  );
  await collect(sasl.plainMechanism({ username: "u", password: `${PASSWORD}\0` }).start(ctx));
  await collect(sasl.oauthBearerMechanism({ token: () => `${TOKEN} x` }).start(ctx));
  await collect(
    sasl.oauthBearerMechanism({ token: () => ({ value: TOKEN, extensions: { auth: TOKEN } }) })
      .start(ctx),
  );
  await collect(
    authenticateSasl(
      sasl.oauthBearerMechanism({ token: () => TOKEN }),
      ctx,
      (b) =>
        Promise.resolve(
          b.length === 1
            ? { errorCode: 58, authBytes: EMPTY }
            : { errorCode: 0, authBytes: enc.encode('{"status":"invalid_token"}') },
        ),
    ),
  );
  assert.ok(errors.length > 30);
  for (const e of errors) {
    assert.ok(e instanceof KafkaError, String(e));
    assert.equal(e.retriable, false);
    let text = "";
    for (let c: unknown = e; c instanceof Error; c = c.cause) text += `${c.message}\n${c.stack}\n`;
    text += Deno.inspect(e, { depth: 10 });
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `secret leaked in: ${e.message}`);
    }
  }
});
