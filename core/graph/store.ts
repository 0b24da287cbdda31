/**
 * The graph model of spec section 6 and the store interface every graph
 * store (embedded SQLite, Neo4j) implements. Stores enforce the structural
 * write rules (uniqueness, references, one default per scope and tab, tab
 * equals plugin type, deletion of things in use); rules that need plugin
 * manifests (options schema, credential fields, template placeholders) are
 * checked by `core/directory.ts` before the store is called.
 *
 * Errors: `NotFoundError` for a missing org/parent/thing, `ConflictError` for
 * duplicates and deletions of things in use, `ValidationError` for rule
 * breaks on bindings, `UnavailableError` when the store cannot be reached.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";

/** `Organization {slug, name}`. */
export interface Organization {
  slug: string;
  name: string;
}

/** `ProjectType {slug, name}`, in an organization. */
export interface ProjectType {
  slug: string;
  name: string;
}

/** `Project {id, slug, name}` with the slugs of its project types. */
export interface Project {
  id: string;
  slug: string;
  name: string;
  /** Slugs of the project's project types, sorted. */
  project_types: string[];
}

/** `ThirdPartyService`: the vendor identity and per-tenant settings. */
export interface ThirdPartyService {
  slug: string;
  name: string;
  vendor: string | null;
  base_url: string | null;
  account: string | null;
  region: string | null;
}

/** `ServiceApplication` as stored: every credential value is ciphertext. */
export interface ServiceApplication {
  slug: string;
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
  plugin_type: PluginType;
  label: string;
  options: Record<string, unknown>;
  enabled: boolean;
}

/** One `USES_PLUGIN` edge's properties. */
export interface Binding {
  plugin_id: string;
  tab: PluginType;
  default: boolean;
  search_template: string;
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
  origin: BindingOrigin;
  plugin: PluginNode;
}

/** Why a candidate was chosen. */
export type SelectionReason = "source" | "project_default" | "project_type_default" | "only_candidate";

/** A short description of a candidate, for 400 and 404 bodies. */
export interface CandidateSummary {
  plugin_id: string;
  slug: string;
  service: string;
  plugin: string;
  label: string;
}

/** Everything needed to call the chosen handler, read in one go. */
export interface ResolvedTarget {
  org: Organization;
  project: Project;
  binding: EffectiveBinding;
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
    dropped: { plugin_id: string; slug: string; reason: "disabled" | "not_loaded" }[];
  }
  | { kind: "source_not_found"; source: string; candidates: CandidateSummary[] }
  | { kind: "ambiguous"; candidates: CandidateSummary[]; why: string }
  | { kind: "selected"; target: ResolvedTarget; reason: SelectionReason };

/** Input of {@linkcode GraphStore.resolveTab}. */
export interface ResolveQuery {
  org: string;
  /** Project id or slug. */
  project: string;
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
  slug: string;
  name: string;
  project_types: string[];
}

/** Fields a Plugin node create carries (id is assigned by the store). */
export type PluginNodeInput = Omit<PluginNode, "id"> & { id?: string };

/** A Plugin node somewhere in the graph, for admin reports. */
export interface PluginNodeRef {
  org: string;
  service: string;
  id: string;
  slug: string;
  plugin: string;
}

/** A whole graph, for `graph:migrate` and contract tests. */
export interface GraphDump {
  organizations: (Organization & {
    project_types: ProjectType[];
    projects: (Project & { bindings: Binding[] })[];
    services: (ThirdPartyService & {
      applications: ServiceApplication[];
      plugins: PluginNode[];
    })[];
    project_type_bindings: { project_type: string; bindings: Binding[] }[];
  })[];
}

/** Paging of list calls. */
export interface Page {
  limit?: number;
  offset?: number;
}

/** The graph store. Every method is safe to call concurrently. */
export interface GraphStore {
  /** A short name for logs and `/readyz`: `"sqlite"` or `"neo4j"`. */
  readonly kind: string;
  /** Throws `UnavailableError` when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;

  listOrgs(page?: Page): Promise<Organization[]>;
  getOrg(slug: string): Promise<Organization | null>;
  createOrg(org: Organization): Promise<Organization>;
  updateOrg(slug: string, patch: Partial<Omit<Organization, "slug">>): Promise<Organization>;
  /** Refuses (409) while the org holds anything. */
  deleteOrg(slug: string): Promise<void>;

  listProjectTypes(org: string, page?: Page): Promise<ProjectType[]>;
  getProjectType(org: string, slug: string): Promise<ProjectType | null>;
  createProjectType(org: string, pt: ProjectType): Promise<ProjectType>;
  updateProjectType(org: string, slug: string, patch: Partial<Omit<ProjectType, "slug">>): Promise<ProjectType>;
  /** Refuses (409) while projects have this type; drops its bindings. */
  deleteProjectType(org: string, slug: string): Promise<void>;

  listProjects(org: string, page?: Page): Promise<Project[]>;
  /** By id, else by slug. */
  getProject(org: string, idOrSlug: string): Promise<Project | null>;
  /** 404 (NotFoundError) for an unknown project type; 409 for a duplicate slug or id. */
  createProject(org: string, input: ProjectInput): Promise<Project>;
  updateProject(org: string, idOrSlug: string, patch: Partial<Omit<ProjectInput, "id">>): Promise<Project>;
  /** Drops the project's bindings too. */
  deleteProject(org: string, idOrSlug: string): Promise<void>;

  listServices(org: string, page?: Page): Promise<ThirdPartyService[]>;
  getService(org: string, slug: string): Promise<ThirdPartyService | null>;
  createService(org: string, svc: ThirdPartyService): Promise<ThirdPartyService>;
  updateService(org: string, slug: string, patch: Partial<Omit<ThirdPartyService, "slug">>): Promise<ThirdPartyService>;
  /** Refuses (409) while it has applications or Plugin nodes. */
  deleteService(org: string, slug: string): Promise<void>;

  listApplications(org: string, service: string): Promise<ServiceApplication[]>;
  getApplication(org: string, service: string, slug: string): Promise<ServiceApplication | null>;
  createApplication(org: string, service: string, app: ServiceApplication): Promise<ServiceApplication>;
  updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: Partial<Omit<ServiceApplication, "slug">>,
  ): Promise<ServiceApplication>;
  /** Refuses (409) while a Plugin node uses it. */
  deleteApplication(org: string, service: string, slug: string): Promise<void>;

  listPlugins(org: string, service: string): Promise<PluginNode[]>;
  /** By id, else by slug within the service. */
  getPlugin(org: string, service: string, idOrSlug: string): Promise<PluginNode | null>;
  /** 409 on a duplicate slug in the service; 404 for an unknown application. */
  createPlugin(org: string, service: string, input: PluginNodeInput): Promise<PluginNode>;
  updatePlugin(
    org: string,
    service: string,
    idOrSlug: string,
    patch: Partial<Omit<PluginNode, "id" | "service" | "plugin" | "plugin_type">>,
  ): Promise<PluginNode>;
  /** Refuses (409) while a binding points at it. */
  deletePlugin(org: string, service: string, idOrSlug: string): Promise<void>;
  /** Plugin nodes, in every org, whose manifest slug is one of `manifestSlugs`. */
  findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]>;
  /** Sets `enabled = false` on the given Plugin node ids. */
  disablePluginNodes(ids: string[]): Promise<void>;

  getBindings(scope: BindingScope): Promise<Binding[]>;
  /**
   * Replaces all bindings of a scope in one transaction. Rules, each a 422
   * `ValidationError` with pointers `/bindings/<i>/...`: every `plugin_id`
   * (and `identity_plugin_id`) names a Plugin node of the same org, `tab`
   * equals its `plugin_type`, at most one `default` per tab, no Plugin node
   * twice. An unknown scope is a `NotFoundError`.
   */
  replaceBindings(scope: BindingScope, bindings: Binding[]): Promise<Binding[]>;
  /** The merged bindings of a project for every tab (project edges win). */
  effectiveBindings(org: string, project: string): Promise<EffectiveBinding[] | null>;
  /** Spec section 6 steps 1 to 5: find, merge, filter, select, traverse. */
  resolveTab(query: ResolveQuery): Promise<Resolution>;

  exportAll(): Promise<GraphDump>;
  /**
   * Loads a dump in one transaction, all or nothing. Refuses (409) when any
   * of the dump's organizations already exists, so it is safe on a shared
   * store.
   */
  importAll(dump: GraphDump): Promise<void>;
}
