/**
 * `/orgs/{org}/third-party-services`: vendors and tenants, their
 * applications (credentials write-only) and their Plugin nodes.
 *
 * @module
 */

import { Hono } from "hono";
import { tagged } from "../core/graph/etag.ts";
import { crudOperations, crudRoutes, type StoreCollection, storeRoutes } from "./_crud.ts";
import type { PluginNode, ServiceApplication } from "../core/graph/store.ts";
import { ok, operations } from "./_openapi.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { createOptions, writeOptions } from "./_writes.ts";
import {
  applicationCreate,
  applicationUpdate,
  applicationView,
  pageQuery,
  pluginCreate,
  pluginUpdate,
  pluginView,
  type Schema,
  serviceCreate,
  serviceUpdate,
} from "./_schemas.ts";

const TAG = "Vendors";
const SVC = "/orgs/:org/third-party-services";

const serviceOps = crudOperations({
  tag: TAG,
  view: serviceCreate,
  create: serviceCreate,
  update: serviceUpdate,
  query: pageQuery,
  words: {
    list: "List third-party services",
    create: "Create a third-party service",
    read: "Read a third-party service",
    update: "Update a third-party service",
    remove: "Delete a service without applications or plugins",
    many: "The services",
    one: "The service",
  },
});

/**
 * What a service holds (applications, Plugin nodes): under the service's
 * path, listed only for a service that exists, stored as they are, written
 * and shown through the directory.
 *
 * @param item The item's path below the service's: `applications/:app`.
 * @param spec The declaration and the calls, as {@linkcode storeRoutes} takes them.
 * @returns The routes, given the application's dependencies.
 */
function servicePart<T>() {
  return <const CB extends Schema, const UB extends Schema>(
    item: string,
    spec: Omit<StoreCollection<CB, UB, undefined, [org: string, svc: string], T>, ServicePartKeys>,
  ): (deps: AppDeps) => Hono<AppEnv> =>
    storeRoutes<[org: string, svc: string], T>()({
      ...spec,
      tag: TAG,
      collection: `${SVC}/:svc/${item.slice(0, item.lastIndexOf("/"))}`,
      item: `${SVC}/:svc/${item}`,
      parent: "getService",
    });
}
/** What {@linkcode servicePart} says for every part of a service. */
type ServicePartKeys = "tag" | "collection" | "item" | "parent";

/** A service's applications: the directory seals their credentials and never shows a secret value. */
const applications = servicePart<ServiceApplication>()("applications/:app", {
  calls: { list: "listApplications", read: "getApplication", remove: "deleteApplication" },
  writes: { create: "createApplication", update: "updateApplication" },
  show: (directory, [org, svc], app) => directory.applicationView(org, svc, app),
  view: applicationView,
  create: applicationCreate,
  update: applicationUpdate,
  words: {
    list: "List a service's applications (no secret values)",
    create: "Create an application; credentials are encrypted and never returned",
    read: "Read an application (field names and non-secret values)",
    update: "Update an application; a credential set to null is removed",
    remove: "Delete an application no Plugin node uses",
    many: "The applications",
    one: "The application",
  },
});

/** A service's Plugin nodes: the directory checks their options against the manifest and seals secret ones. */
const plugins = servicePart<PluginNode>()("plugins/:plugin", {
  calls: { list: "listPlugins", read: "getPlugin", remove: "deletePlugin" },
  writes: { create: "createPlugin", update: "updatePlugin" },
  show: (directory, [org], node) => directory.pluginView(org, node),
  view: pluginView,
  create: pluginCreate,
  update: pluginUpdate,
  words: {
    list: "List a service's Plugin nodes",
    create: "Install a capability: options are validated against the manifest, defaults applied",
    read: "Read a Plugin node (by id or slug)",
    update: "Update a Plugin node",
    remove: "Delete a Plugin node no binding uses",
    many: "The Plugin nodes",
    one: "The Plugin node",
  },
});

const connectionReport = {
  type: "object",
  required: ["ok", "duration_ms", "checked"],
  properties: {
    ok: { type: "boolean", description: "the endpoint answered and accepted the credentials" },
    duration_ms: { type: "integer", minimum: 0, description: "including a process start" },
    checked: { type: "array", items: { type: "string" }, description: "what was checked, for an operator" },
    error: {
      type: "object",
      required: ["kind", "message"],
      properties: {
        kind: {
          type: "string",
          description: "a plugin error kind (credentials_rejected, upstream_unavailable, timeout, ...) or not_loaded",
        },
        message: { type: "string", description: "the plugin's message, with the node's secrets scrubbed" },
      },
    },
  },
} as const;

const testConnection = operations(TAG).admin(
  "Test a Plugin node's connection: its handler's checkConnection, or the cheapest read of its type",
  { success: ok("`{ok, duration_ms, checked, error?}`; a failed check is still a 200", connectionReport) },
);

/**
 * Third-party service, application and Plugin node routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function serviceRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store } = deps;
  const services = crudRoutes(serviceOps, {
    collection: SVC,
    item: `${SVC}/:svc`,
    list: async (c) => {
      await store.getOrg(c.req.param("org"));
      return await store.listServices(c.req.param("org"), c.req.valid("query"));
    },
    create: async (c) =>
      tagged(
        await store.createService(c.req.param("org"), {
          vendor: null,
          base_url: null,
          account: null,
          region: null,
          ...c.req.valid("json"),
        }, createOptions(c, deps)),
      ),
    read: async (c) => tagged(await store.getService(c.req.param("org"), c.req.param("svc"))),
    update: async (c) => {
      const { org, svc } = c.req.param();
      return tagged(await store.updateService(org, svc, c.req.valid("json"), writeOptions(c, deps)));
    },
    remove: (c) => store.deleteService(c.req.param("org"), c.req.param("svc"), writeOptions(c, deps)),
  });

  const test = new Hono<AppEnv>().post(`${SVC}/:svc/plugins/:plugin/test`, testConnection, async (c) => {
    const { org, svc, plugin } = c.req.param();
    return c.json(await deps.connections.test({ org, service: svc, plugin, requestId: c.get("requestId") }));
  });

  return new Hono<AppEnv>()
    .route("/", services)
    .route("/", applications(deps))
    .route("/", plugins(deps))
    .route("/", test);
}
