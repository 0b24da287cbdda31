/**
 * Operations: liveness, readiness, metrics and the OpenAPI document.
 *
 * @module
 */

import { Hono } from "hono";
import { metrics } from "../core/ops/metrics.ts";
import { activeConfinement, describeConfinement } from "../core/sandbox/confine.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, openApiDocument, type Operation, operations } from "./_openapi.ts";
import type { Schema } from "./_schemas.ts";

const health: Schema = {
  type: "object",
  required: ["status", "version"],
  properties: { status: { const: "ok" }, version: { type: "string" } },
};
function readiness(ready: boolean): Schema {
  return {
    type: "object",
    required: ["status", "reasons", "store", "keys", "lock", "registry", "sandbox", "replica"],
    properties: {
      status: { const: ready ? "ready" : "not_ready" },
      reasons: {
        type: "array",
        items: { type: "string" },
        ...(ready ? { maxItems: 0 } : { minItems: 1 }),
        description: "why not, one sentence per failed check",
      },
      store: {
        type: "object",
        required: ["kind", "status"],
        properties: { kind: { type: "string", enum: ["sqlite", "neo4j"] }, status: { enum: ["up", "down"] } },
      },
      keys: { enum: ["ok", "unreadable", "unchecked"] },
      lock: { enum: ["ok", "failed"] },
      registry: {
        type: "object",
        required: ["generation", "revision", "loaded"],
        properties: {
          generation: { type: "integer" },
          revision: { type: "integer", description: "the lock revision this replica serves" },
          loaded: { type: "integer", description: "entry points loaded" },
        },
      },
      replica: {
        type: "object",
        description: "this replica's id, the store's lock revision, how far behind it serves, and why",
        required: ["id", "store_revision", "lag", "error"],
        properties: {
          id: { type: "string" },
          store_revision: { type: ["integer", "null"] },
          lag: { type: ["integer", "null"], minimum: 0 },
          error: { type: ["string", "null"] },
        },
      },
      sandbox: {
        type: "object",
        description: "what confines plugin processes (docs/sandbox.md, Confinement)",
        required: ["mechanism", "enforces", "seccomp", "note"],
        properties: {
          mechanism: { enum: ["cgroup", "rlimit", "none"] },
          enforces: { type: "array", items: { type: "string" } },
          seccomp: { type: "boolean" },
          note: { type: ["string", "null"] },
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
  ready: op.none(
    "Readiness: the graph store answers, the lock state loaded and the configured keys decrypt the stored " +
      "credentials (503 with the reasons otherwise)",
    {
      success: ok("Ready", readiness(true)),
      alternative: { status: 503, description: "Not ready, with the reasons", schema: readiness(false) },
    },
  ),
  metrics: op.read("Prometheus metrics (text exposition format; docs/operations.md lists them)", {
    success: { status: 200, description: "The metrics", schema: { type: "string" }, mediaType: metrics.contentType },
  }),
  openapi: op.none("This API's OpenAPI 3.1 document", { success: ok("The document", document) }),
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
        sandbox: describeConfinement(activeConfinement()),
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
      (c) => {
        const dataTypes = runtime.registry.loadedSlugs().flatMap((slug) =>
          (runtime.manifest(slug)?.data_types ?? []).map((type) => type.name)
        );
        const installed = { dataTypes: [...new Set(dataTypes)].sort() };
        return c.json(openApiDocument(options.operations(), { title: "Imbi plugin runtime", version, installed }));
      },
    );
}
