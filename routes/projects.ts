/**
 * `/orgs/{org}/projects`: projects CRUD.
 *
 * @module
 */

import { storeRoutes } from "./_crud.ts";
import { pageQuery, projectCreate, projectUpdate, projectView } from "./_schemas.ts";

/**
 * Project routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export const projectRoutes = storeRoutes<[org: string]>()({
  collection: "/orgs/:org/projects",
  item: "/orgs/:org/projects/:id",
  parent: "getOrg",
  calls: {
    list: "listProjects",
    create: "createProject",
    read: "getProject",
    update: "updateProject",
    remove: "deleteProject",
  },
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
