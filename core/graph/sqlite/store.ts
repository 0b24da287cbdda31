/**
 * The embedded graph store (spec section 9): the graph of spec section 6 in
 * one SQLite file through Deno's built-in `node:sqlite`.
 *
 * The connection runs in WAL mode with foreign keys on and a busy timeout.
 * Every write runs in one `BEGIN IMMEDIATE` transaction, so a multi-step
 * write (replacing bindings, a delete that drops dependants, `importAll`)
 * either happens whole or not at all. Reads that take several queries run in
 * one read transaction, so they see one snapshot. All SQL is constant text
 * with bound parameters. The parts live beside this file by resource
 * (`_orgs.ts`, `_services.ts`, `_bindings.ts`, `_dump.ts`); the rules and
 * messages are the graph's (`../rules.ts`, `../messages.ts`).
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

import { DatabaseSync } from "node:sqlite";
import { slugAndName, toApplication, toPluginNode, toProject } from "../rows.ts";
import { toService } from "../rules.ts";
import type {
  ApplicationPatch,
  ApplicationWriteOptions,
  Binding,
  BindingScope,
  CreateOptions,
  EffectiveBinding,
  GraphDump,
  GraphStore,
  Organization,
  Page,
  PluginNode,
  PluginNodeInput,
  PluginNodePatch,
  PluginNodeRef,
  PluginWriteOptions,
  Project,
  ProjectInput,
  ProjectType,
  Resolution,
  ResolveQuery,
  ServiceApplication,
  ThirdPartyService,
  WriteOptions,
} from "../store.ts";
import { insertAudit } from "./_audit.ts";
import type { AuditInput } from "../audit_store.ts";
import type { ControlStore } from "../control.ts";
import * as bindings from "./_bindings.ts";
import { sqliteControl } from "./_control.ts";
import { SqliteDb } from "./_db.ts";
import * as dump from "./_dump.ts";
import * as lookups from "./_lookups.ts";
import * as orgs from "./_orgs.ts";
import * as services from "./_services.ts";
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
  /** The lock state, audit log and replica heartbeats (`_control.ts`). */
  readonly control: ControlStore;
  #db: SqliteDb;

  private constructor(db: SqliteDb) {
    this.#db = db;
    this.control = sqliteControl(db);
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
      return new SqliteStore(new SqliteDb(db));
    } catch (error) {
      if (db?.isOpen) db.close();
      throw mapSqliteError(error);
    }
  }

  /** Runs `SELECT 1`; throws `UnavailableError` when the database cannot answer. */
  ping(): Promise<void> {
    return this.#db.read(() => {
      this.#db.get("SELECT 1");
    });
  }

  /** Closes the connection; later calls fail with `UnavailableError`. Idempotent. */
  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  /** Organizations by slug. */
  listOrgs(page?: Page): Promise<Organization[]> {
    return this.#db.read(() => orgs.listOrgs(this.#db, page));
  }

  /** One organization; `NotFoundError` for an unknown org. */
  getOrg(slug: string): Promise<Organization> {
    return this.#db.read(() => slugAndName(lookups.org(this.#db, slug)));
  }

  /** One organization, or null. */
  findOrg(slug: string): Promise<Organization | null> {
    return this.#db.read(() => {
      const row = lookups.findOrg(this.#db, slug);
      return row ? slugAndName(row) : null;
    });
  }

  /** Creates an organization; `ConflictError` when the slug is taken. */
  createOrg(org: Organization, options?: CreateOptions): Promise<Organization> {
    return this.#db.write(() => orgs.insertOrg(this.#db, org, options));
  }

  /** Renames an organization; `NotFoundError` for an unknown org. */
  updateOrg(slug: string, patch: Partial<Omit<Organization, "slug">>, options?: WriteOptions): Promise<Organization> {
    return this.#db.write(() => orgs.updateOrg(this.#db, slug, patch, options));
  }

  /**
   * Deletes an empty organization.
   *
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} While the org holds project types, projects or
   *   services; `extra` carries their counts.
   */
  deleteOrg(slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write(() => orgs.deleteOrg(this.#db, slug, options));
  }

  /** Project types of an org, by slug; `NotFoundError` for an unknown org. */
  listProjectTypes(org: string, page?: Page): Promise<ProjectType[]> {
    return this.#db.read(() => orgs.listProjectTypes(this.#db, org, page));
  }

  /** One project type; `NotFoundError` for an unknown org or project type. */
  getProjectType(org: string, slug: string): Promise<ProjectType> {
    return this.#db.read(() => slugAndName(lookups.projectType(this.#db, lookups.org(this.#db, org), slug)));
  }

  /** One project type, or null (also for an unknown org). */
  findProjectType(org: string, slug: string): Promise<ProjectType | null> {
    return this.#db.read(() => {
      const o = lookups.findOrg(this.#db, org);
      const row = o && lookups.findProjectType(this.#db, o, slug);
      return row ? slugAndName(row) : null;
    });
  }

  /**
   * Creates a project type.
   *
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  createProjectType(org: string, pt: ProjectType, options?: CreateOptions): Promise<ProjectType> {
    return this.#db.write(() => orgs.insertProjectType(this.#db, lookups.org(this.#db, org), pt, options));
  }

  /** Renames a project type; `NotFoundError` for an unknown org or project type. */
  updateProjectType(
    org: string,
    slug: string,
    patch: Partial<Omit<ProjectType, "slug">>,
    options?: WriteOptions,
  ): Promise<ProjectType> {
    return this.#db.write(() => orgs.updateProjectType(this.#db, { org, slug }, patch, options));
  }

  /**
   * Deletes a project type and its bindings.
   *
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} While projects have the type; `extra.projects`
   *   lists their slugs.
   */
  deleteProjectType(org: string, slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write(() => orgs.deleteProjectType(this.#db, { org, slug }, options));
  }

  /** Projects of an org, by slug; `NotFoundError` for an unknown org. */
  listProjects(org: string, page?: Page): Promise<Project[]> {
    return this.#db.read(() => orgs.listProjects(this.#db, org, page));
  }

  /** One project, by id, else by slug; `NotFoundError` for an unknown org or project. */
  getProject(org: string, idOrSlug: string): Promise<Project> {
    return this.#db.read(() => toProject(lookups.project(this.#db, lookups.org(this.#db, org), idOrSlug)));
  }

  /** By id, else by slug; null when absent (also for an unknown org). */
  findProject(org: string, idOrSlug: string): Promise<Project | null> {
    return this.#db.read(() => {
      const o = lookups.findOrg(this.#db, org);
      const row = o && lookups.findProject(this.#db, o, idOrSlug);
      return row ? toProject(row) : null;
    });
  }

  /**
   * Creates a project with its project types.
   *
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} For a slug taken in the org or an id taken anywhere.
   */
  createProject(org: string, input: ProjectInput, options?: CreateOptions): Promise<Project> {
    return this.#db.write(() => orgs.insertProject(this.#db, lookups.org(this.#db, org), input, options).project);
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
    options?: WriteOptions,
  ): Promise<Project> {
    return this.#db.write(() => orgs.updateProject(this.#db, { org, slug: idOrSlug }, patch, options));
  }

  /** Deletes a project with its bindings; `NotFoundError` for an unknown org or project. */
  deleteProject(org: string, idOrSlug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write(() => orgs.deleteProject(this.#db, { org, slug: idOrSlug }, options));
  }

  /** Services of an org, by slug; `NotFoundError` for an unknown org. */
  listServices(org: string, page?: Page): Promise<ThirdPartyService[]> {
    return this.#db.read(() => services.listServices(this.#db, org, page));
  }

  /** One service; `NotFoundError` for an unknown org or service. */
  getService(org: string, slug: string): Promise<ThirdPartyService> {
    return this.#db.read(() => toService(services.serviceOf(this.#db, { org, service: slug })));
  }

  /** One service, or null (also for an unknown org). */
  findService(org: string, slug: string): Promise<ThirdPartyService | null> {
    return this.#db.read(() => {
      const o = lookups.findOrg(this.#db, org);
      const row = o && lookups.findService(this.#db, o, slug);
      return row ? toService(row) : null;
    });
  }

  /**
   * Creates a service.
   *
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  createService(org: string, svc: ThirdPartyService, options?: CreateOptions): Promise<ThirdPartyService> {
    return this.#db.write(() => services.insertService(this.#db, lookups.org(this.#db, org), svc, options));
  }

  /** Patches a service; `null` clears an optional field; `NotFoundError` for an unknown org or service. */
  updateService(
    org: string,
    slug: string,
    patch: Partial<Omit<ThirdPartyService, "slug">>,
    options?: WriteOptions,
  ): Promise<ThirdPartyService> {
    return this.#db.write(() => services.updateService(this.#db, { org, service: slug }, patch, options));
  }

  /**
   * Deletes a service.
   *
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} While it has applications or Plugin nodes;
   *   `extra` lists their slugs.
   */
  deleteService(org: string, slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write(() => services.deleteService(this.#db, { org, service: slug }, options));
  }

  /** Applications of a service, by slug, with ciphertext credentials; `NotFoundError` for an unknown org or service. */
  listApplications(org: string, service: string): Promise<ServiceApplication[]> {
    return this.#db.read(() => services.listApplications(this.#db, { org, service }));
  }

  /** One application with ciphertext credentials; `NotFoundError` for an unknown org, service or application. */
  getApplication(org: string, service: string, slug: string): Promise<ServiceApplication> {
    return this.#db.read(() =>
      toApplication(lookups.application(this.#db, services.serviceOf(this.#db, { org, service }), slug))
    );
  }

  /** One application with ciphertext credentials, or null (also for an unknown org or service). */
  findApplication(org: string, service: string, slug: string): Promise<ServiceApplication | null> {
    return this.#db.read(() => {
      const o = lookups.findOrg(this.#db, org);
      const svc = o && lookups.findService(this.#db, o, service);
      const row = svc && lookups.findApplication(this.#db, svc, slug);
      return row ? toApplication(row) : null;
    });
  }

  /**
   * Creates an application (its credentials are ciphertext already).
   *
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} When the slug is taken in the service.
   */
  createApplication(
    org: string,
    service: string,
    app: ServiceApplication,
    options?: CreateOptions,
  ): Promise<ServiceApplication> {
    return this.#db.write(() =>
      services.insertApplication(
        this.#db,
        { org, service: services.serviceOf(this.#db, { org, service }) },
        app,
        options,
      )
    );
  }

  /**
   * Patches name and credentials in one transaction: `credentials` replaces
   * the whole map, `credential_changes` merges into the stored one.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {PreconditionFailedError} When `ifMatch` does not hold.
   */
  updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: ApplicationPatch,
    options?: ApplicationWriteOptions,
  ): Promise<ServiceApplication> {
    return this.#db.write(() => services.updateApplication(this.#db, { org, service, slug }, patch, options));
  }

  /**
   * Deletes an application.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ConflictError} While a Plugin node uses it; `extra.plugins`
   *   lists their slugs.
   */
  deleteApplication(org: string, service: string, slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write(() => services.deleteApplication(this.#db, { org, service, slug }, options));
  }

  /** Plugin nodes of a service, by slug; `NotFoundError` for an unknown org or service. */
  listPlugins(org: string, service: string): Promise<PluginNode[]> {
    return this.#db.read(() => services.listPlugins(this.#db, { org, service }));
  }

  /**
   * One Plugin node, by id, else by slug in the service.
   *
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   */
  getPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode> {
    return this.#db.read(() =>
      toPluginNode(lookups.plugin(this.#db, services.serviceOf(this.#db, { org, service }), idOrSlug))
    );
  }

  /** By id, else by slug in the service; null when absent (also for an unknown org or service). */
  findPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode | null> {
    return this.#db.read(() => {
      const o = lookups.findOrg(this.#db, org);
      const svc = o && lookups.findService(this.#db, o, service);
      const row = svc && lookups.findPlugin(this.#db, svc, idOrSlug);
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
  createPlugin(
    org: string,
    service: string,
    input: PluginNodeInput,
    options: Pick<PluginWriteOptions, "check" | "audit"> = {},
  ): Promise<PluginNode> {
    return this.#db.write(() =>
      services.insertPlugin(this.#db, { org, service: services.serviceOf(this.#db, { org, service }) }, input, {
        defaultApplication: true,
        ...options,
      })
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
    patch: PluginNodePatch,
    options?: PluginWriteOptions,
  ): Promise<PluginNode> {
    return this.#db.write(() => services.updatePlugin(this.#db, { org, service, slug: idOrSlug }, patch, options));
  }

  /**
   * Deletes a Plugin node.
   *
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   * @throws {ConflictError} While a binding points at it (as `plugin_id` or
   *   `identity_plugin_id`); `extra.scopes` lists the binding scopes.
   */
  deletePlugin(org: string, service: string, idOrSlug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write(() => services.deletePlugin(this.#db, { org, service, slug: idOrSlug }, options));
  }

  /** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
  findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]> {
    return this.#db.read(() => services.findPluginNodes(this.#db, manifestSlugs));
  }

  /** Sets `enabled = false` on the listed Plugin nodes; unknown ids are ignored. */
  disablePluginNodes(ids: string[]): Promise<void> {
    return this.#db.write(() => {
      this.#db.run("UPDATE plugins SET enabled = 0 WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
    });
  }

  /**
   * The bindings of a scope in the order they were written. A project scope's
   * `id` may also be the project's slug.
   *
   * @throws {NotFoundError} For an unknown org, project type or project.
   */
  getBindings(scope: BindingScope): Promise<Binding[]> {
    return this.#db.read(() => bindings.readBindings(this.#db, lookups.scope(this.#db, scope).scope));
  }

  /**
   * Replaces all bindings of a scope in one transaction; on any error the old
   * bindings stay exactly as they were.
   *
   * Rules, each a 422 `ValidationError` listing every break with its pointer
   * (see `checkBindings` in `core/graph/rules.ts`): `plugin_id` names no
   * Plugin node of the scope's org (`/bindings/<i>/plugin_id`; a 422 rather
   * than a 404, so one answer lists every bad field), the same Plugin node
   * twice, `tab` differs from the Plugin's `plugin_type`, a second default
   * for a tab, an `identity_plugin_id` that names no Plugin node of the org.
   *
   * @returns The stored bindings, in the given order.
   * @throws {NotFoundError} For an unknown org, project type or project.
   * @throws {ValidationError} When a rule above is broken.
   */
  replaceBindings(scope: BindingScope, list: Binding[], options: WriteOptions = {}): Promise<Binding[]> {
    return this.#db.write(() => bindings.replaceBindings(this.#db, scope, list, options));
  }

  /** Merged bindings of a project for every tab (project edges win); `NotFoundError` for an unknown org or project. */
  effectiveBindings(org: string, project: string): Promise<EffectiveBinding[]> {
    return this.#db.read(() => bindings.effectiveBindings(this.#db, { org, project }));
  }

  /**
   * Spec section 6 steps 1 to 5 in one snapshot: the project (by id, else
   * slug), its and its project types' edges for the tab with their Plugin
   * nodes, `mergeEdges` and `selectBinding`, then the selected node's service
   * and application (ciphertext credentials).
   */
  resolveTab(query: ResolveQuery): Promise<Resolution> {
    return this.#db.read(() => bindings.resolveTab(this.#db, query));
  }

  /**
   * `PRAGMA data_version` (it changes when another connection, in this process or another, commits) and the count
   * of this connection's own write statements: the same token means the same graph.
   */
  revision(): string {
    return this.#db.revision();
  }

  /** The whole graph, every list ordered by slug and bindings in written order. */
  exportAll(): Promise<GraphDump> {
    return this.#db.read(() => dump.exportAll(this.#db));
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
  importAll(graph: GraphDump, options: { audit?: AuditInput } = {}): Promise<void> {
    return this.#db.write(() => {
      dump.importAll(this.#db, graph);
      if (options.audit) insertAudit(this.#db, options.audit);
    });
  }
}
