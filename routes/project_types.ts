/**
 * `/orgs/{org}/project-types`: project types CRUD.
 *
 * @module
 */

import { storeRoutes } from "./_crud.ts";
import { namedCollection } from "./_schemas.ts";

/**
 * Project type routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export const projectTypeRoutes = storeRoutes<[org: string]>()({
  collection: "/orgs/:org/project-types",
  item: "/orgs/:org/project-types/:pt",
  parent: "getOrg",
  calls: {
    list: "listProjectTypes",
    create: "createProjectType",
    read: "getProjectType",
    update: "updateProjectType",
    remove: "deleteProjectType",
  },
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
