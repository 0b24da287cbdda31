/**
 * The Cypher texts of the Neo4j store, one table of constants: every value
 * travels as a parameter, never in the text. Tab resolution's queries are in
 * `resolution.ts` beside this file, the schema in `schema.ts`.
 *
 * @module
 */

/** The properties of a `USES_PLUGIN` edge written from an `UNWIND` row. */
const EDGE_PROPS = `{tab: row.tab, default: row.default, search_template: row.search_template,
      identity_plugin_id: row.identity_plugin_id, position: row.position, default_key: row.default_key}`;

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

/** Every Cypher text the Neo4j store sends, by name; values travel only as parameters. */
export const Q = {
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
    RETURN a.slug AS slug, a.name AS name, a.credentials AS credentials LIMIT 2`,
  applicationPlugins:
    `MATCH (n:Plugin)-[:USES_APPLICATION]->(:ServiceApplication {org: $org, service: $service, slug: $slug})
    RETURN ${PLUGIN_MAP} AS plugin ORDER BY n.slug`,

  listPlugins: `MATCH (n:Plugin {org: $org, service: $service}) RETURN ${PLUGIN_MAP} AS plugin ORDER BY n.slug`,
  getPlugin: `OPTIONAL MATCH (byId:Plugin {org: $org, service: $service, id: $plugin})
    OPTIONAL MATCH (bySlug:Plugin {org: $org, service: $service, slug: $plugin})
    WITH coalesce(byId, bySlug) AS n
    WITH n WHERE n IS NOT NULL
    RETURN ${PLUGIN_MAP} AS plugin`,
  lockPlugin: `OPTIONAL MATCH (byId:Plugin {org: $org, service: $service, id: $plugin})
    OPTIONAL MATCH (bySlug:Plugin {org: $org, service: $service, slug: $plugin})
    WITH coalesce(byId, bySlug) AS n
    WITH n WHERE n IS NOT NULL
    SET n._lock = true REMOVE n._lock
    RETURN ${PLUGIN_MAP} AS plugin`,
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
    CREATE (t)-[:USES_PLUGIN ${EDGE_PROPS}]->(n)`,
  writeProjectBindings: `MATCH (p:Project {org: $org, id: $id})
    UNWIND $rows AS row
    MATCH (n:Plugin {id: row.plugin_id})
    CREATE (p)-[:USES_PLUGIN ${EDGE_PROPS}]->(n)`,

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
    CREATE (p)-[:USES_PLUGIN ${EDGE_PROPS}]->(n)`,
  importProjectTypeBindings: `UNWIND $rows AS row
    MATCH (t:ProjectType {org: row.org, slug: row.owner})
    MATCH (n:Plugin {id: row.plugin_id})
    CREATE (t)-[:USES_PLUGIN ${EDGE_PROPS}]->(n)`,
} as const;
