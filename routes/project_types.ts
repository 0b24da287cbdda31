/**
 * `/orgs/{org}/project-types`: project types CRUD.
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
    list: "List project types",
    create: "Create a project type",
    read: "Read a project type",
    update: "Rename a project type",
    remove: "Delete a project type no project uses",
    many: "The project types",
    one: "The project type",
  },
});

/**
 * Project type routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function projectTypeRoutes(deps: AppDeps): Hono<AppEnv> {
  const { store } = deps;
  return crudRoutes(ops, {
    collection: "/orgs/:org/project-types",
    item: "/orgs/:org/project-types/:pt",
    list: async (c) => {
      await store.getOrg(c.req.param("org"));
      return await store.listProjectTypes(c.req.param("org"), c.req.valid("query"));
    },
    create: async (c) =>
      tagged(await store.createProjectType(c.req.param("org"), c.req.valid("json"), createOptions(c, deps))),
    read: async (c) => tagged(await store.getProjectType(c.req.param("org"), c.req.param("pt"))),
    update: async (c) => {
      const { org, pt } = c.req.param();
      return tagged(await store.updateProjectType(org, pt, c.req.valid("json"), writeOptions(c, deps)));
    },
    remove: (c) => store.deleteProjectType(c.req.param("org"), c.req.param("pt"), writeOptions(c, deps)),
  });
}
