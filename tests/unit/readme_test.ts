// The README's examples are code users copy: every ```ts block must type-check against the
// current API (blocks marked `ignore` are illustrations of the test helpers).
import assert from "node:assert/strict";

Deno.test("README examples type-check against the current API", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--doc-only", "README.md"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  const readme = await Deno.readTextFile(`${root}README.md`);
  assert.ok((readme.match(/^```ts$/gm) ?? []).length >= 10, "the README shows its examples");
});
