/**
 * Operations: liveness, readiness and the OpenAPI document.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { openApiDocument, operation } from "./_openapi.ts";

const TAG = "Operations";
const ops = {
  health: operation({
    method: "get",
    path: "/healthz",
    summary: "Liveness: the process answers",
    tag: TAG,
    success: { status: 200, description: '`{status: "ok"}`' },
    auth: "none",
  }),
  ready: operation({
    method: "get",
    path: "/readyz",
    summary: "Readiness: the graph store answers and the registry is built (503 otherwise)",
    tag: TAG,
    success: { status: 200, description: "`{status, store, registry}`" },
    auth: "none",
  }),
  openapi: operation({
    method: "get",
    path: "/openapi.json",
    summary: "This API's OpenAPI 3.1 document",
    tag: TAG,
    success: { status: 200, description: "The document" },
    auth: "none",
  }),
};

/**
 * Operations routes (no token needed).
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function operationRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(ops.health.route, (c) => c.json({ status: "ok", version: deps.version }));
  app.get(ops.ready.route, async (c) => {
    const registry = deps.runtime.registry;
    const summary = {
      generation: registry.generation,
      revision: registry.revision,
      loaded: registry.loadedSlugs().length,
    };
    try {
      await deps.store.ping();
      return c.json({ status: "ready", store: { kind: deps.store.kind, status: "up" }, registry: summary });
    } catch {
      c.header("retry-after", "5");
      return c.json({ status: "not_ready", store: { kind: deps.store.kind, status: "down" }, registry: summary }, 503);
    }
  });
  app.get(ops.openapi.route, (c) => c.json(openApiDocument({ title: "Imbi plugin runtime", version: deps.version })));
  return app;
}
