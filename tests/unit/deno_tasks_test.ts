import assert from "node:assert/strict";

/**
 * `deno task` installs every npm package of the project's lockfile before it runs a task (by
 * design: denoland/deno#29816, #28999). The project's only npm package is a dev tool of one
 * script (npm:wabt, for scripts/gen_crc32c_wasm.ts), whose lock lives beside it: a task (`deno
 * task test`, `build:npm`, `kafka:up`, ...) must not need the npm registry.
 */
Deno.test("deno task: runs with an empty cache and no npm registry (no project lockfile)", async () => {
  const root = new URL("../..", import.meta.url);
  const denoDir = await Deno.makeTempDir({ prefix: "denokafka_tasks_" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--eval", "echo task-ran"],
      cwd: root,
      env: {
        DENO_DIR: denoDir,
        // Nothing listens there: any download fails at once.
        NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
    assert.match(text, /task-ran/);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});
