/**
 * `acls`: list, add and remove ACLs (kafka-acls.sh).
 *
 * @module
 */

import type {
  AclBinding,
  AclFilter,
  AclOperation,
  AclPatternType,
  AclResourceType,
} from "../mod.ts";
import { type Args, UsageError } from "./args.ts";
import { type Command, subcommand, withAdmin } from "./command.ts";
import { printJson, printTable } from "./output.ts";

/** kafka-acls.sh's operation names (Read, Write, IdempotentWrite...) to ours. */
function operationOf(v: string): AclOperation {
  return v.replace(/([a-z])([A-Z])/g, "$1-$2").replaceAll("_", "-").toLowerCase() as AclOperation;
}

function resourcesOf(args: Args): { type: AclResourceType; name: string }[] {
  const out: { type: AclResourceType; name: string }[] = [];
  for (const t of args.list("topic")) out.push({ type: "topic", name: t });
  for (const g of args.list("group")) out.push({ type: "group", name: g });
  for (const t of args.list("transactional-id")) out.push({ type: "transactional-id", name: t });
  if (args.bool("cluster")) out.push({ type: "cluster", name: "kafka-cluster" });
  return out;
}

function bindingsOf(args: Args): AclBinding[] {
  const resources = resourcesOf(args);
  if (resources.length === 0) {
    throw new UsageError("name a resource: --topic, --group, --transactional-id or --cluster");
  }
  const ops = args.list("operation").map(operationOf);
  if (ops.length === 0) throw new UsageError("--operation is required");
  const allow = args.list("allow-principal", false);
  const deny = args.list("deny-principal", false);
  if (allow.length + deny.length === 0) {
    throw new UsageError("--allow-principal or --deny-principal is required");
  }
  const patternType = (args.str("resource-pattern-type") ?? "literal") as AclPatternType;
  const hosts = [...args.list("allow-host"), ...args.list("deny-host")];
  const out: AclBinding[] = [];
  for (const r of resources) {
    for (const operation of ops) {
      for (const [principals, permission] of [[allow, "allow"], [deny, "deny"]] as const) {
        for (const principal of principals) {
          for (const host of hosts.length > 0 ? hosts : ["*"]) {
            out.push({
              resourceType: r.type,
              resourceName: r.name,
              patternType,
              principal,
              host,
              operation,
              permission,
            });
          }
        }
      }
    }
  }
  return out;
}

function filterOf(args: Args): AclFilter {
  const resources = resourcesOf(args);
  if (resources.length > 1) throw new UsageError("list/remove take at most one resource");
  const r = resources[0];
  const principal = args.str("principal");
  const op = args.list("operation")[0];
  return {
    ...(r !== undefined && { resourceType: r.type, resourceName: r.name }),
    patternType: (args.str("resource-pattern-type") ?? (r ? "literal" : "any")) as AclPatternType,
    ...(principal !== undefined && { principal }),
    ...(op !== undefined && { operation: operationOf(op) }),
  };
}

function print(args: Args, bindings: readonly AclBinding[]): void {
  if (args.bool("json")) printJson(bindings);
  else {
    printTable(
      ["RESOURCE-TYPE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"],
      bindings.map((
        b,
      ) => [
        b.resourceType,
        b.resourceName,
        b.patternType,
        b.principal,
        b.host,
        b.operation,
        b.permission,
      ]),
    );
  }
}

async function run(args: Args): Promise<number> {
  const sub = subcommand(args, ["list", "add", "remove"]);
  return await withAdmin(args, async (admin) => {
    if (sub === "list") print(args, await admin.describeAcls(filterOf(args)));
    else if (sub === "add") {
      const bindings = bindingsOf(args);
      await admin.createAcls(bindings);
      print(args, bindings);
    } else {
      const removed = args.has("allow-principal") || args.has("deny-principal")
        ? (await admin.deleteAcls(bindingsOf(args))).flat()
        : (await admin.deleteAcls([filterOf(args)])).flat();
      print(args, removed);
    }
    return 0;
  });
}

/** The `acls` command. */
export const aclsCommand: Command = {
  name: "acls",
  summary: "list, add, remove ACLs (kafka-acls.sh)",
  usage: [
    "kafka acls list [--topic T|--group G|--cluster] [--principal User:x]",
    "kafka acls add|remove --allow-principal User:alice --operation Read,Describe --topic T",
  ].join("\n"),
  options: {
    topic: { type: "list", help: "topic resource" },
    group: { type: "list", help: "group resource" },
    "transactional-id": { type: "list", help: "transactional id resource" },
    cluster: { type: "boolean", help: "the cluster resource" },
    "resource-pattern-type": { type: "string", help: "literal (default), prefixed, match, any" },
    operation: { type: "list", help: "Read, Write, Create, Delete, Alter, Describe, All..." },
    "allow-principal": { type: "list", help: "User:name to allow" },
    "deny-principal": { type: "list", help: "User:name to deny" },
    "allow-host": { type: "list", help: "host (default *)" },
    "deny-host": { type: "list", help: "host (default *)" },
    principal: { type: "string", help: "list/remove: only this principal" },
  },
  run,
};
