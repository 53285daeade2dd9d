/**
 * The command-line tool's parsers, without a broker: arguments, Java properties files, SASL
 * and TLS settings, times and durations, kcat formats.
 */

import assert from "node:assert/strict";
import { Args, parseArgs, parsePartitions, UsageError } from "../../cli/args.ts";
import { parseDateTime, parseDuration } from "../../cli/command.ts";
import { parseProperties, saslFromProps, tlsFromProps } from "../../cli/connect.ts";
import { formatPrinter } from "../../cli/format.ts";
import { Out } from "../../cli/output.ts";
import type { ConsumerRecord } from "../../mod.ts";

Deno.test("cli args: long, short, =value, lists, negative numbers, unknown options", () => {
  const specs = {
    topic: { type: "list", short: "t" },
    "shift-by": { type: "string" },
    execute: { type: "boolean" },
  } as const;
  const a = new Args(
    parseArgs(["reset", "-t", "a", "--topic=b,c", "--shift-by", "-5", "--execute"], specs),
  );
  assert.deepEqual(a.positional, ["reset"]);
  assert.deepEqual(a.list("topic"), ["a", "b", "c"]);
  assert.equal(a.big("shift-by"), -5n);
  assert.equal(a.bool("execute"), true);
  assert.throws(() => parseArgs(["--nope"], specs), UsageError);
  assert.throws(() => parseArgs(["--shift-by"], specs), /needs a value/);
  assert.deepEqual(parsePartitions("0,2-4"), [0, 2, 3, 4]);
});

Deno.test("cli properties: comments, separators, continuations, escapes", () => {
  const p = parseProperties([
    "# comment",
    "! also a comment",
    "security.protocol = SASL_SSL",
    "sasl.mechanism:SCRAM-SHA-512",
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\",
    '   username="alice" \\',
    // A quote inside a JAAS value: \\\" in the file (the file unescapes \\ to \).
    '   password="p\\\\"w;d";',
    "ssl.truststore.type PEM",
    "path=C:\\\\certs\\\\ca.pem",
  ].join("\n"));
  assert.equal(p.get("security.protocol"), "SASL_SSL");
  assert.equal(p.get("sasl.mechanism"), "SCRAM-SHA-512");
  assert.equal(p.get("ssl.truststore.type"), "PEM");
  assert.equal(p.get("path"), "C:\\certs\\ca.pem");
  const sasl = saslFromProps(p);
  assert.deepEqual(sasl, { mechanism: "scram-sha-512", username: "alice", password: 'p"w;d' });
  assert.throws(() => saslFromProps(new Map([["sasl.mechanism", "GSSAPI"]])), UsageError);
});

Deno.test("cli TLS properties: inline PEM trust and key stores; JKS refused", async () => {
  const cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
  const key = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----";
  const tls = await tlsFromProps(
    new Map([
      ["ssl.truststore.type", "PEM"],
      ["ssl.truststore.certificates", `${cert}\n${cert}`],
      ["ssl.keystore.type", "PEM"],
      ["ssl.keystore.key", key],
      ["ssl.keystore.certificate.chain", cert],
    ]),
  );
  assert.equal(tls.caCerts?.length, 2);
  assert.equal(tls.key, key);
  const file = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(file, `${key}\n${cert}\n`);
  const fromFile = await tlsFromProps(
    new Map([["ssl.keystore.type", "PEM"], ["ssl.keystore.location", file]]),
  );
  assert.equal(fromFile.key, key);
  assert.equal(fromFile.cert, cert);
  await Deno.remove(file);
  await assert.rejects(
    () =>
      tlsFromProps(new Map([["ssl.truststore.type", "JKS"], ["ssl.truststore.location", "x.jks"]])),
    /not supported; use PEM/,
  );
});

Deno.test("cli times: ISO date-times (UTC without a zone, as Kafka's tools) and durations", () => {
  assert.equal(parseDateTime("2026-12-06T10:00:00.000"), Date.UTC(2026, 11, 6, 10));
  assert.equal(parseDateTime("2026-12-06T10:00:00.000Z"), Date.UTC(2026, 11, 6, 10));
  assert.equal(parseDateTime("2026-12-06T12:00:00.000+02:00"), Date.UTC(2026, 11, 6, 10));
  assert.equal(parseDateTime("2026-12-06T10:00:00.5-0100"), Date.UTC(2026, 11, 6, 11, 0, 0, 500));
  assert.equal(parseDateTime("yesterday"), undefined);
  assert.equal(parseDuration("PT1H"), 3_600_000);
  assert.equal(parseDuration("P1DT2H30M"), 86_400_000 + 9_000_000);
  assert.equal(parseDuration("PT0.5S"), 500);
  assert.throws(() => parseDuration("1h"), UsageError);
});

Deno.test("cli kcat format: every token, escapes, encodings", async () => {
  const r: ConsumerRecord = {
    topic: "t",
    partition: 3,
    offset: 42n,
    key: new TextEncoder().encode("k"),
    value: new Uint8Array([0xff, 0x00]),
    headers: [{ key: "a", value: new TextEncoder().encode("1") }, { key: "b", value: null }],
    timestamp: 1700000000000,
    timestampType: "create",
    leaderEpoch: 0,
  };
  const chunks: Uint8Array[] = [];
  const out = new Out(new WritableStream({ write: (c) => void chunks.push(c.slice()) }));
  formatPrinter("%t|%p|%o|%k|%s|%K|%S|%T|%h|%%\\t\\n", {
    keyEncoding: "utf8",
    valueEncoding: "hex",
    nullText: "",
  })(r, out);
  await out.close();
  assert.equal(
    new TextDecoder().decode(chunks[0]),
    "t|3|42|k|ff00|1|2|1700000000000|a=31,b=|%\t\n",
  );
  assert.throws(
    () => formatPrinter("%q", { keyEncoding: "utf8", valueEncoding: "utf8", nullText: "" }),
    UsageError,
  );
});
