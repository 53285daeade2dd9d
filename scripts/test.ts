/**
 * `deno task test`: runs the whole test suite against a real Kafka.
 *
 * 1. Ensures a broker: nothing when `KAFKA_BROKERS` is set, else the launcher's single node
 *    (reused when already running, else started from Maven Central jars or Docker).
 * 2. Runs `deno test -A <args>` (default `tests/`). Tests needing three brokers start the
 *    launcher's trio on first use (tests/helpers/broker.ts); `KAFKA_TEST_TRIO=0` skips them.
 * 3. Stops every cluster this run started (not those already running), also on failure or
 *    Ctrl-C, and prints a one-line summary: `summary: N passed, N failed, N skipped`.
 *
 * The exit code is the test run's (130 after Ctrl-C).
 *
 * @module
 */

import { down, up } from "./kafka/cluster.ts";
import type { NodeCount } from "./kafka/config.ts";
import { externalFromEnv } from "./kafka/env.ts";
import { LauncherError } from "./kafka/errors.ts";
import { hostPort, isOurProcess, probeApiVersions } from "./kafka/process.ts";
import { readState } from "./kafka/state.ts";

/**
 * Whether a cluster was already up before this run (then this run leaves it up). Any live node
 * counts: a test may be restarting node 1 of someone's trio at this very moment, and a busy
 * machine can make one probe time out; stopping that cluster at the end would pull it from
 * under its owner.
 */
async function running(nodes: NodeCount): Promise<boolean> {
  const state = await readState(nodes === 1 ? "single" : "trio");
  if (!state?.ready) return false;
  if (state.brokers.some((b) => isOurProcess(b.pid, b.configFile))) return true;
  for (const node of state.brokers) {
    if (await probeApiVersions(hostPort(node.listeners.PLAINTEXT))) return true;
  }
  return false;
}

const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** Deno's closing line, e.g. `ok | 12 passed (3 steps) | 0 failed | 1 ignored (20s)`. */
function parseSummary(text: string): { passed: number; failed: number; ignored: number } | null {
  const lines = text.replace(ANSI, "").split("\n").reverse();
  for (const line of lines) {
    const m = /^(?:ok|FAILED) \| (\d+) passed.*?\| (\d+) failed(?: \| (\d+) ignored)?/.exec(line);
    if (m) return { passed: Number(m[1]), failed: Number(m[2]), ignored: Number(m[3] ?? 0) };
  }
  return null;
}

async function main(): Promise<number> {
  const args = Deno.args.length > 0 ? [...Deno.args] : ["tests/"];
  const paths = args.filter((a) => !a.startsWith("-"));
  const unitOnly = paths.length > 0 &&
    paths.every((p) => p.replace(/^\.\//, "").startsWith("tests/unit"));
  const external = externalFromEnv() !== undefined;
  const before = { single: await running(1), trio: await running(3) };
  let interrupted = false;
  const onSignal = () => {
    // The test process gets the same Ctrl-C (same process group) and exits; teardown follows.
    interrupted = true;
    console.error("\ntest: interrupted; cleaning up");
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 1;
  try {
    if (external) {
      console.error(`test: using the cluster in KAFKA_BROKERS (${Deno.env.get("KAFKA_BROKERS")})`);
    } else if (!unitOnly) {
      const t0 = Date.now();
      await up({ nodes: 1 });
      console.error(`test: broker ready (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    }
    if (interrupted) return 130;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", ...args],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    // Echo the test output as it comes, keeping its tail to read the closing summary.
    let tail = "";
    const td = new TextDecoder();
    for await (const chunk of child.stdout) {
      await Deno.stdout.write(chunk);
      tail = (tail + td.decode(chunk, { stream: true })).slice(-4000);
    }
    code = (await child.status).code;
    const s = parseSummary(tail);
    if (s) {
      // Skipped: tests registered with `ignore` (an optional peer such as kcat missing,
      // KAFKA_TEST_TRIO=0, ...), each announced with its reason when registered.
      console.log(`\nsummary: ${s.passed} passed, ${s.failed} failed, ${s.ignored} skipped`);
    } else {
      console.log(`\nsummary: deno test printed no summary (exit ${code})`);
    }
    if (interrupted) code = 130;
  } catch (e) {
    if (!(e instanceof LauncherError)) throw e;
    console.error(`test: ${e.message}`);
    code = 1;
  } finally {
    // Stop only what this run started; a cluster that was up before stays up.
    if (!external) {
      if (!before.trio && await readState("trio")) await down({ nodes: 3 });
      if (!before.single && await readState("single")) await down({ nodes: 1 });
    }
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return code;
}

Deno.exit(await main());
