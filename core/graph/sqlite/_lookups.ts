/**
 * Rows of the SQLite store and the lookups every write and read starts
 * from: `findX` answers undefined, `x` throws the one `NotFoundError` of
 * `core/graph/messages.ts`, and with `ifMatch` checks the row's ETag (a
 * write's compare-and-set; the store's transaction holds it to the write). Private to `core/graph/sqlite/`.
 *
 * @module
 */

import { assertIfMatch } from "../etag.ts";
import { type BindingRow, type PluginRow, slugAndName, toApplication, toPluginNode, toProject } from "../rows.ts";
import { nodeName, notFound } from "../messages.ts";
import { scopeLabel, toService } from "../rules.ts";
import type { BindingScope, ThirdPartyService, WriteOptions } from "../store.ts";
import type { SqliteDb } from "./_db.ts";

/** An `organizations` row. */
export interface OrgRow {
  /** Row key. */
  id: number;
  /** Slug. */
  slug: string;
  /** Display name. */
  name: string;
}

/** A row of a table keyed by an integer `id`. */
export interface KeyedRow {
  /** Row key. */
  id: number;
  /** Slug. */
  slug: string;
}

/** A `projects` row with its project types as JSON text. */
export interface ProjectRow {
  /** Row key. */
  rid: number;
  /** Public id. */
  id: string;
  /** Slug. */
  slug: string;
  /** Display name. */
  name: string;
  /** JSON array of project-type slugs, sorted. */
  project_types: string;
}

/** A `services` row. */
export type ServiceRow = ThirdPartyService & { id: number };

/** An `applications` row. */
export interface ApplicationRow extends KeyedRow {
  /** Display name. */
  name: string;
  /** JSON object of ciphertexts. */
  credentials: string;
}

/** A `plugins` row with its row key. */
export type PluginRowWithKey = PluginRow & { rid: number };

/** A `USES_PLUGIN` edge with its Plugin node and the project type it came from. */
export type EdgeRow = BindingRow & Omit<PluginRowWithKey, "id"> & { origin_slug: string | null };

/** A scope resolved to its table column and row key. */
export interface ScopeKey {
  /** The column of `bindings` that names the scope. */
  column: "project_type_id" | "project_rid";
  /** The scope's row key. */
  key: number;
  /** For messages: `project type "web"` or `project "billing"`. */
  label: string;
}

/** A scope found by {@linkcode scope}: its key, what it is and its slug. */
export interface FoundScope extends ScopeKey {
  /** Project type or project. */
  kind: "project_type" | "project";
  /** The project type's or project's slug. */
  slug: string;
}

/** Columns of a project row (`p`), with its project types. */
export const PROJECT_COLUMNS = `p.rid AS rid, p.id AS id, p.slug AS slug, p.name AS name,
  (SELECT json_group_array(pt.slug ORDER BY pt.slug) FROM project_project_types ppt
     JOIN project_types pt ON pt.id = ppt.project_type_id WHERE ppt.project_rid = p.rid) AS project_types`;

/** Tables of a Plugin node row (`pl`) with its service (`s`) and application (`a`). */
export const PLUGIN_FROM = `plugins pl JOIN services s ON s.id = pl.service_id
  LEFT JOIN applications a ON a.id = pl.application_id`;

/** Columns of a Plugin node row over {@linkcode PLUGIN_FROM}. */
export const PLUGIN_COLUMNS = `pl.rid AS rid, pl.id AS id, pl.slug AS slug, s.slug AS service,
  a.slug AS application, pl.plugin AS plugin, pl.plugin_type AS plugin_type, pl.label AS label,
  pl.options AS options, pl.enabled AS enabled`;

/** Columns of a service row. */
export const SERVICE_COLUMNS = "id, slug, name, vendor, base_url, account, region";

/** Columns of an application row. */
export const APPLICATION_COLUMNS = "id, slug, name, credentials";

/**
 * Finds an organization.
 *
 * @param db The connection.
 * @param slug Organization slug.
 * @returns Its row, or undefined.
 */
export function findOrg(db: SqliteDb, slug: string): OrgRow | undefined {
  return db.get<OrgRow>("SELECT id, slug, name FROM organizations WHERE slug = ?", slug);
}

/**
 * Gets an organization.
 *
 * @param db The connection.
 * @param slug Organization slug.
 * @param options The `ifMatch` of a write.
 * @returns Its row.
 * @throws {NotFoundError} When it does not exist.
 * @throws {PreconditionFailedError} When `options.ifMatch` does not hold for it.
 */
export function org(db: SqliteDb, slug: string, options: WriteOptions = {}): OrgRow {
  const row = findOrg(db, slug) ?? raise(notFound("org", { slug }));
  assertIfMatch(slugAndName(row), options, nodeName("org", { slug }));
  return row;
}

/**
 * Finds a project type.
 *
 * @param db The connection.
 * @param o The organization.
 * @param slug Project-type slug.
 * @returns Its row, or undefined.
 */
export function findProjectType(db: SqliteDb, o: OrgRow, slug: string): (KeyedRow & { name: string }) | undefined {
  return db.get("SELECT id, slug, name FROM project_types WHERE org_id = ? AND slug = ?", o.id, slug);
}

/**
 * Gets a project type.
 *
 * @param db The connection.
 * @param o The organization.
 * @param slug Project-type slug.
 * @param options The `ifMatch` of a write.
 * @returns Its row.
 * @throws {NotFoundError} When it does not exist.
 * @throws {PreconditionFailedError} When `options.ifMatch` does not hold for it.
 */
export function projectType(
  db: SqliteDb,
  o: OrgRow,
  slug: string,
  options: WriteOptions = {},
): KeyedRow & { name: string } {
  const row = findProjectType(db, o, slug) ?? raise(notFound("project_type", { org: o.slug, slug }));
  assertIfMatch(slugAndName(row), options, nodeName("project_type", { org: o.slug, slug }));
  return row;
}

/**
 * Finds a project.
 *
 * @param db The connection.
 * @param o The organization.
 * @param idOrSlug Project id, else slug.
 * @returns Its row, or undefined.
 */
export function findProject(db: SqliteDb, o: OrgRow, idOrSlug: string): ProjectRow | undefined {
  return db.get<ProjectRow>(
    `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.id = ? AND p.org_id = ?`,
    idOrSlug,
    o.id,
  ) ??
    db.get<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.org_id = ? AND p.slug = ?`, o.id, idOrSlug);
}

/**
 * Gets a project.
 *
 * @param db The connection.
 * @param o The organization.
 * @param idOrSlug Project id, else slug.
 * @param options The `ifMatch` of a write.
 * @returns Its row.
 * @throws {NotFoundError} When it does not exist.
 * @throws {PreconditionFailedError} When `options.ifMatch` does not hold for it.
 */
export function project(db: SqliteDb, o: OrgRow, idOrSlug: string, options: WriteOptions = {}): ProjectRow {
  const row = findProject(db, o, idOrSlug) ?? raise(notFound("project", { org: o.slug, slug: idOrSlug }));
  assertIfMatch(toProject(row), options, nodeName("project", { org: o.slug, slug: idOrSlug }));
  return row;
}

/**
 * Finds a service.
 *
 * @param db The connection.
 * @param o The organization.
 * @param slug Service slug.
 * @returns Its row, or undefined.
 */
export function findService(db: SqliteDb, o: OrgRow, slug: string): ServiceRow | undefined {
  return db.get<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE org_id = ? AND slug = ?`, o.id, slug);
}

/**
 * Gets a service.
 *
 * @param db The connection.
 * @param o The organization.
 * @param slug Service slug.
 * @param options The `ifMatch` of a write.
 * @returns Its row.
 * @throws {NotFoundError} When it does not exist.
 * @throws {PreconditionFailedError} When `options.ifMatch` does not hold for it.
 */
export function service(db: SqliteDb, o: OrgRow, slug: string, options: WriteOptions = {}): ServiceRow {
  const row = findService(db, o, slug) ?? raise(notFound("service", { org: o.slug, slug }));
  assertIfMatch(toService(row), options, nodeName("service", { org: o.slug, slug }));
  return row;
}

/**
 * Finds an application.
 *
 * @param db The connection.
 * @param svc The service.
 * @param slug Application slug.
 * @returns Its row, or undefined.
 */
export function findApplication(db: SqliteDb, svc: ServiceRow, slug: string): ApplicationRow | undefined {
  return db.get<ApplicationRow>(
    `SELECT ${APPLICATION_COLUMNS} FROM applications WHERE service_id = ? AND slug = ?`,
    svc.id,
    slug,
  );
}

/**
 * Gets an application.
 *
 * @param db The connection.
 * @param svc The service.
 * @param slug Application slug.
 * @param options The `ifMatch` of a write.
 * @returns Its row.
 * @throws {NotFoundError} When it does not exist.
 * @throws {PreconditionFailedError} When `options.ifMatch` does not hold for it.
 */
export function application(db: SqliteDb, svc: ServiceRow, slug: string, options: WriteOptions = {}): ApplicationRow {
  const row = findApplication(db, svc, slug) ?? raise(notFound("application", { service: svc.slug, slug }));
  assertIfMatch(toApplication(row), options, nodeName("application", { service: svc.slug, slug }));
  return row;
}

/**
 * Finds a Plugin node.
 *
 * @param db The connection.
 * @param svc The service.
 * @param idOrSlug Plugin node id, else slug.
 * @returns Its row, or undefined.
 */
export function findPlugin(db: SqliteDb, svc: ServiceRow, idOrSlug: string): PluginRowWithKey | undefined {
  const sql = `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.service_id = ?1 AND`;
  return db.get<PluginRowWithKey>(`${sql} pl.id = ?2`, svc.id, idOrSlug) ??
    db.get<PluginRowWithKey>(`${sql} pl.slug = ?2`, svc.id, idOrSlug);
}

/**
 * Gets a Plugin node.
 *
 * @param db The connection.
 * @param svc The service.
 * @param idOrSlug Plugin node id, else slug.
 * @param options The `ifMatch` of a write.
 * @returns Its row.
 * @throws {NotFoundError} When it does not exist.
 * @throws {PreconditionFailedError} When `options.ifMatch` does not hold for it.
 */
export function plugin(db: SqliteDb, svc: ServiceRow, idOrSlug: string, options: WriteOptions = {}): PluginRowWithKey {
  const row = findPlugin(db, svc, idOrSlug) ?? raise(notFound("plugin", { service: svc.slug, slug: idOrSlug }));
  assertIfMatch(toPluginNode(row), options, nodeName("plugin", { service: svc.slug, slug: idOrSlug }));
  return row;
}

/**
 * Finds a binding scope.
 *
 * @param db The connection.
 * @param scope Project type or project (by id or slug).
 * @returns The org and the scope's key.
 * @throws {NotFoundError} For an unknown org, project type or project.
 */
export function scope(db: SqliteDb, scope: BindingScope): { org: OrgRow; scope: FoundScope } {
  const o = org(db, scope.org);
  if (scope.kind === "project_type") {
    const pt = projectType(db, o, scope.slug);
    const label = scopeLabel("project_type", pt.slug);
    return { org: o, scope: { kind: "project_type", slug: pt.slug, column: "project_type_id", key: pt.id, label } };
  }
  const p = project(db, o, scope.id);
  const label = scopeLabel("project", p.slug);
  return { org: o, scope: { kind: "project", slug: p.slug, column: "project_rid", key: p.rid, label } };
}

function raise(error: Error): never {
  throw error;
}
