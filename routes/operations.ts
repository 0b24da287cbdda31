/**
 * Operations: liveness, readiness and the OpenAPI document.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, openApiDocument, type Operation, operations } from "./_openapi.ts";

const op = operations("Operations");
const ops = {
  health: op.none("Liveness: the process answers", { success: ok('`{status: "ok"}`') }),
  ready: op.none("Readiness: the graph store answers and the registry is built (503 otherwise)", {
    success: ok("`{status, store, registry, replica}`: `registry.revision` is the lock revision this replica serves"),
  }),
  openapi: op.none("This API's OpenAPI 3.1 document", { success: ok("The document") }),
};

/**
 * Operations routes (no token needed).
 *
 * @param deps The application's dependencies.
 * @param options `operations`: every operation the app declares, for
 *   `/openapi.json` (read per request, so it may be filled in after mounting).
 * @returns The Hono app.
 */
export function operationRoutes(
  deps: AppDeps,
  options: { operations: () => readonly Operation[] },
): Hono<AppEnv> {
  const { store, runtime, version, sync } = deps;
  return new Hono<AppEnv>()
    .get("/healthz", ops.health, (c) => c.json({ status: "ok", version }))
    .get("/readyz", ops.ready, async (c) => {
      const registry = runtime.registry;
      const summary = {
        generation: registry.generation,
        revision: registry.revision,
        loaded: registry.loadedSlugs().length,
      };
      const replica = {
        id: sync.replica,
        store_revision: sync.storeRevision,
        lag: sync.storeRevision === null ? null : Math.max(0, sync.storeRevision - registry.revision),
        error: sync.lastError,
      };
      try {
        await store.ping();
        return c.json({ status: "ready", store: { kind: store.kind, status: "up" }, registry: summary, replica });
      } catch {
        c.header("retry-after", "5");
        return c.json(
          { status: "not_ready", store: { kind: store.kind, status: "down" }, registry: summary, replica },
          503,
        );
      }
    })
    .get(
      "/openapi.json",
      ops.openapi,
      (c) => c.json(openApiDocument(options.operations(), { title: "Imbi plugin runtime", version })),
    );
}
