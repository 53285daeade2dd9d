import assert from "node:assert/strict";
import { AuthenticationError } from "../../protocol/errors.ts";
import { plainMechanism } from "../../protocol/sasl/plain.ts";

const ctx = { host: "localhost", port: 9092 };

Deno.test("PLAIN: message bytes are authzid NUL username NUL password", async () => {
  const s = await plainMechanism({ username: "alice", password: "pä55" }).start(ctx);
  assert.deepEqual(
    await s.step(undefined),
    new Uint8Array([0, 0x61, 0x6c, 0x69, 0x63, 0x65, 0, 0x70, 0xc3, 0xa4, 0x35, 0x35]),
  );
  assert.equal(s.done, false);
  assert.equal(await s.step(new Uint8Array(0)), null);
  assert.equal(s.done, true);
  await assert.rejects(
    Promise.resolve().then(() => s.step(new Uint8Array(0))),
    AuthenticationError,
  );
});

Deno.test("PLAIN: authzid and a lazy password", async () => {
  let calls = 0;
  const mech = plainMechanism({
    username: "u",
    password: async (signal) => {
      calls++;
      assert.equal(signal, undefined);
      await Promise.resolve();
      return "p";
    },
    authzid: "admin",
  });
  assert.equal(mech.name, "PLAIN");
  const s = await mech.start(ctx);
  assert.deepEqual(await s.step(undefined), new TextEncoder().encode("admin\0u\0p"));
  assert.equal(calls, 1);
});

Deno.test("PLAIN: server data and NULs are rejected", async () => {
  const s = await plainMechanism({ username: "u", password: "p" }).start(ctx);
  await s.step(undefined);
  assert.throws(() => s.step(new Uint8Array([1])), AuthenticationError);

  assert.throws(() => plainMechanism({ username: "a\0b", password: "p" }), TypeError);
  assert.throws(() => plainMechanism({ username: "", password: "p" }), TypeError);
  await assert.rejects(
    Promise.resolve(plainMechanism({ username: "u", password: () => "p\0x" }).start(ctx)),
    (e: unknown) => e instanceof AuthenticationError && !e.message.includes("p\0x"),
  );
});
