/**
 * `GET /admin/replicas`: the live replicas of this deployment (heartbeats in
 * the graph store, `core/lock_sync.ts`), each with the lock revision it
 * serves, its lag behind the store's and its last error.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, operations } from "./_openapi.ts";
import type { Schema } from "./_schemas.ts";

const replica: Schema = {
  type: "object",
  required: ["id", "host", "started_at", "seen_at", "revision", "lag", "error"],
  properties: {
    id: { type: "string" },
    host: { type: "string" },
    started_at: { type: "string", format: "date-time" },
    seen_at: { type: "string", format: "date-time" },
    revision: { type: "integer", description: "the lock revision its registry was built from" },
    lag: { type: "integer", description: "revisions behind the store's" },
    error: { type: ["string", "null"], description: "why it cannot move to the store's revision" },
    live: { type: "boolean" },
  },
};

const list = operations("Admin").admin("The live replicas, the lock revision each serves, its lag and last error", {
  success: ok("The store's lock revision, the answering replica and the live replicas", {
    type: "object",
    required: ["revision", "replica", "items"],
    properties: {
      revision: { type: "integer" },
      replica: { type: "string" },
      items: { type: "array", items: replica },
    },
  }),
});

/**
 * Replica routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function adminReplicaRoutes(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/admin/replicas", list, async (c) => {
    const { revision, replicas } = await deps.sync.replicas();
    return c.json({ revision, replica: deps.sync.replica, items: replicas });
  });
}
