/**
 * `/orgs/{org}/third-party-services`: vendors and tenants, their
 * applications (credentials write-only) and their Plugin nodes.
 *
 * @module
 */

import { Hono } from "hono";
import type { JsonSchema } from "../core/json_schema.ts";
import type { ThirdPartyService } from "../core/graph/store.ts";
import type { PluginCreate, PluginUpdate } from "../core/plugin_nodes.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody, readQuery } from "./_openapi.ts";
import {
  applicationCreate,
  applicationUpdate,
  applicationView,
  listOf,
  pageQuery,
  pluginCreate,
  pluginUpdate,
  serviceCreate,
  serviceUpdate,
} from "./_schemas.ts";

const TAG = "Vendors";
const SVC = "/orgs/{org}/third-party-services";
const pluginView: JsonSchema = {
  type: "object",
  properties: {
    ...pluginCreate.properties,
    id: { type: "string" },
    service: { type: "string" },
    plugin_type: { type: "string", enum: ["configuration", "logs"] },
    status: { type: "string", enum: ["loaded", "not_loaded"] },
    network: { type: "object", properties: { hosts: { type: "array", items: { type: "string" } } } },
  },
};

const ops = {
  listServices: operation({
    method: "get",
    path: SVC,
    summary: "List third-party services",
    tag: TAG,
    query: pageQuery,
    success: { status: 200, description: "The services", schema: listOf(serviceCreate) },
    auth: "read",
  }),
  createService: operation({
    method: "post",
    path: SVC,
    summary: "Create a third-party service",
    tag: TAG,
    body: serviceCreate,
    success: { status: 201, description: "Created", schema: serviceCreate },
    auth: "admin",
  }),
  readService: operation({
    method: "get",
    path: `${SVC}/{svc}`,
    summary: "Read a third-party service",
    tag: TAG,
    success: { status: 200, description: "The service", schema: serviceCreate },
    auth: "read",
  }),
  updateService: operation({
    method: "patch",
    path: `${SVC}/{svc}`,
    summary: "Update a third-party service",
    tag: TAG,
    body: serviceUpdate,
    success: { status: 200, description: "Updated", schema: serviceCreate },
    auth: "admin",
  }),
  deleteService: operation({
    method: "delete",
    path: `${SVC}/{svc}`,
    summary: "Delete a service without applications or plugins",
    tag: TAG,
    success: { status: 204, description: "Deleted" },
    auth: "admin",
  }),
  listApps: operation({
    method: "get",
    path: `${SVC}/{svc}/applications`,
    summary: "List a service's applications (no secret values)",
    tag: TAG,
    success: { status: 200, description: "The applications", schema: listOf(applicationView) },
    auth: "read",
  }),
  createApp: operation({
    method: "post",
    path: `${SVC}/{svc}/applications`,
    summary: "Create an application; credentials are encrypted and never returned",
    tag: TAG,
    body: applicationCreate,
    success: { status: 201, description: "Created", schema: applicationView },
    auth: "admin",
  }),
  readApp: operation({
    method: "get",
    path: `${SVC}/{svc}/applications/{app}`,
    summary: "Read an application (field names and non-secret values)",
    tag: TAG,
    success: { status: 200, description: "The application", schema: applicationView },
    auth: "read",
  }),
  updateApp: operation({
    method: "patch",
    path: `${SVC}/{svc}/applications/{app}`,
    summary: "Update an application; a credential set to null is removed",
    tag: TAG,
    body: applicationUpdate,
    success: { status: 200, description: "Updated", schema: applicationView },
    auth: "admin",
  }),
  deleteApp: operation({
    method: "delete",
    path: `${SVC}/{svc}/applications/{app}`,
    summary: "Delete an application no Plugin node uses",
    tag: TAG,
    success: { status: 204, description: "Deleted" },
    auth: "admin",
  }),
  listPlugins: operation({
    method: "get",
    path: `${SVC}/{svc}/plugins`,
    summary: "List a service's Plugin nodes",
    tag: TAG,
    success: { status: 200, description: "The Plugin nodes", schema: listOf(pluginView) },
    auth: "read",
  }),
  createPlugin: operation({
    method: "post",
    path: `${SVC}/{svc}/plugins`,
    summary: "Install a capability: options are validated against the manifest, defaults applied",
    tag: TAG,
    body: pluginCreate,
    success: { status: 201, description: "Created", schema: pluginView },
    auth: "admin",
  }),
  readPlugin: operation({
    method: "get",
    path: `${SVC}/{svc}/plugins/{plugin}`,
    summary: "Read a Plugin node (by id or slug)",
    tag: TAG,
    success: { status: 200, description: "The Plugin node", schema: pluginView },
    auth: "read",
  }),
  updatePlugin: operation({
    method: "patch",
    path: `${SVC}/{svc}/plugins/{plugin}`,
    summary: "Update a Plugin node",
    tag: TAG,
    body: pluginUpdate,
    success: { status: 200, description: "Updated", schema: pluginView },
    auth: "admin",
  }),
  deletePlugin: operation({
    method: "delete",
    path: `${SVC}/{svc}/plugins/{plugin}`,
    summary: "Delete a Plugin node no binding uses",
    tag: TAG,
    success: { status: 204, description: "Deleted" },
    auth: "admin",
  }),
};

/**
 * Third-party service, application and Plugin node routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function serviceRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store, directory } = deps;
  const app = new Hono<AppEnv>();
  app.get(ops.listServices.route, async (c) => {
    const org = params(c).org;
    await store.getOrg(org);
    return c.json({ items: await store.listServices(org, readQuery(c, ops.listServices)) });
  });
  app.post(ops.createService.route, async (c) => {
    const body = await readBody<Partial<ThirdPartyService> & Pick<ThirdPartyService, "slug" | "name">>(
      c,
      ops.createService,
    );
    const service = { vendor: null, base_url: null, account: null, region: null, ...body };
    return c.json(await store.createService(params(c).org, service), 201);
  });
  app.get(ops.readService.route, async (c) => {
    const { org, svc } = params(c);
    return c.json(await store.getService(org, svc));
  });
  app.patch(ops.updateService.route, async (c) => {
    const body = await readBody<Partial<ThirdPartyService>>(c, ops.updateService);
    return c.json(await store.updateService(params(c).org, params(c).svc, body));
  });
  app.delete(ops.deleteService.route, async (c) => {
    await store.deleteService(params(c).org, params(c).svc);
    return c.body(null, 204);
  });

  app.get(ops.listApps.route, async (c) => {
    const { org, svc } = params(c);
    await store.getService(org, svc);
    const apps = await store.listApplications(org, svc);
    return c.json({ items: await Promise.all(apps.map((a) => directory.applicationView(org, svc, a))) });
  });
  app.post(ops.createApp.route, async (c) => {
    const { org, svc } = params(c);
    const body = await readBody<{ slug: string; name: string; credentials: Record<string, string> }>(c, ops.createApp);
    await store.getService(org, svc);
    return c.json(await directory.createApplication(org, svc, body), 201);
  });
  app.get(ops.readApp.route, async (c) => {
    const { org, svc, app: slug } = params(c);
    await store.getService(org, svc);
    const stored = await store.getApplication(org, svc, slug);
    return c.json(await directory.applicationView(org, svc, stored));
  });
  app.patch(ops.updateApp.route, async (c) => {
    const { org, svc, app: slug } = params(c);
    const body = await readBody<{ name?: string; credentials?: Record<string, string | null> }>(c, ops.updateApp);
    await store.getService(org, svc);
    return c.json(await directory.updateApplication(org, svc, slug, body));
  });
  app.delete(ops.deleteApp.route, async (c) => {
    const { org, svc, app: slug } = params(c);
    await store.deleteApplication(org, svc, slug);
    return c.body(null, 204);
  });

  app.get(ops.listPlugins.route, async (c) => {
    const { org, svc } = params(c);
    await store.getService(org, svc);
    const nodes = await store.listPlugins(org, svc);
    return c.json({ items: await Promise.all(nodes.map((n) => directory.pluginView(org, n))) });
  });
  app.post(ops.createPlugin.route, async (c) => {
    const { org, svc } = params(c);
    const body = await readBody<PluginCreate>(c, ops.createPlugin);
    return c.json(await directory.createPlugin(org, svc, body), 201);
  });
  app.get(ops.readPlugin.route, async (c) => {
    const { org, svc, plugin } = params(c);
    await store.getService(org, svc);
    const node = await store.getPlugin(org, svc, plugin);
    return c.json(await directory.pluginView(org, node));
  });
  app.patch(ops.updatePlugin.route, async (c) => {
    const { org, svc, plugin } = params(c);
    const body = await readBody<PluginUpdate>(c, ops.updatePlugin);
    return c.json(await directory.updatePlugin(org, svc, plugin, body));
  });
  app.delete(ops.deletePlugin.route, async (c) => {
    const { org, svc, plugin } = params(c);
    await store.deletePlugin(org, svc, plugin);
    return c.body(null, 204);
  });
  return app;
}
