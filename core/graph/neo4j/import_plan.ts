/**
 * The Neo4j store's `importAll` plan: a dump checked whole against the
 * graph's write rules (`../rules.ts`, with the messages of `../messages.ts`)
 * before the first write, and flattened into one list of rows per `UNWIND`.
 * Nothing here reads the database: a dump's orgs are new, so every reference
 * must resolve inside the dump.
 *
 * @module
 */

import { alreadyExists, idTaken, notFound } from "../messages.ts";
import {
  type BindingTarget,
  checkBindings,
  checkPluginType,
  newApplication,
  newPluginNode,
  projectTypeSlugs,
  scopeLabel,
  toService,
} from "../rules.ts";
import type { Binding, GraphDump, OrgDump, ThirdPartyService } from "../store.ts";

/** A binding row as written to a `USES_PLUGIN` edge. */
export interface EdgeWrite {
  /** The Plugin node's id. */
  plugin_id: string;
  /** The tab. */
  tab: string;
  /** Whether it is the default. */
  default: boolean;
  /** The search template. */
  search_template: string;
  /** The identity Plugin node's id, or null. */
  identity_plugin_id: string | null;
  /** Order within the scope. */
  position: number;
  /** `scope + tab` on a default edge (unique), else null. */
  default_key: string | null;
}

/** A binding scope as edge rows name it. */
export interface EdgeScope {
  /** Project type or project. */
  kind: "project_type" | "project";
  /** Project-type slug or project id. */
  key: string;
  /** For messages: `project type "web"` or `project "billing"`. */
  label: string;
}

/**
 * Checks one scope's bindings with the graph's rules and returns the edge
 * rows to write.
 *
 * @param bindings The scope's complete new set.
 * @param context The org, the scope, how to find a Plugin node of the org by
 *   id, and the pointer prefix.
 * @returns One row per binding, in order.
 * @throws {ValidationError} Listing every break, pointers prefixed with `prefix`.
 */
export function edgeRows(
  bindings: Binding[],
  context: { org: string; scope: EdgeScope; lookup: (id: string) => BindingTarget | undefined; prefix: string },
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
export interface ImportPlan {
  /** Organization nodes. */
  orgs: { slug: string; name: string }[];
  /** Project-type nodes. */
  projectTypes: { org: string; slug: string; name: string }[];
  /** Service nodes. */
  services: (ThirdPartyService & { org: string })[];
  /** Application nodes; credentials as JSON text. */
  applications: { org: string; service: string; slug: string; name: string; credentials: string }[];
  /** Plugin nodes; options as JSON text. */
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
  /** Project nodes with their project-type slugs. */
  projects: { org: string; id: string; slug: string; name: string; project_types: string[] }[];
  /** Edges of projects (`owner` is the project id). */
  projectBindings: (EdgeWrite & { org: string; owner: string })[];
  /** Edges of project types (`owner` is the project-type slug). */
  typeBindings: (EdgeWrite & { org: string; owner: string })[];
}

/** Ids and slugs already planned, across the dump or within one org. */
interface Seen {
  orgs: Set<string>;
  projectIds: Set<string>;
  pluginIds: Set<string>;
}

/**
 * Checks a dump against the rules a write would (duplicates, references,
 * plugin types, binding rules) and flattens it.
 *
 * @param dump The graph to import.
 * @returns The rows to write.
 * @throws {ConflictError} For a slug or id the dump repeats.
 * @throws {NotFoundError} For a reference to a project type or application the dump lacks.
 * @throws {ValidationError} For an unknown plugin type or a binding rule break,
 *   pointers into the dump (`/organizations/<o>/projects/<p>/bindings/<i>/...`).
 */
export function planImport(dump: GraphDump): ImportPlan {
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
  const seen: Seen = { orgs: new Set(), projectIds: new Set(), pluginIds: new Set() };
  dump.organizations.forEach((orgDump, o) => planOrg(plan, seen, { orgDump, prefix: `/organizations/${o}` }));
  return plan;
}

function planOrg(plan: ImportPlan, seen: Seen, input: { orgDump: OrgDump; prefix: string }): void {
  const { orgDump, prefix } = input;
  const org = orgDump.slug;
  claim(seen.orgs, org, () => alreadyExists("org", { slug: org }));
  plan.orgs.push({ slug: org, name: orgDump.name });
  const types = new Set<string>();
  for (const pt of orgDump.project_types) {
    claim(types, pt.slug, () => alreadyExists("project_type", { org, slug: pt.slug }));
    plan.projectTypes.push({ org, slug: pt.slug, name: pt.name });
  }
  const plugins = planServices(plan, seen, orgDump);
  const projectSlugs = new Set<string>();
  orgDump.projects.forEach((project, p) => {
    const id = project.id ?? crypto.randomUUID();
    claim(seen.projectIds, id, () => idTaken("project", id));
    claim(projectSlugs, project.slug, () => alreadyExists("project", { org, slug: project.slug }));
    const projectTypes = projectTypeSlugs(project.project_types);
    const missing = projectTypes.find((t) => !types.has(t));
    if (missing !== undefined) throw notFound("project_type", { org, slug: missing });
    plan.projects.push({ org, id, slug: project.slug, name: project.name, project_types: projectTypes });
    const rows = edgeRows(project.bindings ?? [], {
      org,
      scope: { kind: "project", key: id, label: scopeLabel("project", project.slug) },
      lookup: (pid) => plugins.get(pid),
      prefix: `${prefix}/projects/${p}`,
    });
    for (const row of rows) plan.projectBindings.push({ ...row, org, owner: id });
  });
  orgDump.project_type_bindings.forEach((entry, k) => {
    if (!types.has(entry.project_type)) throw notFound("project_type", { org, slug: entry.project_type });
    const rows = edgeRows(entry.bindings, {
      org,
      scope: { kind: "project_type", key: entry.project_type, label: scopeLabel("project_type", entry.project_type) },
      lookup: (pid) => plugins.get(pid),
      prefix: `${prefix}/project_type_bindings/${k}`,
    });
    for (const row of rows) plan.typeBindings.push({ ...row, org, owner: entry.project_type });
  });
}

/** Plans an org's services, applications and Plugin nodes; returns its Plugin nodes by id. */
function planServices(plan: ImportPlan, seen: Seen, orgDump: OrgDump): Map<string, BindingTarget> {
  const org = orgDump.slug;
  const plugins = new Map<string, BindingTarget>();
  const services = new Set<string>();
  for (const svc of orgDump.services) {
    claim(services, svc.slug, () => alreadyExists("service", { org, slug: svc.slug }));
    plan.services.push({ org, ...toService(svc) });
    const apps = new Set<string>();
    for (const input of svc.applications) {
      const app = newApplication(input);
      claim(apps, app.slug, () => alreadyExists("application", { service: svc.slug, slug: app.slug }));
      plan.applications.push({ org, service: svc.slug, ...app, credentials: JSON.stringify(app.credentials) });
    }
    const slugs = new Set<string>();
    for (const input of svc.plugins) {
      checkPluginType(input);
      const node = newPluginNode(input, { service: svc.slug, application: input.application ?? null });
      claim(seen.pluginIds, node.id, () => idTaken("plugin", node.id));
      claim(slugs, node.slug, () => alreadyExists("plugin", { service: svc.slug, slug: node.slug }));
      if (node.application !== null && !apps.has(node.application)) {
        throw notFound("application", { service: svc.slug, slug: node.application });
      }
      plugins.set(node.id, node);
      plan.plugins.push({ org, ...node, options: JSON.stringify(node.options) });
    }
  }
  return plugins;
}

/** Adds `key` to `set`, or throws the error `taken` makes when it is there already. */
function claim(set: Set<string>, key: string, taken: () => Error): void {
  if (set.has(key)) throw taken();
  set.add(key);
}
