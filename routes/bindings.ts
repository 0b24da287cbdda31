/**
 * Bindings: `USES_PLUGIN` edges of project types and projects (replace all,
 * atomically), and a project's effective tabs.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { selectBinding } from "../core/graph/resolution.ts";
import type { Binding, BindingScope } from "../core/graph/store.ts";
import { type Tagged, tagged } from "../core/graph/etag.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { taggedJson } from "./_etag.ts";
import { writeOptions } from "./_writes.ts";
import { ok, operations } from "./_openapi.ts";
import { bindings } from "./_schemas.ts";

const op = operations("Bindings");
const TYPE = "/orgs/:org/project-types/:pt/plugins";
const PROJECT = "/orgs/:org/projects/:id/plugins";

/** The read and the replace of one holder's bindings. */
function holderOperations(summaries: { read: string; replace: string }) {
  return {
    read: op.read(summaries.read, { success: ok("The bindings", bindings), etag: true }),
    replace: op.admin(summaries.replace, {
      body: bindings,
      success: ok("The stored bindings", bindings),
      etag: true,
      ifMatch: true,
    }),
  };
}

const projectTypeOps = holderOperations({
  read: "A project type's bindings",
  replace: "Replace a project type's bindings (atomically)",
});
const projectOps = holderOperations({
  read: "A project's own bindings (overrides and additions)",
  replace: "Replace a project's bindings (atomically)",
});
const selection = {
  oneOf: [
    {
      type: "object",
      required: ["kind", "plugin_id", "reason"],
      properties: {
        kind: { const: "selected" },
        plugin_id: { type: "string" },
        reason: { type: "string", enum: ["source", "project_default", "project_type_default", "only_candidate"] },
      },
    },
    {
      type: "object",
      required: ["kind", "why"],
      properties: { kind: { const: "ambiguous" }, why: { type: "string" } },
    },
    { type: "object", required: ["kind"], properties: { kind: { const: "none" } } },
  ],
} as const;
const effectiveBinding = {
  type: "object",
  required: ["plugin_id", "slug", "service", "plugin", "label", "default", "from", "available"],
  properties: {
    plugin_id: { type: "string" },
    slug: { type: "string" },
    service: { type: "string" },
    plugin: { type: "string" },
    label: { type: "string" },
    default: { type: "boolean" },
    search_template: { type: "string" },
    from: { type: "string", pattern: "^(project|project_type:.+)$", description: "project or project_type:<slug>" },
    available: { type: "boolean" },
    unavailable_reason: { type: "string", enum: ["disabled", "not_loaded"] },
  },
} as const;
const tabsOp = op.read("The effective bindings of a project, per tab, with where each came from and which one wins", {
  success: ok("Tabs and their bindings", {
    type: "object",
    required: ["tabs", "selection"],
    properties: {
      tabs: {
        type: "object",
        required: ["configuration", "logs"],
        properties: {
          configuration: { type: "array", items: effectiveBinding },
          logs: { type: "array", items: effectiveBinding },
        },
      },
      selection: {
        type: "object",
        description: "per tab, which binding a tab request without ?source= selects, and why (or why none)",
        required: ["configuration", "logs"],
        properties: { configuration: selection, logs: selection },
      },
    },
  }),
});

/**
 * Binding routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function bindingRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store, directory, runtime } = deps;
  const typeScope = async (c: Context<AppEnv, typeof TYPE>): Promise<BindingScope> => {
    const { org, pt } = c.req.param();
    await store.getProjectType(org, pt);
    return { kind: "project_type", org, slug: pt };
  };
  const projectScope = async (c: Context<AppEnv, typeof PROJECT>): Promise<BindingScope> => {
    const { org, id } = c.req.param();
    return { kind: "project", org, id: (await store.getProject(org, id)).id };
  };

  // A binding set's ETag is that of its list; the body wraps the list.
  const shown = ({ value, etag }: Tagged<Binding[]>) => ({ value: { bindings: value }, etag });
  const read = async (scope: BindingScope) => shown(tagged(await store.getBindings(scope)));
  const replace = async (c: Context<AppEnv>, scope: BindingScope, body: { bindings: Binding[] }) =>
    shown(await directory.replaceBindings(scope, body.bindings, writeOptions(c, deps)));

  return new Hono<AppEnv>()
    .get(TYPE, projectTypeOps.read, async (c) => taggedJson(c, await read(await typeScope(c))))
    .put(TYPE, projectTypeOps.replace, async (c) => {
      return taggedJson(c, await replace(c, await typeScope(c), c.req.valid("json")));
    })
    .get(PROJECT, projectOps.read, async (c) => taggedJson(c, await read(await projectScope(c))))
    .put(PROJECT, projectOps.replace, async (c) => {
      return taggedJson(c, await replace(c, await projectScope(c), c.req.valid("json")));
    })
    .get("/orgs/:org/projects/:id/tabs", tabsOp, async (c) => {
      const { org, id } = c.req.param();
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
      const selection: Record<string, unknown> = {};
      for (const tab of Object.keys(tabs)) {
        const s = selectBinding(effective.filter((b) => b.tab === tab), { loaded });
        selection[tab] = s.kind === "selected"
          ? { kind: "selected", plugin_id: s.binding.plugin_id, reason: s.reason }
          : s.kind === "ambiguous"
          ? { kind: "ambiguous", why: s.why }
          : { kind: "none" };
      }
      return c.json({ tabs, selection });
    });
}
