/**
 * `/orgs/{org}/projects`: projects CRUD.
 *
 * @module
 */

import { Hono } from "hono";
import type { JsonSchema } from "../core/json_schema.ts";
import type { ProjectInput } from "../core/graph/store.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody, readQuery } from "./_openapi.ts";
import { listOf, pageQuery, projectCreate, projectUpdate } from "./_schemas.ts";

const TAG = "Directory";
const projectView: JsonSchema = {
  type: "object",
  properties: { ...projectCreate.properties, id: { type: "string" } },
};
const list = operation({
  method: "get",
  path: "/orgs/{org}/projects",
  summary: "List projects",
  tag: TAG,
  query: pageQuery,
  success: { status: 200, description: "The projects", schema: listOf(projectView) },
  auth: "read",
});
const create = operation({
  method: "post",
  path: "/orgs/{org}/projects",
  summary: "Create a project",
  tag: TAG,
  body: projectCreate,
  success: { status: 201, description: "Created", schema: projectView },
  auth: "admin",
});
const read = operation({
  method: "get",
  path: "/orgs/{org}/projects/{id}",
  summary: "Read a project (by id or slug)",
  tag: TAG,
  success: { status: 200, description: "The project", schema: projectView },
  auth: "read",
});
const update = operation({
  method: "patch",
  path: "/orgs/{org}/projects/{id}",
  summary: "Update a project",
  tag: TAG,
  body: projectUpdate,
  success: { status: 200, description: "Updated", schema: projectView },
  auth: "admin",
});
const remove = operation({
  method: "delete",
  path: "/orgs/{org}/projects/{id}",
  summary: "Delete a project and its bindings",
  tag: TAG,
  success: { status: 204, description: "Deleted" },
  auth: "admin",
});

/**
 * Project routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function projectRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(list.route, async (c) => {
    const org = params(c).org;
    await deps.store.getOrg(org);
    return c.json({ items: await deps.store.listProjects(org, readQuery(c, list)) });
  });
  app.post(create.route, async (c) => {
    const body = await readBody<ProjectInput>(c, create);
    return c.json(await deps.store.createProject(params(c).org, body), 201);
  });
  app.get(read.route, async (c) => {
    const project = await deps.store.getProject(params(c).org, params(c).id);
    return c.json(project);
  });
  app.patch(update.route, async (c) => {
    const body = await readBody<Partial<ProjectInput>>(c, update);
    return c.json(await deps.store.updateProject(params(c).org, params(c).id, body));
  });
  app.delete(remove.route, async (c) => {
    await deps.store.deleteProject(params(c).org, params(c).id);
    return c.body(null, 204);
  });
  return app;
}
