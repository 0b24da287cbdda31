/**
 * `/admin`: the plugin registry, package installs and reloads.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { Actor, AppDeps, AppEnv } from "./_deps.ts";
import { created, ok, operations } from "./_openapi.ts";
import { listOf, pluginInstall, pluginRollback, pluginUpgrade, type Schema } from "./_schemas.ts";
import { auditStamp } from "./_writes.ts";

const entryStatus: Schema = {
  type: "object",
  properties: {
    slug: { type: ["string", "null"] },
    status: { type: "string", enum: ["loaded", "incompatible", "invalid", "failed"] },
    reason: { type: ["string", "null"] },
  },
};
const packageStatus: Schema = {
  type: "object",
  properties: {
    name: { type: "string" },
    specifier: { type: "string" },
    version: { type: ["string", "null"] },
    integrity: { type: "string" },
    status: { type: "string" },
    reason: { type: ["string", "null"] },
    entries: { type: "array", items: entryStatus },
  },
};

const op = operations("Admin");
const ops = {
  catalog: op.admin("The curated catalog, with what is installed and whether a newer version exists", {
    success: ok("Catalog entries"),
  }),
  list: op.admin("Every package and entry point with its status and reason", {
    success: ok("The registry", listOf(packageStatus)),
  }),
  install: op.admin("Install a package by catalog name or specifier, then reload", {
    body: pluginInstall,
    success: created("The installed package and its entry points"),
  }),
  upgrade: op.admin("Move a package to another version or range, then reload", {
    body: pluginUpgrade,
    success: ok("What changed between the versions"),
  }),
  remove: op.admin("Remove a package (409 while Plugin nodes use it, unless force=true)", {
    query: { force: { type: "string", enum: ["true", "false"], default: "false" } },
    success: ok("The removal, and any Plugin nodes disabled"),
  }),
  reload: op.admin("Rebuild this replica's registry from the store's lock revision and swap it in", {
    success: ok("The new registry", listOf(packageStatus)),
  }),
  history: op.admin("Previous lockfile revisions, with who and when", { success: ok("Revisions, newest first") }),
  rollback: op.admin("Restore a previous lockfile revision, then reload", {
    body: pluginRollback,
    success: ok("The restored revision"),
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
      return c.json(await admin.upgrade(c.req.param("package"), c.req.valid("json").version, actor(c)));
    })
    .delete(PACKAGE, ops.remove, async (c) => {
      const force = c.req.valid("query").force === "true";
      return c.json(await admin.remove(c.req.param("package"), { force }, actor(c)));
    });
}
