/**
 * `node:zlib` is loaded at the first gzip or zstd call, not at import (bench/PROFILE.md,
 * Session 16: import footprint): no entry point, nor the compression worker, imports a `node:`
 * module statically, and where the runtime cannot give `node:zlib` the library still loads,
 * lz4 and snappy work, and gzip and zstd fail with a `KafkaError` naming the codec.
 */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);

Deno.test("no entry point imports a node: module statically", async () => {
  const entries = [
    "mod.ts",
    "producer/mod.ts",
    "consumer/mod.ts",
    "protocol/mod.ts",
    "admin/mod.ts",
    "producer/compression_worker.ts",
  ];
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(entry, root).href],
      stdout: "piped",
    }).output();
    assert.ok(out.success, `deno info ${entry}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { specifier: string; code?: unknown; isDynamic?: boolean }[];
      }[];
    };
    const static_ = info.modules.flatMap((m) =>
      (m.dependencies ?? [])
        .filter((d) => d.specifier.startsWith("node:") && d.code !== undefined && !d.isDynamic)
        .map((d) => `${m.specifier.replace(root.href, "")} -> ${d.specifier}`)
    );
    assert.deepEqual(static_, [], `${entry} loads node: modules at import`);
  }
});

Deno.test("without node:zlib: the library loads, gzip and zstd throw a KafkaError", async () => {
  // A child process in which `process` is gone, as in a runtime without Node built-ins.
  const script = `
    Object.defineProperty(globalThis, "process", { value: undefined, configurable: true });
    const { compress, decompress, Compression } = await import(${
    JSON.stringify(new URL("protocol/compression/mod.ts", root).href)
  });
    const { KafkaError } = await import(${JSON.stringify(new URL("mod.ts", root).href)});
    const data = new TextEncoder().encode("abcabcabcabcabcabcabc");
    const out = [];
    for (const c of [Compression.Lz4, Compression.Snappy]) {
      out.push(decompress(c, compress(c, data), 100).length);
    }
    for (const c of [Compression.Gzip, Compression.Zstd]) {
      try { compress(c, data); out.push("compressed"); }
      catch (e) { out.push(e instanceof KafkaError ? e.message : "other: " + e); }
      try { decompress(c, new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]), 100); }
      catch (e) { out.push(e instanceof KafkaError ? e.name : "other: " + e); }
    }
    console.log(JSON.stringify(out));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
    21,
    21,
    "gzip needs node:zlib, which this runtime does not provide",
    "KafkaError",
    "zstd needs node:zlib, which this runtime does not provide",
    "KafkaError",
  ]);
});
