/**
 * The production graph store (spec section 9): the graph of spec section 6
 * in Neo4j through `npm:neo4j-driver`.
 *
 * - Schema: uniqueness constraints and indexes (see `core/_cypher_schema.ts`)
 *   are created with `IF NOT EXISTS` at every {@linkcode Neo4jStore.connect}.
 * - Writes: each method is one managed write transaction (`executeWrite`), so
 *   a multi-step write (replacing bindings, a delete that drops dependants,
 *   `importAll`) happens whole or not at all. Writes that check "in use"
 *   first take the node's write lock, so a concurrent write cannot slip in
 *   between the check and the change.
 * - Reads: tab resolution is one Cypher query and one round trip
 *   (`core/_cypher_resolution.ts`).
 * - Every Cypher text is a constant; every value is a parameter.
 * - Latency: the driver's sockets run without Nagle's algorithm (see
 *   `core/_neo4j_socket.ts`; with it, every resolution waited ~40 ms).
 * - Faults: connection set-up, pool acquisition and managed-transaction
 *   retries are bounded (seconds, not minutes), and a failure to reach the
 *   server is an `UnavailableError` with `retryAfterSeconds`. The driver
 *   reconnects by itself when the server is back; nothing needs a restart.
 *
 * The write rules and error shapes are the SQLite store's (`core/sqlite_store.ts`),
 * and the store contract suite (`tests/store_contract.ts`) holds both to them.
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

import { checkBindings } from "../rules.ts";
import neo4j, { type Driver, type ManagedTransaction, type QueryResult } from "neo4j-driver";
import type { PluginType } from "@imbi/plugin-sdk/types";
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from "../../errors.ts";
import type {
  Binding,
  BindingOrigin,
  BindingScope,
  CandidateSummary,
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
import { log } from "../../logger.ts";
import { EFFECTIVE_BINDINGS, RESOLVE_TAB } from "./resolution.ts";
import { SCHEMA } from "./schema.ts";
import { disableNagleForBoltPort } from "./socket.ts";

/** Options of {@linkcode Neo4jStore.connect}. */
export interface Neo4jStoreOptions {
  /** `neo4j://`, `neo4j+s://`, `bolt://` or `bolt+s://` URL. */
  url: string;
  user: string;
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

const PLUGIN_TYPES: ReadonlySet<string> = new Set<PluginType>(["configuration", "logs"]);
const NO_LIMIT = 2 ** 31 - 1;

// ------------------------------------------------------------------ Cypher

/** A project in `$org` by id (`$project`), else by slug. Leaves `p` (maybe null). */
const FIND_PROJECT = `
OPTIONAL MATCH (byId:Project {org: $org, id: $project})
OPTIONAL MATCH (bySlug:Project {org: $org, slug: $project})
WITH coalesce(byId, bySlug) AS p`;

const PROJECT_MAP = `p {.id, .slug, .name,
  project_types: COLLECT { MATCH (p)-[:HAS_TYPE]->(t:ProjectType) RETURN t.slug ORDER BY t.slug }}`;

const PLUGIN_MAP = `n {.id, .slug, .service, .plugin, .plugin_type, .label, .options, .enabled,
  application: head(COLLECT { MATCH (n)-[:USES_APPLICATION]->(a:ServiceApplication) RETURN a.slug })}`;

const SERVICE_MAP = "s {.slug, .name, .vendor, .base_url, .account, .region}";

const BINDING_MAP = `{plugin_id: n.id, tab: e.tab, default: e.default, search_template: e.search_template,
  identity_plugin_id: e.identity_plugin_id}`;

const Q = {
  ping: "RETURN 1 AS ok",
  showConstraints: "SHOW CONSTRAINTS YIELD name RETURN name ORDER BY name",
  showIndexes: "SHOW INDEXES YIELD name, owningConstraint WHERE owningConstraint IS NULL RETURN name ORDER BY name",

  listOrgs: "MATCH (o:Organization) RETURN o.slug AS slug, o.name AS name ORDER BY slug SKIP $offset LIMIT $limit",
  getOrg: "MATCH (o:Organization {slug: $org}) RETURN o.slug AS slug, o.name AS name",
  lockOrg:
    "MATCH (o:Organization {slug: $org}) SET o._lock = true REMOVE o._lock RETURN o.slug AS slug, o.name AS name",
  createOrg: "CREATE (o:Organization {slug: $org, name: $name})",
  updateOrg: "MATCH (o:Organization {slug: $org}) SET o.name = $name RETURN o.slug AS slug, o.name AS name",
  orgHoldings: `MATCH (o:Organization {slug: $org})
    RETURN COUNT { (t:ProjectType)-[:BELONGS_TO]->(o) } AS project_types,
           COUNT { (p:Project)-[:BELONGS_TO]->(o) } AS projects,
           COUNT { (s:ThirdPartyService)-[:BELONGS_TO]->(o) } AS services`,
  deleteOrg: "MATCH (o:Organization {slug: $org}) DETACH DELETE o",

  listProjectTypes: `MATCH (t:ProjectType {org: $org}) RETURN t.slug AS slug, t.name AS name
    ORDER BY slug SKIP $offset LIMIT $limit`,
  getProjectType: "MATCH (t:ProjectType {org: $org, slug: $slug}) RETURN t.slug AS slug, t.name AS name",
  lockProjectType: `MATCH (t:ProjectType {org: $org, slug: $slug}) SET t._lock = true REMOVE t._lock
    RETURN t.slug AS slug, t.name AS name`,
  createProjectType: `MATCH (o:Organization {slug: $org})
    CREATE (t:ProjectType {org: $org, slug: $slug, name: $name})-[:BELONGS_TO]->(o)`,
  updateProjectType: `MATCH (t:ProjectType {org: $org, slug: $slug}) SET t.name = $name
    RETURN t.slug AS slug, t.name AS name`,
  projectsOfType: `MATCH (p:Project)-[:HAS_TYPE]->(t:ProjectType {org: $org, slug: $slug})
    RETURN p.slug AS slug ORDER BY slug`,
  deleteProjectType: "MATCH (t:ProjectType {org: $org, slug: $slug}) DETACH DELETE t",
  existingProjectTypes: "MATCH (t:ProjectType {org: $org}) WHERE t.slug IN $slugs RETURN t.slug AS slug",

  listProjects: `MATCH (p:Project {org: $org}) RETURN ${PROJECT_MAP} AS project
    ORDER BY p.slug SKIP $offset LIMIT $limit`,
  getProject: `${FIND_PROJECT} WITH p WHERE p IS NOT NULL RETURN ${PROJECT_MAP} AS project`,
  lockProject: `${FIND_PROJECT} WITH p WHERE p IS NOT NULL SET p._lock = true REMOVE p._lock
    RETURN ${PROJECT_MAP} AS project`,
  projectIdTaken: "MATCH (p:Project {id: $id}) RETURN p.id AS id",
  projectSlugTaken: "MATCH (p:Project {org: $org, slug: $slug}) RETURN p.id AS id",
  createProject: `MATCH (o:Organization {slug: $org})
    CREATE (p:Project {org: $org, id: $id, slug: $slug, name: $name})-[:BELONGS_TO]->(o)
    WITH p
    UNWIND $types AS type
    MATCH (t:ProjectType {org: $org, slug: type})
    CREATE (p)-[:HAS_TYPE]->(t)`,
  updateProject: `MATCH (p:Project {org: $org, id: $id}) SET p.slug = $slug, p.name = $name`,
  setProjectTypes: `MATCH (p:Project {org: $org, id: $id})
    OPTIONAL MATCH (p)-[old:HAS_TYPE]->(:ProjectType)
    DELETE old
    WITH DISTINCT p
    UNWIND $types AS type
    MATCH (t:ProjectType {org: $org, slug: type})
    CREATE (p)-[:HAS_TYPE]->(t)`,
  projectById: `MATCH (p:Project {org: $org, id: $id}) RETURN ${PROJECT_MAP} AS project`,
  deleteProject: "MATCH (p:Project {org: $org, id: $id}) DETACH DELETE p",

  listServices: `MATCH (s:ThirdPartyService {org: $org}) RETURN ${SERVICE_MAP} AS service
    ORDER BY s.slug SKIP $offset LIMIT $limit`,
  getService: `MATCH (s:ThirdPartyService {org: $org, slug: $slug}) RETURN ${SERVICE_MAP} AS service`,
  lockService: `MATCH (s:ThirdPartyService {org: $org, slug: $slug}) SET s._lock = true REMOVE s._lock
    RETURN ${SERVICE_MAP} AS service`,
  createService: `MATCH (o:Organization {slug: $org})
    CREATE (s:ThirdPartyService {org: $org, slug: $slug, name: $name, vendor: $vendor, base_url: $base_url,
      account: $account, region: $region})-[:BELONGS_TO]->(o)`,
  updateService: `MATCH (s:ThirdPartyService {org: $org, slug: $slug})
    SET s.name = $name, s.vendor = $vendor, s.base_url = $base_url, s.account = $account, s.region = $region
    RETURN ${SERVICE_MAP} AS service`,
  serviceHoldings: `MATCH (s:ThirdPartyService {org: $org, slug: $slug})
    RETURN COLLECT { MATCH (s)-[:HAS_APPLICATION]->(a:ServiceApplication) RETURN a.slug ORDER BY a.slug } AS applications,
           COLLECT { MATCH (s)-[:HAS_PLUGIN]->(n:Plugin) RETURN n.slug ORDER BY n.slug } AS plugins`,
  deleteService: "MATCH (s:ThirdPartyService {org: $org, slug: $slug}) DETACH DELETE s",

  listApplications: `MATCH (a:ServiceApplication {org: $org, service: $service})
    RETURN a.slug AS slug, a.name AS name, a.credentials AS credentials ORDER BY slug`,
  getApplication: `MATCH (a:ServiceApplication {org: $org, service: $service, slug: $slug})
    RETURN a.slug AS slug, a.name AS name, a.credentials AS credentials`,
  lockApplication: `MATCH (a:ServiceApplication {org: $org, service: $service, slug: $slug})
    SET a._lock = true REMOVE a._lock RETURN a.slug AS slug, a.name AS name, a.credentials AS credentials`,
  createApplication: `MATCH (s:ThirdPartyService {org: $org, slug: $service})
    CREATE (s)-[:HAS_APPLICATION]->(:ServiceApplication {org: $org, service: $service, slug: $slug, name: $name,
      credentials: $credentials})`,
  updateApplication: `MATCH (a:ServiceApplication {org: $org, service: $service, slug: $slug})
    SET a.name = $name, a.credentials = $credentials`,
  applicationUsers:
    `MATCH (n:Plugin)-[:USES_APPLICATION]->(:ServiceApplication {org: $org, service: $service, slug: $slug})
    RETURN n.slug AS slug ORDER BY slug`,
  deleteApplication: "MATCH (a:ServiceApplication {org: $org, service: $service, slug: $slug}) DETACH DELETE a",
  onlyApplication: `MATCH (a:ServiceApplication {org: $org, service: $service})
    RETURN a.slug AS slug LIMIT 2`,

  listPlugins: `MATCH (n:Plugin {org: $org, service: $service}) RETURN ${PLUGIN_MAP} AS plugin ORDER BY n.slug`,
  getPlugin: `OPTIONAL MATCH (byId:Plugin {org: $org, service: $service, id: $plugin})
    OPTIONAL MATCH (bySlug:Plugin {org: $org, service: $service, slug: $plugin})
    WITH coalesce(byId, bySlug) AS n
    WITH n WHERE n IS NOT NULL
    RETURN ${PLUGIN_MAP} AS plugin`,
  lockPlugin: `MATCH (n:Plugin {id: $id}) SET n._lock = true REMOVE n._lock RETURN n.id AS id`,
  pluginIdTaken: "MATCH (n:Plugin {id: $id}) RETURN n.id AS id",
  pluginSlugTaken: "MATCH (n:Plugin {org: $org, service: $service, slug: $slug}) RETURN n.id AS id",
  createPlugin: `MATCH (s:ThirdPartyService {org: $org, slug: $service})
    CREATE (s)-[:HAS_PLUGIN]->(n:Plugin {id: $id, org: $org, service: $service, slug: $slug, plugin: $plugin,
      plugin_type: $plugin_type, label: $label, options: $options, enabled: $enabled})
    WITH n
    OPTIONAL MATCH (a:ServiceApplication {org: $org, service: $service, slug: $application})
    FOREACH (_ IN CASE WHEN a IS NULL THEN [] ELSE [1] END | CREATE (n)-[:USES_APPLICATION]->(a))`,
  updatePlugin: `MATCH (n:Plugin {id: $id})
    SET n.slug = $slug, n.label = $label, n.options = $options, n.enabled = $enabled
    WITH n
    OPTIONAL MATCH (n)-[old:USES_APPLICATION]->(:ServiceApplication)
    DELETE old
    WITH DISTINCT n
    OPTIONAL MATCH (a:ServiceApplication {org: n.org, service: n.service, slug: $application})
    FOREACH (_ IN CASE WHEN a IS NULL THEN [] ELSE [1] END | CREATE (n)-[:USES_APPLICATION]->(a))
    WITH n
    RETURN ${PLUGIN_MAP} AS plugin`,
  pluginUsers: `MATCH (n:Plugin {id: $id})
    CALL (n) {
      MATCH (scope)-[:USES_PLUGIN]->(n) RETURN scope
      UNION
      MATCH (scope)-[e:USES_PLUGIN]->(:Plugin) WHERE e.identity_plugin_id = n.id RETURN scope
    }
    RETURN CASE WHEN scope:ProjectType THEN 'project_type' ELSE 'project' END AS kind,
      CASE WHEN scope:ProjectType THEN scope.slug ELSE scope.id END AS key, scope.slug AS slug
    ORDER BY kind DESC, slug`,
  deletePlugin: "MATCH (n:Plugin {id: $id}) DETACH DELETE n",
  findPluginNodes: `MATCH (n:Plugin) WHERE n.plugin IN $plugins
    RETURN n.org AS org, n.service AS service, n.id AS id, n.slug AS slug, n.plugin AS plugin
    ORDER BY org, service, slug`,
  disablePluginNodes: "MATCH (n:Plugin) WHERE n.id IN $ids SET n.enabled = false",
  pluginsOfOrg: `MATCH (n:Plugin {org: $org}) WHERE n.id IN $ids
    RETURN n.id AS id, n.slug AS slug, n.service AS service, n.plugin_type AS plugin_type`,

  projectTypeBindings: `MATCH (:ProjectType {org: $org, slug: $slug})-[e:USES_PLUGIN]->(n:Plugin)
    RETURN ${BINDING_MAP} AS binding ORDER BY e.position`,
  projectBindings: `MATCH (:Project {org: $org, id: $id})-[e:USES_PLUGIN]->(n:Plugin)
    RETURN ${BINDING_MAP} AS binding ORDER BY e.position`,
  clearProjectTypeBindings: `MATCH (:ProjectType {org: $org, slug: $slug})-[e:USES_PLUGIN]->(:Plugin) DELETE e`,
  clearProjectBindings: `MATCH (:Project {org: $org, id: $id})-[e:USES_PLUGIN]->(:Plugin) DELETE e`,
  writeProjectTypeBindings: `MATCH (t:ProjectType {org: $org, slug: $slug})
    UNWIND $rows AS row
    MATCH (n:Plugin {id: row.plugin_id})
    CREATE (t)-[:USES_PLUGIN {tab: row.tab, default: row.default, search_template: row.search_template,
      identity_plugin_id: row.identity_plugin_id, position: row.position, default_key: row.default_key}]->(n)`,
  writeProjectBindings: `MATCH (p:Project {org: $org, id: $id})
    UNWIND $rows AS row
    MATCH (n:Plugin {id: row.plugin_id})
    CREATE (p)-[:USES_PLUGIN {tab: row.tab, default: row.default, search_template: row.search_template,
      identity_plugin_id: row.identity_plugin_id, position: row.position, default_key: row.default_key}]->(n)`,

  exportAll: `MATCH (o:Organization)
    WITH o ORDER BY o.slug
    RETURN o.slug AS slug, o.name AS name,
      COLLECT { MATCH (t:ProjectType {org: o.slug}) RETURN {slug: t.slug, name: t.name} AS x ORDER BY t.slug }
        AS project_types,
      COLLECT {
        MATCH (p:Project {org: o.slug})
        RETURN p {.id, .slug, .name,
          project_types: COLLECT { MATCH (p)-[:HAS_TYPE]->(t:ProjectType) RETURN t.slug ORDER BY t.slug },
          bindings: COLLECT {
            MATCH (p)-[e:USES_PLUGIN]->(n:Plugin) RETURN ${BINDING_MAP} AS b ORDER BY e.position
          }
        } AS x ORDER BY p.slug
      } AS projects,
      COLLECT {
        MATCH (s:ThirdPartyService {org: o.slug})
        RETURN s {.slug, .name, .vendor, .base_url, .account, .region,
          applications: COLLECT {
            MATCH (s)-[:HAS_APPLICATION]->(a:ServiceApplication)
            RETURN {slug: a.slug, name: a.name, credentials: a.credentials} AS a ORDER BY a.slug
          },
          plugins: COLLECT { MATCH (s)-[:HAS_PLUGIN]->(n:Plugin) RETURN ${PLUGIN_MAP} AS n ORDER BY n.slug }
        } AS x ORDER BY s.slug
      } AS services,
      COLLECT {
        MATCH (t:ProjectType {org: o.slug}) WHERE EXISTS { (t)-[:USES_PLUGIN]->(:Plugin) }
        RETURN {project_type: t.slug, bindings: COLLECT {
          MATCH (t)-[e:USES_PLUGIN]->(n:Plugin) RETURN ${BINDING_MAP} AS b ORDER BY e.position
        }} AS x ORDER BY t.slug
      } AS project_type_bindings`,
  existingOrgs: "MATCH (o:Organization) WHERE o.slug IN $orgs RETURN o.slug AS slug ORDER BY slug",
  takenProjectIds: "MATCH (p:Project) WHERE p.id IN $ids RETURN p.id AS id LIMIT 1",
  takenPluginIds: "MATCH (n:Plugin) WHERE n.id IN $ids RETURN n.id AS id LIMIT 1",
  importOrgs: "UNWIND $rows AS row CREATE (:Organization {slug: row.slug, name: row.name})",
  importProjectTypes: `UNWIND $rows AS row
    MATCH (o:Organization {slug: row.org})
    CREATE (:ProjectType {org: row.org, slug: row.slug, name: row.name})-[:BELONGS_TO]->(o)`,
  importServices: `UNWIND $rows AS row
    MATCH (o:Organization {slug: row.org})
    CREATE (:ThirdPartyService {org: row.org, slug: row.slug, name: row.name, vendor: row.vendor,
      base_url: row.base_url, account: row.account, region: row.region})-[:BELONGS_TO]->(o)`,
  importApplications: `UNWIND $rows AS row
    MATCH (s:ThirdPartyService {org: row.org, slug: row.service})
    CREATE (s)-[:HAS_APPLICATION]->(:ServiceApplication {org: row.org, service: row.service, slug: row.slug,
      name: row.name, credentials: row.credentials})`,
  importPlugins: `UNWIND $rows AS row
    MATCH (s:ThirdPartyService {org: row.org, slug: row.service})
    CREATE (s)-[:HAS_PLUGIN]->(n:Plugin {id: row.id, org: row.org, service: row.service, slug: row.slug,
      plugin: row.plugin, plugin_type: row.plugin_type, label: row.label, options: row.options, enabled: row.enabled})
    WITH n, row WHERE row.application IS NOT NULL
    MATCH (a:ServiceApplication {org: row.org, service: row.service, slug: row.application})
    CREATE (n)-[:USES_APPLICATION]->(a)`,
  importProjects: `UNWIND $rows AS row
    MATCH (o:Organization {slug: row.org})
    CREATE (p:Project {org: row.org, id: row.id, slug: row.slug, name: row.name})-[:BELONGS_TO]->(o)
    WITH p, row
    UNWIND row.project_types AS type
    MATCH (t:ProjectType {org: row.org, slug: type})
    CREATE (p)-[:HAS_TYPE]->(t)`,
  importProjectBindings: `UNWIND $rows AS row
    MATCH (p:Project {id: row.owner})
    MATCH (n:Plugin {id: row.plugin_id})
    CREATE (p)-[:USES_PLUGIN {tab: row.tab, default: row.default, search_template: row.search_template,
      identity_plugin_id: row.identity_plugin_id, position: row.position, default_key: row.default_key}]->(n)`,
  importProjectTypeBindings: `UNWIND $rows AS row
    MATCH (t:ProjectType {org: row.org, slug: row.owner})
    MATCH (n:Plugin {id: row.plugin_id})
    CREATE (t)-[:USES_PLUGIN {tab: row.tab, default: row.default, search_template: row.search_template,
      identity_plugin_id: row.identity_plugin_id, position: row.position, default_key: row.default_key}]->(n)`,
} as const;

// ------------------------------------------------------------------ shapes

interface ProjectRow {
  id: string;
  slug: string;
  name: string;
  project_types: string[];
}
interface ApplicationRow {
  slug: string;
  name: string;
  credentials: string;
}
interface PluginRow {
  id: string;
  slug: string;
  service: string;
  application: string | null;
  plugin: string;
  plugin_type: string;
  label: string;
  options: string;
  enabled: boolean;
}
interface EdgeRow {
  tab: string;
  default: boolean;
  search_template: string;
  identity_plugin_id: string | null;
}
interface PluginInfo {
  id: string;
  slug: string;
  service: string;
  plugin_type: string;
}
/** A binding scope found in the graph. */
interface ScopeKey {
  kind: "project_type" | "project";
  org: string;
  /** Project-type slug or project id. */
  key: string;
  /** For messages: `project type "web"` or `project "billing"`. */
  label: string;
}
/** A binding row as written to a `USES_PLUGIN` edge. */
interface EdgeWrite {
  plugin_id: string;
  tab: string;
  default: boolean;
  search_template: string;
  identity_plugin_id: string | null;
  position: number;
  default_key: string | null;
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
  #driver: Driver;
  #database: string | undefined;
  #txTimeoutMs: number;
  #retryAfterSeconds: number;
  #closed = false;

  private constructor(driver: Driver, options: { database?: string; txTimeoutMs: number; retryAfterSeconds: number }) {
    this.#driver = driver;
    this.#database = options.database;
    this.#txTimeoutMs = options.txTimeoutMs;
    this.#retryAfterSeconds = options.retryAfterSeconds;
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
    const store = new Neo4jStore(driver, {
      ...(options.database ? { database: options.database } : {}),
      txTimeoutMs: options.transactionTimeoutMs ?? 30_000,
      retryAfterSeconds: options.retryAfterSeconds ?? 2,
    });
    try {
      await store.ping();
      await store.#ensureSchema();
    } catch (error) {
      await driver.close().catch(() => {});
      throw error;
    }
    log.info("graph store connected", { kind: "neo4j", url: redactUrl(options.url) });
    return store;
  }

  // ---------------------------------------------------------------- plumbing

  async #ensureSchema(): Promise<void> {
    const session = this.#session("WRITE");
    try {
      for (const statement of SCHEMA) {
        try {
          await session.run(statement.cypher);
        } catch (error) {
          // Another process created the same rule between our IF NOT EXISTS and our write.
          const code = (error as { code?: string }).code ?? "";
          if (!code.includes("EquivalentSchemaRuleAlreadyExists") && !code.includes("AlreadyExists")) throw error;
        }
      }
    } catch (error) {
      throw this.#map(error);
    } finally {
      await session.close().catch(() => {});
    }
  }

  /**
   * Names of the constraints and of the indexes that back no constraint, as
   * the server lists them (for tests and diagnostics).
   *
   * @returns Both lists, sorted.
   */
  async schemaNames(): Promise<{ constraints: string[]; indexes: string[] }> {
    return await this.#read(async (tx) => ({
      constraints: (await run(tx, Q.showConstraints, {})).records.map((r) => r.get("name") as string),
      indexes: (await run(tx, Q.showIndexes, {})).records.map((r) => r.get("name") as string),
    }));
  }

  #session(mode: "READ" | "WRITE") {
    if (this.#closed) {
      throw new UnavailableError("The graph store is closed", { retryAfterSeconds: this.#retryAfterSeconds });
    }
    return this.#driver.session({
      defaultAccessMode: mode === "READ" ? neo4j.session.READ : neo4j.session.WRITE,
      ...(this.#database ? { database: this.#database } : {}),
    });
  }

  async #read<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const session = this.#session("READ");
    try {
      return await session.executeRead(work, { timeout: this.#txTimeoutMs });
    } catch (error) {
      throw this.#map(error);
    } finally {
      await session.close().catch(() => {});
    }
  }

  async #write<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const session = this.#session("WRITE");
    try {
      return await session.executeWrite(work, { timeout: this.#txTimeoutMs });
    } catch (error) {
      throw this.#map(error);
    } finally {
      await session.close().catch(() => {});
    }
  }

  /**
   * One query as an auto-commit transaction: one round trip (`RUN` and
   * `PULL` pipelined), where `executeRead` adds `BEGIN` and `COMMIT`. A
   * connection the server dropped is retried once, on a fresh one.
   */
  async #readOne(cypher: string, params: Record<string, unknown>) {
    for (let attempt = 0;; attempt++) {
      const session = this.#session("READ");
      try {
        log.debug("neo4j query", { cypher });
        const result = await session.run(cypher, params, { timeout: this.#txTimeoutMs });
        return result.records[0] ?? null;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const dropped = code === neo4j.error.SERVICE_UNAVAILABLE || code === neo4j.error.SESSION_EXPIRED;
        if (!dropped || attempt > 0) throw this.#map(error);
      } finally {
        await session.close().catch(() => {});
      }
    }
  }

  #map(error: unknown): unknown {
    return mapNeo4jError(error, this.#retryAfterSeconds);
  }

  // ----------------------------------------------------------------- lookups

  async #org(tx: ManagedTransaction, slug: string, options: { lock?: boolean } = {}): Promise<Organization> {
    const row = await one(tx, options.lock ? Q.lockOrg : Q.getOrg, { org: slug });
    if (!row) throw new NotFoundError(`Organization "${slug}" not found`);
    return { slug: row.get("slug"), name: row.get("name") };
  }

  async #projectType(tx: ManagedTransaction, org: string, slug: string, options: { lock?: boolean } = {}) {
    const row = await one(tx, options.lock ? Q.lockProjectType : Q.getProjectType, { org, slug });
    if (!row) throw new NotFoundError(`Project type "${slug}" not found in organization "${org}"`);
    return { slug: row.get("slug") as string, name: row.get("name") as string };
  }

  async #findProject(tx: ManagedTransaction, org: string, idOrSlug: string, options: { lock?: boolean } = {}) {
    const row = await one(tx, options.lock ? Q.lockProject : Q.getProject, { org, project: idOrSlug });
    return row ? toProject(row.get("project")) : null;
  }

  async #project(tx: ManagedTransaction, org: string, idOrSlug: string, options: { lock?: boolean } = {}) {
    const project = await this.#findProject(tx, org, idOrSlug, options);
    if (!project) throw new NotFoundError(`Project "${idOrSlug}" not found in organization "${org}"`);
    return project;
  }

  async #service(tx: ManagedTransaction, org: string, slug: string, options: { lock?: boolean } = {}) {
    const row = await one(tx, options.lock ? Q.lockService : Q.getService, { org, slug });
    if (!row) throw new NotFoundError(`Service "${slug}" not found in organization "${org}"`);
    return toService(row.get("service"));
  }

  async #application(
    tx: ManagedTransaction,
    org: string,
    service: string,
    slug: string,
    options: { lock?: boolean } = {},
  ): Promise<ServiceApplication> {
    const row = await one(tx, options.lock ? Q.lockApplication : Q.getApplication, { org, service, slug });
    if (!row) throw new NotFoundError(`Application "${slug}" not found in service "${service}"`);
    return toApplication(row.toObject() as ApplicationRow);
  }

  async #findPlugin(tx: ManagedTransaction, org: string, service: string, idOrSlug: string) {
    const row = await one(tx, Q.getPlugin, { org, service, plugin: idOrSlug });
    return row ? toPluginNode(row.get("plugin")) : null;
  }

  async #plugin(tx: ManagedTransaction, org: string, service: string, idOrSlug: string): Promise<PluginNode> {
    const node = await this.#findPlugin(tx, org, service, idOrSlug);
    if (!node) throw new NotFoundError(`Plugin "${idOrSlug}" not found in service "${service}"`);
    return node;
  }

  async #projectTypesExist(tx: ManagedTransaction, org: string, slugs: string[]): Promise<string[]> {
    const unique = [...new Set(slugs)].sort(compareText);
    const found = new Set(
      (await run(tx, Q.existingProjectTypes, { org, slugs: unique })).records.map((r) => r.get("slug") as string),
    );
    const missing = unique.find((slug) => !found.has(slug));
    if (missing !== undefined) {
      throw new NotFoundError(`Project type "${missing}" not found in organization "${org}"`);
    }
    return unique;
  }

  async #scope(tx: ManagedTransaction, scope: BindingScope, options: { lock?: boolean } = {}): Promise<ScopeKey> {
    await this.#org(tx, scope.org);
    if (scope.kind === "project_type") {
      const pt = await this.#projectType(tx, scope.org, scope.slug, options);
      return { kind: "project_type", org: scope.org, key: pt.slug, label: `project type "${pt.slug}"` };
    }
    const project = await this.#project(tx, scope.org, scope.id, options);
    return { kind: "project", org: scope.org, key: project.id, label: `project "${project.slug}"` };
  }

  async #readBindings(tx: ManagedTransaction, scope: ScopeKey): Promise<Binding[]> {
    const result = scope.kind === "project_type"
      ? await run(tx, Q.projectTypeBindings, { org: scope.org, slug: scope.key })
      : await run(tx, Q.projectBindings, { org: scope.org, id: scope.key });
    return result.records.map((r) => toBinding(r.get("binding")));
  }

  // ---------------------------------------------------------------- the API

  /**
   * Runs `RETURN 1` on one connection, without retries, so it fails within
   * the connection timeout when the server is down.
   *
   * @throws {UnavailableError} When the server cannot answer.
   */
  async ping(): Promise<void> {
    const session = this.#session("READ");
    try {
      await session.run(Q.ping, {}, { timeout: 2000 });
    } catch (error) {
      throw this.#map(error);
    } finally {
      await session.close().catch(() => {});
    }
  }

  /** Closes the driver and its pool; later calls fail with `UnavailableError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }

  /** Organizations by slug. */
  async listOrgs(page?: Page): Promise<Organization[]> {
    const { limit, offset } = paging(page);
    return await this.#read(async (tx) =>
      (await run(tx, Q.listOrgs, { limit, offset })).records.map((r) => ({ slug: r.get("slug"), name: r.get("name") }))
    );
  }

  /** One organization, or null. */
  async getOrg(slug: string): Promise<Organization | null> {
    return await this.#read(async (tx) => {
      const row = await one(tx, Q.getOrg, { org: slug });
      return row ? { slug: row.get("slug"), name: row.get("name") } : null;
    });
  }

  /** @throws {ConflictError} When the slug is taken. */
  async createOrg(org: Organization): Promise<Organization> {
    const value = { slug: org.slug, name: org.name };
    return await this.#write(async (tx) => {
      if (await one(tx, Q.getOrg, { org: value.slug })) {
        throw new ConflictError(`Organization "${value.slug}" already exists`);
      }
      await run(tx, Q.createOrg, { org: value.slug, name: value.name });
      return value;
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  async updateOrg(slug: string, patch: Partial<Omit<Organization, "slug">>): Promise<Organization> {
    return await this.#write(async (tx) => {
      const current = await this.#org(tx, slug);
      const row = await one(tx, Q.updateOrg, { org: slug, name: patch.name ?? current.name });
      return { slug: row!.get("slug"), name: row!.get("name") };
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} While the org holds project types, projects or
   *   services; `extra` carries their counts.
   */
  async deleteOrg(slug: string): Promise<void> {
    return await this.#write(async (tx) => {
      await this.#org(tx, slug, { lock: true });
      const row = (await one(tx, Q.orgHoldings, { org: slug }))!;
      const counts = {
        project_types: row.get("project_types") as number,
        projects: row.get("projects") as number,
        services: row.get("services") as number,
      };
      const held = Object.entries(counts).filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what.replace("_", " ")}`);
      if (held.length > 0) {
        throw new ConflictError(`Organization "${slug}" still holds ${held.join(", ")}`, { extra: { ...counts } });
      }
      await run(tx, Q.deleteOrg, { org: slug });
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  async listProjectTypes(org: string, page?: Page): Promise<ProjectType[]> {
    const { limit, offset } = paging(page);
    return await this.#read(async (tx) => {
      await this.#org(tx, org);
      return (await run(tx, Q.listProjectTypes, { org, limit, offset })).records.map((r) => ({
        slug: r.get("slug"),
        name: r.get("name"),
      }));
    });
  }

  /** One project type, or null (also for an unknown org). */
  async getProjectType(org: string, slug: string): Promise<ProjectType | null> {
    return await this.#read(async (tx) => {
      const row = await one(tx, Q.getProjectType, { org, slug });
      return row ? { slug: row.get("slug"), name: row.get("name") } : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  async createProjectType(org: string, pt: ProjectType): Promise<ProjectType> {
    const value = { slug: pt.slug, name: pt.name };
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      if (await one(tx, Q.getProjectType, { org, slug: value.slug })) {
        throw new ConflictError(`Project type "${value.slug}" already exists in organization "${org}"`);
      }
      await run(tx, Q.createProjectType, { org, slug: value.slug, name: value.name });
      return value;
    });
  }

  /** @throws {NotFoundError} For an unknown org or project type. */
  async updateProjectType(org: string, slug: string, patch: Partial<Omit<ProjectType, "slug">>): Promise<ProjectType> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      const current = await this.#projectType(tx, org, slug);
      const row = await one(tx, Q.updateProjectType, { org, slug, name: patch.name ?? current.name });
      return { slug: row!.get("slug"), name: row!.get("name") };
    });
  }

  /**
   * Deletes a project type and its bindings.
   *
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} While projects have the type; `extra.projects`
   *   lists their slugs.
   */
  async deleteProjectType(org: string, slug: string): Promise<void> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#projectType(tx, org, slug, { lock: true });
      const projects = (await run(tx, Q.projectsOfType, { org, slug })).records.map((r) => r.get("slug") as string);
      if (projects.length > 0) {
        throw new ConflictError(`Project type "${slug}" is used by project ${quoteList(projects)}`, {
          extra: { projects },
        });
      }
      await run(tx, Q.deleteProjectType, { org, slug });
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  async listProjects(org: string, page?: Page): Promise<Project[]> {
    const { limit, offset } = paging(page);
    return await this.#read(async (tx) => {
      await this.#org(tx, org);
      return (await run(tx, Q.listProjects, { org, limit, offset })).records.map((r) => toProject(r.get("project")));
    });
  }

  /** By id, else by slug; null when absent (also for an unknown org). */
  async getProject(org: string, idOrSlug: string): Promise<Project | null> {
    return await this.#read((tx) => this.#findProject(tx, org, idOrSlug));
  }

  /**
   * @throws {NotFoundError} For an unknown org or project type.
   * @throws {ConflictError} For a slug taken in the org or an id taken anywhere.
   */
  async createProject(org: string, input: ProjectInput): Promise<Project> {
    const id = input.id ?? crypto.randomUUID();
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      if (await one(tx, Q.projectIdTaken, { id })) throw new ConflictError(`Project id "${id}" is already taken`);
      if (await one(tx, Q.projectSlugTaken, { org, slug: input.slug })) {
        throw new ConflictError(`Project "${input.slug}" already exists in organization "${org}"`);
      }
      const types = await this.#projectTypesExist(tx, org, input.project_types ?? []);
      await run(tx, Q.createProject, { org, id, slug: input.slug, name: input.name, types });
      return { id, slug: input.slug, name: input.name, project_types: types };
    });
  }

  /**
   * Patches name, slug and the set of project types.
   *
   * @throws {NotFoundError} For an unknown org, project or project type.
   * @throws {ConflictError} When the new slug is taken.
   */
  async updateProject(org: string, idOrSlug: string, patch: Partial<Omit<ProjectInput, "id">>): Promise<Project> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      const current = await this.#project(tx, org, idOrSlug, { lock: true });
      const slug = patch.slug ?? current.slug;
      if (slug !== current.slug && await one(tx, Q.projectSlugTaken, { org, slug })) {
        throw new ConflictError(`Project "${slug}" already exists in organization "${org}"`);
      }
      await run(tx, Q.updateProject, { org, id: current.id, slug, name: patch.name ?? current.name });
      if (patch.project_types !== undefined) {
        const types = await this.#projectTypesExist(tx, org, patch.project_types);
        await run(tx, Q.setProjectTypes, { org, id: current.id, types });
      }
      return toProject((await one(tx, Q.projectById, { org, id: current.id }))!.get("project"));
    });
  }

  /**
   * Deletes a project with its bindings.
   *
   * @throws {NotFoundError} For an unknown org or project.
   */
  async deleteProject(org: string, idOrSlug: string): Promise<void> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      const project = await this.#project(tx, org, idOrSlug);
      await run(tx, Q.deleteProject, { org, id: project.id });
    });
  }

  /** @throws {NotFoundError} For an unknown org. */
  async listServices(org: string, page?: Page): Promise<ThirdPartyService[]> {
    const { limit, offset } = paging(page);
    return await this.#read(async (tx) => {
      await this.#org(tx, org);
      return (await run(tx, Q.listServices, { org, limit, offset })).records.map((r) => toService(r.get("service")));
    });
  }

  /** One service, or null (also for an unknown org). */
  async getService(org: string, slug: string): Promise<ThirdPartyService | null> {
    return await this.#read(async (tx) => {
      const row = await one(tx, Q.getService, { org, slug });
      return row ? toService(row.get("service")) : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org.
   * @throws {ConflictError} When the slug is taken in the org.
   */
  async createService(org: string, svc: ThirdPartyService): Promise<ThirdPartyService> {
    const value = toService(svc);
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      if (await one(tx, Q.getService, { org, slug: value.slug })) {
        throw new ConflictError(`Service "${value.slug}" already exists in organization "${org}"`);
      }
      await run(tx, Q.createService, { org, ...value });
      return value;
    });
  }

  /**
   * Patches a service; `null` clears an optional field.
   *
   * @throws {NotFoundError} For an unknown org or service.
   */
  async updateService(
    org: string,
    slug: string,
    patch: Partial<Omit<ThirdPartyService, "slug">>,
  ): Promise<ThirdPartyService> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      const current = await this.#service(tx, org, slug);
      const next: ThirdPartyService = {
        slug: current.slug,
        name: patch.name ?? current.name,
        vendor: patch.vendor === undefined ? current.vendor : patch.vendor,
        base_url: patch.base_url === undefined ? current.base_url : patch.base_url,
        account: patch.account === undefined ? current.account : patch.account,
        region: patch.region === undefined ? current.region : patch.region,
      };
      const row = await one(tx, Q.updateService, { org, ...next });
      return toService(row!.get("service"));
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} While it has applications or Plugin nodes;
   *   `extra` lists their slugs.
   */
  async deleteService(org: string, slug: string): Promise<void> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, slug, { lock: true });
      const row = (await one(tx, Q.serviceHoldings, { org, slug }))!;
      const applications = row.get("applications") as string[];
      const plugins = row.get("plugins") as string[];
      if (applications.length > 0 || plugins.length > 0) {
        const parts = [
          applications.length > 0 ? `application ${quoteList(applications)}` : "",
          plugins.length > 0 ? `Plugin ${quoteList(plugins)}` : "",
        ].filter(Boolean);
        throw new ConflictError(`Service "${slug}" still has ${parts.join(" and ")}`, {
          extra: { applications, plugins },
        });
      }
      await run(tx, Q.deleteService, { org, slug });
    });
  }

  /** @throws {NotFoundError} For an unknown org or service. */
  async listApplications(org: string, service: string): Promise<ServiceApplication[]> {
    return await this.#read(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      return (await run(tx, Q.listApplications, { org, service })).records.map((r) =>
        toApplication(r.toObject() as ApplicationRow)
      );
    });
  }

  /** One application with ciphertext credentials, or null (also for an unknown org or service). */
  async getApplication(org: string, service: string, slug: string): Promise<ServiceApplication | null> {
    return await this.#read(async (tx) => {
      const row = await one(tx, Q.getApplication, { org, service, slug });
      return row ? toApplication(row.toObject() as ApplicationRow) : null;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ConflictError} When the slug is taken in the service.
   */
  async createApplication(org: string, service: string, app: ServiceApplication): Promise<ServiceApplication> {
    const value = { slug: app.slug, name: app.name, credentials: { ...(app.credentials ?? {}) } };
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      if (await one(tx, Q.getApplication, { org, service, slug: value.slug })) {
        throw new ConflictError(`Application "${value.slug}" already exists in service "${service}"`);
      }
      await run(tx, Q.createApplication, {
        org,
        service,
        slug: value.slug,
        name: value.name,
        credentials: JSON.stringify(value.credentials),
      });
      return value;
    });
  }

  /**
   * Patches name and credentials; `credentials` replaces the whole map.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   */
  async updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: Partial<Omit<ServiceApplication, "slug">>,
  ): Promise<ServiceApplication> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      const current = await this.#application(tx, org, service, slug);
      const next: ServiceApplication = {
        slug: current.slug,
        name: patch.name ?? current.name,
        credentials: patch.credentials === undefined ? current.credentials : { ...patch.credentials },
      };
      await run(tx, Q.updateApplication, {
        org,
        service,
        slug,
        name: next.name,
        credentials: JSON.stringify(next.credentials),
      });
      return next;
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ConflictError} While a Plugin node uses it; `extra.plugins`
   *   lists their slugs.
   */
  async deleteApplication(org: string, service: string, slug: string): Promise<void> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      await this.#application(tx, org, service, slug, { lock: true });
      const plugins = (await run(tx, Q.applicationUsers, { org, service, slug })).records.map((r) =>
        r.get("slug") as string
      );
      if (plugins.length > 0) {
        throw new ConflictError(`Application "${slug}" is used by Plugin ${quoteList(plugins)}`, {
          extra: { plugins },
        });
      }
      await run(tx, Q.deleteApplication, { org, service, slug });
    });
  }

  /** @throws {NotFoundError} For an unknown org or service. */
  async listPlugins(org: string, service: string): Promise<PluginNode[]> {
    return await this.#read(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      return (await run(tx, Q.listPlugins, { org, service })).records.map((r) => toPluginNode(r.get("plugin")));
    });
  }

  /** By id, else by slug in the service; null when absent (also for an unknown org or service). */
  async getPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode | null> {
    return await this.#read((tx) => this.#findPlugin(tx, org, service, idOrSlug));
  }

  /**
   * Creates a Plugin node. With `application: null` (or absent) it uses the
   * service's only application when the service has exactly one, else none.
   *
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ConflictError} For a slug taken in the service or an id taken anywhere.
   * @throws {ValidationError} For an unknown `plugin_type` (pointer `/plugin_type`).
   */
  async createPlugin(org: string, service: string, input: PluginNodeInput): Promise<PluginNode> {
    if (!PLUGIN_TYPES.has(input.plugin_type)) {
      throw new ValidationError(`Plugin "${input.slug}" has an unknown plugin_type`, [
        { pointer: "/plugin_type", message: `must be one of ${[...PLUGIN_TYPES].join(", ")}` },
      ]);
    }
    const id = input.id ?? crypto.randomUUID();
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      if (await one(tx, Q.pluginIdTaken, { id })) throw new ConflictError(`Plugin id "${id}" is already taken`);
      if (await one(tx, Q.pluginSlugTaken, { org, service, slug: input.slug })) {
        throw new ConflictError(`Plugin "${input.slug}" already exists in service "${service}"`);
      }
      let application: string | null = null;
      if (input.application !== null && input.application !== undefined) {
        application = (await this.#application(tx, org, service, input.application)).slug;
      } else {
        // USES_APPLICATION defaults to the service's only application.
        const apps = (await run(tx, Q.onlyApplication, { org, service })).records;
        if (apps.length === 1) application = apps[0]!.get("slug");
      }
      const node: PluginNode = {
        id,
        slug: input.slug,
        service,
        application,
        plugin: input.plugin,
        plugin_type: input.plugin_type,
        label: input.label,
        options: structuredClone(input.options ?? {}),
        enabled: input.enabled ?? true,
      };
      await run(tx, Q.createPlugin, {
        org,
        service,
        id,
        slug: node.slug,
        plugin: node.plugin,
        plugin_type: node.plugin_type,
        label: node.label,
        options: JSON.stringify(node.options),
        enabled: node.enabled,
        application,
      });
      return node;
    });
  }

  /**
   * Patches slug, application (`null` unlinks), label, options and enabled.
   *
   * @throws {NotFoundError} For an unknown org, service, Plugin node or application.
   * @throws {ConflictError} When the new slug is taken in the service.
   */
  async updatePlugin(
    org: string,
    service: string,
    idOrSlug: string,
    patch: Partial<Omit<PluginNode, "id" | "service" | "plugin" | "plugin_type">>,
  ): Promise<PluginNode> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      const current = await this.#plugin(tx, org, service, idOrSlug);
      await run(tx, Q.lockPlugin, { id: current.id });
      const slug = patch.slug ?? current.slug;
      if (slug !== current.slug && await one(tx, Q.pluginSlugTaken, { org, service, slug })) {
        throw new ConflictError(`Plugin "${slug}" already exists in service "${service}"`);
      }
      let application = current.application;
      if (patch.application === null) application = null;
      else if (patch.application !== undefined) {
        application = (await this.#application(tx, org, service, patch.application)).slug;
      }
      const row = await one(tx, Q.updatePlugin, {
        id: current.id,
        slug,
        label: patch.label ?? current.label,
        options: JSON.stringify(patch.options ?? current.options),
        enabled: patch.enabled ?? current.enabled,
        application,
      });
      return toPluginNode(row!.get("plugin"));
    });
  }

  /**
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   * @throws {ConflictError} While a binding points at it (as `plugin_id` or
   *   `identity_plugin_id`); `extra.scopes` lists the binding scopes.
   */
  async deletePlugin(org: string, service: string, idOrSlug: string): Promise<void> {
    return await this.#write(async (tx) => {
      await this.#org(tx, org);
      await this.#service(tx, org, service);
      const node = await this.#plugin(tx, org, service, idOrSlug);
      await run(tx, Q.lockPlugin, { id: node.id });
      const users = (await run(tx, Q.pluginUsers, { id: node.id })).records.map((r) => ({
        kind: r.get("kind") as "project_type" | "project",
        key: r.get("key") as string,
        slug: r.get("slug") as string,
      }));
      if (users.length > 0) {
        const scopes: BindingScope[] = users.map((u) =>
          u.kind === "project_type" ? { kind: "project_type", org, slug: u.key } : { kind: "project", org, id: u.key }
        );
        const names = users.map((u) => `${u.kind.replace("_", " ")} "${u.slug}"`);
        throw new ConflictError(
          `Plugin "${service}/${node.slug}" is bound by ${names.slice(0, 10).join(", ")}` +
            (names.length > 10 ? ` and ${names.length - 10} more` : ""),
          { extra: { scopes } },
        );
      }
      await run(tx, Q.deletePlugin, { id: node.id });
    });
  }

  /** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
  async findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]> {
    if (manifestSlugs.length === 0) return [];
    return await this.#read(async (tx) =>
      (await run(tx, Q.findPluginNodes, { plugins: manifestSlugs })).records.map((r) => ({
        org: r.get("org"),
        service: r.get("service"),
        id: r.get("id"),
        slug: r.get("slug"),
        plugin: r.get("plugin"),
      }))
    );
  }

  /** Sets `enabled = false` on the listed Plugin nodes; unknown ids are ignored. */
  async disablePluginNodes(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    return await this.#write(async (tx) => {
      await run(tx, Q.disablePluginNodes, { ids });
    });
  }

  /**
   * The bindings of a scope in the order they were written. A project scope's
   * `id` may also be the project's slug.
   *
   * @throws {NotFoundError} For an unknown org, project type or project.
   */
  async getBindings(scope: BindingScope): Promise<Binding[]> {
    return await this.#read(async (tx) => await this.#readBindings(tx, await this.#scope(tx, scope)));
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
  async replaceBindings(scope: BindingScope, bindings: Binding[]): Promise<Binding[]> {
    return await this.#write(async (tx) => {
      const key = await this.#scope(tx, scope, { lock: true });
      const ids = new Set<string>();
      for (const b of bindings) {
        if (typeof b.plugin_id === "string") ids.add(b.plugin_id);
        if (typeof b.identity_plugin_id === "string") ids.add(b.identity_plugin_id);
      }
      const known = new Map<string, PluginInfo>();
      for (const r of (await run(tx, Q.pluginsOfOrg, { org: key.org, ids: [...ids] })).records) {
        known.set(r.get("id"), r.toObject() as PluginInfo);
      }
      const rows = edgeRows(bindings, { org: key.org, scope: key, lookup: (id) => known.get(id), prefix: "" });
      if (key.kind === "project_type") {
        await run(tx, Q.clearProjectTypeBindings, { org: key.org, slug: key.key });
        if (rows.length > 0) await run(tx, Q.writeProjectTypeBindings, { org: key.org, slug: key.key, rows });
      } else {
        await run(tx, Q.clearProjectBindings, { org: key.org, id: key.key });
        if (rows.length > 0) await run(tx, Q.writeProjectBindings, { org: key.org, id: key.key, rows });
      }
      return await this.#readBindings(tx, key);
    });
  }

  /** Merged bindings of a project for every tab (project edges win); null for an unknown org or project. */
  async effectiveBindings(org: string, project: string): Promise<EffectiveBinding[] | null> {
    return await this.#read(async (tx) => {
      const row = (await one(tx, EFFECTIVE_BINDINGS, { org, project }))!;
      if (!row.get("found")) return null;
      return (row.get("merged") as MergedRow[]).map(toEffective);
    });
  }

  /**
   * Spec section 6 steps 1 to 5 in one Cypher query and one round trip (see
   * `core/_cypher_resolution.ts`): the same answers as `mergeEdges` and
   * `selectBinding` of `core/resolution.ts`. The query runs as an
   * auto-commit transaction, retried once on a dropped connection.
   */
  async resolveTab(query: ResolveQuery): Promise<Resolution> {
    const source = query.source === undefined || query.source === "" ? null : query.source;
    const row = (await this.#readOne(RESOLVE_TAB, {
      org: query.org,
      project: query.project,
      tab: query.tab,
      source,
      loaded: query.loaded,
    }))!;
    return toResolution(row.toObject() as ResolutionRow, source);
  }

  /** The whole graph, every list ordered by slug and bindings in written order. */
  async exportAll(): Promise<GraphDump> {
    return await this.#read(async (tx) => {
      const organizations: GraphDump["organizations"] = [];
      for (const row of (await run(tx, Q.exportAll, {})).records) {
        organizations.push({
          slug: row.get("slug"),
          name: row.get("name"),
          project_types: row.get("project_types"),
          projects: (row.get("projects") as (ProjectRow & { bindings: BindingRowMap[] })[]).map((p) => ({
            ...toProject(p),
            bindings: p.bindings.map(toBinding),
          })),
          services: (row.get("services") as (ThirdPartyService & {
            applications: ApplicationRow[];
            plugins: PluginRow[];
          })[]).map((s) => ({
            ...toService(s),
            applications: s.applications.map(toApplication),
            plugins: s.plugins.map(toPluginNode),
          })),
          project_type_bindings: (row.get("project_type_bindings") as {
            project_type: string;
            bindings: BindingRowMap[];
          }[]).map((e) => ({ project_type: e.project_type, bindings: e.bindings.map(toBinding) })),
        });
      }
      return { organizations };
    });
  }

  /**
   * Loads a dump in one transaction. The store may hold other orgs; nothing
   * is written when any rule breaks. The dump is checked whole before the
   * first write, then written with one `UNWIND` per kind of node and edge,
   * and the counts of created nodes and edges are verified.
   *
   * @throws {ConflictError} When an org of the dump exists, or a project or
   *   Plugin id is taken.
   * @throws {NotFoundError} For a reference to a missing project type or application.
   * @throws {ValidationError} For a binding rule break, with pointers into the
   *   dump (`/organizations/<o>/projects/<p>/bindings/<i>/...`).
   */
  async importAll(dump: GraphDump): Promise<void> {
    const plan = planImport(dump);
    return await this.#write(async (tx) => {
      const existing = (await run(tx, Q.existingOrgs, { orgs: plan.orgs.map((o) => o.slug) })).records;
      if (existing.length > 0) {
        throw new ConflictError(`Organization "${existing[0]!.get("slug")}" already exists`);
      }
      const takenProject = await one(tx, Q.takenProjectIds, { ids: plan.projects.map((p) => p.id) });
      if (takenProject) throw new ConflictError(`Project id "${takenProject.get("id")}" is already taken`);
      const takenPlugin = await one(tx, Q.takenPluginIds, { ids: plan.plugins.map((p) => p.id) });
      if (takenPlugin) throw new ConflictError(`Plugin id "${takenPlugin.get("id")}" is already taken`);
      const steps: [string, readonly object[], { nodes: number; relationships: number }][] = [
        [Q.importOrgs, plan.orgs, { nodes: plan.orgs.length, relationships: 0 }],
        [Q.importProjectTypes, plan.projectTypes, {
          nodes: plan.projectTypes.length,
          relationships: plan.projectTypes.length,
        }],
        [Q.importServices, plan.services, { nodes: plan.services.length, relationships: plan.services.length }],
        [Q.importApplications, plan.applications, {
          nodes: plan.applications.length,
          relationships: plan.applications.length,
        }],
        [Q.importPlugins, plan.plugins, {
          nodes: plan.plugins.length,
          relationships: plan.plugins.length + plan.plugins.filter((p) => p.application !== null).length,
        }],
        [Q.importProjects, plan.projects, {
          nodes: plan.projects.length,
          relationships: plan.projects.reduce((n, p) => n + 1 + p.project_types.length, 0),
        }],
        [Q.importProjectBindings, plan.projectBindings, { nodes: 0, relationships: plan.projectBindings.length }],
        [Q.importProjectTypeBindings, plan.typeBindings, { nodes: 0, relationships: plan.typeBindings.length }],
      ];
      for (const [cypher, rows, expected] of steps) {
        if (rows.length === 0) continue;
        const counters = (await run(tx, cypher, { rows })).summary.counters.updates();
        if (counters.nodesCreated !== expected.nodes || counters.relationshipsCreated !== expected.relationships) {
          throw new Error(
            `importAll wrote ${counters.nodesCreated} nodes and ${counters.relationshipsCreated} edges where ` +
              `${expected.nodes} and ${expected.relationships} were expected; nothing was kept`,
          );
        }
      }
    });
  }
}

// ------------------------------------------------------------------ helpers

async function run(tx: ManagedTransaction, cypher: string, params: Record<string, unknown>): Promise<QueryResult> {
  log.debug("neo4j query", { cypher });
  return await tx.run(cypher, params);
}

async function one(tx: ManagedTransaction, cypher: string, params: Record<string, unknown>) {
  const result = await run(tx, cypher, params);
  return result.records[0] ?? null;
}

/**
 * Maps a driver error to the store's error classes: unreachable, timed-out,
 * expired or transient failures become `UnavailableError`; a uniqueness
 * constraint that a concurrent write tripped becomes `ConflictError`; the
 * store's own errors and anything else pass through.
 */
function mapNeo4jError(error: unknown, retryAfterSeconds: number): unknown {
  if (!(error instanceof Error)) return error;
  if (
    error instanceof UnavailableError || error instanceof ConflictError || error instanceof NotFoundError ||
    error instanceof ValidationError
  ) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return error;
  if (code === "Neo.ClientError.Schema.ConstraintValidationFailed") {
    return new ConflictError("The write conflicts with a concurrent write; retry it", { cause: error });
  }
  const unavailable = code === neo4j.error.SERVICE_UNAVAILABLE || code === neo4j.error.SESSION_EXPIRED ||
    code.includes("TransientError") || code === "Neo.ClientError.Security.AuthorizationExpired" ||
    code === "Neo.ClientError.Security.Unauthorized" || code === "Neo.ClientError.Database.DatabaseNotFound" ||
    code.startsWith("Neo.ClientError.Cluster.") || error.message.startsWith("Connection acquisition timed out") ||
    error.message.includes("Failed to connect to server") || error.message.includes("Pool is closed");
  if (unavailable) {
    const reason = code === "Neo.ClientError.Security.Unauthorized"
      ? "The graph store refused the credentials"
      : "The graph store is unavailable";
    log.warn("graph store unavailable", { kind: "neo4j", code, message: error.message });
    return new UnavailableError(reason, { cause: error, retryAfterSeconds });
  }
  return error;
}

function boltPort(url: string): number {
  const port = new URL(url.replace(/^[a-z0-9+]+:/, "http:")).port;
  return port === "" ? 7687 : Number(port);
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function paging(page: Page | undefined) {
  const limit = page?.limit ?? NO_LIMIT;
  const offset = page?.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`page limit must be >= 0, got ${limit}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`page offset must be >= 0, got ${offset}`);
  return { limit: neo4j.int(Math.min(limit, NO_LIMIT)), offset: neo4j.int(offset) };
}

function quoteList(names: string[], max = 10): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function toProject(row: ProjectRow): Project {
  return { id: row.id, slug: row.slug, name: row.name, project_types: [...row.project_types] };
}

function toService(row: ThirdPartyService): ThirdPartyService {
  return {
    slug: row.slug,
    name: row.name,
    vendor: row.vendor ?? null,
    base_url: row.base_url ?? null,
    account: row.account ?? null,
    region: row.region ?? null,
  };
}

function toApplication(row: ApplicationRow): ServiceApplication {
  return { slug: row.slug, name: row.name, credentials: JSON.parse(row.credentials) as Record<string, string> };
}

function toPluginNode(row: PluginRow): PluginNode {
  return {
    id: row.id,
    slug: row.slug,
    service: row.service,
    application: row.application ?? null,
    plugin: row.plugin,
    plugin_type: row.plugin_type as PluginType,
    label: row.label,
    options: JSON.parse(row.options) as Record<string, unknown>,
    enabled: row.enabled === true,
  };
}

/** A merged edge as the resolution queries return it; `default` is the merged flag. */
interface MergedRow {
  edge: EdgeRow;
  default: boolean;
  origin: string | null;
  plugin: PluginRow;
}

interface BindingRowMap extends EdgeRow {
  plugin_id: string;
}

function toBinding(row: BindingRowMap): Binding {
  return {
    plugin_id: row.plugin_id,
    tab: row.tab as PluginType,
    default: row.default === true,
    search_template: row.search_template ?? "",
    identity_plugin_id: row.identity_plugin_id ?? null,
  };
}

function toEffective(row: MergedRow): EffectiveBinding {
  const plugin = toPluginNode(row.plugin);
  const origin: BindingOrigin = row.origin === null ? { kind: "project" } : { kind: "project_type", slug: row.origin };
  return { ...toBinding({ ...row.edge, default: row.default, plugin_id: plugin.id }), origin, plugin };
}

interface ResolutionRow {
  kind: "project_not_found" | "none" | "source_not_found" | "ambiguous" | "selected";
  reason: "source" | "project_default" | "project_type_default" | "only_candidate" | null;
  why: "source" | "defaults" | "several" | null;
  candidates: CandidateSummary[];
  dropped: { plugin_id: string; slug: string; reason: "disabled" | "not_loaded" }[];
  org: Organization | null;
  project: ProjectRow | null;
  chosen: MergedRow | null;
  service: ThirdPartyService | null;
  application: ApplicationRow | null;
}

function toResolution(row: ResolutionRow, source: string | null): Resolution {
  switch (row.kind) {
    case "project_not_found":
      return { kind: "project_not_found" };
    case "none":
      return { kind: "none", dropped: row.dropped };
    case "source_not_found":
      return { kind: "source_not_found", source: source!, candidates: row.candidates };
    case "ambiguous":
      return {
        kind: "ambiguous",
        candidates: row.candidates,
        why: row.why === "source"
          ? `source "${source}" matches more than one plugin; use its id or service/slug`
          : row.why === "defaults"
          ? "more than one project type sets a default for this tab; choose one with ?source="
          : "several plugins are bound to this tab and none is the default; choose one with ?source=",
      };
    case "selected":
      return {
        kind: "selected",
        reason: row.reason!,
        target: {
          org: { slug: row.org!.slug, name: row.org!.name },
          project: toProject(row.project!),
          binding: toEffective(row.chosen!),
          service: toService(row.service!),
          application: row.application ? toApplication(row.application) : null,
        },
      };
  }
}

/**
 * Checks one scope's bindings with the shared rules and returns the edge rows
 * to write.
 *
 * @throws {ValidationError} Listing every break, pointers prefixed with `prefix`.
 */
function edgeRows(
  bindings: Binding[],
  context: {
    org: string;
    scope: { kind: string; key: string; label: string };
    lookup: (id: string) => PluginInfo | undefined;
    prefix: string;
  },
): EdgeWrite[] {
  const { org, scope } = context;
  const checked = checkBindings(bindings, {
    org,
    scopeLabel: scope.label,
    lookup: context.lookup,
    prefix: context.prefix,
  });
  return checked.map(({ binding }, position) => ({
    plugin_id: binding.plugin_id,
    tab: binding.tab,
    default: binding.default === true,
    search_template: binding.search_template ?? "",
    identity_plugin_id: binding.identity_plugin_id ?? null,
    position,
    default_key: binding.default === true ? `${scope.kind}\u0000${org}\u0000${scope.key}\u0000${binding.tab}` : null,
  }));
}

/** A dump flattened into one list of rows per `UNWIND`, checked whole. */
interface ImportPlan {
  orgs: { slug: string; name: string }[];
  projectTypes: { org: string; slug: string; name: string }[];
  services: (ThirdPartyService & { org: string })[];
  applications: { org: string; service: string; slug: string; name: string; credentials: string }[];
  plugins: {
    org: string;
    service: string;
    id: string;
    slug: string;
    application: string | null;
    plugin: string;
    plugin_type: string;
    label: string;
    options: string;
    enabled: boolean;
  }[];
  projects: { org: string; id: string; slug: string; name: string; project_types: string[] }[];
  projectBindings: (EdgeWrite & { org: string; owner: string })[];
  typeBindings: (EdgeWrite & { org: string; owner: string })[];
}

/**
 * Checks a dump against the rules a write would (duplicates, references,
 * binding rules) and flattens it. Nothing here reads the database: a dump's
 * orgs are new, so every reference must resolve inside the dump.
 */
function planImport(dump: GraphDump): ImportPlan {
  const plan: ImportPlan = {
    orgs: [],
    projectTypes: [],
    services: [],
    applications: [],
    plugins: [],
    projects: [],
    projectBindings: [],
    typeBindings: [],
  };
  const orgSlugs = new Set<string>();
  const projectIds = new Set<string>();
  const pluginIds = new Set<string>();
  dump.organizations.forEach((orgDump, o) => {
    const org = orgDump.slug;
    if (orgSlugs.has(org)) throw new ConflictError(`Organization "${org}" already exists`);
    orgSlugs.add(org);
    plan.orgs.push({ slug: org, name: orgDump.name });
    const types = new Set<string>();
    for (const pt of orgDump.project_types) {
      if (types.has(pt.slug)) {
        throw new ConflictError(`Project type "${pt.slug}" already exists in organization "${org}"`);
      }
      types.add(pt.slug);
      plan.projectTypes.push({ org, slug: pt.slug, name: pt.name });
    }
    const plugins = new Map<string, PluginInfo>();
    const services = new Set<string>();
    for (const svc of orgDump.services) {
      if (services.has(svc.slug)) {
        throw new ConflictError(`Service "${svc.slug}" already exists in organization "${org}"`);
      }
      services.add(svc.slug);
      plan.services.push({ org, ...toService(svc) });
      const apps = new Set<string>();
      for (const app of svc.applications) {
        if (apps.has(app.slug)) {
          throw new ConflictError(`Application "${app.slug}" already exists in service "${svc.slug}"`);
        }
        apps.add(app.slug);
        plan.applications.push({
          org,
          service: svc.slug,
          slug: app.slug,
          name: app.name,
          credentials: JSON.stringify(app.credentials ?? {}),
        });
      }
      const slugs = new Set<string>();
      for (const node of svc.plugins) {
        if (!PLUGIN_TYPES.has(node.plugin_type)) {
          throw new ValidationError(`Plugin "${node.slug}" has an unknown plugin_type`, [
            { pointer: "/plugin_type", message: `must be one of ${[...PLUGIN_TYPES].join(", ")}` },
          ]);
        }
        const id = node.id ?? crypto.randomUUID();
        if (pluginIds.has(id)) throw new ConflictError(`Plugin id "${id}" is already taken`);
        if (slugs.has(node.slug)) {
          throw new ConflictError(`Plugin "${node.slug}" already exists in service "${svc.slug}"`);
        }
        pluginIds.add(id);
        slugs.add(node.slug);
        const application = node.application ?? null;
        if (application !== null && !apps.has(application)) {
          throw new NotFoundError(`Application "${application}" not found in service "${svc.slug}"`);
        }
        plugins.set(id, { id, slug: node.slug, service: svc.slug, plugin_type: node.plugin_type });
        plan.plugins.push({
          org,
          service: svc.slug,
          id,
          slug: node.slug,
          application,
          plugin: node.plugin,
          plugin_type: node.plugin_type,
          label: node.label,
          options: JSON.stringify(node.options ?? {}),
          enabled: node.enabled ?? true,
        });
      }
    }
    const projectSlugs = new Set<string>();
    orgDump.projects.forEach((project, p) => {
      const id = project.id ?? crypto.randomUUID();
      if (projectIds.has(id)) throw new ConflictError(`Project id "${id}" is already taken`);
      if (projectSlugs.has(project.slug)) {
        throw new ConflictError(`Project "${project.slug}" already exists in organization "${org}"`);
      }
      projectIds.add(id);
      projectSlugs.add(project.slug);
      const projectTypes = [...new Set(project.project_types ?? [])].sort(compareText);
      const missing = projectTypes.find((t) => !types.has(t));
      if (missing !== undefined) {
        throw new NotFoundError(`Project type "${missing}" not found in organization "${org}"`);
      }
      plan.projects.push({ org, id, slug: project.slug, name: project.name, project_types: projectTypes });
      const rows = edgeRows(project.bindings ?? [], {
        org,
        scope: { kind: "project", key: id, label: `project "${project.slug}"` },
        lookup: (pid) => plugins.get(pid),
        prefix: `/organizations/${o}/projects/${p}`,
      });
      for (const row of rows) plan.projectBindings.push({ ...row, org, owner: id });
    });
    orgDump.project_type_bindings.forEach((entry, k) => {
      if (!types.has(entry.project_type)) {
        throw new NotFoundError(`Project type "${entry.project_type}" not found in organization "${org}"`);
      }
      const rows = edgeRows(entry.bindings, {
        org,
        scope: { kind: "project_type", key: entry.project_type, label: `project type "${entry.project_type}"` },
        lookup: (pid) => plugins.get(pid),
        prefix: `/organizations/${o}/project_type_bindings/${k}`,
      });
      for (const row of rows) plan.typeBindings.push({ ...row, org, owner: entry.project_type });
    });
  });
  return plan;
}
