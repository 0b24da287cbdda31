/**
 * Operations: liveness, readiness, metrics and the OpenAPI document.
 *
 * @module
 */

import { Hono } from "hono";
import { metrics } from "../core/metrics.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, openApiDocument, type Operation, operations } from "./_openapi.ts";

const op = operations("Operations");
const ops = {
  health: op.none("Liveness: the process answers", { success: ok('`{status: "ok"}`') }),
  ready: op.none(
    "Readiness: the graph store answers, the lock state loaded and the configured keys decrypt the stored " +
      "credentials (503 with the reasons otherwise)",
    {
      success: ok(
        "`{status, reasons, store, keys, lock, registry, replica}`: `registry.revision` is the lock revision this " +
          "replica serves; `replica` its id, the store's revision, its lag and why it is behind",
      ),
    },
  ),
  metrics: op.read("Prometheus metrics (text exposition format; docs/operations.md lists them)", {
    success: ok("The metrics"),
  }),
  openapi: op.none("This API's OpenAPI 3.1 document", { success: ok("The document") }),
};

/**
 * Operations routes: the probes and `/openapi.json` need no token,
 * `/metrics` any token.
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
  const { store, runtime, readiness, version, sync } = deps;
  return new Hono<AppEnv>()
    .get("/healthz", ops.health, (c) => c.json({ status: "ok", version }))
    .get("/readyz", ops.ready, async (c) => {
      const registry = runtime.registry;
      const report = await readiness.report();
      const body = {
        status: report.ready ? "ready" : "not_ready",
        reasons: report.reasons,
        store: { kind: store.kind, status: report.store },
        keys: report.keys,
        lock: report.lock,
        registry: {
          generation: registry.generation,
          revision: registry.revision,
          loaded: registry.loadedSlugs().length,
        },
        replica: {
          id: sync.replica,
          store_revision: sync.storeRevision,
          lag: sync.storeRevision === null ? null : Math.max(0, sync.storeRevision - registry.revision),
          error: sync.lastError,
        },
      };
      if (report.ready) return c.json(body);
      c.header("retry-after", "5");
      return c.json(body, 503);
    })
    .get("/metrics", ops.metrics, async (c) => {
      return c.body(await metrics.exposition(), 200, { "content-type": metrics.contentType });
    })
    .get(
      "/openapi.json",
      ops.openapi,
      (c) => c.json(openApiDocument(options.operations(), { title: "Imbi plugin runtime", version })),
    );
}
