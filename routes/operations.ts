/**
 * Operations: liveness, readiness and the OpenAPI document.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, openApiDocument, type Operation, operations } from "./_openapi.ts";
import type { Schema } from "./_schemas.ts";

const health: Schema = {
  type: "object",
  required: ["status", "version"],
  properties: { status: { const: "ok" }, version: { type: "string" } },
};
function readiness(status: "ready" | "not_ready", store: "up" | "down"): Schema {
  return {
    type: "object",
    required: ["status", "store", "registry"],
    properties: {
      status: { const: status },
      store: {
        type: "object",
        required: ["kind", "status"],
        properties: { kind: { type: "string", enum: ["sqlite", "neo4j"] }, status: { const: store } },
      },
      registry: {
        type: "object",
        required: ["generation", "revision", "loaded"],
        properties: {
          generation: { type: "integer" },
          revision: { type: "integer" },
          loaded: { type: "integer", description: "entry points loaded" },
        },
      },
    },
  };
}
const document: Schema = {
  type: "object",
  required: ["openapi", "info", "paths"],
  properties: { openapi: { type: "string" }, info: { type: "object" }, paths: { type: "object" } },
};

const op = operations("Operations");
const ops = {
  health: op.none("Liveness: the process answers", { success: ok('`{status: "ok", version}`', health) }),
  ready: op.none("Readiness: the graph store answers and the registry is built (503 otherwise)", {
    success: ok("Ready", readiness("ready", "up")),
    alternative: {
      status: 503,
      description: "Not ready: the graph store does not answer",
      schema: readiness("not_ready", "down"),
    },
  }),
  openapi: op.none("This API's OpenAPI 3.1 document", { success: ok("The document", document) }),
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
  const { store, runtime, version } = deps;
  return new Hono<AppEnv>()
    .get("/healthz", ops.health, (c) => c.json({ status: "ok", version }))
    .get("/readyz", ops.ready, async (c) => {
      const registry = runtime.registry;
      const summary = {
        generation: registry.generation,
        revision: registry.revision,
        loaded: registry.loadedSlugs().length,
      };
      try {
        await store.ping();
        return c.json({ status: "ready", store: { kind: store.kind, status: "up" }, registry: summary });
      } catch {
        c.header("retry-after", "5");
        return c.json({ status: "not_ready", store: { kind: store.kind, status: "down" }, registry: summary }, 503);
      }
    })
    .get(
      "/openapi.json",
      ops.openapi,
      (c) => c.json(openApiDocument(options.operations(), { title: "Imbi plugin runtime", version })),
    );
}
