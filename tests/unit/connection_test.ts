// Edge cases of one connection that a real broker cannot produce on demand: silence, late
// replies, truncated and garbage frames, oversized length claims, a dribbling peer.
import assert from "node:assert/strict";
import { Api } from "../../protocol/apis.ts";
import { Writer } from "../../protocol/writer.ts";
import { Connection, type ConnectionOptions } from "../../net/connection.ts";
import {
  AuthenticationError,
  ClosedError,
  ConnectionError,
  DecodeError,
  TimeoutError,
  UnsupportedVersionError,
} from "../../protocol/errors.ts";
import { chooseVersions } from "../../net/negotiate.ts";
import { FakeSocket, type SeenRequest } from "../helpers/fake_socket.ts";

const ALL_VERSIONS = chooseVersions(
  [{ apiKey: 12, minVersion: 0, maxVersion: 4 }, { apiKey: 3, minVersion: 0, maxVersion: 12 }],
);

async function open(
  socket: FakeSocket,
  extra: Partial<ConnectionOptions> = {},
): Promise<Connection> {
  return await Connection.connect({
    host: "fake",
    port: 9092,
    socketFactory: () => Promise.resolve(socket),
    versions: ALL_VERSIONS,
    ...extra,
  });
}

const hb = { groupId: "g", generationId: 1, memberId: "m" };
const hbOk = { throttleTimeMs: 0, errorCode: 0 };

function nextRequest(socket: FakeSocket): Promise<SeenRequest> {
  return new Promise((resolve) => {
    socket.onRequest = (r) => {
      socket.onRequest = undefined;
      resolve(r);
    };
  });
}

Deno.test("a request resolves with its decoded response", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const seen = nextRequest(s);
  const res = conn.request(Api.Heartbeat, hb);
  const req = await seen;
  assert.equal(req.api.name, "Heartbeat");
  assert.equal(req.version, 4);
  s.reply(req, { throttleTimeMs: 7, errorCode: 0 });
  assert.deepEqual(await res, { throttleTimeMs: 7, errorCode: 0 });
});

Deno.test("ApiVersions falls back when the broker answers UNSUPPORTED_VERSION (KIP-511)", async () => {
  const s = new FakeSocket();
  const versions: number[] = [];
  s.onRequest = function answer(req) {
    versions.push(req.version);
    s.onRequest = answer;
    if (req.version > 2) {
      // The broker answers in v0 format with its own range for ApiVersions.
      s.reply({ ...req, version: 0 }, {
        errorCode: 35,
        apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }],
      });
    } else {
      s.reply(req, {
        errorCode: 0,
        apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }, {
          apiKey: 12,
          minVersion: 0,
          maxVersion: 3,
        }],
        throttleTimeMs: 0,
      });
    }
  };
  await using conn = await Connection.connect({
    host: "fake",
    port: 1,
    socketFactory: () => Promise.resolve(s),
  });
  assert.deepEqual(versions, [4, 2]);
  assert.equal(conn.versionFor(Api.Heartbeat), 3);
  assert.throws(() => conn.versionFor(Api.Fetch), (e: unknown) => {
    assert.ok(e instanceof UnsupportedVersionError);
    assert.equal(e.apiName, "Fetch");
    assert.match(e.message, /Fetch/);
    return true;
  });
});

Deno.test("no more than maxInFlight requests are written before replies come", async () => {
  const s = new FakeSocket();
  await using conn = await open(s, { maxInFlight: 2 });
  const results = Array.from({ length: 5 }, () => conn.request(Api.Heartbeat, hb));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.requests.length, 2);
  assert.equal(conn.inFlight, 2);
  let answered = 0;
  while (answered < 5) {
    const pending = s.requests.slice(answered);
    for (const r of pending) s.reply(r, hbOk);
    answered += pending.length;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal((await Promise.all(results)).length, 5);
  assert.equal(conn.inFlight, 0);
});

Deno.test("a timed-out request's late reply is dropped and the connection stays usable", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const seen = nextRequest(s);
  const slow = conn.request(Api.Heartbeat, hb, { timeoutMs: 30 });
  const req = await seen;
  await assert.rejects(slow, (e: unknown) => e instanceof TimeoutError && e.retriable);
  s.reply(req, { throttleTimeMs: 99, errorCode: 0 }); // late
  const seen2 = nextRequest(s);
  const next = conn.request(Api.Heartbeat, hb);
  s.reply(await seen2, { throttleTimeMs: 1, errorCode: 0 });
  assert.equal((await next).throttleTimeMs, 1);
  assert.equal(conn.closed, false);
});

Deno.test("an aborted request rejects with the signal's reason; the connection survives", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const ac = new AbortController();
  const seen = nextRequest(s);
  const p = conn.request(Api.Heartbeat, hb, { signal: ac.signal });
  const req = await seen;
  ac.abort(new Error("user gave up"));
  await assert.rejects(p, /user gave up/);
  s.reply(req, hbOk);
  const seen2 = nextRequest(s);
  const q = conn.request(Api.Heartbeat, hb);
  s.reply(await seen2, hbOk);
  assert.equal((await q).errorCode, 0);
  // An already-aborted signal never writes anything.
  const before = s.requests.length;
  await assert.rejects(conn.request(Api.Heartbeat, hb, { signal: AbortSignal.abort() }));
  assert.equal(s.requests.length, before);
});

Deno.test("close fails pending requests with ConnectionError, later calls with ClosedError", async () => {
  const s = new FakeSocket();
  const conn = await open(s);
  const seen = nextRequest(s);
  const pending = conn.request(Api.Heartbeat, hb);
  await seen;
  await conn.close();
  await assert.rejects(pending, ConnectionError);
  await assert.rejects(conn.request(Api.Heartbeat, hb), ClosedError);
  await conn.close(); // twice is fine
  assert.ok(s.closed);
});

Deno.test("a peer that closes mid-frame fails pending requests with ConnectionError", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const closedWith = new Promise((r) => conn.onClose(r));
  const p = conn.request(Api.Heartbeat, hb);
  s.push(new Uint8Array([0, 0, 0, 50, 0, 0])); // claims 50 bytes, sends 2
  s.end();
  await assert.rejects(p, (e: unknown) => e instanceof ConnectionError && e.retriable);
  assert.ok((await closedWith) instanceof ConnectionError);
  assert.equal(conn.closed, true);
});

Deno.test("an oversized frame length is refused without allocating it", async () => {
  const s = new FakeSocket();
  await using conn = await open(s, { maxFrameBytes: 1024 * 1024 });
  const p = conn.request(Api.Heartbeat, hb);
  s.push(new Uint8Array([0x7f, 0xff, 0xff, 0xff])); // 2 GiB claimed
  await assert.rejects(
    p,
    (e: unknown) => e instanceof DecodeError && /maxFrameBytes/.test(e.message),
  );
  assert.equal(conn.closed, true);
});

Deno.test("a negative frame length is a DecodeError", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const p = conn.request(Api.Heartbeat, hb);
  s.push(new Uint8Array([0xff, 0xff, 0xff, 0xfe]));
  await assert.rejects(p, DecodeError);
});

Deno.test("requests with different deadlines on one connection time out in deadline order", async () => {
  // One timer serves all of a connection's deadlines: a later request with an earlier deadline
  // must re-arm it, and an answered request must not end the others' deadlines.
  const s = new FakeSocket();
  await using conn = await open(s);
  const t0 = performance.now();
  const timedOut: { timeoutMs: number; afterMs: number; message: string }[] = [];
  const timed = (timeoutMs: number) =>
    conn.request(Api.Heartbeat, hb, { timeoutMs }).then(
      () => assert.fail(`the ${timeoutMs} ms request was answered`),
      (e: unknown) => {
        assert.ok(e instanceof TimeoutError && e.retriable, String(e));
        timedOut.push({ timeoutMs, afterMs: performance.now() - t0, message: e.message });
      },
    );
  const seen = nextRequest(s);
  const all = [timed(600)];
  await seen;
  const seenAnswered = nextRequest(s);
  const answered = conn.request(Api.Heartbeat, hb, { timeoutMs: 60 });
  const toAnswer = await seenAnswered;
  all.push(timed(120), timed(400), timed(240));
  s.reply(toAnswer, { throttleTimeMs: 3, errorCode: 0 });
  assert.equal((await answered).throttleTimeMs, 3);
  await Promise.all(all);
  assert.deepEqual(timedOut.map((t) => t.timeoutMs), [120, 240, 400, 600]);
  for (const t of timedOut) {
    assert.ok(t.afterMs >= t.timeoutMs - 1, `${t.timeoutMs} ms timed out at ${t.afterMs} ms`);
    assert.match(
      t.message,
      new RegExp(`^Heartbeat v4 to fake:9092 timed out after ${t.timeoutMs} ms`),
    );
  }
  // The earliest deadline came when it was due, not at the first request's later one.
  assert.ok(timedOut[0]!.afterMs < 400, `120 ms timed out at ${timedOut[0]!.afterMs} ms`);
  assert.equal(conn.inFlight, 0);
  // The late replies are dropped and the connection serves the next request.
  for (const r of s.requests) if (r !== toAnswer) s.reply(r, hbOk);
  const seen2 = nextRequest(s);
  const next = conn.request(Api.Heartbeat, hb);
  s.reply(await seen2, { throttleTimeMs: 1, errorCode: 0 });
  assert.equal((await next).throttleTimeMs, 1);
  assert.equal(conn.closed, false);
});

Deno.test("a large valid frame is buffered as it arrives, not as claimed", async () => {
  const s = new FakeSocket();
  await using conn = await open(s, { maxFrameBytes: 64 * 1024 * 1024 });
  const p = conn.request(Api.Heartbeat, hb, { timeoutMs: 200 });
  // 50 MiB claimed, nothing more ever sent: the reader must not allocate 50 MiB.
  s.push(new Uint8Array([0x03, 0x20, 0x00, 0x00]));
  await assert.rejects(p, TimeoutError);
  // The reader's own buffers, not the process's RSS (other tests run beside this one).
  assert.ok(s.largestReadBuffer < 1024 * 1024, `read buffer of ${s.largestReadBuffer} bytes`);
});

Deno.test("a garbage body fails only its request; the connection stays usable", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const seen = nextRequest(s);
  const p = conn.request(Api.Heartbeat, hb);
  const req = await seen;
  const id = req.correlationId;
  // correlation id, then 1 byte where the header's tagged fields and a body should be
  s.push(
    new Uint8Array([
      0,
      0,
      0,
      5,
      (id >> 24) & 0xff,
      (id >> 16) & 0xff,
      (id >> 8) & 0xff,
      id & 0xff,
      0x7f,
    ]),
  );
  await assert.rejects(p, DecodeError);
  const seen2 = nextRequest(s);
  const q = conn.request(Api.Heartbeat, hb);
  s.reply(await seen2, hbOk);
  assert.equal((await q).errorCode, 0);
});

Deno.test("a reply with an unknown correlation id closes the connection", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const seen = nextRequest(s);
  const p = conn.request(Api.Heartbeat, hb);
  s.reply(await seen, hbOk, 424242);
  await assert.rejects(p, DecodeError);
  assert.equal(conn.closed, true);
});

Deno.test("a peer dribbling one byte at a time is still understood", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  const seen = nextRequest(s);
  const p = conn.request(Api.Metadata, { topics: [] });
  const req = await seen;
  const { encodeResponse } = await import("../../protocol/apis.ts");
  const frame = encodeResponse(req.api, req.version, req.correlationId, {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: "h", port: 9092, rack: null }],
    clusterId: "c",
    controllerId: 1,
    topics: [],
  });
  for (const b of frame) {
    s.push(new Uint8Array([b]));
    await Promise.resolve();
  }
  const md = await p;
  assert.equal(md.brokers[0]!.host, "h");
});

Deno.test("connect gives up with TimeoutError when the socket never opens", async () => {
  const started = Date.now();
  await assert.rejects(
    Connection.connect({
      host: "fake",
      port: 1,
      connectTimeoutMs: 50,
      socketFactory: () => new Promise(() => {}),
    }),
    TimeoutError,
  );
  assert.ok(Date.now() - started < 2000);
});

Deno.test("connect gives up with TimeoutError when the broker never answers ApiVersions", async () => {
  const s = new FakeSocket();
  await assert.rejects(
    Connection.connect({
      host: "fake",
      port: 1,
      connectTimeoutMs: 50,
      socketFactory: () => Promise.resolve(s),
    }),
    TimeoutError,
  );
  assert.ok(s.closed);
});

Deno.test("a refused connection is a retriable ConnectionError naming the broker", async () => {
  // Port 1 on loopback: nothing listens there.
  await assert.rejects(
    Connection.connect({ host: "127.0.0.1", port: 1, connectTimeoutMs: 2000 }),
    (e: unknown) => e instanceof ConnectionError && e.retriable && /127\.0\.0\.1:1/.test(e.message),
  );
});

Deno.test("a failed write fails the connection with ConnectionError", async () => {
  const s = new FakeSocket();
  await using conn = await open(s);
  s.failWrites = true;
  await assert.rejects(conn.request(Api.Heartbeat, hb), ConnectionError);
  assert.equal(conn.closed, true);
});

Deno.test("bad options are TypeError / RangeError", async () => {
  await assert.rejects(Connection.connect({ host: "", port: 1 }), TypeError);
  await assert.rejects(Connection.connect({ host: "h", port: 70000 }), RangeError);
  await assert.rejects(
    Connection.connect({ host: "h", port: 1, requestTimeoutMs: -1 }),
    RangeError,
  );
});

Deno.test("SASL with an unsupported mechanism is an AuthenticationError naming the enabled ones", async () => {
  const s = new FakeSocket();
  s.onRequest = (req) => {
    s.reply(req, { errorCode: 33, mechanisms: ["PLAIN"] });
  };
  await assert.rejects(
    Connection.connect({
      host: "fake",
      port: 1,
      socketFactory: () => Promise.resolve(s),
      versions: chooseVersions([{ apiKey: 17, minVersion: 0, maxVersion: 1 }, {
        apiKey: 36,
        minVersion: 0,
        maxVersion: 2,
      }]),
      sasl: { mechanism: "scram-sha-256", username: "u", password: "p" },
    }),
    (e: unknown) => e instanceof AuthenticationError && /PLAIN/.test(e.message),
  );
});

/** A socket that keeps every written chunk, as a transport may until it is flushed. */
class KeepingSocket extends FakeSocket {
  readonly kept: { chunk: Uint8Array; copy: Uint8Array }[] = [];
  override write(p: Uint8Array): Promise<number> {
    this.kept.push({ chunk: p, copy: p.slice() });
    return super.write(p);
  }
}

Deno.test("a large Produce frame is the socket's until answered, then its buffer is reused", async () => {
  const s = new KeepingSocket();
  const versions = chooseVersions([
    { apiKey: 0, minVersion: 3, maxVersion: 11 },
    { apiKey: 3, minVersion: 0, maxVersion: 12 },
  ]);
  await using conn = await open(s, { versions, maxInFlight: 5 });
  const produce = (fill: number) => ({
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{
      name: "t",
      partitionData: [{ index: 0, records: new Uint8Array(200 * 1024).fill(fill) }],
    }],
  });
  const ok = {
    responses: [{
      name: "t",
      topicId: "",
      partitionResponses: [{
        index: 0,
        errorCode: 0,
        baseOffset: 0n,
        logAppendTimeMs: -1n,
        logStartOffset: 0n,
        recordErrors: [],
        errorMessage: null,
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
      }],
    }],
    throttleTimeMs: 0,
    nodeEndpoints: [],
  };
  const unchanged = () => {
    for (const k of s.kept) assert.deepEqual(k.chunk, k.copy);
  };
  const seen1 = nextRequest(s);
  const r1 = conn.request(Api.Produce, produce(1));
  const q1 = await seen1;
  const seen2 = nextRequest(s);
  const r2 = conn.request(Api.Produce, produce(2));
  const q2 = await seen2;
  // Two frames in flight: neither was written over by the other.
  const frame = (n: number) => s.kept.filter((k) => k.chunk.length > 100 * 1024)[n]!;
  assert.notEqual(frame(0).chunk.buffer, frame(1).chunk.buffer);
  unchanged();
  s.reply(q1, ok);
  await r1;
  // The first frame's buffer goes back to the writer once answered: the next frame is encoded
  // into the writer's current buffer, and the one after it into the first frame's. The
  // unanswered second frame (which the socket may still hold) is never written over.
  const seen3 = nextRequest(s);
  const r3 = conn.request(Api.Produce, produce(3));
  const q3 = await seen3;
  const seen4 = nextRequest(s);
  const r4 = conn.request(Api.Produce, produce(4));
  const q4 = await seen4;
  assert.equal(frame(3).chunk.buffer, frame(0).chunk.buffer);
  for (const n of [1, 2, 3]) assert.deepEqual(frame(n).chunk, frame(n).copy);
  assert.ok(frame(3).chunk.filter((b) => b === 4).length >= 200 * 1024);
  for (const q of [q2, q3, q4]) s.reply(q, ok);
  await Promise.all([r2, r3, r4]);
});

Deno.test("zeroCopy writes large record batches from their own buffers, small ones copied", async () => {
  const s = new KeepingSocket();
  const versions = chooseVersions([
    { apiKey: 0, minVersion: 3, maxVersion: 11 },
    { apiKey: 3, minVersion: 0, maxVersion: 12 },
  ]);
  await using conn = await open(s, { versions });
  const big = new Uint8Array(300 * 1024).fill(7);
  const big2 = new Uint8Array(200 * 1024).fill(8);
  const small = new Uint8Array(1000).fill(9);
  const seen = nextRequest(s);
  const r = conn.request(Api.Produce, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{
      name: "t",
      partitionData: [
        { index: 0, records: big },
        { index: 1, records: small },
        { index: 2, records: big2 },
      ],
    }],
  }, { zeroCopy: true });
  const q = await seen;
  // The broker side reads one well-formed frame with every batch intact.
  const body = q.body as { topicData: { partitionData: { records: Uint8Array }[] }[] };
  const parts = body.topicData[0]!.partitionData;
  assert.deepEqual(parts.map((p) => p.records), [big, small, big2]);
  // The large batches went out as their own buffers; the small one was copied into a piece.
  const wrote = (b: Uint8Array) => s.kept.some((k) => k.chunk.buffer === b.buffer);
  assert.ok(wrote(big));
  assert.ok(wrote(big2));
  assert.ok(!wrote(small));
  s.reply(q, {
    responses: [],
    throttleTimeMs: 0,
    nodeEndpoints: [],
  });
  await r;
});

Deno.test("a spliced writer refuses a referenced input inside a tagged field", () => {
  const w = new Writer().splice(4);
  const big = new Uint8Array([1, 2, 3, 4]);
  w.int8(9).raw(big).int8(8);
  assert.equal(w.length + w.splicedLength, 6);
  assert.deepEqual(w.takeParts(), [new Uint8Array([9]), big, new Uint8Array([8])]);
  assert.equal(w.length, 0);
  assert.equal(w.splicedLength, 0);
  // After takeParts (a reset) nothing is referenced any more.
  w.raw(big);
  assert.deepEqual(w.takeParts(), [big]);
  assert.notEqual(w.takeParts()[0], big);
});

Deno.test("an explicit version outside the broker's or the client's range fails at once, unsent", async () => {
  const s = new FakeSocket();
  s.onRequest = function answer(req) {
    s.onRequest = answer;
    s.reply(req, {
      errorCode: 0,
      apiKeys: [
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
        { apiKey: 12, minVersion: 1, maxVersion: 3 }, // Heartbeat; Fetch (1) is not listed
      ],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: -1n,
      supportedFeatures: [],
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
  };
  await using conn = await Connection.connect({
    host: "fake",
    port: 1,
    socketFactory: () => Promise.resolve(s),
  });
  const sent = s.requests.length; // ApiVersions only
  const refused = (version: number, pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof UnsupportedVersionError, String(e));
    assert.equal(e.apiName, "Heartbeat");
    assert.equal(e.version, version);
    assert.match(e.message, pattern);
    return true;
  };
  // Above the broker's max, below its min: the message names both ranges and the way out.
  await assert.rejects(
    conn.request(Api.Heartbeat, hb, { version: 4 }),
    refused(
      4,
      /Heartbeat v4 .*broker fake:1 speaks Heartbeat v1-v3.*leave `version` out to use v3/,
    ),
  );
  await assert.rejects(
    conn.request(Api.Heartbeat, hb, { version: 0 }),
    refused(0, /Heartbeat v0 .*v1-v3/),
  );
  // Outside what this client can encode.
  await assert.rejects(
    conn.request(Api.Heartbeat, hb, { version: Api.Heartbeat.maxVersion + 1 }),
    refused(Api.Heartbeat.maxVersion + 1, /this client speaks Heartbeat v0-v/),
  );
  // An API the broker does not list at all.
  await assert.rejects(
    conn.request(Api.Fetch, {} as never, { version: 12 }), // refused before it is encoded
    (e: unknown) =>
      e instanceof UnsupportedVersionError &&
      /does not offer Fetch.*no version of Fetch/.test(e.message),
  );
  assert.equal(s.requests.length, sent, "nothing was written");
  // The connection is still usable at a version both speak.
  const seen = nextRequest(s);
  const ok = conn.request(Api.Heartbeat, hb, { version: 2 });
  const req = await seen;
  assert.equal(req.version, 2);
  s.reply(req, hbOk);
  assert.deepEqual(await ok, hbOk);
});

Deno.test("the deadline timer outlives no connection: a closed one leaves the process free to exit", async () => {
  // One timer serves a connection's deadlines and stays armed after a request is answered;
  // close() must clear it, or a script that closed its client would wait out the timeout.
  const here = (path: string) => new URL(path, import.meta.url).href;
  const script = `
    import { Connection } from "${here("../../net/connection.ts")}";
    import { Api } from "${here("../../protocol/apis.ts")}";
    import { chooseVersions } from "${here("../../net/negotiate.ts")}";
    import { FakeSocket } from "${here("../helpers/fake_socket.ts")}";
    const s = new FakeSocket();
    const conn = await Connection.connect({
      host: "fake",
      port: 9092,
      socketFactory: () => Promise.resolve(s),
      versions: chooseVersions([{ apiKey: 12, minVersion: 0, maxVersion: 4 }]),
    });
    const hb = { groupId: "g", generationId: 1, memberId: "m" };
    const seen = new Promise((r) => s.onRequest = r);
    const answered = conn.request(Api.Heartbeat, hb, { timeoutMs: 60_000 });
    s.reply(await seen, { throttleTimeMs: 0, errorCode: 0 });
    await answered;
    conn.request(Api.Heartbeat, hb, { timeoutMs: 50_000 }).catch(() => {});
    await conn.close();
  `;
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const ms = performance.now() - t0;
  assert.ok(ms < 30_000, `the process took ${Math.round(ms)} ms to exit`);
});

Deno.test("an answered request leaves nothing of its response reachable from the caller's signal", async () => {
  // Deno's AbortSignal keeps a removed listener reachable until a full collection; a listener
  // that reached the response (through the request's resolve function) kept every fetch
  // response of a consumer, whose signal lives in old space, past the young-generation
  // collections: C1-1KiB 13 mark-compacts a GB and 175 MiB peak RSS (bench/PROFILE.md,
  // session 15, consumer peak RSS). Here the signal keeps its listeners for good, and a full
  // collection must still free the response. In a process of its own, for `gc()`.
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--v8-flags=--expose-gc",
      `import { Connection } from ${url("../../net/connection.ts")};
       import { chooseVersions } from ${url("../../net/negotiate.ts")};
       import { Api } from ${url("../../protocol/apis.ts")};
       import { FakeSocket } from ${url("../helpers/fake_socket.ts")};
       const s = new FakeSocket();
       const conn = await Connection.connect({
         host: "fake", port: 9092, socketFactory: () => Promise.resolve(s),
         versions: chooseVersions([{ apiKey: 12, minVersion: 0, maxVersion: 4 }]),
       });
       const kept = [];
       const signal = {
         aborted: false, reason: undefined, throwIfAborted() {},
         addEventListener: (_type, f) => kept.push(f), removeEventListener() {},
       };
       async function once() {
         const seen = new Promise((resolve) => s.onRequest = resolve);
         const res = conn.request(Api.Heartbeat, { groupId: "g", generationId: 1, memberId: "m" }, { signal });
         s.reply(await seen, { throttleTimeMs: 7, errorCode: 0 });
         return new WeakRef(await res);
       }
       const ref = await once();
       for (let i = 0; i < 2; i++) {
         await new Promise((r) => setTimeout(r, 0));
         globalThis.gc();
       }
       console.log(JSON.stringify({ listeners: kept.length, collected: ref.deref() === undefined }));
       conn.close();`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    listeners: 1,
    collected: true,
  });
});
