import assert from "node:assert/strict";
import { AuthenticationError } from "../../protocol/errors.ts";
import { oauthBearerMechanism } from "../../protocol/sasl/oauthbearer.ts";
import { authenticateSasl } from "../../protocol/sasl/authenticate.ts";

const ctx = { host: "localhost", port: 9092 };
const enc = new TextEncoder();
const dec = new TextDecoder();
const TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";

Deno.test("OAUTHBEARER: client-first bytes without extensions", async () => {
  const s = await oauthBearerMechanism({ token: () => TOKEN }).start(ctx);
  const first = await s.step(undefined);
  assert.deepEqual(first, enc.encode(`n,,\x01auth=Bearer ${TOKEN}\x01\x01`));
  assert.equal(s.lifetimeMs, undefined);
  assert.equal(await s.step(new Uint8Array(0)), null);
  assert.equal(s.done, true);
});

Deno.test("OAUTHBEARER: extensions (KIP-342), authzid and lifetime", async () => {
  const mech = oauthBearerMechanism({
    token: async () => {
      await Promise.resolve();
      return {
        value: "abc-._~+/==",
        extensions: { traceId: "t 1", logicalCluster: "lkc-2" },
        lifetimeMs: 5000,
      };
    },
    extensions: { logicalCluster: "lkc-1", identityPoolId: "pool-9" },
    authzid: "a=b,c",
  });
  assert.equal(mech.name, "OAUTHBEARER");
  const s = await mech.start(ctx);
  assert.equal(
    dec.decode((await s.step(undefined))!),
    "n,a=a=3Db=2Cc,\x01auth=Bearer abc-._~+/==\x01" +
      "logicalCluster=lkc-2\x01identityPoolId=pool-9\x01traceId=t 1\x01\x01",
  );
  assert.equal(s.lifetimeMs, 5000);
});

Deno.test("OAUTHBEARER: a server JSON error is acknowledged with 0x01, then reported", async () => {
  const s = await oauthBearerMechanism({ token: () => TOKEN }).start(ctx);
  await s.step(undefined);
  const ack = await s.step(
    enc.encode('{"status":"invalid_token","scope":"kafka","openid-configuration":"https://x"}'),
  );
  assert.deepEqual(ack, new Uint8Array([1]));
  assert.equal(s.done, false);
  assert.equal(s.serverError, "status invalid_token, scope kafka");
  // If the broker answered the acknowledgement anyway, the session fails with the status.
  assert.throws(
    () => s.step(new Uint8Array(0)),
    (e: unknown) => e instanceof AuthenticationError && /invalid_token/.test(e.message),
  );
});

Deno.test("OAUTHBEARER: the full error flow through authenticateSasl", async () => {
  const sent: string[] = [];
  const err = await authenticateSasl(
    oauthBearerMechanism({ token: () => TOKEN }),
    ctx,
    (bytes) => {
      sent.push(dec.decode(bytes));
      if (sent.length === 1) {
        return Promise.resolve({
          errorCode: 0,
          authBytes: enc.encode('{"status":"invalid_token"}'),
        });
      }
      return Promise.resolve({
        errorCode: 58,
        errorMessage: "Authentication failed during authentication due to invalid credentials",
        authBytes: new Uint8Array(0),
      });
    },
  ).catch((e) => e);
  assert.equal(sent.length, 2);
  assert.equal(sent[1], "\x01");
  assert.ok(err instanceof AuthenticationError);
  assert.match(err.message, /^OAUTHBEARER: authentication failed: status invalid_token: /);
  assert.ok(!err.message.includes(TOKEN));
});

Deno.test("OAUTHBEARER: a garbage server error is still reported safely", async () => {
  const s = await oauthBearerMechanism({ token: () => TOKEN }).start(ctx);
  await s.step(undefined);
  await s.step(enc.encode("not json"));
  assert.equal(s.serverError, "status unparsable server error");
  const s2 = await oauthBearerMechanism({ token: () => TOKEN }).start(ctx);
  await s2.step(undefined);
  await s2.step(enc.encode(JSON.stringify({ status: "\x1b[2J" + "y".repeat(500) })));
  assert.ok(!s2.serverError!.includes("\x1b"));
  assert.ok(s2.serverError!.length < 200);
});

Deno.test("OAUTHBEARER: invalid tokens, extensions and lifetimes are rejected without echo", async () => {
  const secretish = "SECRET-TOKEN with space";
  const cases: Array<[Parameters<typeof oauthBearerMechanism>[0], RegExp]> = [
    [{ token: () => secretish }, /b64token/],
    [{ token: () => "abc\x01auth=Bearer x" }, /b64token/],
    [{ token: () => "" }, /b64token/],
    [{ token: () => ({ value: "abc", extensions: { auth: "x" } }) }, /extension name/],
    [{ token: () => ({ value: "abc", extensions: { "a-b": "x" } }) }, /extension name/],
    [{ token: () => ({ value: "abc", extensions: { ok: "x\x01y" } }) }, /extension ok/],
    [{ token: () => ({ value: "abc", extensions: { ok: "" } }) }, /extension ok/],
    [{ token: () => ({ value: "abc", lifetimeMs: 0 }) }, /expired/],
    [{ token: () => ({ value: "abc", lifetimeMs: Number.NaN }) }, /lifetimeMs/],
    // deno-lint-ignore no-explicit-any
    [{ token: () => ({}) as any }, /no token/],
    [{
      token: () => {
        throw new Error(`idp down for ${secretish}`);
      },
    }, /token callback failed/],
  ];
  for (const [options, pattern] of cases) {
    await assert.rejects(
      Promise.resolve().then(() => oauthBearerMechanism(options).start(ctx)),
      (e: unknown) =>
        e instanceof AuthenticationError && pattern.test(e.message) &&
        !e.message.includes(secretish) && !e.message.includes("x\x01y"),
    );
  }
  assert.throws(
    () => oauthBearerMechanism({ token: () => "abc", extensions: { auth: "x" } }),
    AuthenticationError,
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => oauthBearerMechanism({ token: "abc" as any }), TypeError);
});

Deno.test("OAUTHBEARER: the token callback gets the abort signal", async () => {
  const ac = new AbortController();
  let got: AbortSignal | undefined;
  const mech = oauthBearerMechanism({
    token: (signal) => {
      got = signal;
      ac.abort(new DOMException("stop", "AbortError"));
      throw signal!.reason;
    },
  });
  await assert.rejects(
    Promise.resolve().then(() => mech.start({ ...ctx, signal: ac.signal })),
    (e: unknown) => e instanceof DOMException && e.name === "AbortError",
  );
  assert.equal(got, ac.signal);
});
