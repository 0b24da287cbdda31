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
import { appendAudit } from "./_audit.ts";
import type { AuditInput } from "../audit_store.ts";
import type { ControlStore } from "../control.ts";
import * as bindings from "./_bindings.ts";
import { neo4jControl } from "./_control.ts";
import { Neo4jDb, run } from "./_db.ts";
import * as dump from "./_dump.ts";
import * as find from "./_lookups.ts";
import * as orgs from "./_orgs.ts";
import * as services from "./_services.ts";
import { Q } from "./queries.ts";
import { RESOLVE_TAB } from "./resolution.ts";
import { boltPort, disableNagleForBoltPort } from "./socket.ts";

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

  /** Organizations by slug. */
  listOrgs(page?: Page): Promise<Organization[]> {
    return this.#db.read((tx) => orgs.listOrgs(tx, page));
  }

  /** One organization; `NotFoundError` for an unknown org. */
  getOrg(slug: string): Promise<Organization> {
    return this.#db.read((tx) => find.org(tx, slug));
  }

  /** One organization, or null. */
  findOrg(slug: string): Promise<Organization | null> {
    return this.#db.read((tx) => find.findOrg(tx, slug));
  }

  /** Creates an organization; `ConflictError` when the slug is taken. */
  createOrg(org: Organization, options?: CreateOptions): Promise<Organization> {
    return this.#db.write((tx) => orgs.createOrg(tx, org, options));
  }

  /** Renames an organization; `NotFoundError` for an unknown org. */
  updateOrg(slug: string, patch: Partial<Omit<Organization, "slug">>, options?: WriteOptions): Promise<Organization> {
    return this.#db.write((tx) => orgs.updateOrg(tx, slug, patch, options));
  }

  /**
   * Deletes an empty organization.
   *
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} While the org holds project types, projects or
   *   services; `extra` carries their counts.
   */
  deleteOrg(slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write((tx) => orgs.deleteOrg(tx, slug, options));
  }

  /** Project types of an org, by slug; `NotFoundError` for an unknown org. */
  listProjectTypes(org: string, page?: Page): Promise<ProjectType[]> {
    return this.#db.read((tx) => orgs.listProjectTypes(tx, org, page));
  }

  /** One project type; `NotFoundError` for an unknown org or project type. */
  getProjectType(org: string, slug: string): Promise<ProjectType> {
    return this.#db.read((tx) => find.projectType(tx, { org, slug }));
  }

  /** One project type, or null (also for an unknown org). */
  findProjectType(org: string, slug: string): Promise<ProjectType | null> {
    return this.#db.read((tx) => find.findProjectType(tx, { org, slug }));
  }

  /**
   * Creates a project type.
   *
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  createProjectType(org: string, pt: ProjectType, options?: CreateOptions): Promise<ProjectType> {
    return this.#db.write((tx) => orgs.createProjectType(tx, org, pt, options));
  }

  /** Renames a project type; `NotFoundError` for an unknown org or project type. */
  updateProjectType(
    org: string,
    slug: string,
    patch: Partial<Omit<ProjectType, "slug">>,
    options?: WriteOptions,
  ): Promise<ProjectType> {
    return this.#db.write((tx) => orgs.updateProjectType(tx, { org, slug }, patch, options));
  }

  /**
   * Deletes a project type and its bindings.
   *
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} While projects have the type; `extra.projects`
   *   lists their slugs.
   */
  deleteProjectType(org: string, slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write((tx) => orgs.deleteProjectType(tx, { org, slug }, options));
  }

  /** Projects of an org, by slug; `NotFoundError` for an unknown org. */
  listProjects(org: string, page?: Page): Promise<Project[]> {
    return this.#db.read((tx) => orgs.listProjects(tx, org, page));
  }

  /** One project, by id, else by slug; `NotFoundError` for an unknown org or project. */
  getProject(org: string, idOrSlug: string): Promise<Project> {
    return this.#db.read((tx) => find.project(tx, { org, slug: idOrSlug }));
  }

  /** By id, else by slug; null when absent (also for an unknown org). */
  findProject(org: string, idOrSlug: string): Promise<Project | null> {
    return this.#db.read((tx) => find.findProject(tx, { org, slug: idOrSlug }));
  }

  /**
   * Creates a project with its project types.
   *
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} For a slug taken in the org or an id taken anywhere.
   */
  createProject(org: string, input: ProjectInput, options?: CreateOptions): Promise<Project> {
    return this.#db.write((tx) => orgs.createProject(tx, org, input, options));
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
    return this.#db.write((tx) => orgs.updateProject(tx, { org, slug: idOrSlug }, patch, options));
  }

  /** Deletes a project with its bindings; `NotFoundError` for an unknown org or project. */
  deleteProject(org: string, idOrSlug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write((tx) => orgs.deleteProject(tx, { org, slug: idOrSlug }, options));
  }

  /** Services of an org, by slug; `NotFoundError` for an unknown org. */
  listServices(org: string, page?: Page): Promise<ThirdPartyService[]> {
    return this.#db.read((tx) => services.listServices(tx, org, page));
  }

  /** One service; `NotFoundError` for an unknown org or service. */
  getService(org: string, slug: string): Promise<ThirdPartyService> {
    return this.#db.read((tx) => find.service(tx, { org, slug }));
  }

  /** One service, or null (also for an unknown org). */
  findService(org: string, slug: string): Promise<ThirdPartyService | null> {
    return this.#db.read((tx) => find.findService(tx, { org, slug }));
  }

  /**
   * Creates a service.
   *
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  createService(org: string, svc: ThirdPartyService, options?: CreateOptions): Promise<ThirdPartyService> {
    return this.#db.write((tx) => services.createService(tx, org, svc, options));
  }

  /** Patches a service; `null` clears an optional field; `NotFoundError` for an unknown org or service. */
  updateService(
    org: string,
    slug: string,
    patch: Partial<Omit<ThirdPartyService, "slug">>,
    options?: WriteOptions,
  ): Promise<ThirdPartyService> {
    return this.#db.write((tx) => services.updateService(tx, { org, slug }, patch, options));
  }

  /**
   * Deletes a service.
   *
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} While it has applications or Plugin nodes;
   *   `extra` lists their slugs.
   */
  deleteService(org: string, slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write((tx) => services.deleteService(tx, { org, slug }, options));
  }

  /** Applications of a service, by slug, with ciphertext credentials; `NotFoundError` for an unknown org or service. */
  listApplications(org: string, service: string): Promise<ServiceApplication[]> {
    return this.#db.read((tx) => services.listApplications(tx, { org, service }));
  }

  /** One application with ciphertext credentials; `NotFoundError` for an unknown org, service or application. */
  getApplication(org: string, service: string, slug: string): Promise<ServiceApplication> {
    return this.#db.read((tx) => find.application(tx, { org, service, slug }));
  }

  /** One application with ciphertext credentials, or null (also for an unknown org or service). */
  findApplication(org: string, service: string, slug: string): Promise<ServiceApplication | null> {
    return this.#db.read((tx) => find.findApplication(tx, { org, service, slug }));
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
    return this.#db.write((tx) => services.createApplication(tx, { org, service }, app, options));
  }

  /**
   * Patches name and credentials in one transaction holding the
   * application's lock: `credentials` replaces the whole map,
   * `credential_changes` merges into the stored one.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   */
  updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: ApplicationPatch,
    options?: ApplicationWriteOptions,
  ): Promise<ServiceApplication> {
    return this.#db.write((tx) => services.updateApplication(tx, { org, service, slug }, patch, options));
  }

  /**
   * Deletes an application.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ConflictError} While a Plugin node uses it; `extra.plugins`
   *   lists their slugs.
   */
  deleteApplication(org: string, service: string, slug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write((tx) => services.deleteApplication(tx, { org, service, slug }, options));
  }

  /** Plugin nodes of a service, by slug; `NotFoundError` for an unknown org or service. */
  listPlugins(org: string, service: string): Promise<PluginNode[]> {
    return this.#db.read((tx) => services.listPlugins(tx, { org, service }));
  }

  /**
   * One Plugin node, by id, else by slug in the service.
   *
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   */
  getPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode> {
    return this.#db.read((tx) => find.plugin(tx, { org, service, slug: idOrSlug }));
  }

  /** By id, else by slug in the service; null when absent (also for an unknown org or service). */
  findPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode | null> {
    return this.#db.read((tx) => find.findPlugin(tx, { org, service, slug: idOrSlug }));
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
    options?: Pick<PluginWriteOptions, "check" | "audit">,
  ): Promise<PluginNode> {
    return this.#db.write((tx) => services.createPlugin(tx, { org, service }, input, options));
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
    return this.#db.write((tx) => services.updatePlugin(tx, { org, service, slug: idOrSlug }, patch, options));
  }

  /**
   * Deletes a Plugin node.
   *
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   * @throws {ConflictError} While a binding points at it (as `plugin_id` or
   *   `identity_plugin_id`); `extra.scopes` lists the binding scopes.
   */
  deletePlugin(org: string, service: string, idOrSlug: string, options?: WriteOptions): Promise<void> {
    return this.#db.write((tx) => services.deletePlugin(tx, { org, service, slug: idOrSlug }, options));
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
   * The bindings of a scope in the order they were written. A project scope's
   * `id` may also be the project's slug.
   *
   * @throws {NotFoundError} For an unknown org, project type or project.
   */
  getBindings(scope: BindingScope): Promise<Binding[]> {
    return this.#db.read(async (tx) => await find.readBindings(tx, await find.scope(tx, scope)));
  }

  /**
   * Replaces all bindings of a scope in one transaction, holding the scope
   * node's write lock; on any error the old bindings stay exactly as they
   * were. Rules and pointers as in the SQLite store: every break is listed
   * in one 422 `ValidationError` (`/bindings/<i>/plugin_id`, `.../tab`,
   * `.../default`, `.../identity_plugin_id`).
   *
   * @returns The stored bindings, in the given order.
   * @throws {NotFoundError} For an unknown org, project type or project.
   * @throws {ValidationError} When a rule is broken.
   */
  replaceBindings(scope: BindingScope, list: Binding[], options?: WriteOptions): Promise<Binding[]> {
    return this.#db.write((tx) => bindings.replaceBindings(tx, scope, list, options));
  }

  /** Merged bindings of a project for every tab (project edges win); `NotFoundError` for an unknown org or project. */
  effectiveBindings(org: string, project: string): Promise<EffectiveBinding[]> {
    return this.#db.read((tx) => bindings.effectiveBindings(tx, { org, project }));
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

  /** The whole graph, every list ordered by slug and bindings in written order. */
  exportAll(): Promise<GraphDump> {
    return this.#db.read((tx) => dump.exportAll(tx));
  }

  /**
   * Loads a dump in one transaction. The store may hold other orgs; nothing
   * is written when any rule breaks. The dump is checked whole before the
   * first write (`import_plan.ts`), then written with one `UNWIND` per kind
   * of node and edge, and the counts of created nodes and edges are verified.
   *
   * @throws {ConflictError} When an org of the dump exists, or a project or
   *   Plugin id is taken.
   * @throws {NotFoundError} For a reference to a missing project type or application.
   * @throws {ValidationError} For a binding rule break, with pointers into the
   *   dump (`/organizations/<o>/projects/<p>/bindings/<i>/...`).
   */
  importAll(graph: GraphDump, options: { audit?: AuditInput } = {}): Promise<void> {
    return this.#db.write(async (tx) => {
      await dump.importAll(tx, graph);
      if (options.audit) await appendAudit(tx, options.audit);
    });
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
