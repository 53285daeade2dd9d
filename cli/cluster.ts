/**
 * `cluster`: describe the cluster (id, controller, brokers) and its log dirs
 * (kafka-cluster.sh, kafka-log-dirs.sh).
 *
 * @module
 */

import type { Args } from "./args.ts";
import { parsePartitions } from "./args.ts";
import { type Command, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, ["describe", "log-dirs"], "describe");
  return await withAdmin(args, async (admin) => {
    if (sub === "describe") {
      const c = await admin.describeCluster();
      if (args.bool("json")) printJson(c);
      else {
        console.log(`Cluster ID: ${c.clusterId}\nController: ${c.controllerId}\n`);
        printTable(
          ["ID", "HOST", "PORT", "RACK", "FENCED"],
          c.brokers.map((b) => [b.nodeId, b.host, b.port, b.rack ?? "-", b.fenced]),
        );
      }
      return 0;
    }
    const brokers = args.has("broker-list")
      ? parsePartitions(args.list("broker-list").join(","))
      : undefined;
    const topics = new Set(args.list("topic-list"));
    const dirs = await admin.describeLogDirs(brokers !== undefined ? { brokers } : {});
    const shown = dirs.map((d) => ({
      ...d,
      replicas: topics.size === 0 ? d.replicas : d.replicas.filter((r) => topics.has(r.topic)),
    }));
    if (args.bool("json")) printJson(shown);
    else {
      for (const d of shown) {
        console.log(
          `Broker ${d.broker}  ${d.path}  total ${d.totalBytes < 0n ? "?" : d.totalBytes} B, ` +
            `usable ${d.usableBytes < 0n ? "?" : d.usableBytes} B${
              d.errorCode ? `, error ${d.errorCode}` : ""
            }`,
        );
        printTable(
          ["TOPIC", "PARTITION", "SIZE", "OFFSET-LAG", "FUTURE"],
          d.replicas.map((r) => [r.topic, r.partition, r.size, r.offsetLag, r.isFuture]),
        );
        console.log();
      }
    }
    return 0;
  });
}

/** The `cluster` command. */
export const clusterCommand: Command = {
  name: "cluster",
  summary: "cluster id, controller, brokers; log dirs (kafka-log-dirs.sh)",
  usage: "kafka cluster describe | log-dirs [--broker-list 1,2] [--topic-list t1,t2]",
  options: {
    "broker-list": { type: "list", help: "log-dirs: only these brokers" },
    "topic-list": { type: "list", help: "log-dirs: only replicas of these topics" },
  },
  run,
};
