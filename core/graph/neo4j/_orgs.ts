/**
 * Organizations, project types and projects in the Neo4j store. Each
 * function runs inside a transaction the store opened. Private to
 * `core/graph/neo4j/`.
 *
 * @module
 */

import neo4j from "neo4j-driver";
import { alreadyExists, assertOrgEmpty, assertProjectTypeUnused, idTaken, type OrgHoldings } from "../messages.ts";
import { type ProjectRow, slugAndName, toProject } from "../rows.ts";
import { paging } from "../rules.ts";
import type { CreateOptions, Organization, Page, Project, ProjectInput, ProjectType, WriteOptions } from "../store.ts";
import { recordChange } from "./_changes.ts";
import { one, run, type Tx } from "./_db.ts";
import * as find from "./_lookups.ts";
import { Q } from "./queries.ts";

const NO_LIMIT = 2 ** 31 - 1;

/** Cypher's SKIP and LIMIT of a page, as integers. */
export function skipLimit(page: Page | undefined): { limit: unknown; offset: unknown } {
  const { limit, offset } = paging(page);
  return { limit: neo4j.int(Math.min(limit ?? NO_LIMIT, NO_LIMIT)), offset: neo4j.int(offset) };
}

/** Organizations by slug. */
export async function listOrgs(tx: Tx, page: Page | undefined): Promise<Organization[]> {
  return (await run(tx, Q.listOrgs, skipLimit(page))).records.map((r) => slugAndName(r.toObject() as Organization));
}

/** Creates an organization; 409 for a taken slug. */
export async function createOrg(tx: Tx, input: Organization, options?: CreateOptions): Promise<Organization> {
  const value = slugAndName(input);
  if (await find.findOrg(tx, value.slug)) throw alreadyExists("org", value);
  await run(tx, Q.createOrg, { org: value.slug, name: value.name });
  await recordChange(tx, options, { kind: "org", verb: "create", ref: value, from: null, to: value });
  return value;
}

/** Renames an organization, holding its lock. */
export async function updateOrg(
  tx: Tx,
  slug: string,
  patch: Partial<Omit<Organization, "slug">>,
  options: WriteOptions = {},
): Promise<Organization> {
  const current = await find.org(tx, slug, { lock: true, ...options });
  const row = await one(tx, Q.updateOrg, { org: slug, name: patch.name ?? current.name });
  const next = slugAndName(row!.toObject() as Organization);
  await recordChange(tx, options, { kind: "org", verb: "update", ref: next, from: current, to: next });
  return next;
}

/** Deletes an empty organization, holding its lock. */
export async function deleteOrg(tx: Tx, slug: string, options: WriteOptions = {}): Promise<void> {
  const current = await find.org(tx, slug, { lock: true, ...options });
  assertOrgEmpty(slug, (await one(tx, Q.orgHoldings, { org: slug }))!.toObject() as OrgHoldings);
  await run(tx, Q.deleteOrg, { org: slug });
  await recordChange(tx, options, { kind: "org", verb: "delete", ref: current, from: current, to: null });
}

/** Project types of an org, by slug. */
export async function listProjectTypes(tx: Tx, org: string, page: Page | undefined): Promise<ProjectType[]> {
  await find.org(tx, org);
  return (await run(tx, Q.listProjectTypes, { org, ...skipLimit(page) })).records.map((r) =>
    slugAndName(r.toObject() as ProjectType)
  );
}

/** Creates a project type; 409 for a slug taken in the org. */
export async function createProjectType(
  tx: Tx,
  org: string,
  input: ProjectType,
  options?: CreateOptions,
): Promise<ProjectType> {
  const value = slugAndName(input);
  await find.org(tx, org);
  if (await find.findProjectType(tx, { org, slug: value.slug })) {
    throw alreadyExists("project_type", { org, slug: value.slug });
  }
  await run(tx, Q.createProjectType, { org, slug: value.slug, name: value.name });
  const ref = { org, slug: value.slug };
  await recordChange(tx, options, { kind: "project_type", verb: "create", ref, from: null, to: value });
  return value;
}

/** Renames a project type, holding its lock. */
export async function updateProjectType(
  tx: Tx,
  ref: { org: string; slug: string },
  patch: Partial<Omit<ProjectType, "slug">>,
  options: WriteOptions = {},
): Promise<ProjectType> {
  const current = await find.projectType(tx, ref, { lock: true, ...options });
  const row = await one(tx, Q.updateProjectType, { ...ref, name: patch.name ?? current.name });
  const next = slugAndName(row!.toObject() as ProjectType);
  await recordChange(tx, options, { kind: "project_type", verb: "update", ref, from: current, to: next });
  return next;
}

/** Deletes a project type no project has, with its bindings, holding its lock. */
export async function deleteProjectType(
  tx: Tx,
  ref: { org: string; slug: string },
  options: WriteOptions = {},
): Promise<void> {
  const current = await find.projectType(tx, ref, { lock: true, ...options });
  assertProjectTypeUnused(
    ref.slug,
    (await run(tx, Q.projectsOfType, ref)).records.map((r) => r.get("slug") as string),
  );
  await run(tx, Q.deleteProjectType, ref);
  await recordChange(tx, options, { kind: "project_type", verb: "delete", ref, from: current, to: null });
}

/** Projects of an org, by slug. */
export async function listProjects(tx: Tx, org: string, page: Page | undefined): Promise<Project[]> {
  await find.org(tx, org);
  return (await run(tx, Q.listProjects, { org, ...skipLimit(page) })).records.map((r) =>
    toProject(r.get("project") as ProjectRow)
  );
}

/** Creates a project with its project types. */
export async function createProject(
  tx: Tx,
  org: string,
  input: ProjectInput,
  options?: CreateOptions,
): Promise<Project> {
  const id = input.id ?? crypto.randomUUID();
  await find.org(tx, org);
  if (await one(tx, Q.projectIdTaken, { id })) throw idTaken("project", id);
  if (await one(tx, Q.projectSlugTaken, { org, slug: input.slug })) {
    throw alreadyExists("project", { org, slug: input.slug });
  }
  const types = await find.projectTypesExist(tx, org, input.project_types);
  await run(tx, Q.createProject, { org, id, slug: input.slug, name: input.name, types });
  const created = { id, slug: input.slug, name: input.name, project_types: types };
  await recordChange(tx, options, {
    kind: "project",
    verb: "create",
    ref: { org, slug: created.slug },
    from: null,
    to: created,
  });
  return created;
}

/** Patches name, slug and the set of project types, holding the project's lock. */
export async function updateProject(
  tx: Tx,
  ref: { org: string; slug: string },
  patch: Partial<Omit<ProjectInput, "id">>,
  options: WriteOptions = {},
): Promise<Project> {
  const { org } = ref;
  const current = await find.project(tx, ref, { lock: true, ...options });
  const slug = patch.slug ?? current.slug;
  if (slug !== current.slug && await one(tx, Q.projectSlugTaken, { org, slug })) {
    throw alreadyExists("project", { org, slug });
  }
  await run(tx, Q.updateProject, { org, id: current.id, slug, name: patch.name ?? current.name });
  if (patch.project_types !== undefined) {
    const types = await find.projectTypesExist(tx, org, patch.project_types);
    await run(tx, Q.setProjectTypes, { org, id: current.id, types });
  }
  const next = toProject((await one(tx, Q.projectById, { org, id: current.id }))!.get("project"));
  const where = { org, slug: current.slug };
  await recordChange(tx, options, { kind: "project", verb: "update", ref: where, from: current, to: next });
  return next;
}

/** Deletes a project with its bindings, holding its lock. */
export async function deleteProject(
  tx: Tx,
  ref: { org: string; slug: string },
  options: WriteOptions = {},
): Promise<void> {
  const p = await find.project(tx, ref, { lock: true, ...options });
  await run(tx, Q.deleteProject, { org: ref.org, id: p.id });
  const where = { org: ref.org, slug: p.slug };
  await recordChange(tx, options, { kind: "project", verb: "delete", ref: where, from: p, to: null });
}
