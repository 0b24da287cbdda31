/**
 * The embedded graph store (spec section 9): the graph of spec section 6 in
 * one SQLite file through Deno's built-in `node:sqlite`.
 *
 * The connection runs in WAL mode with foreign keys on and a busy timeout.
 * Every write runs in one `BEGIN IMMEDIATE` transaction, so a multi-step
 * write (replacing bindings, a delete that drops dependants, `importAll`)
 * either happens whole or not at all. Reads that take several queries run in
 * one read transaction, so they see one snapshot. All SQL is constant text
 * with bound parameters.
 *
 * @example
 * ```ts
 * const store = SqliteStore.open("data/graph.db");
 * await store.createOrg({ slug: "acme", name: "Acme" });
 * await store.close();
 * ```
 *
 * @module
 */

import { checkBindings } from "../rules.ts";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { PluginType } from "@imbi/plugin-sdk/types";
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from "../../errors.ts";
import type {
  Binding,
  BindingOrigin,
  BindingScope,
  EffectiveBinding,
  GraphDump,
  GraphStore,
  Organization,
  Page,
  PluginNode,
  PluginNodeInput,
  PluginNodeRef,
  Project,
  ProjectInput,
  ProjectType,
  Resolution,
  ResolveQuery,
  ServiceApplication,
  ThirdPartyService,
} from "../store.ts";
import { mergeEdges, type RawEdge, selectBinding } from "../resolution.ts";
import { mapSqliteError } from "./errors.ts";
import { migrate } from "./schema.ts";

/** Options of {@linkcode SqliteStore.open}. */
export interface SqliteStoreOptions {
  /**
   * How long a write waits for another connection's lock before it fails
   * with `UnavailableError`, in milliseconds. Default 5000.
   */
  busyTimeoutMs?: number;
}

const PLUGIN_TYPES: ReadonlySet<string> = new Set<PluginType>(["configuration", "logs"]);

interface OrgRow {
  id: number;
  slug: string;
  name: string;
}
interface ProjectRow {
  rid: number;
  id: string;
  slug: string;
  name: string;
  project_types: string;
}
interface KeyedRow {
  id: number;
  slug: string;
}
interface ServiceRow {
  id: number;
  slug: string;
  name: string;
  vendor: string | null;
  base_url: string | null;
  account: string | null;
  region: string | null;
}
interface ApplicationRow {
  id: number;
  slug: string;
  name: string;
  credentials: string;
}
interface PluginRow {
  rid: number;
  id: string;
  slug: string;
  service: string;
  application: string | null;
  plugin: string;
  plugin_type: string;
  label: string;
  options: string;
  enabled: number;
}
interface BindingRow {
  plugin_id: string;
  tab: string;
  is_default: number;
  search_template: string;
  identity_plugin_id: string | null;
}
interface EdgeRow extends BindingRow, Omit<PluginRow, "id"> {
  origin_slug: string | null;
}

/** A scope resolved to its table column and row key. */
interface ScopeKey {
  column: "project_type_id" | "project_rid";
  key: number;
  /** For messages: `project type "web"` or `project "billing"`. */
  label: string;
}

const PROJECT_COLUMNS = `p.rid AS rid, p.id AS id, p.slug AS slug, p.name AS name,
  (SELECT json_group_array(pt.slug ORDER BY pt.slug) FROM project_project_types ppt
     JOIN project_types pt ON pt.id = ppt.project_type_id WHERE ppt.project_rid = p.rid) AS project_types`;

const PLUGIN_FROM = `plugins pl JOIN services s ON s.id = pl.service_id
  LEFT JOIN applications a ON a.id = pl.application_id`;
const PLUGIN_COLUMNS = `pl.rid AS rid, pl.id AS id, pl.slug AS slug, s.slug AS service, a.slug AS application,
  pl.plugin AS plugin, pl.plugin_type AS plugin_type, pl.label AS label, pl.options AS options, pl.enabled AS enabled`;

const BINDING_COLUMNS = `pl.id AS plugin_id, b.tab AS tab, b.is_default AS is_default,
  b.search_template AS search_template, ip.id AS identity_plugin_id`;

const EDGE_COLUMNS = `b.tab AS tab, b.is_default AS is_default, b.search_template AS search_template,
  ip.id AS identity_plugin_id, pl.id AS plugin_id, pl.rid AS rid, pl.slug AS slug, s.slug AS service,
  a.slug AS application, pl.plugin AS plugin, pl.plugin_type AS plugin_type, pl.label AS label,
  pl.options AS options, pl.enabled AS enabled`;
const EDGE_JOINS = `JOIN plugins pl ON pl.rid = b.plugin_rid JOIN services s ON s.id = pl.service_id
  LEFT JOIN applications a ON a.id = pl.application_id LEFT JOIN plugins ip ON ip.rid = b.identity_plugin_rid`;

/** Edges of a project and its project types for one tab (`?2`). */
const EDGES_FOR_TAB = `
  SELECT NULL AS origin_slug, ${EDGE_COLUMNS} FROM bindings b ${EDGE_JOINS}
   WHERE b.project_rid = ?1 AND b.tab = ?2
  UNION ALL
  SELECT pt.slug AS origin_slug, ${EDGE_COLUMNS} FROM project_project_types ppt
    JOIN project_types pt ON pt.id = ppt.project_type_id
    JOIN bindings b ON b.project_type_id = ppt.project_type_id AND b.tab = ?2 ${EDGE_JOINS}
   WHERE ppt.project_rid = ?1`;
/** Edges of a project and its project types for every tab. */
const EDGES_ALL_TABS = `
  SELECT NULL AS origin_slug, ${EDGE_COLUMNS} FROM bindings b ${EDGE_JOINS}
   WHERE b.project_rid = ?1
  UNION ALL
  SELECT pt.slug AS origin_slug, ${EDGE_COLUMNS} FROM project_project_types ppt
    JOIN project_types pt ON pt.id = ppt.project_type_id
    JOIN bindings b ON b.project_type_id = ppt.project_type_id ${EDGE_JOINS}
   WHERE ppt.project_rid = ?1`;

/**
 * {@linkcode GraphStore} on an embedded SQLite file.
 *
 * Choices where the interface leaves room:
 * - `replaceBindings` reports a `plugin_id` (or `identity_plugin_id`) that
 *   names no Plugin node of the scope's org as a 422 `ValidationError` with
 *   the pointer `/bindings/<i>/plugin_id`, beside the other binding rules, so
 *   one response lists every bad field; an unknown org, project type or
 *   project is a `NotFoundError`. Bindings are kept, and returned, in the
 *   order they were given.
 * - A Plugin node referenced by a binding, as `plugin_id` or as
 *   `identity_plugin_id`, cannot be deleted (409).
 * - `updateApplication` with `credentials` replaces the whole map.
 * - `importAll` accepts a store that already holds other orgs; an org of the
 *   dump that exists already, or any other rule break, refuses the whole
 *   dump and writes nothing.
 * - Lists are ordered by slug (byte order); `findPluginNodes` by org, service
 *   and slug.
 */
export class SqliteStore implements GraphStore {
  /** Always `"sqlite"`. */
  readonly kind = "sqlite";
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) the database at `path` and brings its schema
   * up to date.
   *
   * @param path A file path, or `":memory:"` for a private in-memory graph.
   * @param options Busy timeout.
   * @returns The open store.
   * @throws {UnavailableError} When the file cannot be opened or is locked.
   * @throws {RangeError} For a bad option or a schema newer than this build.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: busyTimeoutMs });
      db.exec("PRAGMA foreign_keys = ON");
      if (path !== ":memory:" && path !== "") db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db);
      return new SqliteStore(db);
    } catch (error) {
      if (db?.isOpen) db.close();
      throw mapSqliteError(error);
    }
  }

  // ---------------------------------------------------------------- plumbing

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#statement(sql).get(...params) as T | undefined;
  }

  #all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#statement(sql).all(...params) as T[];
  }

  #run(sql: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    const result = this.#statement(sql).run(...params);
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  #ensureOpen(): void {
    if (!this.#db.isOpen) throw new UnavailableError("The graph store is closed");
  }

  /** Runs reads in one snapshot (a deferred transaction). */
  #read<T>(body: () => T): Promise<T> {
    return this.#transaction("BEGIN", body);
  }

  /** Runs a write in one `BEGIN IMMEDIATE` transaction. */
  #write<T>(body: () => T): Promise<T> {
    return this.#transaction("BEGIN IMMEDIATE", body);
  }

  /**
   * Runs `body` synchronously inside a transaction. `node:sqlite` is
   * synchronous, so no other call of this store interleaves with it; other
   * connections are kept out by SQLite's locks.
   */
  #transaction<T>(begin: "BEGIN" | "BEGIN IMMEDIATE", body: () => T): Promise<T> {
    try {
      this.#ensureOpen();
      this.#db.exec(begin);
      try {
        const result = body();
        this.#db.exec("COMMIT");
        return Promise.resolve(result);
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      return Promise.reject(mapSqliteError(error));
    }
  }

  // ----------------------------------------------------------------- lookups

  #findOrg(slug: string): OrgRow | undefined {
    return this.#get<OrgRow>("SELECT id, slug, name FROM organizations WHERE slug = ?", slug);
  }

  #org(slug: string): OrgRow {
    const row = this.#findOrg(slug);
    if (!row) throw new NotFoundError(`Organization "${slug}" not found`);
    return row;
  }

  #findProjectType(org: OrgRow, slug: string): KeyedRow | undefined {
    return this.#get<KeyedRow>("SELECT id, slug FROM project_types WHERE org_id = ? AND slug = ?", org.id, slug);
  }

  #projectType(org: OrgRow, slug: string): KeyedRow {
    const row = this.#findProjectType(org, slug);
    if (!row) throw new NotFoundError(`Project type "${slug}" not found in organization "${org.slug}"`);
    return row;
  }

  #findProject(org: OrgRow, idOrSlug: string): ProjectRow | undefined {
    return this.#get<ProjectRow>(
      `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.id = ? AND p.org_id = ?`,
      idOrSlug,
      org.id,
    ) ??
      this.#get<ProjectRow>(
        `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.org_id = ? AND p.slug = ?`,
        org.id,
        idOrSlug,
      );
  }

  #project(org: OrgRow, idOrSlug: string): ProjectRow {
    const row = this.#findProject(org, idOrSlug);
    if (!row) throw new NotFoundError(`Project "${idOrSlug}" not found in organization "${org.slug}"`);
    return row;
  }

  #findService(org: OrgRow, slug: string): ServiceRow | undefined {
    return this.#get<ServiceRow>(
      "SELECT id, slug, name, vendor, base_url, account, region FROM services WHERE org_id = ? AND slug = ?",
      org.id,
      slug,
    );
  }

  #service(org: OrgRow, slug: string): ServiceRow {
    const row = this.#findService(org, slug);
    if (!row) throw new NotFoundError(`Service "${slug}" not found in organization "${org.slug}"`);
    return row;
  }

  #findApplication(service: ServiceRow, slug: string): ApplicationRow | undefined {
    return this.#get<ApplicationRow>(
      "SELECT id, slug, name, credentials FROM applications WHERE service_id = ? AND slug = ?",
      service.id,
      slug,
    );
  }

  #application(service: ServiceRow, slug: string): ApplicationRow {
    const row = this.#findApplication(service, slug);
    if (!row) throw new NotFoundError(`Application "${slug}" not found in service "${service.slug}"`);
    return row;
  }

  #findPlugin(service: ServiceRow, idOrSlug: string): PluginRow | undefined {
    return this.#get<PluginRow>(
      `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.id = ? AND pl.service_id = ?`,
      idOrSlug,
      service.id,
    ) ?? this.#get<PluginRow>(
      `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.service_id = ? AND pl.slug = ?`,
      service.id,
      idOrSlug,
    );
  }

  #plugin(service: ServiceRow, idOrSlug: string): PluginRow {
    const row = this.#findPlugin(service, idOrSlug);
    if (!row) throw new NotFoundError(`Plugin "${idOrSlug}" not found in service "${service.slug}"`);
    return row;
  }

  #scope(scope: BindingScope): { org: OrgRow; scope: ScopeKey } {
    const org = this.#org(scope.org);
    if (scope.kind === "project_type") {
      const pt = this.#projectType(org, scope.slug);
      return { org, scope: { column: "project_type_id", key: pt.id, label: `project type "${pt.slug}"` } };
    }
    const project = this.#project(org, scope.id);
    return { org, scope: { column: "project_rid", key: project.rid, label: `project "${project.slug}"` } };
  }

  #readBindings(scope: ScopeKey): Binding[] {
    const sql = scope.column === "project_rid"
      ? `SELECT ${BINDING_COLUMNS} FROM bindings b JOIN plugins pl ON pl.rid = b.plugin_rid
           LEFT JOIN plugins ip ON ip.rid = b.identity_plugin_rid WHERE b.project_rid = ? ORDER BY b.position`
      : `SELECT ${BINDING_COLUMNS} FROM bindings b JOIN plugins pl ON pl.rid = b.plugin_rid
           LEFT JOIN plugins ip ON ip.rid = b.identity_plugin_rid WHERE b.project_type_id = ? ORDER BY b.position`;
    return this.#all<BindingRow>(sql, scope.key).map(toBinding);
  }

  // ------------------------------------------------------------ write steps

  #insertOrg(org: Organization): Organization {
    const value = { slug: org.slug, name: org.name };
    if (this.#findOrg(value.slug)) throw new ConflictError(`Organization "${value.slug}" already exists`);
    this.#run("INSERT INTO organizations (slug, name) VALUES (?, ?)", value.slug, value.name);
    return value;
  }

  #insertProjectType(org: OrgRow, pt: ProjectType): ProjectType {
    const value = { slug: pt.slug, name: pt.name };
    if (this.#findProjectType(org, value.slug)) {
      throw new ConflictError(`Project type "${value.slug}" already exists in organization "${org.slug}"`);
    }
    this.#run("INSERT INTO project_types (org_id, slug, name) VALUES (?, ?, ?)", org.id, value.slug, value.name);
    return value;
  }

  #insertProject(org: OrgRow, input: ProjectInput): { project: Project; rid: number } {
    const id = input.id ?? crypto.randomUUID();
    if (this.#get("SELECT 1 FROM projects WHERE id = ?", id)) {
      throw new ConflictError(`Project id "${id}" is already taken`);
    }
    if (this.#get("SELECT 1 FROM projects WHERE org_id = ? AND slug = ?", org.id, input.slug)) {
      throw new ConflictError(`Project "${input.slug}" already exists in organization "${org.slug}"`);
    }
    const types = this.#projectTypes(org, input.project_types ?? []);
    const { lastInsertRowid: rid } = this.#run(
      "INSERT INTO projects (id, org_id, slug, name) VALUES (?, ?, ?, ?)",
      id,
      org.id,
      input.slug,
      input.name,
    );
    this.#linkProjectTypes(rid, types);
    return {
      project: { id, slug: input.slug, name: input.name, project_types: types.map((t) => t.slug) },
      rid,
    };
  }

  /** Resolves project-type slugs, deduplicated and sorted; 404 for an unknown one. */
  #projectTypes(org: OrgRow, slugs: string[]): KeyedRow[] {
    const unique = [...new Set(slugs)].sort(compareText);
    return unique.map((slug) => this.#projectType(org, slug));
  }

  #linkProjectTypes(projectRid: number, types: KeyedRow[]): void {
    this.#run("DELETE FROM project_project_types WHERE project_rid = ?", projectRid);
    for (const type of types) {
      this.#run("INSERT INTO project_project_types (project_rid, project_type_id) VALUES (?, ?)", projectRid, type.id);
    }
  }

  #insertService(org: OrgRow, svc: ThirdPartyService): ThirdPartyService {
    const value = normaliseService(svc);
    if (this.#findService(org, value.slug)) {
      throw new ConflictError(`Service "${value.slug}" already exists in organization "${org.slug}"`);
    }
    this.#run(
      "INSERT INTO services (org_id, slug, name, vendor, base_url, account, region) VALUES (?, ?, ?, ?, ?, ?, ?)",
      org.id,
      value.slug,
      value.name,
      value.vendor,
      value.base_url,
      value.account,
      value.region,
    );
    return value;
  }

  #insertApplication(service: ServiceRow, app: ServiceApplication): ServiceApplication {
    const value = { slug: app.slug, name: app.name, credentials: { ...(app.credentials ?? {}) } };
    if (this.#findApplication(service, value.slug)) {
      throw new ConflictError(`Application "${value.slug}" already exists in service "${service.slug}"`);
    }
    this.#run(
      "INSERT INTO applications (service_id, slug, name, credentials) VALUES (?, ?, ?, ?)",
      service.id,
      value.slug,
      value.name,
      JSON.stringify(value.credentials),
    );
    return value;
  }

  #insertPlugin(
    service: ServiceRow,
    input: PluginNodeInput,
    options: { defaultApplication: boolean },
  ): PluginNode {
    if (!PLUGIN_TYPES.has(input.plugin_type)) {
      throw new ValidationError(`Plugin "${input.slug}" has an unknown plugin_type`, [
        { pointer: "/plugin_type", message: `must be one of ${[...PLUGIN_TYPES].join(", ")}` },
      ]);
    }
    const id = input.id ?? crypto.randomUUID();
    if (this.#get("SELECT 1 FROM plugins WHERE id = ?", id)) {
      throw new ConflictError(`Plugin id "${id}" is already taken`);
    }
    if (this.#get("SELECT 1 FROM plugins WHERE service_id = ? AND slug = ?", service.id, input.slug)) {
      throw new ConflictError(`Plugin "${input.slug}" already exists in service "${service.slug}"`);
    }
    let application: { id: number; slug: string } | null = null;
    if (input.application !== null && input.application !== undefined) {
      application = this.#application(service, input.application);
    } else if (options.defaultApplication) {
      // USES_APPLICATION defaults to the service's only application.
      const apps = this.#all<KeyedRow>("SELECT id, slug FROM applications WHERE service_id = ? LIMIT 2", service.id);
      if (apps.length === 1) application = apps[0]!;
    }
    const node: PluginNode = {
      id,
      slug: input.slug,
      service: service.slug,
      application: application?.slug ?? null,
      plugin: input.plugin,
      plugin_type: input.plugin_type,
      label: input.label,
      options: structuredClone(input.options ?? {}),
      enabled: input.enabled ?? true,
    };
    this.#run(
      `INSERT INTO plugins (id, service_id, application_id, slug, plugin, plugin_type, label, options, enabled)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      node.id,
      service.id,
      application?.id ?? null,
      node.slug,
      node.plugin,
      node.plugin_type,
      node.label,
      JSON.stringify(node.options),
      node.enabled ? 1 : 0,
    );
    return node;
  }

  /**
   * Checks and writes the bindings of one scope. Every break is collected
   * into one `ValidationError`, pointers prefixed with `pointerPrefix`.
   */
  #writeBindings(org: OrgRow, scope: ScopeKey, bindings: Binding[], pointerPrefix: string): void {
    const lookup = (id: string) =>
      this.#get<{ rid: number; slug: string; service: string; plugin_type: string }>(
        `SELECT pl.rid AS rid, pl.slug AS slug, s.slug AS service, pl.plugin_type AS plugin_type
           FROM plugins pl JOIN services s ON s.id = pl.service_id WHERE pl.id = ? AND s.org_id = ?`,
        id,
        org.id,
      );
    const rows = checkBindings(bindings, { org: org.slug, scopeLabel: scope.label, lookup, prefix: pointerPrefix })
      .map(({ binding, plugin, identity }) => ({ pluginRid: plugin.rid, identityRid: identity?.rid ?? null, binding }));
    if (scope.column === "project_rid") {
      this.#run("DELETE FROM bindings WHERE project_rid = ?", scope.key);
    } else {
      this.#run("DELETE FROM bindings WHERE project_type_id = ?", scope.key);
    }
    const insert = scope.column === "project_rid"
      ? `INSERT INTO bindings (project_rid, position, plugin_rid, tab, is_default, search_template, identity_plugin_rid)
         VALUES (?, ?, ?, ?, ?, ?, ?)`
      : `INSERT INTO bindings (project_type_id, position, plugin_rid, tab, is_default, search_template,
           identity_plugin_rid) VALUES (?, ?, ?, ?, ?, ?, ?)`;
    rows.forEach(({ pluginRid, identityRid, binding }, position) => {
      this.#run(
        insert,
        scope.key,
        position,
        pluginRid,
        binding.tab,
        binding.default ? 1 : 0,
        binding.search_template ?? "",
        identityRid,
      );
    });
  }

  /** Raw edges of a project (and its types), for one tab or all. */
  #edges(projectRid: number, tab: PluginType | null): RawEdge[] {
    const rows = tab === null
      ? this.#all<EdgeRow & { plugin_id: string }>(EDGES_ALL_TABS, projectRid)
      : this.#all<EdgeRow & { plugin_id: string }>(EDGES_FOR_TAB, projectRid, tab);
    return rows.map((row) => {
      const origin: BindingOrigin = row.origin_slug === null
        ? { kind: "project" }
        : { kind: "project_type", slug: row.origin_slug };
      return {
        ...toBinding(row),
        origin,
        plugin: toPluginNode({ ...row, id: row.plugin_id }),
      };
    });
  }

  // ---------------------------------------------------------------- the API

  /** Runs `SELECT 1`; throws `UnavailableError` when the database cannot answer. */
  ping(): Promise<void> {
    return this.#read(() => {
      this.#get("SELECT 1");
    });
  }

  /** Closes the connection; later calls fail with `UnavailableError`. Idempotent. */
  close(): Promise<void> {
    if (this.#db.isOpen) {
      this.#statements.clear();
      this.#db.close();
    }
    return Promise.resolve();
  }

  /** Organizations by slug. */
  listOrgs(page?: Page): Promise<Organization[]> {
    return this.#read(() => {
      const [limit, offset] = paging(page);
      return this.#all<OrgRow>("SELECT slug, name FROM organizations ORDER BY slug LIMIT ? OFFSET ?", limit, offset)
        .map(toOrg);
    });
  }

  /** One organization, or null. */
  getOrg(slug: string): Promise<Organization | null> {
    return this.#read(() => {
      const row = this.#findOrg(slug);
      return row ? toOrg(row) : null;
    });
  }

  /** @throws {ConflictError} When the slug is taken. */
  createOrg(org: Organization): Promise<Organization> {
    return this.#write(() => this.#insertOrg(org));
  }

  /** @throws {NotFoundError} For an unknown org. */
  updateOrg(slug: string, patch: Partial<Omit<Organization, "slug">>): Promise<Organization> {
    return this.#write(() => {
      const row = this.#org(slug);
      const name = patch.name ?? row.name;
      this.#run("UPDATE organizations SET name = ? WHERE id = ?", name, row.id);
      return { slug: row.slug, name };
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} While the org holds project types, projects or
   *   services; `extra` carries their counts.
   */
  deleteOrg(slug: string): Promise<void> {
    return this.#write(() => {
      const row = this.#org(slug);
      const counts = this.#get<{ project_types: number; projects: number; services: number }>(
        `SELECT (SELECT COUNT(*) FROM project_types WHERE org_id = ?1) AS project_types,
                (SELECT COUNT(*) FROM projects WHERE org_id = ?1) AS projects,
                (SELECT COUNT(*) FROM services WHERE org_id = ?1) AS services`,
        row.id,
      )!;
      const held = Object.entries(counts).filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what.replace("_", " ")}`);
      if (held.length > 0) {
        throw new ConflictError(`Organization "${slug}" still holds ${held.join(", ")}`, { extra: { ...counts } });
      }
      this.#run("DELETE FROM organizations WHERE id = ?", row.id);
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  listProjectTypes(org: string, page?: Page): Promise<ProjectType[]> {
    return this.#read(() => {
      const [limit, offset] = paging(page);
      const o = this.#org(org);
      return this.#all<ProjectType>(
        "SELECT slug, name FROM project_types WHERE org_id = ? ORDER BY slug LIMIT ? OFFSET ?",
        o.id,
        limit,
        offset,
      ).map((r) => ({ slug: r.slug, name: r.name }));
    });
  }

  /** One project type, or null (also for an unknown org). */
  getProjectType(org: string, slug: string): Promise<ProjectType | null> {
    return this.#read(() => {
      const o = this.#findOrg(org);
      const row = o && this.#get<ProjectType>(
        "SELECT slug, name FROM project_types WHERE org_id = ? AND slug = ?",
        o.id,
        slug,
      );
      return row ? { slug: row.slug, name: row.name } : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  createProjectType(org: string, pt: ProjectType): Promise<ProjectType> {
    return this.#write(() => this.#insertProjectType(this.#org(org), pt));
  }

  /** @throws {NotFoundError} For an unknown org or project type. */
  updateProjectType(
    org: string,
    slug: string,
    patch: Partial<Omit<ProjectType, "slug">>,
  ): Promise<ProjectType> {
    return this.#write(() => {
      const o = this.#org(org);
      const row = this.#projectType(o, slug);
      const current = this.#get<ProjectType>("SELECT slug, name FROM project_types WHERE id = ?", row.id)!;
      const name = patch.name ?? current.name;
      this.#run("UPDATE project_types SET name = ? WHERE id = ?", name, row.id);
      return { slug: row.slug, name };
    });
  }

  /**
   * Deletes a project type and its bindings.
   *
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} While projects have the type; `extra.projects`
   *   lists their slugs.
   */
  deleteProjectType(org: string, slug: string): Promise<void> {
    return this.#write(() => {
      const o = this.#org(org);
      const row = this.#projectType(o, slug);
      const projects = this.#all<{ slug: string }>(
        `SELECT p.slug AS slug FROM project_project_types ppt JOIN projects p ON p.rid = ppt.project_rid
          WHERE ppt.project_type_id = ? ORDER BY p.slug`,
        row.id,
      ).map((r) => r.slug);
      if (projects.length > 0) {
        throw new ConflictError(
          `Project type "${slug}" is used by project ${quoteList(projects)}`,
          { extra: { projects } },
        );
      }
      this.#run("DELETE FROM bindings WHERE project_type_id = ?", row.id);
      this.#run("DELETE FROM project_types WHERE id = ?", row.id);
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  listProjects(org: string, page?: Page): Promise<Project[]> {
    return this.#read(() => {
      const [limit, offset] = paging(page);
      const o = this.#org(org);
      return this.#all<ProjectRow>(
        `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.org_id = ? ORDER BY p.slug LIMIT ? OFFSET ?`,
        o.id,
        limit,
        offset,
      ).map(toProject);
    });
  }

  /** By id, else by slug; null when absent (also for an unknown org). */
  getProject(org: string, idOrSlug: string): Promise<Project | null> {
    return this.#read(() => {
      const o = this.#findOrg(org);
      const row = o && this.#findProject(o, idOrSlug);
      return row ? toProject(row) : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} For a slug taken in the org or an id taken anywhere.
   */
  createProject(org: string, input: ProjectInput): Promise<Project> {
    return this.#write(() => this.#insertProject(this.#org(org), input).project);
  }

  /**
   * Patches name, slug and the set of project types.
   *
   * @throws {NotFoundError} For an unknown org, project or project type.
   * @throws {ConflictError} When the new slug is taken.
   */
  updateProject(
    org: string,
    idOrSlug: string,
    patch: Partial<Omit<ProjectInput, "id">>,
  ): Promise<Project> {
    return this.#write(() => {
      const o = this.#org(org);
      const row = this.#project(o, idOrSlug);
      const slug = patch.slug ?? row.slug;
      const name = patch.name ?? row.name;
      if (slug !== row.slug && this.#get("SELECT 1 FROM projects WHERE org_id = ? AND slug = ?", o.id, slug)) {
        throw new ConflictError(`Project "${slug}" already exists in organization "${o.slug}"`);
      }
      this.#run("UPDATE projects SET slug = ?, name = ? WHERE rid = ?", slug, name, row.rid);
      if (patch.project_types !== undefined) {
        this.#linkProjectTypes(row.rid, this.#projectTypes(o, patch.project_types));
      }
      return toProject(this.#get<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.rid = ?`, row.rid)!);
    });
  }

  /**
   * Deletes a project with its bindings.
   *
   * @throws {NotFoundError} For an unknown org or project.
   */
  deleteProject(org: string, idOrSlug: string): Promise<void> {
    return this.#write(() => {
      const row = this.#project(this.#org(org), idOrSlug);
      this.#run("DELETE FROM bindings WHERE project_rid = ?", row.rid);
      this.#run("DELETE FROM project_project_types WHERE project_rid = ?", row.rid);
      this.#run("DELETE FROM projects WHERE rid = ?", row.rid);
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  listServices(org: string, page?: Page): Promise<ThirdPartyService[]> {
    return this.#read(() => {
      const [limit, offset] = paging(page);
      const o = this.#org(org);
      return this.#all<ServiceRow>(
        `SELECT id, slug, name, vendor, base_url, account, region FROM services WHERE org_id = ?
          ORDER BY slug LIMIT ? OFFSET ?`,
        o.id,
        limit,
        offset,
      ).map(toService);
    });
  }

  /** One service, or null (also for an unknown org). */
  getService(org: string, slug: string): Promise<ThirdPartyService | null> {
    return this.#read(() => {
      const o = this.#findOrg(org);
      const row = o && this.#findService(o, slug);
      return row ? toService(row) : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  createService(org: string, svc: ThirdPartyService): Promise<ThirdPartyService> {
    return this.#write(() => this.#insertService(this.#org(org), svc));
  }

  /**
   * Patches a service; `null` clears an optional field.
   *
   * @throws {NotFoundError} For an unknown org or service.
   */
  updateService(
    org: string,
    slug: string,
    patch: Partial<Omit<ThirdPartyService, "slug">>,
  ): Promise<ThirdPartyService> {
    return this.#write(() => {
      const row = this.#service(this.#org(org), slug);
      const next: ThirdPartyService = {
        slug: row.slug,
        name: patch.name ?? row.name,
        vendor: patch.vendor === undefined ? row.vendor : patch.vendor,
        base_url: patch.base_url === undefined ? row.base_url : patch.base_url,
        account: patch.account === undefined ? row.account : patch.account,
        region: patch.region === undefined ? row.region : patch.region,
      };
      this.#run(
        "UPDATE services SET name = ?, vendor = ?, base_url = ?, account = ?, region = ? WHERE id = ?",
        next.name,
        next.vendor,
        next.base_url,
        next.account,
        next.region,
        row.id,
      );
      return next;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} While it has applications or Plugin nodes;
   *   `extra` lists their slugs.
   */
  deleteService(org: string, slug: string): Promise<void> {
    return this.#write(() => {
      const row = this.#service(this.#org(org), slug);
      const applications = this.#all<{ slug: string }>(
        "SELECT slug FROM applications WHERE service_id = ? ORDER BY slug",
        row.id,
      ).map((r) => r.slug);
      const plugins = this.#all<{ slug: string }>("SELECT slug FROM plugins WHERE service_id = ? ORDER BY slug", row.id)
        .map((r) => r.slug);
      if (applications.length > 0 || plugins.length > 0) {
        const parts = [
          applications.length > 0 ? `application ${quoteList(applications)}` : "",
          plugins.length > 0 ? `Plugin ${quoteList(plugins)}` : "",
        ].filter(Boolean);
        throw new ConflictError(`Service "${slug}" still has ${parts.join(" and ")}`, {
          extra: { applications, plugins },
        });
      }
      this.#run("DELETE FROM services WHERE id = ?", row.id);
    });
  }

  /** @throws {NotFoundError} For an unknown org or service. */
  listApplications(org: string, service: string): Promise<ServiceApplication[]> {
    return this.#read(() => {
      const svc = this.#service(this.#org(org), service);
      return this.#all<ApplicationRow>(
        "SELECT id, slug, name, credentials FROM applications WHERE service_id = ? ORDER BY slug",
        svc.id,
      ).map(toApplication);
    });
  }

  /** One application with ciphertext credentials, or null (also for an unknown org or service). */
  getApplication(org: string, service: string, slug: string): Promise<ServiceApplication | null> {
    return this.#read(() => {
      const o = this.#findOrg(org);
      const svc = o && this.#findService(o, service);
      const row = svc && this.#findApplication(svc, slug);
      return row ? toApplication(row) : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} When the slug is taken in the service.
   */
  createApplication(org: string, service: string, app: ServiceApplication): Promise<ServiceApplication> {
    return this.#write(() => this.#insertApplication(this.#service(this.#org(org), service), app));
  }

  /**
   * Patches name and credentials; `credentials` replaces the whole map.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   */
  updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: Partial<Omit<ServiceApplication, "slug">>,
  ): Promise<ServiceApplication> {
    return this.#write(() => {
      const row = this.#application(this.#service(this.#org(org), service), slug);
      const current = toApplication(row);
      const next: ServiceApplication = {
        slug: row.slug,
        name: patch.name ?? current.name,
        credentials: patch.credentials === undefined ? current.credentials : { ...patch.credentials },
      };
      this.#run(
        "UPDATE applications SET name = ?, credentials = ? WHERE id = ?",
        next.name,
        JSON.stringify(next.credentials),
        row.id,
      );
      return next;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ConflictError} While a Plugin node uses it; `extra.plugins`
   *   lists their slugs.
   */
  deleteApplication(org: string, service: string, slug: string): Promise<void> {
    return this.#write(() => {
      const row = this.#application(this.#service(this.#org(org), service), slug);
      const plugins = this.#all<{ slug: string }>(
        "SELECT slug FROM plugins WHERE application_id = ? ORDER BY slug",
        row.id,
      ).map((r) => r.slug);
      if (plugins.length > 0) {
        throw new ConflictError(`Application "${slug}" is used by Plugin ${quoteList(plugins)}`, {
          extra: { plugins },
        });
      }
      this.#run("DELETE FROM applications WHERE id = ?", row.id);
    });
  }

  /** @throws {NotFoundError} For an unknown org or service. */
  listPlugins(org: string, service: string): Promise<PluginNode[]> {
    return this.#read(() => {
      const svc = this.#service(this.#org(org), service);
      return this.#all<PluginRow>(
        `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.service_id = ? ORDER BY pl.slug`,
        svc.id,
      ).map(toPluginNode);
    });
  }

  /** By id, else by slug in the service; null when absent (also for an unknown org or service). */
  getPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode | null> {
    return this.#read(() => {
      const o = this.#findOrg(org);
      const svc = o && this.#findService(o, service);
      const row = svc && this.#findPlugin(svc, idOrSlug);
      return row ? toPluginNode(row) : null;
    });
  }

  /**
   * Creates a Plugin node. With `application: null` (or absent) it uses the
   * service's only application when the service has exactly one, else none.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ConflictError} For a slug taken in the service or an id taken anywhere.
   * @throws {ValidationError} For an unknown `plugin_type` (pointer `/plugin_type`).
   */
  createPlugin(org: string, service: string, input: PluginNodeInput): Promise<PluginNode> {
    return this.#write(() =>
      this.#insertPlugin(this.#service(this.#org(org), service), input, { defaultApplication: true })
    );
  }

  /**
   * Patches slug, application (`null` unlinks), label, options and enabled.
   *
   * @throws {NotFoundError} For an unknown org, service, Plugin node or application.
   * @throws {ConflictError} When the new slug is taken in the service.
   */
  updatePlugin(
    org: string,
    service: string,
    idOrSlug: string,
    patch: Partial<Omit<PluginNode, "id" | "service" | "plugin" | "plugin_type">>,
  ): Promise<PluginNode> {
    return this.#write(() => {
      const svc = this.#service(this.#org(org), service);
      const row = this.#plugin(svc, idOrSlug);
      const slug = patch.slug ?? row.slug;
      if (slug !== row.slug && this.#get("SELECT 1 FROM plugins WHERE service_id = ? AND slug = ?", svc.id, slug)) {
        throw new ConflictError(`Plugin "${slug}" already exists in service "${svc.slug}"`);
      }
      let applicationId = this.#get<{ application_id: number | null }>(
        "SELECT application_id FROM plugins WHERE rid = ?",
        row.rid,
      )!.application_id;
      if (patch.application === null) applicationId = null;
      else if (patch.application !== undefined) applicationId = this.#application(svc, patch.application).id;
      const current = toPluginNode(row);
      this.#run(
        "UPDATE plugins SET slug = ?, label = ?, options = ?, enabled = ?, application_id = ? WHERE rid = ?",
        slug,
        patch.label ?? current.label,
        JSON.stringify(patch.options ?? current.options),
        (patch.enabled ?? current.enabled) ? 1 : 0,
        applicationId,
        row.rid,
      );
      return toPluginNode(
        this.#get<PluginRow>(`SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.rid = ?`, row.rid)!,
      );
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   * @throws {ConflictError} While a binding points at it (as `plugin_id` or
   *   `identity_plugin_id`); `extra.scopes` lists the binding scopes.
   */
  deletePlugin(org: string, service: string, idOrSlug: string): Promise<void> {
    return this.#write(() => {
      const o = this.#org(org);
      const svc = this.#service(o, service);
      const row = this.#plugin(svc, idOrSlug);
      const users = this.#all<{ kind: "project_type" | "project"; key: string; slug: string }>(
        `SELECT DISTINCT 'project_type' AS kind, pt.slug AS key, pt.slug AS slug FROM bindings b
           JOIN project_types pt ON pt.id = b.project_type_id WHERE b.plugin_rid = ?1 OR b.identity_plugin_rid = ?1
         UNION
         SELECT DISTINCT 'project' AS kind, p.id AS key, p.slug AS slug FROM bindings b
           JOIN projects p ON p.rid = b.project_rid WHERE b.plugin_rid = ?1 OR b.identity_plugin_rid = ?1
         ORDER BY 1 DESC, 3`,
        row.rid,
      );
      if (users.length > 0) {
        const scopes: BindingScope[] = users.map((u) =>
          u.kind === "project_type"
            ? { kind: "project_type", org: o.slug, slug: u.key }
            : { kind: "project", org: o.slug, id: u.key }
        );
        const names = users.map((u) => `${u.kind.replace("_", " ")} "${u.slug}"`);
        throw new ConflictError(
          `Plugin "${svc.slug}/${row.slug}" is bound by ${names.slice(0, 10).join(", ")}` +
            (names.length > 10 ? ` and ${names.length - 10} more` : ""),
          { extra: { scopes } },
        );
      }
      this.#run("DELETE FROM plugins WHERE rid = ?", row.rid);
    });
  }

  /** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
  findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]> {
    return this.#read(() =>
      this.#all<PluginNodeRef>(
        `SELECT o.slug AS org, s.slug AS service, pl.id AS id, pl.slug AS slug, pl.plugin AS plugin
           FROM plugins pl JOIN services s ON s.id = pl.service_id JOIN organizations o ON o.id = s.org_id
          WHERE pl.plugin IN (SELECT value FROM json_each(?))
          ORDER BY o.slug, s.slug, pl.slug`,
        JSON.stringify(manifestSlugs),
      ).map((r) => ({ org: r.org, service: r.service, id: r.id, slug: r.slug, plugin: r.plugin }))
    );
  }

  /** Sets `enabled = false` on the listed Plugin nodes; unknown ids are ignored. */
  disablePluginNodes(ids: string[]): Promise<void> {
    return this.#write(() => {
      this.#run("UPDATE plugins SET enabled = 0 WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
    });
  }

  /**
   * The bindings of a scope in the order they were written. A project scope's
   * `id` may also be the project's slug.
   *
   * @throws {NotFoundError} For an unknown org, project type or project.
   */
  getBindings(scope: BindingScope): Promise<Binding[]> {
    return this.#read(() => this.#readBindings(this.#scope(scope).scope));
  }

  /**
   * Replaces all bindings of a scope in one transaction; on any error the old
   * bindings stay exactly as they were.
   *
   * Rules, each a 422 `ValidationError` listing every break with its pointer:
   * `plugin_id` names no Plugin node of the scope's org
   * (`/bindings/<i>/plugin_id`; a 422 rather than the 404 the interface
   * mentions, so one answer lists every bad field), the same Plugin node twice
   * (`/bindings/<i>/plugin_id` on the later one), `tab` differs from the
   * Plugin's `plugin_type` (`/bindings/<i>/tab`), a second default for a tab
   * (`/bindings/<i>/default` on the later one), an `identity_plugin_id` that
   * names no Plugin node of the org (`/bindings/<i>/identity_plugin_id`).
   *
   * @returns The stored bindings, in the given order.
   * @throws {NotFoundError} For an unknown org, project type or project.
   * @throws {ValidationError} When a rule above is broken.
   */
  replaceBindings(scope: BindingScope, bindings: Binding[]): Promise<Binding[]> {
    return this.#write(() => {
      const { org, scope: key } = this.#scope(scope);
      this.#writeBindings(org, key, bindings, "");
      return this.#readBindings(key);
    });
  }

  /** Merged bindings of a project for every tab (project edges win); null for an unknown org or project. */
  effectiveBindings(org: string, project: string): Promise<EffectiveBinding[] | null> {
    return this.#read(() => {
      const o = this.#findOrg(org);
      const row = o && this.#findProject(o, project);
      return row ? mergeEdges(this.#edges(row.rid, null)) : null;
    });
  }

  /**
   * Spec section 6 steps 1 to 5 in one snapshot: the project (by id, else
   * slug), its and its project types' edges for the tab with their Plugin
   * nodes, `mergeEdges` and `selectBinding`, then the selected node's service
   * and application (ciphertext credentials).
   */
  resolveTab(query: ResolveQuery): Promise<Resolution> {
    return this.#read((): Resolution => {
      const org = this.#findOrg(query.org);
      const project = org && this.#findProject(org, query.project);
      if (!org || !project) return { kind: "project_not_found" };
      const merged = mergeEdges(this.#edges(project.rid, query.tab));
      const selection = selectBinding(merged, { source: query.source, loaded: query.loaded });
      if (selection.kind !== "selected") return selection;
      const target = this.#get<
        ServiceRow & { a_slug: string | null; a_name: string | null; a_credentials: string | null }
      >(
        `SELECT s.id AS id, s.slug AS slug, s.name AS name, s.vendor AS vendor, s.base_url AS base_url,
                s.account AS account, s.region AS region,
                a.slug AS a_slug, a.name AS a_name, a.credentials AS a_credentials
           FROM plugins pl JOIN services s ON s.id = pl.service_id
           LEFT JOIN applications a ON a.id = pl.application_id
          WHERE pl.id = ?`,
        selection.binding.plugin.id,
      )!;
      return {
        kind: "selected",
        reason: selection.reason,
        target: {
          org: toOrg(org),
          project: toProject(project),
          binding: selection.binding,
          service: toService(target),
          application: target.a_slug === null ? null : toApplication({
            id: 0,
            slug: target.a_slug,
            name: target.a_name!,
            credentials: target.a_credentials!,
          }),
        },
      };
    });
  }

  /** The whole graph, every list ordered by slug and bindings in written order. */
  exportAll(): Promise<GraphDump> {
    return this.#read((): GraphDump => {
      const orgs = this.#all<OrgRow>("SELECT id, slug, name FROM organizations ORDER BY slug");
      return { organizations: orgs.map((org) => this.#exportOrg(org)) };
    });
  }

  #exportOrg(org: OrgRow): GraphDump["organizations"][number] {
    const projectBindings = new Map<number, Binding[]>();
    for (
      const row of this.#all<BindingRow & { owner: number }>(
        `SELECT b.project_rid AS owner, ${BINDING_COLUMNS} FROM bindings b JOIN projects p ON p.rid = b.project_rid
           JOIN plugins pl ON pl.rid = b.plugin_rid LEFT JOIN plugins ip ON ip.rid = b.identity_plugin_rid
          WHERE p.org_id = ? ORDER BY b.project_rid, b.position`,
        org.id,
      )
    ) push(projectBindings, row.owner, toBinding(row));
    const typeBindings = new Map<string, Binding[]>();
    for (
      const row of this.#all<BindingRow & { owner: string }>(
        `SELECT pt.slug AS owner, ${BINDING_COLUMNS} FROM bindings b JOIN project_types pt ON pt.id = b.project_type_id
           JOIN plugins pl ON pl.rid = b.plugin_rid LEFT JOIN plugins ip ON ip.rid = b.identity_plugin_rid
          WHERE pt.org_id = ? ORDER BY pt.slug, b.position`,
        org.id,
      )
    ) push(typeBindings, row.owner, toBinding(row));
    const services = this.#all<ServiceRow>(
      "SELECT id, slug, name, vendor, base_url, account, region FROM services WHERE org_id = ? ORDER BY slug",
      org.id,
    );
    return {
      slug: org.slug,
      name: org.name,
      project_types: this.#all<ProjectType>(
        "SELECT slug, name FROM project_types WHERE org_id = ? ORDER BY slug",
        org.id,
      ).map((r) => ({ slug: r.slug, name: r.name })),
      projects: this.#all<ProjectRow>(
        `SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.org_id = ? ORDER BY p.slug`,
        org.id,
      ).map((row) => ({ ...toProject(row), bindings: projectBindings.get(row.rid) ?? [] })),
      services: services.map((svc) => ({
        ...toService(svc),
        applications: this.#all<ApplicationRow>(
          "SELECT id, slug, name, credentials FROM applications WHERE service_id = ? ORDER BY slug",
          svc.id,
        ).map(toApplication),
        plugins: this.#all<PluginRow>(
          `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.service_id = ? ORDER BY pl.slug`,
          svc.id,
        ).map(toPluginNode),
      })),
      project_type_bindings: [...typeBindings].map(([project_type, bindings]) => ({ project_type, bindings })),
    };
  }

  /**
   * Loads a dump in one transaction. The store may hold other orgs; nothing
   * is written when any rule breaks.
   *
   * @throws {ConflictError} When an org of the dump exists, or a project or
   *   Plugin id is taken.
   * @throws {NotFoundError} For a reference to a missing project type or application.
   * @throws {ValidationError} For a binding rule break, with pointers into the
   *   dump (`/organizations/<o>/projects/<p>/bindings/<i>/...`).
   */
  importAll(dump: GraphDump): Promise<void> {
    return this.#write(() => {
      dump.organizations.forEach((orgDump, o) => {
        this.#insertOrg(orgDump);
        const org = this.#org(orgDump.slug);
        for (const pt of orgDump.project_types) this.#insertProjectType(org, pt);
        for (const svcDump of orgDump.services) {
          this.#insertService(org, svcDump);
          const svc = this.#service(org, svcDump.slug);
          for (const app of svcDump.applications) this.#insertApplication(svc, app);
          for (const plugin of svcDump.plugins) this.#insertPlugin(svc, plugin, { defaultApplication: false });
        }
        orgDump.projects.forEach((projectDump, p) => {
          const { rid } = this.#insertProject(org, projectDump);
          this.#writeBindings(
            org,
            { column: "project_rid", key: rid, label: `project "${projectDump.slug}"` },
            projectDump.bindings,
            `/organizations/${o}/projects/${p}`,
          );
        });
        orgDump.project_type_bindings.forEach((entry, k) => {
          const pt = this.#projectType(org, entry.project_type);
          this.#writeBindings(
            org,
            { column: "project_type_id", key: pt.id, label: `project type "${pt.slug}"` },
            entry.bindings,
            `/organizations/${o}/project_type_bindings/${k}`,
          );
        });
      });
    });
  }
}

// ------------------------------------------------------------------ helpers

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function paging(page: Page | undefined): [number, number] {
  const limit = page?.limit ?? -1;
  const offset = page?.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < -1) throw new RangeError(`page limit must be >= 0, got ${limit}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`page offset must be >= 0, got ${offset}`);
  return [limit, offset];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function quoteList(names: string[], max = 10): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function toOrg(row: { slug: string; name: string }): Organization {
  return { slug: row.slug, name: row.name };
}

function toProject(row: ProjectRow): Project {
  return { id: row.id, slug: row.slug, name: row.name, project_types: JSON.parse(row.project_types) as string[] };
}

function normaliseService(svc: ThirdPartyService): ThirdPartyService {
  return {
    slug: svc.slug,
    name: svc.name,
    vendor: svc.vendor ?? null,
    base_url: svc.base_url ?? null,
    account: svc.account ?? null,
    region: svc.region ?? null,
  };
}

function toService(row: ServiceRow): ThirdPartyService {
  return normaliseService(row);
}

function toApplication(row: ApplicationRow): ServiceApplication {
  return { slug: row.slug, name: row.name, credentials: JSON.parse(row.credentials) as Record<string, string> };
}

function toPluginNode(row: PluginRow): PluginNode {
  return {
    id: row.id,
    slug: row.slug,
    service: row.service,
    application: row.application,
    plugin: row.plugin,
    plugin_type: row.plugin_type as PluginType,
    label: row.label,
    options: JSON.parse(row.options) as Record<string, unknown>,
    enabled: row.enabled === 1,
  };
}

function toBinding(row: BindingRow): Binding {
  return {
    plugin_id: row.plugin_id,
    tab: row.tab as PluginType,
    default: row.is_default === 1,
    search_template: row.search_template,
    identity_plugin_id: row.identity_plugin_id,
  };
}
