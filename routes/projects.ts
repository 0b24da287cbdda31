/**
 * `/orgs/{org}/projects`: projects CRUD.
 *
 * @module
 */

import type { Hono } from "hono";
import { crudOperations, crudRoutes } from "./_crud.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
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
export function projectRoutes({ store }: AppDeps): Hono<AppEnv> {
  return crudRoutes(ops, {
    collection: "/orgs/:org/projects",
    item: "/orgs/:org/projects/:id",
    list: async (c) => {
      await store.getOrg(c.req.param("org"));
      return await store.listProjects(c.req.param("org"), c.req.valid("query"));
    },
    create: (c) => store.createProject(c.req.param("org"), c.req.valid("json")),
    read: (c) => store.getProject(c.req.param("org"), c.req.param("id")),
    update: (c) => store.updateProject(c.req.param("org"), c.req.param("id"), c.req.valid("json")),
    remove: (c) => store.deleteProject(c.req.param("org"), c.req.param("id")),
  });
}
