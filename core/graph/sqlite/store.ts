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
import type { GraphStore } from "../store.ts";
import { defineGraphMethods, type GraphMethods, type GraphOps, nullWhenAbsent } from "../store_methods.ts";
import type { ControlStore } from "../control.ts";
import { insertAudit } from "./_audit.ts";
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

/** The `get…` operations; each `find…` is its `get…` with null for an absent node. */
const GETS = {
  getOrg: (db: SqliteDb, slug: string) => slugAndName(lookups.org(db, slug)),
  getProjectType: (db: SqliteDb, org: string, slug: string) =>
    slugAndName(lookups.projectType(db, lookups.org(db, org), slug)),
  getProject: (db: SqliteDb, org: string, idOrSlug: string) =>
    toProject(lookups.project(db, lookups.org(db, org), idOrSlug)),
  getService: (db: SqliteDb, org: string, slug: string) => toService(services.serviceOf(db, { org, service: slug })),
  getApplication: (db: SqliteDb, org: string, service: string, slug: string) =>
    toApplication(lookups.application(db, services.serviceOf(db, { org, service }), slug)),
  getPlugin: (db: SqliteDb, org: string, service: string, idOrSlug: string) =>
    toPluginNode(lookups.plugin(db, services.serviceOf(db, { org, service }), idOrSlug)),
} satisfies Partial<GraphOps<SqliteDb>>;

/** The operation of each graph method, inside the transaction the store opened; lists are ordered by slug. */
const OPS: GraphOps<SqliteDb> = {
  ...orgs,
  ...services,
  ...bindings,
  ...dump,
  ...GETS,
  findOrg: nullWhenAbsent(GETS.getOrg),
  findProjectType: nullWhenAbsent(GETS.getProjectType),
  findProject: nullWhenAbsent(GETS.getProject),
  findService: nullWhenAbsent(GETS.getService),
  findApplication: nullWhenAbsent(GETS.getApplication),
  findPlugin: nullWhenAbsent(GETS.getPlugin),
  createOrg: orgs.insertOrg,
  createProjectType: (db, org, pt, options) => orgs.insertProjectType(db, lookups.org(db, org), pt, options),
  createProject: (db, org, input, options) => orgs.insertProject(db, lookups.org(db, org), input, options).project,
  updateProjectType: (db, org, slug, patch, options) => orgs.updateProjectType(db, { org, slug }, patch, options),
  updateProject: (db, org, idOrSlug, patch, options) => orgs.updateProject(db, { org, slug: idOrSlug }, patch, options),
  deleteProjectType: (db, org, slug, options) => orgs.deleteProjectType(db, { org, slug }, options),
  deleteProject: (db, org, idOrSlug, options) => orgs.deleteProject(db, { org, slug: idOrSlug }, options),
  createService: (db, org, svc, options) => services.insertService(db, lookups.org(db, org), svc, options),
  updateService: (db, org, slug, patch, options) => services.updateService(db, { org, service: slug }, patch, options),
  deleteService: (db, org, slug, options) => services.deleteService(db, { org, service: slug }, options),
  listApplications: (db, org, service) => services.listApplications(db, { org, service }),
  createApplication: (db, org, service, app, options) =>
    services.insertApplication(db, { org, service: services.serviceOf(db, { org, service }) }, app, options),
  updateApplication: (db, org, service, slug, patch, options) =>
    services.updateApplication(db, { org, service, slug }, patch, options),
  deleteApplication: (db, org, service, slug, options) =>
    services.deleteApplication(db, { org, service, slug }, options),
  listPlugins: (db, org, service) => services.listPlugins(db, { org, service }),
  createPlugin: (db, org, service, input, options = {}) =>
    services.insertPlugin(db, { org, service: services.serviceOf(db, { org, service }) }, input, {
      defaultApplication: true,
      ...options,
    }),
  updatePlugin: (db, org, service, idOrSlug, patch, options) =>
    services.updatePlugin(db, { org, service, slug: idOrSlug }, patch, options),
  deletePlugin: (db, org, service, idOrSlug, options) =>
    services.deletePlugin(db, { org, service, slug: idOrSlug }, options),
  disablePluginNodes: (db, ids) => {
    db.run("UPDATE plugins SET enabled = 0 WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
  },
  getBindings: (db, scope) => bindings.readBindings(db, lookups.scope(db, scope).scope),
  replaceBindings: (db, scope, list, options = {}) => bindings.replaceBindings(db, scope, list, options),
  effectiveBindings: (db, org, project) => bindings.effectiveBindings(db, { org, project }),
  importAll: (db, graph, options = {}) => {
    dump.importAll(db, graph);
    if (options.audit) insertAudit(db, options.audit);
  },
};

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
    this.control = sqliteControl(db);
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
      const onDisk = path !== ":memory:" && path !== "";
      const wal = onDisk && (db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode?: string } | undefined)
            ?.journal_mode === "wal";
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db);
      return new SqliteStore(new SqliteDb(db, wal ? path : undefined));
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

  /**
   * A token that changes when any connection, in this process or another, commits, and with this connection's own
   * write statements: the same token means the same graph (`SqliteDb.revision`).
   */
  revision(): string {
    return this.#db.revision();
  }

  /** Closes the connection; later calls fail with `UnavailableError`. Idempotent. */
  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  static {
    defineGraphMethods<SqliteStore, SqliteDb>(SqliteStore.prototype, (store) => store.#db.transactions, OPS);
  }
}

/** The graph methods, defined on the prototype from `OPS` by `defineGraphMethods` (`../store_methods.ts`). */
export interface SqliteStore extends GraphMethods {}
