/**
 * The options every graph write takes from its request: the `If-Match` the
 * operation's declaration parsed (`_etag.ts`), and the audit stamp (who,
 * which request, which replica, when) the store records the write with, in
 * the write's own transaction (`core/graph/audit_changes.ts`).
 *
 * @example
 * ```ts
 * update: async (c) => tagged(await store.updateOrg(c.req.param("org"), c.req.valid("json"), writeOptions(c, deps))),
 * ```
 *
 * @module
 */

import type { AuditStamp } from "../core/graph/audit_changes.ts";
import type { IfMatch } from "../core/graph/etag.ts";
import type { CreateOptions, WriteOptions } from "../core/graph/store.ts";

/** What these helpers read of a request context (Hono's `c.get`). */
export interface WriteContext {
  /** The parsed `If-Match` of an operation that declares it. */
  get(key: "ifMatch"): IfMatch | undefined;
  /** The token that authenticated (`admin`), and the request id. */
  get(key: "actor" | "requestId"): string;
}

/** What these helpers read of the application's dependencies. */
export interface WriteDeps {
  /** The audit log, for this replica's id. */
  audit: { readonly replica: string };
  /** The clock. */
  clock: () => Date;
}

/**
 * Who makes this request's write, for its audit record.
 *
 * @param c The request context.
 * @param deps The audit log and the clock.
 * @returns The stamp: `admin-api:<token>`, the request id, this replica, now.
 */
export function auditStamp(c: WriteContext, deps: WriteDeps): AuditStamp {
  return {
    actor: `admin-api:${c.get("actor")}`,
    request_id: c.get("requestId"),
    replica: deps.audit.replica,
    at: deps.clock().toISOString(),
  };
}

/**
 * The options of a create: its audit stamp.
 *
 * @param c The request context.
 * @param deps The audit log and the clock.
 * @returns The options to pass to the store or use case.
 */
export function createOptions(c: WriteContext, deps: WriteDeps): CreateOptions {
  return { audit: auditStamp(c, deps) };
}

/**
 * The options of an update, a delete or a binding replacement: the request's
 * `If-Match` and its audit stamp.
 *
 * @param c The request context.
 * @param deps The audit log and the clock.
 * @returns The options to pass to the store or use case.
 */
export function writeOptions(c: WriteContext, deps: WriteDeps): WriteOptions {
  return { ifMatch: c.get("ifMatch"), audit: auditStamp(c, deps) };
}
