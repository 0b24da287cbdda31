/**
 * `GET /admin/audit`: the shared audit log of every admin write (graph
 * resources, credentials by field name, bindings, key re-encryption,
 * package changes, lock imports, reloads), newest first, paged with the
 * `next` cursor and filtered by thing or action.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, operations } from "./_openapi.ts";
import type { Schema } from "./_schemas.ts";

const record: Schema = {
  type: "object",
  properties: {
    seq: { type: "integer" },
    at: { type: "string", format: "date-time" },
    actor: { type: "string" },
    replica: { type: "string" },
    request_id: { type: ["string", "null"] },
    action: { type: "string" },
    target_kind: { type: "string" },
    target: { type: "string" },
    from: {},
    to: {},
    detail: { type: "object" },
  },
};

const text = { type: "string", minLength: 1, maxLength: 500 } as const satisfies Schema;
/** The largest sequence number a page cursor may name (2^53 - 1: every store reads it exactly). */
const MAX_SAFE = 9_007_199_254_740_991;

const list = operations("Admin").admin("The audit log of every admin write, newest first", {
  query: {
    limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
    before: { type: "integer", minimum: 0, maximum: MAX_SAFE, description: "the `next` of the previous page" },
    target_kind: text,
    target: text,
    action: text,
  },
  success: ok("One page of records and the cursor of the next (null on the last page)", {
    type: "object",
    required: ["items", "next"],
    properties: { items: { type: "array", items: record }, next: { type: ["integer", "null"] } },
  }),
});

/**
 * Audit log routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function adminAuditRoutes(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/admin/audit", list, async (c) => {
    const q = c.req.valid("query");
    return c.json(
      await deps.audit.list({
        limit: q.limit,
        ...(q.before !== undefined ? { before: q.before } : {}),
        ...(q.target_kind !== undefined ? { target_kind: q.target_kind } : {}),
        ...(q.target !== undefined ? { target: q.target } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
      }),
    );
  });
}
