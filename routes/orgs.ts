/**
 * `/orgs`: organizations CRUD.
 *
 * @module
 */

import { Hono } from "hono";
import type { Organization } from "../core/graph/store.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody, readQuery } from "./_openapi.ts";
import { listOf, namedCreate, namedUpdate, pageQuery } from "./_schemas.ts";

const TAG = "Directory";
const orgView = namedCreate;
const list = operation({
  method: "get",
  path: "/orgs",
  summary: "List organizations",
  tag: TAG,
  query: pageQuery,
  success: { status: 200, description: "The organizations", schema: listOf(orgView) },
  auth: "read",
});
const create = operation({
  method: "post",
  path: "/orgs",
  summary: "Create an organization",
  tag: TAG,
  body: namedCreate,
  success: { status: 201, description: "Created", schema: orgView },
  auth: "admin",
});
const read = operation({
  method: "get",
  path: "/orgs/{org}",
  summary: "Read an organization",
  tag: TAG,
  success: { status: 200, description: "The organization", schema: orgView },
  auth: "read",
});
const update = operation({
  method: "patch",
  path: "/orgs/{org}",
  summary: "Rename an organization",
  tag: TAG,
  body: namedUpdate,
  success: { status: 200, description: "Updated", schema: orgView },
  auth: "admin",
});
const remove = operation({
  method: "delete",
  path: "/orgs/{org}",
  summary: "Delete an empty organization",
  tag: TAG,
  success: { status: 204, description: "Deleted" },
  auth: "admin",
});

/**
 * Organization routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function orgRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(list.route, async (c) => c.json({ items: await deps.store.listOrgs(readQuery(c, list)) }));
  app.post(create.route, async (c) => {
    const body = await readBody<Organization>(c, create);
    return c.json(await deps.store.createOrg(body), 201);
  });
  app.get(read.route, async (c) => {
    const org = await deps.store.getOrg(params(c).org);
    return c.json(org);
  });
  app.patch(update.route, async (c) => {
    const body = await readBody<{ name: string }>(c, update);
    return c.json(await deps.store.updateOrg(params(c).org, body));
  });
  app.delete(remove.route, async (c) => {
    await deps.store.deleteOrg(params(c).org);
    return c.body(null, 204);
  });
  return app;
}
