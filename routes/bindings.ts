/**
 * Bindings: `USES_PLUGIN` edges of project types and projects (replace all,
 * atomically), and a project's effective tabs.
 *
 * @module
 */

import { Hono } from "hono";
import type { Binding, BindingScope } from "../core/graph/store.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody } from "./_openapi.ts";
import { bindings as bindingsSchema } from "./_schemas.ts";

const TAG = "Bindings";
const ops = {
  getTypeBindings: operation({
    method: "get",
    path: "/orgs/{org}/project-types/{pt}/plugins",
    summary: "A project type's bindings",
    tag: TAG,
    success: { status: 200, description: "The bindings", schema: bindingsSchema },
    auth: "read",
  }),
  putTypeBindings: operation({
    method: "put",
    path: "/orgs/{org}/project-types/{pt}/plugins",
    summary: "Replace a project type's bindings (atomically)",
    tag: TAG,
    body: bindingsSchema,
    success: { status: 200, description: "The stored bindings", schema: bindingsSchema },
    auth: "admin",
  }),
  getProjectBindings: operation({
    method: "get",
    path: "/orgs/{org}/projects/{id}/plugins",
    summary: "A project's own bindings (overrides and additions)",
    tag: TAG,
    success: { status: 200, description: "The bindings", schema: bindingsSchema },
    auth: "read",
  }),
  putProjectBindings: operation({
    method: "put",
    path: "/orgs/{org}/projects/{id}/plugins",
    summary: "Replace a project's bindings (atomically)",
    tag: TAG,
    body: bindingsSchema,
    success: { status: 200, description: "The stored bindings", schema: bindingsSchema },
    auth: "admin",
  }),
  tabs: operation({
    method: "get",
    path: "/orgs/{org}/projects/{id}/tabs",
    summary: "The effective bindings of a project, per tab, with where each came from",
    tag: TAG,
    success: { status: 200, description: "Tabs and their bindings" },
    auth: "read",
  }),
};

/**
 * Binding routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function bindingRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store, directory, runtime } = deps;
  const app = new Hono<AppEnv>();
  const typeScope = async (org: string, pt: string): Promise<BindingScope> => {
    await store.getProjectType(org, pt);
    return { kind: "project_type", org, slug: pt };
  };
  const projectScope = async (org: string, id: string): Promise<BindingScope> => {
    const project = await store.getProject(org, id);
    return { kind: "project", org, id: project.id };
  };

  app.get(ops.getTypeBindings.route, async (c) => {
    const scope = await typeScope(params(c).org, params(c).pt);
    return c.json({ bindings: await store.getBindings(scope) });
  });
  app.put(ops.putTypeBindings.route, async (c) => {
    const body = await readBody<{ bindings: Binding[] }>(c, ops.putTypeBindings);
    const scope = await typeScope(params(c).org, params(c).pt);
    return c.json({ bindings: await directory.replaceBindings(scope, body.bindings) });
  });
  app.get(ops.getProjectBindings.route, async (c) => {
    const scope = await projectScope(params(c).org, params(c).id);
    return c.json({ bindings: await store.getBindings(scope) });
  });
  app.put(ops.putProjectBindings.route, async (c) => {
    const body = await readBody<{ bindings: Binding[] }>(c, ops.putProjectBindings);
    const scope = await projectScope(params(c).org, params(c).id);
    return c.json({ bindings: await directory.replaceBindings(scope, body.bindings) });
  });
  app.get(ops.tabs.route, async (c) => {
    const { org, id } = params(c);
    const effective = await store.effectiveBindings(org, id);
    const loaded = new Set(runtime.registry.loadedSlugs());
    const tabs: Record<string, unknown[]> = { configuration: [], logs: [] };
    for (const b of effective) {
      (tabs[b.tab] ??= []).push({
        plugin_id: b.plugin_id,
        slug: b.plugin.slug,
        service: b.plugin.service,
        plugin: b.plugin.plugin,
        label: b.plugin.label,
        default: b.default,
        search_template: b.search_template,
        from: b.origin.kind === "project" ? "project" : `project_type:${b.origin.slug}`,
        available: b.plugin.enabled && loaded.has(b.plugin.plugin),
        ...(b.plugin.enabled ? {} : { unavailable_reason: "disabled" }),
        ...(b.plugin.enabled && !loaded.has(b.plugin.plugin) ? { unavailable_reason: "not_loaded" } : {}),
      });
    }
    return c.json({ tabs });
  });
  return app;
}
