/**
 * ACLs: describe, create and delete (KIP-140; prefixed patterns, KIP-290).
 *
 * @module
 */

import { Api } from "../protocol/apis.ts";
import { ProtocolError } from "../protocol/errors.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  checkArray,
  checkTopLevel,
  itemError,
  type Outcome,
} from "./context.ts";
import {
  ACL_OPERATION,
  ACL_PATTERN,
  ACL_PERMISSION,
  ACL_RESOURCE,
  type AclOperation,
  type AclPatternType,
  type AclPermission,
  type AclResourceType,
} from "./enums.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/**
 * An ACL: `principal` from `host` is allowed/denied `operation` on a resource.
 *
 * @example
 * ```ts
 * import type { AclBinding } from "@denokafka/kafka/admin";
 * const deny: AclBinding = { resourceType: "topic", resourceName: "payments",
 *   principal: "User:alice", operation: "describe", permission: "deny" };
 * console.log(deny.permission);
 * ```
 */
export interface AclBinding {
  /** The kind of resource. */
  readonly resourceType: AclResourceType;
  /** Its name (`kafka-cluster` for the cluster; `*` for all). */
  readonly resourceName: string;
  /** How the name matches. Default `literal`. */
  readonly patternType?: AclPatternType | undefined;
  /** Who, e.g. `User:alice` (`User:*` for everyone). */
  readonly principal: string;
  /** From where. Default `*`. */
  readonly host?: string | undefined;
  /** What. */
  readonly operation: AclOperation;
  /** Allow or deny. */
  readonly permission: AclPermission;
}

/**
 * Which ACLs to describe or delete; omitted fields match anything.
 *
 * @example
 * ```ts
 * import type { AclFilter } from "@denokafka/kafka/admin";
 * const aliceOnTopics: AclFilter = { resourceType: "topic", principal: "User:alice" };
 * console.log(aliceOnTopics.principal);
 * ```
 */
export interface AclFilter {
  /** Default `any`. */
  readonly resourceType?: AclResourceType | undefined;
  /** Default any name. */
  readonly resourceName?: string | null | undefined;
  /** Default `any` (`match` finds every ACL that applies to `resourceName`). */
  readonly patternType?: AclPatternType | undefined;
  /** Default any principal. */
  readonly principal?: string | null | undefined;
  /** Default any host. */
  readonly host?: string | null | undefined;
  /** Default `any`. */
  readonly operation?: AclOperation | undefined;
  /** Default `any`. */
  readonly permission?: AclPermission | undefined;
}

function bindingName(binding: AclBinding): string {
  return `${binding.permission} ${binding.principal}@${binding.host ?? "*"} ${binding.operation} ` +
    `${binding.resourceType}:${binding.patternType ?? "literal"}:${binding.resourceName}`;
}

function filterName(filter: AclFilter, i: number): string {
  return `filter ${i} (${filter.resourceType ?? "any"}:${filter.resourceName ?? "*"} ` +
    `${filter.principal ?? "*"} ${filter.operation ?? "any"} ${filter.permission ?? "any"})`;
}

function checkBinding(binding: AclBinding): void {
  if (binding === null || typeof binding !== "object") {
    throw new TypeError("an ACL binding is an object");
  }
  for (const k of ["resourceName", "principal"] as const) {
    if (typeof binding[k] !== "string" || binding[k] === "") {
      throw new TypeError(`an ACL needs a ${k}`);
    }
  }
  ACL_RESOURCE.code(binding.resourceType, "ACL resource type");
  ACL_PATTERN.code(binding.patternType ?? "literal", "ACL pattern type");
  ACL_OPERATION.code(binding.operation, "ACL operation");
  ACL_PERMISSION.code(binding.permission, "ACL permission");
  // Filter-only values make no ACL (Java's AclBinding refuses them too); a KRaft broker fails
  // the whole request with UNKNOWN_SERVER_ERROR on one, so they never leave the client.
  const filterOnly: [string, string][] = [
    ["resource type", binding.resourceType],
    ["pattern type", binding.patternType ?? "literal"],
    ["operation", binding.operation],
    ["permission", binding.permission],
  ];
  for (const [what, v] of filterOnly) {
    if (v === "any" || v === "unknown" || (what === "pattern type" && v === "match")) {
      throw new TypeError(`an ACL binding cannot have ${what} "${v}" (filters only)`);
    }
  }
}

function filterBody(f: AclFilter) {
  if (f === null || typeof f !== "object") throw new TypeError("an ACL filter is an object");
  return {
    resourceTypeFilter: ACL_RESOURCE.code(f.resourceType ?? "any", "ACL resource type"),
    resourceNameFilter: f.resourceName ?? null,
    patternTypeFilter: ACL_PATTERN.code(f.patternType ?? "any", "ACL pattern type"),
    principalFilter: f.principal ?? null,
    hostFilter: f.host ?? null,
    operation: ACL_OPERATION.code(f.operation ?? "any", "ACL operation"),
    permissionType: ACL_PERMISSION.code(f.permission ?? "any", "ACL permission"),
  };
}

function toBinding(
  r: { resourceType: number; resourceName: string; patternType: number },
  a: { principal: string; host: string; operation: number; permissionType: number },
): AclBinding {
  return {
    resourceType: ACL_RESOURCE.name(r.resourceType, "unknown"),
    resourceName: r.resourceName,
    patternType: ACL_PATTERN.name(r.patternType, "unknown"),
    principal: a.principal,
    host: a.host,
    operation: ACL_OPERATION.name(a.operation, "unknown"),
    permission: ACL_PERMISSION.name(a.permissionType, "unknown"),
  };
}

/** DescribeAcls: the ACLs matching a filter. */
export function describeAcls(
  ctx: AdminContext,
  filter: AclFilter = {},
  options: AdminCallOptions = {},
): Promise<AclBinding[]> {
  const body = filterBody(filter);
  return ctx.call(options, async (signal) => {
    const res = await ctx.cluster.send({ any: true }, Api.DescribeAcls, body, { signal });
    checkTopLevel(res.errorCode, "DescribeAcls", res.errorMessage);
    return res.resources.flatMap((r) => r.acls.map((a) => toBinding(r, a)));
  });
}

/** CreateAcls; per-binding errors as AdminBatchError. */
export async function createAcls(
  ctx: AdminContext,
  bindings: readonly AclBinding[],
  options: AdminCallOptions = {},
): Promise<void> {
  checkArray(bindings, "bindings");
  bindings.forEach(checkBinding);
  await ctx.items<AclBinding, void>(
    options,
    "createAcls",
    bindings,
    bindingName,
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.CreateAcls, {
        creations: pending.map((b) => ({
          resourceType: ACL_RESOURCE.code(b.resourceType, "ACL resource type"),
          resourceName: b.resourceName,
          resourcePatternType: ACL_PATTERN.code(b.patternType ?? "literal", "ACL pattern type"),
          principal: b.principal,
          host: b.host ?? "*",
          operation: ACL_OPERATION.code(b.operation, "ACL operation"),
          permissionType: ACL_PERMISSION.code(b.permission, "ACL permission"),
        })),
      }, { signal });
      // Results come back in request order.
      const out: Outcome<AclBinding, void>[] = [];
      pending.forEach((b, i) => {
        const r = res.results[i];
        if (r) out.push([b, itemError(r.errorCode, bindingName(b), r.errorMessage)]);
      });
      return out;
    },
  );
}

/**
 * DeleteAcls: for each filter, the ACLs it matched and deleted; per-filter errors as
 * AdminBatchError.
 */
export function deleteAcls(
  ctx: AdminContext,
  filters: readonly AclFilter[],
  options: AdminCallOptions = {},
): Promise<AclBinding[][]> {
  checkArray(filters, "filters");
  const bodies = new Map(filters.map((f) => [f, filterBody(f)]));
  const index = new Map(filters.map((f, i) => [f, i]));
  return ctx.items<AclFilter, AclBinding[]>(
    options,
    "deleteAcls",
    filters,
    (f) => filterName(f, index.get(f)!),
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.DeleteAcls, {
        filters: pending.map((f) => bodies.get(f)!),
      }, { signal });
      const out: Outcome<AclFilter, AclBinding[]>[] = [];
      pending.forEach((f, i) => {
        const r = res.filterResults[i];
        if (!r) return;
        const err = itemError(r.errorCode, filterName(f, index.get(f)!), r.errorMessage);
        const failed = r.matchingAcls.find((m) => m.errorCode !== ErrorCode.NONE);
        if (err) out.push([f, err]);
        else if (failed) {
          out.push([
            f,
            new ProtocolError(
              failed.errorCode,
              bindingName(toBinding(failed, failed)),
              failed.errorMessage,
            ),
          ]);
        } else out.push([f, r.matchingAcls.map((m) => toBinding(m, m))]);
      });
      return out;
    },
  );
}
