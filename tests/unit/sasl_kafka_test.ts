/**
 * Cross-checks the SASL mechanisms against Kafka's own server-side code from kafka-clients
 * (ScramSaslServer + ScramFormatter, PlainSaslServer, OAuthBearerClientInitialResponse), run
 * in a single-file Java program that reads our client messages on stdin. Skipped when Java or
 * the cached Kafka jars (.kafka/jars/<version>/libs) are missing.
 */
import assert from "node:assert/strict";
import { oauthBearerMechanism } from "../../protocol/sasl/oauthbearer.ts";
import { plainMechanism } from "../../protocol/sasl/plain.ts";
import {
  scramMechanism,
  type ScramMechanismName,
  startScramWithNonceForTesting,
} from "../../protocol/sasl/scram.ts";
import { AuthenticationError } from "../../protocol/errors.ts";

const JAVA_SOURCE = String.raw`
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import javax.security.auth.callback.*;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.security.plain.PlainAuthenticateCallback;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.ScramCredentialCallback;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramSaslServer;
import org.apache.kafka.common.security.token.delegation.internals.DelegationTokenCredentialCallback;
import org.apache.kafka.common.security.oauthbearer.internals.OAuthBearerClientInitialResponse;

/** Line protocol: every free-text field is base64 of UTF-8; replies are one line each. */
public class SaslCheck {
  static String d(String b64) { return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8); }
  static String e(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    SaslServer server = null;
    String line;
    while ((line = in.readLine()) != null) {
      String[] f = line.split(" ", -1);
      try {
        switch (f[0]) {
          case "SCRAM": case "TOKEN": {
            // SCRAM|TOKEN <mechanism> <user or token id> <password or token hmac> <iterations>
            ScramMechanism mech = ScramMechanism.forMechanismName(f[1]);
            String user = d(f[2]);
            ScramCredential cred = new ScramFormatter(mech).generateCredential(d(f[3]), Integer.parseInt(f[4]));
            boolean token = f[0].equals("TOKEN");
            CallbackHandler cbh = callbacks -> {
              String name = null;
              for (Callback cb : callbacks) {
                if (cb instanceof NameCallback) name = ((NameCallback) cb).getDefaultName();
                else if (cb instanceof DelegationTokenCredentialCallback) {
                  DelegationTokenCredentialCallback tc = (DelegationTokenCredentialCallback) cb;
                  if (token && user.equals(name)) { tc.scramCredential(cred); tc.tokenOwner("token-owner"); tc.tokenExpiryTimestamp(42L); }
                } else if (cb instanceof ScramCredentialCallback) {
                  if (!token && user.equals(name)) ((ScramCredentialCallback) cb).scramCredential(cred);
                } else throw new UnsupportedCallbackException(cb);
              }
            };
            server = new ScramSaslServer(mech, new HashMap<>(), cbh);
            out.println("READY");
            break;
          }
          case "PLAIN": {
            String user = d(f[1]), password = d(f[2]);
            CallbackHandler cbh = callbacks -> {
              String name = null;
              for (Callback cb : callbacks) {
                if (cb instanceof NameCallback) name = ((NameCallback) cb).getDefaultName();
                else if (cb instanceof PlainAuthenticateCallback) {
                  PlainAuthenticateCallback pc = (PlainAuthenticateCallback) cb;
                  pc.authenticated(user.equals(name) && password.equals(new String(pc.password())));
                } else throw new UnsupportedCallbackException(cb);
              }
            };
            server = new PlainSaslServer(cbh);
            out.println("READY");
            break;
          }
          case "STEP": {
            // STEP <client message base64> -> OK <server message base64 or -> <complete 0|1> <authzid base64 or ->
            byte[] reply = server.evaluateResponse(Base64.getDecoder().decode(f[1]));
            boolean complete = server.isComplete();
            out.println("OK " + (reply == null ? "-" : Base64.getEncoder().encodeToString(reply)) + " "
                + (complete ? 1 : 0) + " " + (complete ? e(server.getAuthorizationID()) : "-"));
            break;
          }
          case "OAUTH": {
            // OAUTH <client message base64> -> OK <token> <authzid> <sorted k=v lines>
            OAuthBearerClientInitialResponse r = new OAuthBearerClientInitialResponse(Base64.getDecoder().decode(f[1]));
            StringBuilder ext = new StringBuilder();
            new TreeMap<>(r.extensions().map()).forEach((k, v) -> ext.append(k).append('=').append(v).append('\n'));
            out.println("OK " + e(r.tokenValue()) + " " + e(r.authorizationId()) + " " + e(ext.toString()));
            break;
          }
          default:
            out.println("ERR " + e("unknown command " + f[0]));
        }
      } catch (Exception ex) {
        out.println("ERR " + e(ex.getClass().getSimpleName() + ": " + ex.getMessage()));
      }
    }
  }
}
`;

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (s: string) => btoa(String.fromCharCode(...enc.encode(s)));
const b64bytes = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const ctx = { host: "localhost", port: 9092 };

/** The libs folder of the newest cached Kafka version holding kafka-clients, if any. */
function kafkaLibs(): string | undefined {
  try {
    const root = new URL("../../.kafka/jars/", import.meta.url);
    const versions = [...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => e.name)
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).reverse();
    for (const v of versions) {
      const libs = new URL(`${v}/libs/`, root);
      const hasClients = [...Deno.readDirSync(libs)].some((e) =>
        e.name.startsWith("kafka-clients-") && e.name.endsWith(".jar")
      );
      if (hasClients) return libs.pathname;
    }
  } catch {
    // No cache: the test is skipped.
  }
  return undefined;
}

function haveJava(): boolean {
  try {
    return new Deno.Command("java", { args: ["-version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const LIBS = kafkaLibs();

/** A Kafka-side SASL server in a Java child process, driven line by line. */
class KafkaSide {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(dir: string) {
    this.#child = new Deno.Command("java", {
      args: ["-cp", `${LIBS}*`, `${dir}/SaslCheck.java`],
      stdin: "piped",
      stdout: "piped",
      stderr: "null", // slf4j's "no binding" notice
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    let buf = "";
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TransformStream<string, string>({
        transform(chunk, controller) {
          const parts = (buf + chunk).split("\n");
          buf = parts.pop() ?? "";
          for (const p of parts) controller.enqueue(p);
        },
      }),
    )[Symbol.asyncIterator]();
  }

  async send(line: string): Promise<string[]> {
    await this.#writer.write(enc.encode(`${line}\n`));
    const r = await this.#lines.next();
    if (r.done) throw new Deno.errors.UnexpectedEof("the Java side exited");
    return r.value.split(" ");
  }

  /** Feeds a client message; returns the server reply or throws with Kafka's error text. */
  async step(
    message: Uint8Array,
  ): Promise<{ reply: Uint8Array | null; complete: boolean; authzid: string | null }> {
    const [status, a, b, c] = await this.send(`STEP ${b64bytes(message)}`);
    if (status !== "OK") throw new Error(`Kafka: ${dec.decode(unb64(a!))}`);
    return {
      reply: a === "-" ? null : unb64(a!),
      complete: b === "1",
      authzid: c === "-" ? null : dec.decode(unb64(c!)),
    };
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#lines.return?.();
    await this.#child.status;
  }
}

/** Runs our SCRAM client against Kafka's ScramSaslServer. */
async function scramAgainstKafka(
  kafka: KafkaSide,
  mechanism: ScramMechanismName,
  stored: { user: string; password: string; iterations: number; token?: boolean },
  client: { user: string; password: string },
): Promise<{ authzid: string | null; done: boolean }> {
  const ready = await kafka.send(
    `${stored.token ? "TOKEN" : "SCRAM"} ${mechanism} ${b64(stored.user)} ${
      b64(stored.password)
    } ${stored.iterations}`,
  );
  assert.deepEqual(ready, ["READY"]);
  const session = await scramMechanism(mechanism, {
    username: client.user,
    password: client.password,
    delegationToken: stored.token === true,
  }).start(ctx);
  const first = await kafka.step((await session.step(undefined))!);
  assert.equal(first.complete, false);
  const final = await kafka.step((await session.step(first.reply!))!);
  assert.equal(final.complete, true);
  assert.equal(await session.step(final.reply!), null);
  return { authzid: final.authzid, done: session.done };
}

const SASL_JAVA_READY = LIBS !== undefined && haveJava();
if (!SASL_JAVA_READY) {
  // The unit suite needs no jars; the full suite (deno task test) has fetched them by now.
  console.warn("sasl_kafka_test: ignored, no java or no Kafka jars in .kafka/jars/");
}

Deno.test({
  name: "SASL against Kafka's server-side implementation (kafka-clients)",
  ignore: !SASL_JAVA_READY,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "sasl_kafka_" });
    await Deno.writeTextFile(`${dir}/SaslCheck.java`, JAVA_SOURCE);
    const kafka = new KafkaSide(dir);
    try {
      for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
        await t.step(
          `${mechanism}: ScramSaslServer accepts our proof, we verify its signature`,
          async () => {
            for (const iterations of [4096, 8192, 16384]) {
              const password = `pw-${crypto.randomUUID()}`;
              const r = await scramAgainstKafka(kafka, mechanism, {
                user: "alice",
                password,
                iterations,
              }, { user: "alice", password });
              assert.deepEqual(r, { authzid: "alice", done: true });
            }
          },
        );
        await t.step(`${mechanism}: escaped user names and a non-ASCII password`, async () => {
          const r = await scramAgainstKafka(kafka, mechanism, {
            user: "us=er,name=2C",
            password: "pässwörd €",
            iterations: 4096,
          }, { user: "us=er,name=2C", password: "pässwörd €" });
          assert.deepEqual(r, { authzid: "us=er,name=2C", done: true });
        });
        await t.step(`${mechanism}: Kafka rejects a wrong password`, async () => {
          await assert.rejects(
            scramAgainstKafka(kafka, mechanism, {
              user: "alice",
              password: "right",
              iterations: 4096,
            }, { user: "alice", password: "wrong" }),
            /Kafka: SaslException: Invalid client credentials/,
          );
        });
        await t.step(`${mechanism}: delegation token (tokenauth=true)`, async () => {
          const hmac = b64bytes(crypto.getRandomValues(new Uint8Array(32)));
          const r = await scramAgainstKafka(kafka, mechanism, {
            user: "tokenId123",
            password: hmac,
            iterations: 4096,
            token: true,
          }, { user: "tokenId123", password: hmac });
          assert.deepEqual(r, { authzid: "token-owner", done: true });
        });
      }

      await t.step("Kafka's replies are bound to our nonce and password", async () => {
        assert.deepEqual(
          await kafka.send(`SCRAM SCRAM-SHA-256 ${b64("bob")} ${b64("real")} 4096`),
          ["READY"],
        );
        const honest = await scramMechanism("SCRAM-SHA-256", { username: "bob", password: "real" })
          .start(ctx);
        const clientFirst = dec.decode((await honest.step(undefined))!);
        const nonce = clientFirst.slice(clientFirst.indexOf(",r=") + 3);
        const first = await kafka.step(enc.encode(clientFirst));
        const final = await kafka.step((await honest.step(first.reply!))!);

        // A replayed server-first does not extend a fresh client's nonce.
        const fresh = await scramMechanism("SCRAM-SHA-256", { username: "bob", password: "real" })
          .start(ctx);
        await fresh.step(undefined);
        await assert.rejects(Promise.resolve(fresh.step(first.reply!)), /nonce/);

        // Same nonce, wrong password: Kafka's genuine signature does not verify, so a client
        // can tell a server that does not hold its credential.
        const mistaken = await startScramWithNonceForTesting(
          "SCRAM-SHA-256",
          { username: "bob", password: "not-real" },
          nonce,
        );
        await mistaken.step(undefined);
        await mistaken.step(first.reply!);
        await assert.rejects(
          Promise.resolve(mistaken.step(final.reply!)),
          (e: unknown) =>
            e instanceof AuthenticationError && /signature is invalid/.test(e.message),
        );
        // ... while the honest client accepts it.
        assert.equal(await honest.step(final.reply!), null);
        assert.equal(honest.done, true);
      });

      await t.step("PLAIN: PlainSaslServer", async () => {
        assert.deepEqual(await kafka.send(`PLAIN ${b64("alice")} ${b64("s3cr€t")}`), ["READY"]);
        const ok = await plainMechanism({ username: "alice", password: "s3cr€t" }).start(ctx);
        const r = await kafka.step((await ok.step(undefined))!);
        assert.equal(r.complete, true);
        assert.equal(r.authzid, "alice");
        assert.equal(ok.step(r.reply ?? new Uint8Array(0)), null);
        assert.equal(ok.done, true);

        assert.deepEqual(await kafka.send(`PLAIN ${b64("alice")} ${b64("s3cr€t")}`), ["READY"]);
        const bad = await plainMechanism({ username: "alice", password: "nope" }).start(ctx);
        await assert.rejects(kafka.step((await bad.step(undefined))!), /Kafka: /);
      });

      await t.step("OAUTHBEARER: OAuthBearerClientInitialResponse parses our message", async () => {
        const s = await oauthBearerMechanism({
          token: () => ({
            value: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.sig-_",
            extensions: { logicalCluster: "lkc-1", traceId: "a b\tc" },
          }),
          authzid: "alice",
        }).start(ctx);
        const [status, token, authzid, ext] = await kafka.send(
          `OAUTH ${b64bytes((await s.step(undefined))!)}`,
        );
        assert.equal(status, "OK", dec.decode(unb64(token!)));
        assert.equal(dec.decode(unb64(token!)), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.sig-_");
        assert.equal(dec.decode(unb64(authzid!)), "alice");
        assert.equal(dec.decode(unb64(ext!)), "logicalCluster=lkc-1\ntraceId=a b\tc\n");
      });
    } finally {
      await kafka.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
