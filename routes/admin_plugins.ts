/**
 * `/admin`: the plugin registry, package installs and reloads.
 *
 * @module
 */

import { Hono } from "hono";
import type { JsonSchema } from "../core/json_schema.ts";
import type { Context } from "hono";
import type { Actor, AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody, readQuery } from "./_openapi.ts";
import { listOf, pluginInstall, pluginRollback, pluginUpgrade } from "./_schemas.ts";

const TAG = "Admin";
const entryStatus: JsonSchema = {
  type: "object",
  properties: {
    slug: { type: ["string", "null"] },
    status: { type: "string", enum: ["loaded", "incompatible", "invalid", "failed"] },
    reason: { type: ["string", "null"] },
  },
};
const packageStatus: JsonSchema = {
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

const ops = {
  catalog: operation({
    method: "get",
    path: "/admin/catalog",
    summary: "The curated catalog, with what is installed and whether a newer version exists",
    tag: TAG,
    success: { status: 200, description: "Catalog entries" },
    auth: "admin",
  }),
  list: operation({
    method: "get",
    path: "/admin/plugins",
    summary: "Every package and entry point with its status and reason",
    tag: TAG,
    success: { status: 200, description: "The registry", schema: listOf(packageStatus) },
    auth: "admin",
  }),
  install: operation({
    method: "post",
    path: "/admin/plugins",
    summary: "Install a package by catalog name or specifier, then reload",
    tag: TAG,
    body: pluginInstall,
    success: { status: 201, description: "The installed package and its entry points" },
    auth: "admin",
  }),
  upgrade: operation({
    method: "patch",
    path: "/admin/plugins/{package}",
    summary: "Move a package to another version or range, then reload",
    tag: TAG,
    body: pluginUpgrade,
    success: { status: 200, description: "What changed between the versions" },
    auth: "admin",
  }),
  remove: operation({
    method: "delete",
    path: "/admin/plugins/{package}",
    summary: "Remove a package (409 while Plugin nodes use it, unless force=true)",
    tag: TAG,
    query: { force: { type: "string", enum: ["true", "false"], default: "false" } },
    success: { status: 200, description: "The removal, and any Plugin nodes disabled" },
    auth: "admin",
  }),
  reload: operation({
    method: "post",
    path: "/admin/plugins/reload",
    summary: "Rebuild the registry from the lockfile on disk and swap it in",
    tag: TAG,
    success: { status: 200, description: "The new registry", schema: listOf(packageStatus) },
    auth: "admin",
  }),
  history: operation({
    method: "get",
    path: "/admin/plugins/history",
    summary: "Previous lockfile revisions, with who and when",
    tag: TAG,
    success: { status: 200, description: "Revisions, newest first" },
    auth: "admin",
  }),
  rollback: operation({
    method: "post",
    path: "/admin/plugins/rollback",
    summary: "Restore a previous lockfile revision, then reload",
    tag: TAG,
    body: pluginRollback,
    success: { status: 200, description: "The restored revision" },
    auth: "admin",
  }),
  audit: operation({
    method: "get",
    path: "/admin/audit",
    summary: "Every package change: who, what, from which revision to which",
    tag: TAG,
    success: { status: 200, description: "Audit records, newest first" },
    auth: "admin",
  }),
};

/** Package names may hold a slash (`@imbi/plugin-aws`); the route accepts it raw or encoded. */
const PACKAGE_ROUTE = "/admin/plugins/:package{.+}";

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
  const { runtime, admin } = deps;
  const app = new Hono<AppEnv>();
  const registryBody = () => {
    const r = runtime.registry;
    return { revision: r.revision, generation: r.generation, built_at: r.builtAt, items: r.packages };
  };
  app.get(ops.catalog.route, async (c) => c.json({ items: await admin.catalog() }));
  app.get(ops.list.route, (c) => c.json(registryBody()));
  app.post(ops.reload.route, async (c) => {
    await runtime.reload();
    return c.json(registryBody());
  });
  app.get(ops.history.route, async (c) => c.json({ items: await admin.history() }));
  app.post(ops.rollback.route, async (c) => {
    const body = await readBody<{ revision: number }>(c, ops.rollback);
    return c.json(await admin.rollback(body.revision, actor(c)));
  });
  app.get(ops.audit.route, async (c) => c.json({ items: await admin.audit() }));
  app.post(ops.install.route, async (c) => {
    const body = await readBody<{ catalog?: string; specifier?: string }>(c, ops.install);
    return c.json(await admin.install(body, actor(c)), 201);
  });
  app.patch(PACKAGE_ROUTE, async (c) => {
    const body = await readBody<{ version: string }>(c, ops.upgrade);
    return c.json(await admin.upgrade(params(c).package, body.version, actor(c)));
  });
  app.delete(PACKAGE_ROUTE, async (c) => {
    const query = readQuery(c, ops.remove);
    const name = params(c).package;
    return c.json(await admin.remove(name, { force: query.force === "true" }, actor(c)));
  });
  return app;
}
