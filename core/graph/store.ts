/**
 * The graph model of spec section 6 and the store interface every graph
 * store (embedded SQLite, Neo4j) implements. Stores enforce the structural
 * write rules (`core/graph/rules.ts`: uniqueness, references, one default per
 * scope and tab, tab equals plugin type, deletion of things in use); rules
 * that need plugin manifests (options schema, credential fields, template
 * placeholders) are checked by `core/plugin_nodes.ts` and
 * `core/credentials.ts` before the store is called.
 *
 * Lookups come in pairs: `getX()` throws the one `NotFoundError` of
 * `core/graph/messages.ts` (naming the org when it is the org that is
 * missing), `findX()` answers null.
 *
 * Errors: `NotFoundError` for a missing org/parent/thing, `ConflictError` for
 * duplicates and deletions of things in use, `ValidationError` for rule
 * breaks on bindings, `PreconditionFailedError` when a write's `ifMatch`
 * does not hold, `UnavailableError` when the store cannot be reached.
 *
 * Every update, delete and binding replacement reads the resource's current
 * state, checks it and writes in one transaction (SQLite: `BEGIN IMMEDIATE`;
 * Neo4j: one write transaction that first takes the node's write lock), so a
 * merge never loses a concurrent write. `ifMatch` makes it a compare-and-set
 * against the resource's ETag (`core/graph/etag.ts`), and a `check` runs the
 * caller's rules on the merged state inside the same transaction.
 *
 * @module
 */

import type { PluginType, ServiceInfo } from "@imbi/plugin-sdk/types";
import type { AuditStamp } from "./audit_changes.ts";
import type { IfMatch } from "./etag.ts";
import type { AuditInput } from "./audit_store.ts";
import type { ControlStore } from "./control.ts";

/** The audit stamp and precondition types that write options name. */
export type { AuditStamp, IfMatch };
/** The control state's types (`GraphStore.control`), with the audit log's. */
export type * from "./control.ts";

/** The kinds of plugin, and so the tabs: the SDK's `PluginType`. */
export type { PluginType };

/** `Organization {slug, name}`. */
export interface Organization {
  /** Unique across the graph. */
  slug: string;
  /** Display name. */
  name: string;
}

/** `ProjectType {slug, name}`, in an organization. */
export interface ProjectType {
  /** Unique within its organization. */
  slug: string;
  /** Display name. */
  name: string;
}

/** `Project {id, slug, name}` with the slugs of its project types. */
export interface Project {
  /** Globally unique id (a UUID unless given on create). */
  id: string;
  /** Unique within its organization. */
  slug: string;
  /** Display name. */
  name: string;
  /** Slugs of the project's project types, sorted. */
  project_types: string[];
}

/**
 * `ThirdPartyService`: the vendor identity and per-tenant settings, the same
 * shape the plugin SDK hands a handler as `service`.
 */
export type ThirdPartyService = ServiceInfo;

/** `ServiceApplication` as stored: every credential value is ciphertext. */
export interface ServiceApplication {
  /** Unique within its service. */
  slug: string;
  /** Display name. */
  name: string;
  /** Field name to ciphertext (see `core/crypto.ts`). */
  credentials: Record<string, string>;
}

/** `Plugin`: one installed capability. */
export interface PluginNode {
  /** Globally unique id (a UUID), assigned on create. */
  id: string;
  /** Unique within its service. */
  slug: string;
  /** Slug of the service it hangs off (`HAS_PLUGIN`). */
  service: string;
  /** Slug of the application it uses (`USES_APPLICATION`), or null when the service has none. */
  application: string | null;
  /** The manifest slug of the handler. */
  plugin: string;
  /** The handler's kind, and the tab it can be bound to. */
  plugin_type: PluginType;
  /** Display name. */
  label: string;
  /** Handler options, checked against the manifest's schema. */
  options: Record<string, unknown>;
  /** A disabled node is never selected. */
  enabled: boolean;
}

/** One `USES_PLUGIN` edge's properties. */
export interface Binding {
  /** The Plugin node the edge points at. */
  plugin_id: string;
  /** The tab; equals the Plugin node's `plugin_type`. */
  tab: PluginType;
  /** At most one default per scope and tab. */
  default: boolean;
  /** Search template with `{placeholder}`s (see `core/template.ts`). */
  search_template: string;
  /** A Plugin node that identifies the project, or null. */
  identity_plugin_id: string | null;
}

/** Whose bindings: a project type's or a project's. */
export type BindingScope =
  | { kind: "project_type"; org: string; slug: string }
  | { kind: "project"; org: string; id: string };

/** Where an effective binding came from. */
export type BindingOrigin = { kind: "project" } | { kind: "project_type"; slug: string };

/** A merged edge with the Plugin node it points at. */
export interface EffectiveBinding extends Binding {
  /** The project's own edge, or the project type's that won the merge. */
  origin: BindingOrigin;
  /** The Plugin node `plugin_id` names. */
  plugin: PluginNode;
}

/** Why a candidate was chosen. */
export type SelectionReason = "source" | "project_default" | "project_type_default" | "only_candidate";

/** A short description of a candidate, for 400 and 404 bodies. */
export interface CandidateSummary {
  /** The Plugin node's id. */
  plugin_id: string;
  /** The Plugin node's slug. */
  slug: string;
  /** Its service's slug. */
  service: string;
  /** Its manifest slug. */
  plugin: string;
  /** Its label. */
  label: string;
}

/** A bound Plugin node that step 3 dropped, and why. */
export interface DroppedCandidate {
  /** The Plugin node's id. */
  plugin_id: string;
  /** The Plugin node's slug. */
  slug: string;
  /** Disabled, or its manifest is not loaded. */
  reason: "disabled" | "not_loaded";
}

/** Everything needed to call the chosen handler, read in one go. */
export interface ResolvedTarget {
  /** The project's organization. */
  org: Organization;
  /** The project, found by id or slug. */
  project: Project;
  /** The chosen edge with its Plugin node. */
  binding: EffectiveBinding;
  /** The Plugin node's service. */
  service: ThirdPartyService;
  /** The application with ciphertext credentials, or null if none is linked. */
  application: ServiceApplication | null;
}

/** The outcome of resolving a tab (spec section 6, steps 1 to 5). */
export type Resolution =
  | { kind: "project_not_found" }
  | {
    kind: "none";
    /** Bound plugins that were dropped in step 3, and why. */
    dropped: DroppedCandidate[];
  }
  | { kind: "source_not_found"; source: string; candidates: CandidateSummary[] }
  | { kind: "ambiguous"; candidates: CandidateSummary[]; why: string }
  | { kind: "selected"; target: ResolvedTarget; reason: SelectionReason };

/** Input of {@linkcode GraphStore.resolveTab}. */
export interface ResolveQuery {
  /** Organization slug. */
  org: string;
  /** Project id or slug. */
  project: string;
  /** The tab to resolve. */
  tab: PluginType;
  /** `?source=`: Plugin id, Plugin slug, or `service/slug`. */
  source?: string;
  /** Manifest slugs whose handler is loaded right now. */
  loaded: string[];
}

/** Fields a project create carries. */
export interface ProjectInput {
  /** Optional; generated when absent. */
  id?: string;
  /** Unique within the organization. */
  slug: string;
  /** Display name. */
  name: string;
  /** Slugs of existing project types of the organization. */
  project_types: string[];
}

/** Fields a Plugin node create carries (id is assigned by the store). */
export type PluginNodeInput = Omit<PluginNode, "id"> & { id?: string };

/** The fields of a Plugin node an update may change. */
export type PluginNodePatch = Partial<Omit<PluginNode, "id" | "service" | "plugin" | "plugin_type">> & {
  /**
   * With `options`: options whose stored value is kept when `options` lacks
   * them (secret options a client leaves out), merged inside the write's
   * transaction.
   */
  keep_options?: string[];
};

/** A Plugin node somewhere in the graph, for admin reports. */
export interface PluginNodeRef {
  /** Organization slug. */
  org: string;
  /** Service slug. */
  service: string;
  /** Plugin node id. */
  id: string;
  /** Plugin node slug. */
  slug: string;
  /** Manifest slug. */
  plugin: string;
}

/** One organization of a {@linkcode GraphDump}, with everything it holds. */
export interface OrgDump extends Organization {
  /** Its project types, by slug. */
  project_types: ProjectType[];
  /** Its projects, by slug, with their own bindings in written order. */
  projects: (Project & { bindings: Binding[] })[];
  /** Its services, by slug, with their applications and Plugin nodes. */
  services: (ThirdPartyService & {
    applications: ServiceApplication[];
    plugins: PluginNode[];
  })[];
  /** Bindings of the project types that have any, by project-type slug. */
  project_type_bindings: { project_type: string; bindings: Binding[] }[];
}

/** A whole graph, for `graph:migrate` and contract tests. */
export interface GraphDump {
  /** Every organization, by slug. */
  organizations: OrgDump[];
}

/** Options of a write to one existing resource (an update, a delete, a binding replacement). */
export interface WriteOptions extends CreateOptions {
  /**
   * Compare-and-set: the write happens only while the resource's current
   * ETag (`etagOf` of its stored state) is one of these, or it exists for
   * `"*"`; else `PreconditionFailedError`. Absent: unconditional.
   */
  ifMatch?: IfMatch | undefined;
}

/** Options of a create, and of every write. */
export interface CreateOptions {
  /**
   * Who makes the write: the store appends its audit record (from what to
   * what, `audit_changes.ts`) in the write's own transaction. Absent: no
   * record (imports, tests).
   */
  audit?: AuditStamp | undefined;
}

/** The changes of an application update. */
export interface ApplicationPatch {
  /** New display name. */
  name?: string;
  /** Field name to ciphertext: replaces the whole map. */
  credentials?: Record<string, string>;
  /**
   * Field name to ciphertext, or null to remove the field: merged into the
   * stored map (after `credentials`, if both) inside the write's transaction.
   */
  credential_changes?: Record<string, string | null>;
}

/** Options of an application update. */
export interface ApplicationWriteOptions extends WriteOptions {
  /**
   * The caller's rules, run inside the write's transaction on the
   * application as it would be stored and the Plugin nodes that use it;
   * throwing refuses the write. Synchronous and without side effects (a
   * Neo4j transaction may be run again).
   */
  check?: (next: ServiceApplication, users: PluginNode[]) => void;
}

/** What a Plugin node's check sees besides the node: its service and application. */
export interface PluginContext {
  /** The node's service. */
  service: ThirdPartyService;
  /** The application the node would use (ciphertext credentials), or null. */
  application: ServiceApplication | null;
}

/** Options of a Plugin node create or update. */
export interface PluginWriteOptions extends WriteOptions {
  /**
   * The caller's rules, run inside the write's transaction on the node as it
   * would be stored, with its service and application; throwing refuses the
   * write. Synchronous and without side effects.
   */
  check?: (next: PluginNode, context: PluginContext) => void;
}

/** Paging of list calls. */
export interface Page {
  /** At most this many items; all when absent. */
  limit?: number;
  /** Skip this many items first. Default 0. */
  offset?: number;
}

/** The graph store. Every method is safe to call concurrently. */
export interface GraphStore {
  /** A short name for logs and `/readyz`: `"sqlite"` or `"neo4j"`. */
  readonly kind: string;
  /** The lock state, audit log and replica heartbeats the replicas share (`control.ts`). */
  readonly control: ControlStore;
  /** Throws `UnavailableError` when the store cannot answer. */
  ping(): Promise<void>;
  /** Releases the connection(s); later calls fail with `UnavailableError`. */
  close(): Promise<void>;

  /** Organizations by slug. */
  listOrgs(page?: Page): Promise<Organization[]>;
  /** One organization; `NotFoundError` when absent. */
  getOrg(slug: string): Promise<Organization>;
  /** One organization, or null. */
  findOrg(slug: string): Promise<Organization | null>;
  /** 409 for a taken slug. */
  createOrg(org: Organization, options?: CreateOptions): Promise<Organization>;
  /** Renames an organization. */
  updateOrg(slug: string, patch: Partial<Omit<Organization, "slug">>, options?: WriteOptions): Promise<Organization>;
  /** Refuses (409) while the org holds project types, projects or services; `extra` carries their counts. */
  deleteOrg(slug: string, options?: WriteOptions): Promise<void>;

  /** Project types of an org, by slug. */
  listProjectTypes(org: string, page?: Page): Promise<ProjectType[]>;
  /** One project type; `NotFoundError` for it or its org. */
  getProjectType(org: string, slug: string): Promise<ProjectType>;
  /** One project type, or null (also for an unknown org). */
  findProjectType(org: string, slug: string): Promise<ProjectType | null>;
  /** 409 for a slug taken in the org. */
  createProjectType(org: string, pt: ProjectType, options?: CreateOptions): Promise<ProjectType>;
  /** Renames a project type. */
  updateProjectType(
    org: string,
    slug: string,
    patch: Partial<Omit<ProjectType, "slug">>,
    options?: WriteOptions,
  ): Promise<ProjectType>;
  /** Refuses (409, `extra.projects` lists their slugs) while projects have this type; drops its bindings. */
  deleteProjectType(org: string, slug: string, options?: WriteOptions): Promise<void>;

  /** Projects of an org, by slug. */
  listProjects(org: string, page?: Page): Promise<Project[]>;
  /** By id, else by slug; `NotFoundError` for it or its org. */
  getProject(org: string, idOrSlug: string): Promise<Project>;
  /** By id, else by slug; null when absent (also for an unknown org). */
  findProject(org: string, idOrSlug: string): Promise<Project | null>;
  /** 404 (NotFoundError) for an unknown project type; 409 for a duplicate slug or id. */
  createProject(org: string, input: ProjectInput, options?: CreateOptions): Promise<Project>;
  /** Patches name, slug and the set of project types. */
  updateProject(
    org: string,
    idOrSlug: string,
    patch: Partial<Omit<ProjectInput, "id">>,
    options?: WriteOptions,
  ): Promise<Project>;
  /** Drops the project's bindings too. */
  deleteProject(org: string, idOrSlug: string, options?: WriteOptions): Promise<void>;

  /** Services of an org, by slug. */
  listServices(org: string, page?: Page): Promise<ThirdPartyService[]>;
  /** One service; `NotFoundError` for it or its org. */
  getService(org: string, slug: string): Promise<ThirdPartyService>;
  /** One service, or null (also for an unknown org). */
  findService(org: string, slug: string): Promise<ThirdPartyService | null>;
  /** 409 for a slug taken in the org. */
  createService(org: string, svc: ThirdPartyService, options?: CreateOptions): Promise<ThirdPartyService>;
  /** Patches a service; `null` clears an optional field. */
  updateService(
    org: string,
    slug: string,
    patch: Partial<Omit<ThirdPartyService, "slug">>,
    options?: WriteOptions,
  ): Promise<ThirdPartyService>;
  /** Refuses (409, `extra` lists their slugs) while it has applications or Plugin nodes. */
  deleteService(org: string, slug: string, options?: WriteOptions): Promise<void>;

  /** Applications of a service, by slug, with ciphertext credentials. */
  listApplications(org: string, service: string): Promise<ServiceApplication[]>;
  /** One application; `NotFoundError` for it, its service or its org. */
  getApplication(org: string, service: string, slug: string): Promise<ServiceApplication>;
  /** One application, or null (also for an unknown org or service). */
  findApplication(org: string, service: string, slug: string): Promise<ServiceApplication | null>;
  /** 409 for a slug taken in the service. */
  createApplication(
    org: string,
    service: string,
    app: ServiceApplication,
    options?: CreateOptions,
  ): Promise<ServiceApplication>;
  /**
   * Patches name and credentials in one transaction: `credentials` replaces
   * the whole map, `credential_changes` merges into the stored one.
   */
  updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: ApplicationPatch,
    options?: ApplicationWriteOptions,
  ): Promise<ServiceApplication>;
  /** Refuses (409, `extra.plugins` lists their slugs) while a Plugin node uses it. */
  deleteApplication(org: string, service: string, slug: string, options?: WriteOptions): Promise<void>;

  /** Plugin nodes of a service, by slug. */
  listPlugins(org: string, service: string): Promise<PluginNode[]>;
  /** By id, else by slug within the service; `NotFoundError` for it, its service or its org. */
  getPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode>;
  /** By id, else by slug within the service; null when absent. */
  findPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode | null>;
  /**
   * 409 on a duplicate slug in the service or a taken id; 404 for an unknown
   * application; 422 (pointer `/plugin_type`) for an unknown `plugin_type`.
   * Without an application it uses the service's only one, if it has exactly one.
   */
  createPlugin(
    org: string,
    service: string,
    input: PluginNodeInput,
    options?: Pick<PluginWriteOptions, "check" | "audit">,
  ): Promise<PluginNode>;
  /** Patches slug, application (`null` unlinks), label, options and enabled. */
  updatePlugin(
    org: string,
    service: string,
    idOrSlug: string,
    patch: PluginNodePatch,
    options?: PluginWriteOptions,
  ): Promise<PluginNode>;
  /** Refuses (409, `extra.scopes` lists the binding scopes) while a binding points at it, as `plugin_id` or `identity_plugin_id`. */
  deletePlugin(org: string, service: string, idOrSlug: string, options?: WriteOptions): Promise<void>;
  /** Plugin nodes, in every org, whose manifest slug is one of `manifestSlugs`. */
  findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]>;
  /** Sets `enabled = false` on the given Plugin node ids. */
  disablePluginNodes(ids: string[]): Promise<void>;

  /** The bindings of a scope in written order; `NotFoundError` for an unknown scope. */
  getBindings(scope: BindingScope): Promise<Binding[]>;
  /**
   * Replaces all bindings of a scope in one transaction. Rules, each a 422
   * `ValidationError` with pointers `/bindings/<i>/...`: every `plugin_id`
   * (and `identity_plugin_id`) names a Plugin node of the same org, `tab`
   * equals its `plugin_type`, at most one `default` per tab, no Plugin node
   * twice. An unknown scope is a `NotFoundError`.
   */
  replaceBindings(scope: BindingScope, bindings: Binding[], options?: WriteOptions): Promise<Binding[]>;
  /**
   * The merged bindings of a project for every tab (project edges win);
   * `NotFoundError` for an unknown project or org.
   */
  effectiveBindings(org: string, project: string): Promise<EffectiveBinding[]>;
  /** Spec section 6 steps 1 to 5: find, merge, filter, select, traverse. */
  resolveTab(query: ResolveQuery): Promise<Resolution>;
  /**
   * A token that changes whenever the graph may have changed, through this
   * store or through any other connection or process; read without a query.
   * Absent when the store cannot tell (then every read must go to the store).
   * `ResolutionMemo` (`resolution_memo.ts`) keeps resolutions while it stays the same.
   */
  revision?(): string;

  /** The whole graph, every list ordered by slug and bindings in written order. */
  exportAll(): Promise<GraphDump>;
  /**
   * Loads a dump in one transaction, all or nothing. Refuses (409) when any
   * of the dump's organizations already exists, so it is safe on a shared
   * store. `options.audit` is appended to the audit log in the same
   * transaction (`graph:migrate` records who copied what from where).
   */
  importAll(dump: GraphDump, options?: { audit?: AuditInput }): Promise<void>;
}
