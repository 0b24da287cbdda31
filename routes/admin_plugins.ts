/**
 * `/admin`: the plugin registry, package installs and reloads.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { Actor, AppDeps, AppEnv } from "./_deps.ts";
import { created, ok, operations } from "./_openapi.ts";
import { listOf, object, pluginInstall, pluginRollback, pluginUpgrade, type Schema } from "./_schemas.ts";
import { auditStamp } from "./_writes.ts";

const entryStatus: Schema = object({
  slug: { type: ["string", "null"] },
  status: { type: "string", enum: ["loaded", "incompatible", "invalid", "failed"] },
  reason: { type: ["string", "null"] },
});
const packageStatus: Schema = object({
  name: { type: "string" },
  specifier: { type: "string" },
  version: { type: ["string", "null"] },
  integrity: { type: "string" },
  status: { type: "string" },
  reason: { type: ["string", "null"] },
  entries: { type: "array", items: entryStatus },
});

const str = { type: "string" } as const;
const nullableStr = { type: ["string", "null"] } as const;
const int = { type: "integer" } as const;
const nullableInt = { type: ["integer", "null"] } as const;
const strings = { type: "array", items: str } as const;
const revisionFields = { revision: int } as const;
/** The registry as `GET /admin/plugins` and a reload show it. */
const registryView: Schema = object({
  revision: int,
  generation: int,
  built_at: { type: "string", format: "date-time" },
  items: { type: "array", items: packageStatus },
}, ["revision", "generation", "items"]);
/** A package as installs and upgrades show it. */
const packageView: Schema = object({
  name: str,
  specifier: str,
  version: str,
  integrity: str,
  source: { type: "object" },
  added_at: { type: "string", format: "date-time" },
  added_by: str,
  status: { type: "string", enum: ["loaded", "partial", "failed", "pending"] },
  reason: nullableStr,
  entries: { type: "array", items: entryStatus },
}, ["name", "specifier", "version", "integrity", "status", "entries"]);
const catalogView: Schema = listOf(object({
  name: str,
  description: str,
  specifier: str,
  plugin_types: strings,
  homepage: nullableStr,
  local_path: nullableStr,
  package: nullableStr,
  installed: {
    type: ["object", "null"],
    properties: { version: str, specifier: str, from_catalog: { type: "boolean" } },
  },
  latest_in_range: nullableStr,
  newer_in_range: nullableStr,
  resolve_error: nullableStr,
}, ["name", "specifier"]));
const installView: Schema = object({ package: packageView, ...revisionFields }, ["package", "revision"]);
const lockedVersion = { type: "object", properties: { version: str, specifier: str, integrity: str } } as const;
const upgradeView: Schema = object({
  package: packageView,
  from: str,
  to: str,
  diff: object({
    from: lockedVersion,
    to: lockedVersion,
    previous_unavailable: nullableStr,
    entry_points: { type: "object", properties: { added: strings, removed: strings, unchanged: strings } },
    changes: { type: "array", items: { type: "object" } },
    summary: strings,
  }),
  ...revisionFields,
}, ["package", "from", "to", "diff", "revision"]);
const removalView: Schema = object({
  package: str,
  removed: { type: "object", properties: { specifier: str, version: str, entry_points: strings } },
  disabled_plugin_nodes: {
    type: "array",
    items: { type: "object", properties: { org: str, service: str, id: str, slug: str, plugin: str } },
  },
  ...revisionFields,
}, ["package", "removed", "disabled_plugin_nodes", "revision"]);
const historyView: Schema = listOf(object({
  revision: int,
  current: { type: "boolean" },
  written_at: nullableStr,
  written_by: nullableStr,
  request_id: nullableStr,
  action: str,
  package: nullableStr,
  from_revision: nullableInt,
}, ["revision", "current"]));
const rollbackView: Schema = object({
  restored_revision: int,
  from_revision: int,
  ...revisionFields,
  changes: {
    type: "array",
    items: { type: "object", properties: { package: str, from: nullableStr, to: nullableStr } },
  },
  packages: {
    type: "array",
    items: { type: "object", properties: { name: str, version: str, status: str, reason: nullableStr } },
  },
}, ["restored_revision", "from_revision", "revision", "changes", "packages"]);

const op = operations("Admin");
/** What a package change may also answer: refused (422), the registry failed (502). */
const changeProblems = [422, 502] as const;
const ops = {
  catalog: op.admin("The curated catalog, with what is installed and whether a newer version exists", {
    success: ok("Catalog entries", catalogView),
  }),
  list: op.admin("Every package and entry point with its status and reason", {
    success: ok("The registry", registryView),
  }),
  install: op.admin("Install a package by catalog name or specifier, then reload", {
    body: pluginInstall,
    success: created("The installed package and its entry points", installView),
    problems: changeProblems,
  }),
  upgrade: op.admin("Move a package to another version or range, then reload", {
    body: pluginUpgrade,
    success: ok("What changed between the versions", upgradeView),
    problems: changeProblems,
  }),
  remove: op.admin("Remove a package (409 while Plugin nodes use it, unless force=true)", {
    query: { force: { type: "string", enum: ["true", "false"], default: "false" } },
    success: ok("The removal, and any Plugin nodes disabled", removalView),
  }),
  reload: op.admin("Rebuild this replica's registry from the store's lock revision and swap it in", {
    success: ok("The new registry", registryView),
    problems: changeProblems,
  }),
  history: op.admin("Previous lockfile revisions, with who and when", {
    success: ok("Revisions, newest first", historyView),
  }),
  rollback: op.admin("Restore a previous lockfile revision, then reload", {
    body: pluginRollback,
    success: ok("The restored revision", rollbackView),
    problems: [404, ...changeProblems],
  }),
};

/** Package names may hold a slash (`@imbi/plugin-aws`); the route accepts it raw or encoded. */
const PACKAGE = "/admin/plugins/:package{.+}";

function actor(c: Context<AppEnv>): Actor {
  return { id: c.get("actor"), requestId: c.get("requestId") };
}

/**
 * Admin routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function adminPluginRoutes(deps: AppDeps): Hono<AppEnv> {
  const { runtime, admin, audit } = deps;
  const registryBody = () => {
    const r = runtime.registry;
    return { revision: r.revision, generation: r.generation, built_at: r.builtAt, items: r.packages };
  };
  return new Hono<AppEnv>()
    .get("/admin/catalog", ops.catalog, async (c) => c.json({ items: await admin.catalog() }))
    .get("/admin/plugins", ops.list, (c) => c.json(registryBody()))
    .post("/admin/plugins/reload", ops.reload, async (c) => {
      const from = runtime.registry;
      const to = await runtime.reload();
      const stamp = auditStamp(c, deps);
      await audit.record({
        actor: stamp.actor,
        request_id: stamp.request_id,
        action: "registry.reload",
        target_kind: "registry",
        target: audit.replica,
        from: { revision: from.revision, generation: from.generation },
        to: { revision: to.revision, generation: to.generation },
        detail: { loaded: to.loadedSlugs().length, failed: to.packages.filter((p) => p.status === "failed").length },
      });
      return c.json(registryBody());
    })
    .get("/admin/plugins/history", ops.history, async (c) => c.json({ items: await admin.history() }))
    .post("/admin/plugins/rollback", ops.rollback, async (c) => {
      return c.json(await admin.rollback(c.req.valid("json").revision, actor(c)));
    })
    .post("/admin/plugins", ops.install, async (c) => c.json(await admin.install(c.req.valid("json"), actor(c)), 201))
    .patch(PACKAGE, ops.upgrade, async (c) => {
      return c.json(await admin.upgrade(c.req.param("package"), c.req.valid("json"), actor(c)));
    })
    .delete(PACKAGE, ops.remove, async (c) => {
      const force = c.req.valid("query").force === "true";
      return c.json(await admin.remove(c.req.param("package"), { force }, actor(c)));
    });
}
