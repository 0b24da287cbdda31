/**
 * The Neo4j store's schema: uniqueness constraints and indexes, created with
 * `IF NOT EXISTS` at every connect. Private to `core/`: only
 * `core/graph/neo4j/store.ts` and its tests import it.
 *
 * The graph of spec section 6 in Neo4j:
 *
 * - `(:Organization {slug, name})`
 * - `(:ProjectType {org, slug, name})-[:BELONGS_TO]->(:Organization)`
 * - `(:Project {org, id, slug, name})-[:BELONGS_TO]->(:Organization)`,
 *   `(:Project)-[:HAS_TYPE]->(:ProjectType)`
 * - `(:ThirdPartyService {org, slug, name, vendor, base_url, account, region})-[:BELONGS_TO]->(:Organization)`
 * - `(:ThirdPartyService)-[:HAS_APPLICATION]->(:ServiceApplication {org, service, slug, name, credentials})`
 *   (`credentials`: a JSON object of ciphertexts, as a string)
 * - `(:ThirdPartyService)-[:HAS_PLUGIN]->(:Plugin {id, org, service, slug, plugin, plugin_type, label, options, enabled})`
 *   (`options`: JSON as a string), `(:Plugin)-[:USES_APPLICATION]->(:ServiceApplication)`
 * - `(:ProjectType|Project)-[:USES_PLUGIN {tab, default, search_template, identity_plugin_id, position, default_key}]->(:Plugin)`
 *
 * Slugs are unique per organization (per service for applications and Plugin
 * nodes): the owning slugs are copied onto the node (`org`, `service`; both
 * immutable) so composite uniqueness constraints can hold them. Project and
 * Plugin node ids are unique across the graph. `default_key` is set only on
 * a default edge, to `<scope>\u0000<tab>`, and is unique: the database
 * itself refuses a second default per scope and tab, behind the check the
 * store makes in the same transaction.
 *
 * @module
 */

/** One schema statement with the name it creates. */
export interface SchemaStatement {
  /** The constraint's or index's name. */
  name: string;
  /** Constraint or index. */
  kind: "constraint" | "index";
  /** The `CREATE ... IF NOT EXISTS` text. */
  cypher: string;
}

/** Every constraint and index, in creation order. */
export const SCHEMA: readonly SchemaStatement[] = [
  {
    name: "organization_slug",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT organization_slug IF NOT EXISTS FOR (o:Organization) REQUIRE o.slug IS UNIQUE",
  },
  {
    name: "project_type_slug",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT project_type_slug IF NOT EXISTS FOR (t:ProjectType) REQUIRE (t.org, t.slug) IS UNIQUE",
  },
  {
    name: "project_id",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT project_id IF NOT EXISTS FOR (p:Project) REQUIRE p.id IS UNIQUE",
  },
  {
    name: "project_slug",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT project_slug IF NOT EXISTS FOR (p:Project) REQUIRE (p.org, p.slug) IS UNIQUE",
  },
  {
    name: "service_slug",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT service_slug IF NOT EXISTS FOR (s:ThirdPartyService) REQUIRE (s.org, s.slug) IS UNIQUE",
  },
  {
    name: "application_slug",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT application_slug IF NOT EXISTS FOR (a:ServiceApplication) " +
      "REQUIRE (a.org, a.service, a.slug) IS UNIQUE",
  },
  {
    name: "plugin_id",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT plugin_id IF NOT EXISTS FOR (n:Plugin) REQUIRE n.id IS UNIQUE",
  },
  {
    name: "plugin_slug",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT plugin_slug IF NOT EXISTS FOR (n:Plugin) REQUIRE (n.org, n.service, n.slug) IS UNIQUE",
  },
  {
    name: "uses_plugin_default",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT uses_plugin_default IF NOT EXISTS FOR ()-[e:USES_PLUGIN]-() " +
      "REQUIRE e.default_key IS UNIQUE",
  },
  {
    name: "plugin_manifest",
    kind: "index",
    cypher: "CREATE INDEX plugin_manifest IF NOT EXISTS FOR (n:Plugin) ON (n.plugin)",
  },
  {
    name: "uses_plugin_identity",
    kind: "index",
    cypher: "CREATE INDEX uses_plugin_identity IF NOT EXISTS FOR ()-[e:USES_PLUGIN]-() ON (e.identity_plugin_id)",
  },
  // The control state (`../control.ts`): the audit log and its counter.
  {
    name: "audit_counter_name",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT audit_counter_name IF NOT EXISTS FOR (c:AuditCounter) REQUIRE c.name IS UNIQUE",
  },
  {
    name: "audit_record_seq",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT audit_record_seq IF NOT EXISTS FOR (a:AuditRecord) REQUIRE a.seq IS UNIQUE",
  },
  {
    name: "audit_record_target",
    kind: "index",
    cypher: "CREATE INDEX audit_record_target IF NOT EXISTS FOR (a:AuditRecord) ON (a.target_kind, a.target)",
  },
  // The lock state, its history and the replicas' heartbeats.
  {
    name: "lock_state_deployment",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT lock_state_deployment IF NOT EXISTS FOR (s:LockState) REQUIRE s.deployment IS UNIQUE",
  },
  {
    name: "lock_revision_number",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT lock_revision_number IF NOT EXISTS FOR (r:LockRevision) " +
      "REQUIRE (r.deployment, r.revision) IS UNIQUE",
  },
  {
    name: "replica_id",
    kind: "constraint",
    cypher: "CREATE CONSTRAINT replica_id IF NOT EXISTS FOR (r:Replica) REQUIRE (r.deployment, r.id) IS UNIQUE",
  },
];
