import assert from "node:assert/strict";
import { AuthenticationError } from "../../protocol/errors.ts";
import { scramMechanism } from "../../protocol/sasl/scram.ts";
import { startScramWithNonceForTesting } from "../../protocol/sasl/scram.ts";
import type { SaslSession } from "../../protocol/sasl/mechanism.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const NONCE = "rOprNGfwEbeRWgbNEkqO";
const SERVER_FIRST =
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

async function text(session: SaslSession, server?: string): Promise<string | null> {
  const out = await session.step(server === undefined ? undefined : enc.encode(server));
  return out === null ? null : dec.decode(out);
}

Deno.test("SCRAM-SHA-256: RFC 7677 section 3 test vector", async () => {
  const s = await startScramWithNonceForTesting("SCRAM-SHA-256", {
    username: "user",
    password: "pencil",
  }, NONCE);
  assert.equal(await text(s), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  assert.equal(
    await text(s, SERVER_FIRST),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(s.done, false);
  // RFC 7677's server-final, as printed in the RFC (and recomputed by Python's hashlib).
  assert.equal(await text(s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), null);
  assert.equal(s.done, true);
});

// Generated once with Python's hashlib.pbkdf2_hmac("sha512") and hmac (independent of
// WebCrypto) for the RFC 7677 inputs; the live cross-check below recomputes such vectors.
const SHA512_CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
  "p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==";
const SHA512_SERVER_FINAL = "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4" +
  "+5ZxXnJq199RVG2rR7N7Zw==";

Deno.test("SCRAM-SHA-512: vector generated with Python's hashlib", async () => {
  const s = await startScramWithNonceForTesting("SCRAM-SHA-512", {
    username: "user",
    password: "pencil",
  }, NONCE);
  assert.equal(await text(s), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  assert.equal(await text(s, SERVER_FIRST), SHA512_CLIENT_FINAL);
  assert.equal(await text(s, SHA512_SERVER_FINAL), null);
  assert.equal(s.done, true);
});

const PYTHON_SCRAM = `
import base64, hashlib, hmac, json, sys, unicodedata
def scram(hname, user, password, cnonce, server_first):
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salt = base64.b64decode(attrs["s"]); it = int(attrs["i"])
    salted = hashlib.pbkdf2_hmac(hname, password.encode(), salt, it)
    ck = hmac.new(salted, b"Client Key", hname).digest()
    sk = hashlib.new(hname, ck).digest()
    name = user.replace("=", "=3D").replace(",", "=2C")
    bare = "n=" + name + ",r=" + cnonce
    cfwp = "c=biws,r=" + attrs["r"]
    am = (bare + "," + server_first + "," + cfwp).encode()
    sig = hmac.new(sk, am, hname).digest()
    proof = bytes(a ^ b for a, b in zip(ck, sig))
    ssig = hmac.new(hmac.new(salted, b"Server Key", hname).digest(), am, hname).digest()
    return {"clientFirst": "n,," + bare,
            "clientFinal": cfwp + ",p=" + base64.b64encode(proof).decode(),
            "serverFinal": "v=" + base64.b64encode(ssig).decode()}
print(json.dumps([scram(*a) for a in json.loads(sys.stdin.read())]))
`;

async function havePython(): Promise<boolean> {
  try {
    const r = await new Deno.Command("python3", {
      args: ["-c", "1"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "SCRAM: live cross-check against Python's hashlib/hmac (escaping, raw UTF-8 like Kafka, both hashes)",
  ignore: !(await havePython()),
  async fn() {
    const salt = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const cases: Array<["sha256" | "sha512", string, string, string, string]> = [];
    const names = [
      ["alice", "s3cr3t"],
      ["a=b,c", "p,w=d"],
      ["ﬁle", "pässwörd\u2168"], // used as raw UTF-8, exactly as Kafka's ScramFormatter does
      ["bob", ""],
    ];
    for (const [user, password] of names) {
      for (const h of ["sha256", "sha512"] as const) {
        const nonce = `n${cases.length}X${crypto.randomUUID().replaceAll("-", "")}`;
        const serverFirst = `r=${nonce}srv+/=~,s=${salt},i=${4096 + cases.length}`;
        cases.push([h, user!, password!, nonce, serverFirst]);
      }
    }
    const child = new Deno.Command("python3", {
      args: ["-c", PYTHON_SCRAM],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(enc.encode(JSON.stringify(cases)));
    await w.close();
    const result = await child.output();
    assert.ok(result.success);
    const expected = JSON.parse(dec.decode(result.stdout)) as Array<Record<string, string>>;
    for (const [i, [h, user, password, nonce, serverFirst]] of cases.entries()) {
      const s = await startScramWithNonceForTesting(
        h === "sha256" ? "SCRAM-SHA-256" : "SCRAM-SHA-512",
        { username: user, password },
        nonce,
      );
      const e = expected[i]!;
      assert.equal(await text(s), e.clientFirst, `client-first ${i}`);
      assert.equal(await text(s, serverFirst), e.clientFinal, `client-final ${i}`);
      assert.equal(await text(s, e.serverFinal), null);
      assert.equal(s.done, true);
    }
  },
});

async function atServerFirst(
  name: "SCRAM-SHA-256" | "SCRAM-SHA-512" = "SCRAM-SHA-256",
  password = "pencil",
): Promise<SaslSession> {
  const s = await startScramWithNonceForTesting(name, { username: "user", password }, NONCE);
  await s.step(undefined);
  return s;
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<AuthenticationError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AuthenticationError, `expected AuthenticationError, got ${caught}`);
  assert.match(caught.message, pattern);
  assert.equal(caught.retriable, false);
  return caught;
}

Deno.test("SCRAM: a wrong server signature is an AuthenticationError", async () => {
  const s = await atServerFirst();
  await s.step(enc.encode(SERVER_FIRST));
  // One character changed: same length, one bit off in the first byte.
  await rejects(
    Promise.resolve(s.step(enc.encode("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))),
    /server signature is invalid/,
  );
  assert.equal(s.done, false);
  // A session that failed stays failed.
  await rejects(Promise.resolve(s.step(enc.encode("v=x"))), /already failed/);
});

Deno.test("SCRAM: a signature of the wrong length or bad base64 is rejected", async () => {
  for (const v of ["v=AAAA", "v=not base64!", "v=", "x=1", "garbage"]) {
    const s = await atServerFirst();
    await s.step(enc.encode(SERVER_FIRST));
    await rejects(Promise.resolve(s.step(enc.encode(v))), /SCRAM-SHA-256: /);
  }
});

Deno.test("SCRAM: server-final e= errors become AuthenticationError", async () => {
  for (const err of ["invalid-encoding", "other-error", "invalid-proof"]) {
    const s = await atServerFirst();
    await s.step(enc.encode(SERVER_FIRST));
    const e = await rejects(Promise.resolve(s.step(enc.encode(`e=${err}`))), /rejected/);
    assert.ok(e.message.includes(err));
  }
  // An e= in place of the server-first message is reported too.
  const s = await atServerFirst();
  await rejects(Promise.resolve(s.step(enc.encode("e=unknown-user"))), /unknown-user/);
});

Deno.test("SCRAM: a server error text is sanitized and bounded", async () => {
  const s = await atServerFirst();
  await s.step(enc.encode(SERVER_FIRST));
  const e = await rejects(
    Promise.resolve(s.step(enc.encode(`e=bad\x1b[31m${"x".repeat(1000)}`))),
    /rejected/,
  );
  assert.ok(!e.message.includes("\x1b"));
  assert.ok(e.message.length < 300);
});

Deno.test("SCRAM: server-first validation", async (t) => {
  const bad: Array<[string, string, RegExp]> = [
    ["nonce mismatch", "r=XXXXrOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /nonce/],
    ["nonce not extended", `r=${NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /nonce/],
    ["4095 iterations", `r=${NONCE}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`, /fewer than.*4096/],
    ["1 iteration", `r=${NONCE}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1`, /fewer/],
    ["absurd iterations", `r=${NONCE}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001`, /more than/],
    ["huge iterations", `r=${NONCE}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999`, /iteration/],
    ["negative iterations", `r=${NONCE}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096`, /iteration/],
    ["mandatory extension", `m=ext,r=${NONCE}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /m=/],
    ["missing salt", `r=${NONCE}abc,i=4096`, /malformed/],
    ["bad salt", `r=${NONCE}abc,s=!!!!,i=4096`, /salt/],
    ["empty salt", `r=${NONCE}abc,s=,i=4096`, /salt/],
    ["wrong order", `s=W22ZaJ0SNY7soEsUEjb6gQ==,r=${NONCE}abc,i=4096`, /malformed/],
    ["empty", "", /empty/],
  ];
  for (const [label, message, pattern] of bad) {
    await t.step(label, async () => {
      const s = await atServerFirst();
      await rejects(Promise.resolve(s.step(enc.encode(message))), pattern);
    });
  }
  await t.step("invalid UTF-8", async () => {
    const s = await atServerFirst();
    await rejects(Promise.resolve(s.step(new Uint8Array([0x72, 0x3d, 0xff]))), /UTF-8/);
  });
  await t.step("optional extensions after i= are ignored", async () => {
    const s = await atServerFirst();
    const out = await text(s, `${SERVER_FIRST},x=ext,tokenauth=true`);
    assert.match(out!, /^c=biws,r=.*,p=/);
  });
});

Deno.test("SCRAM: username escaping and delegation-token extension", async () => {
  const s = await startScramWithNonceForTesting("SCRAM-SHA-512", {
    username: "a=b,c==,",
    password: "pw",
    delegationToken: true,
  }, NONCE);
  assert.equal(await text(s), `n,,n=a=3Db=2Cc=3D=3D=2C,r=${NONCE},tokenauth=true`);
});

Deno.test("SCRAM: random nonces are printable, long and distinct", async () => {
  const mech = scramMechanism("SCRAM-SHA-256", { username: "u", password: "p" });
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const first = dec.decode((await (await mech.start({ host: "h", port: 1 })).step(undefined))!);
    const nonce = first.slice("n,,n=u,r=".length);
    assert.match(nonce, /^[A-Za-z0-9]{32}$/);
    seen.add(nonce);
  }
  assert.equal(seen.size, 50);
});

Deno.test("SCRAM: protocol misuse is an AuthenticationError", async () => {
  const s = await startScramWithNonceForTesting("SCRAM-SHA-256", {
    username: "user",
    password: "pencil",
  }, NONCE);
  await rejects(Promise.resolve(s.step(enc.encode("r=early"))), /before the client-first/);
  const done = await atServerFirst();
  await done.step(enc.encode(SERVER_FIRST));
  await done.step(enc.encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  await rejects(Promise.resolve(done.step(enc.encode("more"))), /after the exchange/);
});

Deno.test("SCRAM: password callbacks and bad options", async () => {
  let calls = 0;
  const mech = scramMechanism("SCRAM-SHA-256", {
    username: "user",
    password: async () => {
      calls++;
      await Promise.resolve();
      return "pencil";
    },
  });
  await mech.start({ host: "h", port: 1 });
  await mech.start({ host: "h", port: 1 });
  assert.equal(calls, 2, "the password is fetched for each authentication");

  const failing = scramMechanism("SCRAM-SHA-512", {
    username: "u",
    password: () => {
      throw new Deno.errors.NotFound("vault path kafka/pw missing");
    },
  });
  const e = await rejects(
    Promise.resolve(failing.start({ host: "h", port: 1 })),
    /callback failed/,
  );
  assert.ok(e.cause instanceof Deno.errors.NotFound);

  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    Promise.resolve(
      scramMechanism("SCRAM-SHA-256", { username: "u", password: () => "p" }).start({
        host: "h",
        port: 1,
        signal: ac.signal,
      }),
    ),
    (err: unknown) => err instanceof DOMException && err.name === "AbortError",
  );

  assert.throws(() => scramMechanism("SCRAM-SHA-256", { username: "", password: "p" }), TypeError);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => scramMechanism("SCRAM-SHA-256", { username: "u", password: undefined as any }),
    TypeError,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => scramMechanism("SCRAM-SHA-1" as any, { username: "u", password: "p" }),
    TypeError,
  );
  assert.throws(
    () => scramMechanism("SCRAM-SHA-256", { username: "bad\u0000user", password: "p" }),
    RangeError,
  );
});
