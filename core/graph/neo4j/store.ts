/**
 * The production graph store (spec section 9): the graph of spec section 6
 * in Neo4j through `npm:neo4j-driver`.
 *
 * - Schema: uniqueness constraints and indexes (see `schema.ts`)
 *   are created with `IF NOT EXISTS` at every {@linkcode Neo4jStore.connect}.
 * - Writes: each method is one managed write transaction (`executeWrite`), so
 *   a multi-step write (replacing bindings, a delete that drops dependants,
 *   `importAll`) happens whole or not at all. Writes that check "in use"
 *   first take the node's write lock, so a concurrent write cannot slip in
 *   between the check and the change.
 * - Reads: tab resolution is one Cypher query and one round trip
 *   (`resolution.ts`).
 * - Every Cypher text is a constant (`queries.ts`); every value is a parameter.
 * - Latency: the driver's sockets run without Nagle's algorithm (see
 *   `socket.ts`; with it, every resolution waited ~40 ms).
 * - Faults: connection set-up, pool acquisition and managed-transaction
 *   retries are bounded (seconds, not minutes), and a failure to reach the
 *   server is an `UnavailableError` with `retryAfterSeconds`. The driver
 *   reconnects by itself when the server is back; nothing needs a restart.
 *
 * The parts live beside this file by resource (`_orgs.ts`, `_services.ts`,
 * `_bindings.ts`, `_dump.ts`, `import_plan.ts`); the rules and messages are
 * the graph's (`../rules.ts`, `../messages.ts`), shared with the SQLite
 * store; `tests/graph/store_contract.ts` holds both to them.
 *
 * @example
 * ```ts
 * const store = await Neo4jStore.connect({ url: "bolt://localhost:7687", user: "neo4j", password: "secret" });
 * await store.createOrg({ slug: "acme", name: "Acme" });
 * await store.close();
 * ```
 *
 * @module
 */

import neo4j from "neo4j-driver";
import { log } from "../../logger.ts";
import type { ControlStore } from "../control.ts";
import type { GraphStore, PluginNodeRef, Resolution, ResolveQuery } from "../store.ts";
import { defineGraphMethods, type GraphMethods, type GraphOps } from "../store_methods.ts";
import { appendAudit } from "./_audit.ts";
import * as bindings from "./_bindings.ts";
import { neo4jControl } from "./_control.ts";
import { Neo4jDb, run, type Tx } from "./_db.ts";
import * as dump from "./_dump.ts";
import * as find from "./_lookups.ts";
import * as orgs from "./_orgs.ts";
import * as services from "./_services.ts";
import { Q } from "./queries.ts";
import { RESOLVE_TAB } from "./resolution.ts";
import { boltPort, disableNagleForBoltPort } from "./socket.ts";

/** The graph methods the class defines itself: they skip the transaction or run outside a managed one. */
type Direct = "findPluginNodes" | "disablePluginNodes" | "resolveTab";

/** The operation of each graph method, in one managed transaction; lists are ordered by slug. */
const OPS: Omit<GraphOps<Tx>, Direct> = {
  ...orgs,
  ...services,
  getOrg: find.org,
  findOrg: find.findOrg,
  getProjectType: (tx, org, slug) => find.projectType(tx, { org, slug }),
  findProjectType: (tx, org, slug) => find.findProjectType(tx, { org, slug }),
  updateProjectType: (tx, org, slug, patch, options) => orgs.updateProjectType(tx, { org, slug }, patch, options),
  deleteProjectType: (tx, org, slug, options) => orgs.deleteProjectType(tx, { org, slug }, options),
  getProject: (tx, org, idOrSlug) => find.project(tx, { org, slug: idOrSlug }),
  findProject: (tx, org, idOrSlug) => find.findProject(tx, { org, slug: idOrSlug }),
  updateProject: (tx, org, idOrSlug, patch, options) => orgs.updateProject(tx, { org, slug: idOrSlug }, patch, options),
  deleteProject: (tx, org, idOrSlug, options) => orgs.deleteProject(tx, { org, slug: idOrSlug }, options),
  getService: (tx, org, slug) => find.service(tx, { org, slug }),
  findService: (tx, org, slug) => find.findService(tx, { org, slug }),
  updateService: (tx, org, slug, patch, options) => services.updateService(tx, { org, slug }, patch, options),
  deleteService: (tx, org, slug, options) => services.deleteService(tx, { org, slug }, options),
  listApplications: (tx, org, service) => services.listApplications(tx, { org, service }),
  getApplication: (tx, org, service, slug) => find.application(tx, { org, service, slug }),
  findApplication: (tx, org, service, slug) => find.findApplication(tx, { org, service, slug }),
  createApplication: (tx, org, service, app, options) => services.createApplication(tx, { org, service }, app, options),
  updateApplication: (tx, org, service, slug, patch, options) =>
    services.updateApplication(tx, { org, service, slug }, patch, options),
  deleteApplication: (tx, org, service, slug, options) =>
    services.deleteApplication(tx, { org, service, slug }, options),
  listPlugins: (tx, org, service) => services.listPlugins(tx, { org, service }),
  getPlugin: (tx, org, service, idOrSlug) => find.plugin(tx, { org, service, slug: idOrSlug }),
  findPlugin: (tx, org, service, idOrSlug) => find.findPlugin(tx, { org, service, slug: idOrSlug }),
  createPlugin: (tx, org, service, input, options) => services.createPlugin(tx, { org, service }, input, options),
  updatePlugin: (tx, org, service, idOrSlug, patch, options) =>
    services.updatePlugin(tx, { org, service, slug: idOrSlug }, patch, options),
  deletePlugin: (tx, org, service, idOrSlug, options) =>
    services.deletePlugin(tx, { org, service, slug: idOrSlug }, options),
  getBindings: async (tx, scope) => await find.readBindings(tx, await find.scope(tx, scope)),
  replaceBindings: bindings.replaceBindings,
  effectiveBindings: (tx, org, project) => bindings.effectiveBindings(tx, { org, project }),
  exportAll: dump.exportAll,
  importAll: async (tx, graph, options = {}) => {
    await dump.importAll(tx, graph);
    if (options.audit) await appendAudit(tx, options.audit);
  },
};

/** Options of {@linkcode Neo4jStore.connect}. */
export interface Neo4jStoreOptions {
  /** `neo4j://`, `neo4j+s://`, `bolt://` or `bolt+s://` URL. */
  url: string;
  /** The user name. */
  user: string;
  /** The user's password. */
  password: string;
  /** Database name; the server's default database when absent. */
  database?: string;
  /** Time to open one TCP + Bolt connection, in ms. Default 3000. */
  connectionTimeoutMs?: number;
  /** Time to wait for a pooled connection, in ms. Default 3000. */
  acquisitionTimeoutMs?: number;
  /** How long a managed transaction is retried on transient errors, in ms. Default 1500. */
  maxRetryTimeMs?: number;
  /** Server-side transaction timeout, in ms. Default 30000. */
  transactionTimeoutMs?: number;
  /** Pool size. Default 50. */
  maxPoolSize?: number;
  /** The `Retry-After` an `UnavailableError` carries, in seconds. Default 2. */
  retryAfterSeconds?: number;
}

/**
 * {@linkcode GraphStore} on Neo4j. Behaves like the SQLite store in every
 * case the interface leaves open (see `SqliteStore`): binding rule breaks
 * are one 422 listing every pointer, lists are ordered by slug, `importAll`
 * accepts a store that holds other orgs and refuses a dump whose org exists.
 * Every graph method is one managed transaction (a write transaction for
 * writes); writes that check "in use" first take the node's write lock.
 */
export class Neo4jStore implements GraphStore {
  /** Always `"neo4j"`. */
  readonly kind = "neo4j";
  /** The lock state, audit log and replica heartbeats (`_control.ts`). */
  readonly control: ControlStore;
  #db: Neo4jDb;

  private constructor(db: Neo4jDb) {
    this.#db = db;
    this.control = neo4jControl(db);
  }

  /**
   * Opens a driver, checks the server answers, and creates the constraints
   * and indexes that are missing (idempotent; safe when several processes
   * connect at once).
   *
   * @param options URL, credentials, database, timeouts.
   * @returns The connected store.
   * @throws {UnavailableError} When the server cannot be reached or refuses the credentials.
   * @throws {TypeError} For a URL that is not a Neo4j URL.
   */
  static async connect(options: Neo4jStoreOptions): Promise<Neo4jStore> {
    if (!/^(neo4j|bolt)(\+s|\+ssc)?:\/\//.test(options.url)) {
      throw new TypeError(
        `Cannot connect to graph store: "${redactUrl(options.url)}" is not a neo4j:// or bolt:// URL`,
      );
    }
    disableNagleForBoltPort(boltPort(options.url));
    const driver = neo4j.driver(options.url, neo4j.auth.basic(options.user, options.password), {
      disableLosslessIntegers: true,
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      connectionAcquisitionTimeout: options.acquisitionTimeoutMs ?? 3000,
      maxTransactionRetryTime: options.maxRetryTimeMs ?? 1500,
      maxConnectionPoolSize: options.maxPoolSize ?? 50,
      logging: {
        level: "warn",
        logger: (level, message) => {
          if (level === "error") log.error("neo4j driver", { message });
          else log.warn("neo4j driver", { message });
        },
      },
    });
    const db = new Neo4jDb(driver, {
      ...(options.database ? { database: options.database } : {}),
      txTimeoutMs: options.transactionTimeoutMs ?? 30_000,
      retryAfterSeconds: options.retryAfterSeconds ?? 2,
    });
    try {
      await db.ping();
      await db.ensureSchema();
    } catch (error) {
      await driver.close().catch(() => {});
      throw error;
    }
    log.info("graph store connected", { kind: "neo4j", url: redactUrl(options.url) });
    return new Neo4jStore(db);
  }

  /**
   * Names of the constraints and of the indexes that back no constraint, as
   * the server lists them (for tests and diagnostics).
   *
   * @returns Both lists, sorted.
   */
  async schemaNames(): Promise<{ constraints: string[]; indexes: string[] }> {
    return await this.#db.read(async (tx) => ({
      constraints: (await run(tx, Q.showConstraints, {})).records.map((r) => r.get("name") as string),
      indexes: (await run(tx, Q.showIndexes, {})).records.map((r) => r.get("name") as string),
    }));
  }

  /**
   * Runs `RETURN 1` on one connection, without retries, so it fails within
   * the connection timeout when the server is down.
   *
   * @throws {UnavailableError} When the server cannot answer.
   */
  ping(): Promise<void> {
    return this.#db.ping();
  }

  /** Closes the driver and its pool; later calls fail with `UnavailableError`. Idempotent. */
  close(): Promise<void> {
    return this.#db.close();
  }

  /** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
  async findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]> {
    if (manifestSlugs.length === 0) return [];
    return await this.#db.read((tx) => services.findPluginNodes(tx, manifestSlugs));
  }

  /** Sets `enabled = false` on the listed Plugin nodes; unknown ids are ignored. */
  async disablePluginNodes(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.write((tx) => run(tx, Q.disablePluginNodes, { ids }));
  }

  /**
   * Spec section 6 steps 1 to 5 in one Cypher query and one round trip (see
   * `resolution.ts`): the same answers as `mergeEdges` and `selectBinding`
   * of `core/graph/resolution.ts`. The query runs as an auto-commit
   * transaction, retried once on a dropped connection.
   */
  async resolveTab(query: ResolveQuery): Promise<Resolution> {
    const source = query.source === undefined || query.source === "" ? null : query.source;
    const row = (await this.#db.readOne(RESOLVE_TAB, {
      org: query.org,
      project: query.project,
      tab: query.tab,
      source,
      loaded: query.loaded,
    }))!;
    return bindings.toResolution(row.toObject() as bindings.ResolutionRow, source);
  }

  static {
    defineGraphMethods<Neo4jStore, Tx, Direct>(Neo4jStore.prototype, (store) => store.#db.transactions, OPS);
  }
}

/** The graph methods, defined on the prototype from `OPS` by `defineGraphMethods` (`../store_methods.ts`). */
export interface Neo4jStore extends GraphMethods {}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
