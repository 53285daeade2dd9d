/**
 * `transactions`: list and describe transactions (kafka-transactions.sh).
 *
 * @module
 */

import type { Args } from "./args.ts";
import { type Command, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, ["list", "describe"]);
  return await withAdmin(args, async (admin) => {
    if (sub === "list") {
      const states = args.list("state");
      const list = await admin.listTransactions(states.length > 0 ? { states } : {});
      list.sort((a, b) => a.transactionalId < b.transactionalId ? -1 : 1);
      if (args.bool("json")) printJson(list);
      else {
        printTable(
          ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
          list.map((t) => [t.transactionalId, t.coordinator, t.producerId, t.state]),
        );
      }
      return 0;
    }
    const ids = args.list("transactional-id");
    const list = await admin.describeTransactions(
      ids.length > 0 ? ids : [args.need("transactional-id")],
    );
    if (args.bool("json")) printJson(list);
    else {
      printTable(
        [
          "CoordinatorId",
          "TransactionalId",
          "ProducerId",
          "ProducerEpoch",
          "TransactionState",
          "TransactionTimeoutMs",
          "CurrentTransactionStartTimeMs",
          "TopicPartitions",
        ],
        list.map((t) => [
          t.coordinator,
          t.transactionalId,
          t.producerId,
          t.producerEpoch,
          t.state,
          t.timeoutMs,
          t.startTimeMs < 0 ? "None" : t.startTimeMs,
          t.partitions.map((p) => `${p.topic}-${p.partition}`).join(",") || "None",
        ]),
      );
    }
    return 0;
  });
}

/** The `transactions` command. */
export const transactionsCommand: Command = {
  name: "transactions",
  summary: "list and describe transactions (kafka-transactions.sh)",
  usage: "kafka transactions list [--state Ongoing] | describe --transactional-id ID",
  options: {
    "transactional-id": { type: "list", help: "describe: the transactional id" },
    state: { type: "list", help: "list: only these states" },
  },
  run,
};
