/**
 * `/orgs`: organizations CRUD.
 *
 * @module
 */

import type { Hono } from "hono";
import { tagged } from "../core/graph/etag.ts";
import { crudOperations, crudRoutes } from "./_crud.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { createOptions, writeOptions } from "./_writes.ts";
import { namedCollection } from "./_schemas.ts";

const ops = crudOperations({
  tag: "Directory",
  ...namedCollection,
  words: {
    list: "List organizations",
    create: "Create an organization",
    read: "Read an organization",
    update: "Rename an organization",
    remove: "Delete an empty organization",
    many: "The organizations",
    one: "The organization",
  },
});

/**
 * Organization routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function orgRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store } = deps;
  return crudRoutes(ops, {
    collection: "/orgs",
    item: "/orgs/:org",
    list: (c) => store.listOrgs(c.req.valid("query")),
    create: async (c) => tagged(await store.createOrg(c.req.valid("json"), createOptions(c, deps))),
    read: async (c) => tagged(await store.getOrg(c.req.param("org"))),
    update: async (c) => tagged(await store.updateOrg(c.req.param("org"), c.req.valid("json"), writeOptions(c, deps))),
    remove: (c) => store.deleteOrg(c.req.param("org"), writeOptions(c, deps)),
  });
}
