/**
 * `/orgs/{org}/projects`: projects CRUD.
 *
 * @module
 */

import type { Hono } from "hono";
import { tagged } from "../core/graph/etag.ts";
import { crudOperations, crudRoutes } from "./_crud.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { createOptions, writeOptions } from "./_writes.ts";
import { pageQuery, projectCreate, projectUpdate, projectView } from "./_schemas.ts";

const ops = crudOperations({
  tag: "Directory",
  view: projectView,
  create: projectCreate,
  update: projectUpdate,
  query: pageQuery,
  words: {
    list: "List projects",
    create: "Create a project",
    read: "Read a project (by id or slug)",
    update: "Update a project",
    remove: "Delete a project and its bindings",
    many: "The projects",
    one: "The project",
  },
});

/**
 * Project routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function projectRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store } = deps;
  return crudRoutes(ops, {
    collection: "/orgs/:org/projects",
    item: "/orgs/:org/projects/:id",
    list: async (c) => {
      await store.getOrg(c.req.param("org"));
      return await store.listProjects(c.req.param("org"), c.req.valid("query"));
    },
    create: async (c) =>
      tagged(await store.createProject(c.req.param("org"), c.req.valid("json"), createOptions(c, deps))),
    read: async (c) => tagged(await store.getProject(c.req.param("org"), c.req.param("id"))),
    update: async (c) => {
      const { org, id } = c.req.param();
      return tagged(await store.updateProject(org, id, c.req.valid("json"), writeOptions(c, deps)));
    },
    remove: (c) => store.deleteProject(c.req.param("org"), c.req.param("id"), writeOptions(c, deps)),
  });
}
