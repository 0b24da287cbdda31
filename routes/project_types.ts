/**
 * `/orgs/{org}/project-types`: project types CRUD.
 *
 * @module
 */

import { Hono } from "hono";
import type { ProjectType } from "../core/graph/store.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody, readQuery } from "./_openapi.ts";
import { listOf, namedCreate, namedUpdate, pageQuery } from "./_schemas.ts";

const TAG = "Directory";
const list = operation({
  method: "get",
  path: "/orgs/{org}/project-types",
  summary: "List project types",
  tag: TAG,
  query: pageQuery,
  success: { status: 200, description: "The project types", schema: listOf(namedCreate) },
  auth: "read",
});
const create = operation({
  method: "post",
  path: "/orgs/{org}/project-types",
  summary: "Create a project type",
  tag: TAG,
  body: namedCreate,
  success: { status: 201, description: "Created", schema: namedCreate },
  auth: "admin",
});
const read = operation({
  method: "get",
  path: "/orgs/{org}/project-types/{pt}",
  summary: "Read a project type",
  tag: TAG,
  success: { status: 200, description: "The project type", schema: namedCreate },
  auth: "read",
});
const update = operation({
  method: "patch",
  path: "/orgs/{org}/project-types/{pt}",
  summary: "Rename a project type",
  tag: TAG,
  body: namedUpdate,
  success: { status: 200, description: "Updated", schema: namedCreate },
  auth: "admin",
});
const remove = operation({
  method: "delete",
  path: "/orgs/{org}/project-types/{pt}",
  summary: "Delete a project type no project uses",
  tag: TAG,
  success: { status: 204, description: "Deleted" },
  auth: "admin",
});

/**
 * Project type routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function projectTypeRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(list.route, async (c) => {
    const org = params(c).org;
    await deps.store.getOrg(org);
    return c.json({ items: await deps.store.listProjectTypes(org, readQuery(c, list)) });
  });
  app.post(create.route, async (c) => {
    const body = await readBody<ProjectType>(c, create);
    return c.json(await deps.store.createProjectType(params(c).org, body), 201);
  });
  app.get(read.route, async (c) => {
    const pt = await deps.store.getProjectType(params(c).org, params(c).pt);
    return c.json(pt);
  });
  app.patch(update.route, async (c) => {
    const body = await readBody<{ name: string }>(c, update);
    return c.json(await deps.store.updateProjectType(params(c).org, params(c).pt, body));
  });
  app.delete(remove.route, async (c) => {
    await deps.store.deleteProjectType(params(c).org, params(c).pt);
    return c.body(null, 204);
  });
  return app;
}
