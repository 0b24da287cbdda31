/**
 * `/orgs`: organizations CRUD.
 *
 * @module
 */

import { storeRoutes } from "./_crud.ts";
import { namedCollection } from "./_schemas.ts";

/**
 * Organization routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export const orgRoutes = storeRoutes<[]>()({
  collection: "/orgs",
  item: "/orgs/:org",
  calls: { list: "listOrgs", create: "createOrg", read: "getOrg", update: "updateOrg", remove: "deleteOrg" },
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
