/**
 * A group consumer for the commit matrix's "process killed" cells (run as a subprocess,
 * then SIGKILLed by the test). Arguments: a JSON object
 * `{ brokers, topic, groupId, protocol, hold, commitEvery }`:
 * - it prints `got <offset>` for every record, as the loop receives it;
 * - with `commitEvery` (manual commits), it commits every n-th record with `commit(record)`
 *   and prints `committed <offset + 1>` once the broker acknowledged it; otherwise
 *   auto-commit runs every 50 ms;
 * - at offset `hold` it prints `holding` and waits forever inside the loop body.
 */

import { Consumer } from "../../consumer/mod.ts";

const args = JSON.parse(Deno.args[0]!) as {
  brokers: string[];
  topic: string;
  groupId: string;
  protocol: "classic" | "consumer";
  hold: number;
  commitEvery?: number;
};
const enc = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(enc.encode(line + "\n"));

const consumer = new Consumer({
  brokers: args.brokers,
  groupId: args.groupId,
  topics: [args.topic],
  groupProtocol: args.protocol,
  autoOffsetReset: "earliest",
  autoCommit: args.commitEvery === undefined,
  autoCommitIntervalMs: 50,
  heartbeatIntervalMs: 500,
  sessionTimeoutMs: 10_000,
});
for await (const r of consumer) {
  say(`got ${r.offset}`);
  if (args.commitEvery !== undefined && Number(r.offset) % args.commitEvery === 0) {
    await consumer.commit(r);
    say(`committed ${r.offset + 1n}`);
  }
  if (Number(r.offset) === args.hold) {
    say("holding");
    await new Promise(() => {});
  }
}
