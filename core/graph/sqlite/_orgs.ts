/**
 * Organizations, project types and projects in the SQLite store. Each
 * function runs inside a transaction the store opened. Private to
 * `core/graph/sqlite/`.
 *
 * @module
 */

import { alreadyExists, assertOrgEmpty, assertProjectTypeUnused, idTaken, type OrgHoldings } from "../messages.ts";
import { paging, projectTypeSlugs } from "../rules.ts";
import { slugAndName, toProject } from "../rows.ts";
import type { CreateOptions, Organization, Page, Project, ProjectInput, ProjectType, WriteOptions } from "../store.ts";
import { recordChange } from "./_changes.ts";
import type { SqliteDb } from "./_db.ts";
import {
  findOrg,
  findProjectType,
  type KeyedRow,
  org,
  type OrgRow,
  project,
  PROJECT_COLUMNS,
  type ProjectRow,
  projectType,
} from "./_lookups.ts";

/** SQLite's LIMIT and OFFSET of a page (`-1` is no limit). */
export function limitOffset(page: Page | undefined): [number, number] {
  const { limit, offset } = paging(page);
  return [limit ?? -1, offset];
}

/** Organizations by slug. */
export function listOrgs(db: SqliteDb, page: Page | undefined): Organization[] {
  return db.all<OrgRow>("SELECT slug, name FROM organizations ORDER BY slug LIMIT ? OFFSET ?", ...limitOffset(page))
    .map(slugAndName);
}

/** Creates an organization; 409 for a taken slug. */
export function insertOrg(db: SqliteDb, input: Organization, options?: CreateOptions): Organization {
  const value = slugAndName(input);
  if (findOrg(db, value.slug)) throw alreadyExists("org", value);
  db.run("INSERT INTO organizations (slug, name) VALUES (?, ?)", value.slug, value.name);
  recordChange(db, options, { kind: "org", verb: "create", ref: value, from: null, to: value });
  return value;
}

/** Renames an organization. */
export function updateOrg(
  db: SqliteDb,
  slug: string,
  patch: Partial<Omit<Organization, "slug">>,
  options: WriteOptions = {},
): Organization {
  const row = org(db, slug, options);
  const next = { slug: row.slug, name: patch.name ?? row.name };
  db.run("UPDATE organizations SET name = ? WHERE id = ?", next.name, row.id);
  recordChange(db, options, { kind: "org", verb: "update", ref: next, from: slugAndName(row), to: next });
  return next;
}

/** Deletes an empty organization. */
export function deleteOrg(db: SqliteDb, slug: string, options: WriteOptions = {}): void {
  const row = org(db, slug, options);
  assertOrgEmpty(
    slug,
    db.get<OrgHoldings>(
      `SELECT (SELECT COUNT(*) FROM project_types WHERE org_id = ?1) AS project_types,
              (SELECT COUNT(*) FROM projects WHERE org_id = ?1) AS projects,
              (SELECT COUNT(*) FROM services WHERE org_id = ?1) AS services`,
      row.id,
    )!,
  );
  db.run("DELETE FROM organizations WHERE id = ?", row.id);
  recordChange(db, options, { kind: "org", verb: "delete", ref: row, from: slugAndName(row), to: null });
}

/** Project types of an org, by slug. */
export function listProjectTypes(db: SqliteDb, slug: string, page: Page | undefined): ProjectType[] {
  const [limit, offset] = limitOffset(page);
  return db.all<ProjectType>(
    "SELECT slug, name FROM project_types WHERE org_id = ? ORDER BY slug LIMIT ? OFFSET ?",
    org(db, slug).id,
    limit,
    offset,
  ).map(slugAndName);
}

/** Creates a project type; 409 for a slug taken in the org. */
export function insertProjectType(db: SqliteDb, o: OrgRow, input: ProjectType, options?: CreateOptions): ProjectType {
  const value = slugAndName(input);
  if (findProjectType(db, o, value.slug)) throw alreadyExists("project_type", { org: o.slug, slug: value.slug });
  db.run("INSERT INTO project_types (org_id, slug, name) VALUES (?, ?, ?)", o.id, value.slug, value.name);
  const ref = { org: o.slug, slug: value.slug };
  recordChange(db, options, { kind: "project_type", verb: "create", ref, from: null, to: value });
  return value;
}

/** Renames a project type. */
export function updateProjectType(
  db: SqliteDb,
  ref: { org: string; slug: string },
  patch: Partial<Omit<ProjectType, "slug">>,
  options: WriteOptions = {},
): ProjectType {
  const row = projectType(db, org(db, ref.org), ref.slug, options);
  const next = { slug: row.slug, name: patch.name ?? row.name };
  db.run("UPDATE project_types SET name = ? WHERE id = ?", next.name, row.id);
  recordChange(db, options, { kind: "project_type", verb: "update", ref, from: slugAndName(row), to: next });
  return next;
}

/** Deletes a project type no project has, with its bindings. */
export function deleteProjectType(db: SqliteDb, ref: { org: string; slug: string }, options: WriteOptions = {}): void {
  const row = projectType(db, org(db, ref.org), ref.slug, options);
  assertProjectTypeUnused(
    ref.slug,
    db.all<{ slug: string }>(
      `SELECT p.slug AS slug FROM project_project_types ppt JOIN projects p ON p.rid = ppt.project_rid
        WHERE ppt.project_type_id = ? ORDER BY p.slug`,
      row.id,
    ).map((r) => r.slug),
  );
  db.run("DELETE FROM bindings WHERE project_type_id = ?", row.id);
  db.run("DELETE FROM project_types WHERE id = ?", row.id);
  recordChange(db, options, { kind: "project_type", verb: "delete", ref, from: slugAndName(row), to: null });
}

/** Projects of an org, by slug. */
export function listProjects(db: SqliteDb, slug: string, page: Page | undefined): Project[] {
  const [limit, offset] = limitOffset(page);
  return db.all<ProjectRow>(
    `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.org_id = ? ORDER BY p.slug LIMIT ? OFFSET ?`,
    org(db, slug).id,
    limit,
    offset,
  ).map(toProject);
}

/** Creates a project with its project types; returns it with its row key. */
export function insertProject(
  db: SqliteDb,
  o: OrgRow,
  input: ProjectInput,
  options?: CreateOptions,
): { project: Project; rid: number } {
  const id = input.id ?? crypto.randomUUID();
  if (db.get("SELECT 1 FROM projects WHERE id = ?", id)) throw idTaken("project", id);
  if (db.get("SELECT 1 FROM projects WHERE org_id = ? AND slug = ?", o.id, input.slug)) {
    throw alreadyExists("project", { org: o.slug, slug: input.slug });
  }
  const types = projectTypeRows(db, o, input.project_types);
  const { lastInsertRowid: rid } = db.run(
    "INSERT INTO projects (id, org_id, slug, name) VALUES (?, ?, ?, ?)",
    id,
    o.id,
    input.slug,
    input.name,
  );
  linkProjectTypes(db, rid, types);
  const created = { id, slug: input.slug, name: input.name, project_types: types.map((t) => t.slug) };
  recordChange(db, options, {
    kind: "project",
    verb: "create",
    ref: { org: o.slug, slug: created.slug },
    from: null,
    to: created,
  });
  return { project: created, rid };
}

/** Patches name, slug and the set of project types. */
export function updateProject(
  db: SqliteDb,
  ref: { org: string; slug: string },
  patch: Partial<Omit<ProjectInput, "id">>,
  options: WriteOptions = {},
): Project {
  const o = org(db, ref.org);
  const row = project(db, o, ref.slug, options);
  const slug = patch.slug ?? row.slug;
  if (slug !== row.slug && db.get("SELECT 1 FROM projects WHERE org_id = ? AND slug = ?", o.id, slug)) {
    throw alreadyExists("project", { org: o.slug, slug });
  }
  db.run("UPDATE projects SET slug = ?, name = ? WHERE rid = ?", slug, patch.name ?? row.name, row.rid);
  if (patch.project_types !== undefined) linkProjectTypes(db, row.rid, projectTypeRows(db, o, patch.project_types));
  const next = toProject(db.get<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.rid = ?`, row.rid)!);
  const where = { org: o.slug, slug: row.slug };
  recordChange(db, options, { kind: "project", verb: "update", ref: where, from: toProject(row), to: next });
  return next;
}

/** Deletes a project with its bindings. */
export function deleteProject(db: SqliteDb, ref: { org: string; slug: string }, options: WriteOptions = {}): void {
  const row = project(db, org(db, ref.org), ref.slug, options);
  db.run("DELETE FROM bindings WHERE project_rid = ?", row.rid);
  db.run("DELETE FROM project_project_types WHERE project_rid = ?", row.rid);
  db.run("DELETE FROM projects WHERE rid = ?", row.rid);
  const where = { org: ref.org, slug: row.slug };
  recordChange(db, options, { kind: "project", verb: "delete", ref: where, from: toProject(row), to: null });
}

/** Resolves project-type slugs, deduplicated and sorted; 404 for an unknown one. */
function projectTypeRows(db: SqliteDb, o: OrgRow, slugs: string[] | undefined): KeyedRow[] {
  return projectTypeSlugs(slugs).map((slug) => projectType(db, o, slug));
}

function linkProjectTypes(db: SqliteDb, projectRid: number, types: KeyedRow[]): void {
  db.run("DELETE FROM project_project_types WHERE project_rid = ?", projectRid);
  for (const type of types) {
    db.run("INSERT INTO project_project_types (project_rid, project_type_id) VALUES (?, ?)", projectRid, type.id);
  }
}
