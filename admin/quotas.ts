/**
 * Client quotas (KIP-546): describe and alter quotas of users, client ids and IPs, as
 * `kafka-configs.sh --entity-type users|clients|ips` does.
 *
 * @module
 */

import { Api } from "../protocol/apis.ts";
import {
  type AdminCallOptions,
  type AdminContext,
  checkArray,
  checkTopLevel,
  itemError,
  type Outcome,
} from "./context.ts";

/**
 * A quota entity: e.g. `{ user: "alice" }`, `{ user: "alice", "client-id": "app" }`,
 * `{ ip: "10.0.0.1" }`. A `null` name is the default entity of that type.
 *
 * @example
 * ```ts
 * import type { QuotaEntity } from "@denokafka/kafka/admin";
 * const e: QuotaEntity = { user: "alice", "client-id": null };
 * console.log(Object.keys(e));
 * ```
 */
export type QuotaEntity = Readonly<Record<string, string | null>>;

/**
 * Matches quota entities of one type: one name, the default entity, or any.
 *
 * @example
 * ```ts
 * import type { QuotaFilterComponent } from "@denokafka/kafka/admin";
 * const c: QuotaFilterComponent = { entityType: "user", match: "alice" };
 * console.log(c.entityType);
 * ```
 */
export interface QuotaFilterComponent {
  /** `user`, `client-id` or `ip`. */
  readonly entityType: string;
  /** A name (exact), `null` (the default entity), or omitted (any). */
  readonly match?: string | null | undefined;
}

/**
 * Options of `describeClientQuotas`.
 *
 * @example
 * ```ts
 * import type { DescribeClientQuotasOptions } from "@denokafka/kafka/admin";
 * const o: DescribeClientQuotasOptions = { strict: true };
 * console.log(o.strict);
 * ```
 */
export interface DescribeClientQuotasOptions extends AdminCallOptions {
  /** Only entities with exactly the filtered entity types. */
  strict?: boolean;
}

/**
 * An entity's quotas, e.g. `{ producer_byte_rate: 1048576 }`.
 *
 * @example
 * ```ts
 * import type { ClientQuotas } from "@denokafka/kafka/admin";
 * const rate = (q: ClientQuotas) => q.values["producer_byte_rate"];
 * console.log(typeof rate);
 * ```
 */
export interface ClientQuotas {
  /** The entity. */
  readonly entity: QuotaEntity;
  /** Quota key to value. */
  readonly values: Readonly<Record<string, number>>;
}

/**
 * Changes to one entity's quotas: a number sets a quota, `null` removes it.
 *
 * @example
 * ```ts
 * import type { QuotaAlteration } from "@denokafka/kafka/admin";
 * const a: QuotaAlteration = { entity: { user: "alice" }, ops: { producer_byte_rate: 1024, consumer_byte_rate: null } };
 * console.log(a.ops);
 * ```
 */
export interface QuotaAlteration {
  /** The entity. */
  readonly entity: QuotaEntity;
  /** Quota key to new value, or null to remove. */
  readonly ops: Readonly<Record<string, number | null>>;
}

/**
 * Options of `alterClientQuotas`.
 *
 * @example
 * ```ts
 * import type { AlterClientQuotasOptions } from "@denokafka/kafka/admin";
 * const o: AlterClientQuotasOptions = { validateOnly: true };
 * console.log(o.validateOnly);
 * ```
 */
export interface AlterClientQuotasOptions extends AdminCallOptions {
  /** Only check. */
  validateOnly?: boolean;
}

function entityName(e: QuotaEntity): string {
  return Object.entries(e).map(([k, v]) => `${k}=${v ?? "<default>"}`).sort().join(",");
}

/** DescribeClientQuotas: the quotas of entities matching the filter. */
export function describeClientQuotas(
  ctx: AdminContext,
  filter: readonly QuotaFilterComponent[],
  options: DescribeClientQuotasOptions = {},
): Promise<ClientQuotas[]> {
  checkArray(filter, "filter");
  const components = filter.map((c) => {
    if (typeof c?.entityType !== "string") throw new TypeError("each filter needs an entityType");
    // matchType: 0 exact name, 1 the default entity, 2 any.
    return c.match === undefined
      ? { entityType: c.entityType, matchType: 2, match: null }
      : c.match === null
      ? { entityType: c.entityType, matchType: 1, match: null }
      : { entityType: c.entityType, matchType: 0, match: c.match };
  });
  return ctx.call(options, async (signal) => {
    const res = await ctx.cluster.send({ any: true }, Api.DescribeClientQuotas, {
      components,
      strict: options.strict ?? false,
    }, { signal });
    checkTopLevel(res.errorCode, "DescribeClientQuotas", res.errorMessage);
    return (res.entries ?? []).map((e) => ({
      entity: Object.fromEntries(e.entity.map((x) => [x.entityType, x.entityName])),
      values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
    }));
  });
}

/** AlterClientQuotas; per-entity errors as AdminBatchError. */
export async function alterClientQuotas(
  ctx: AdminContext,
  alterations: readonly QuotaAlteration[],
  options: AlterClientQuotasOptions = {},
): Promise<void> {
  checkArray(alterations, "alterations");
  for (const a of alterations) {
    if (a?.entity === null || typeof a?.entity !== "object" || Object.keys(a.entity).length === 0) {
      throw new TypeError("each quota alteration needs an entity");
    }
    if (a.ops === null || typeof a.ops !== "object") throw new TypeError("ops must be an object");
    for (const [k, v] of Object.entries(a.ops)) {
      if (v !== null && !Number.isFinite(v)) throw new RangeError(`quota ${k} must be a number`);
    }
  }
  await ctx.items<QuotaAlteration, void>(
    options,
    "alterClientQuotas",
    alterations,
    (a) => entityName(a.entity),
    async (pending, signal) => {
      const res = await ctx.cluster.send({ controller: true }, Api.AlterClientQuotas, {
        entries: pending.map((a) => ({
          entity: Object.entries(a.entity).map(([entityType, entityName]) => ({
            entityType,
            entityName,
          })),
          ops: Object.entries(a.ops).map(([key, value]) => ({
            key,
            value: value ?? 0,
            remove: value === null,
          })),
        })),
        validateOnly: options.validateOnly ?? false,
      }, { signal });
      const out: Outcome<QuotaAlteration, void>[] = [];
      for (const a of pending) {
        const name = entityName(a.entity);
        const r = res.entries.find((e) =>
          entityName(Object.fromEntries(e.entity.map((x) => [x.entityType, x.entityName]))) ===
            name
        );
        if (r) out.push([a, itemError(r.errorCode, `quota entity ${name}`, r.errorMessage)]);
      }
      return out;
    },
  );
}
