/**
 * Builders of populated graphs for store tests and benchmarks: a declarative
 * {@linkcode buildOrg} that writes one org through the public store API, and
 * a deterministic {@linkcode generateGraph} that makes a large `GraphDump`.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";
import type {
  Binding,
  BindingScope,
  GraphDump,
  GraphStore,
  PluginNode,
  Project,
  ThirdPartyService,
} from "../../core/graph/store.ts";

/**
 * A slug no other test (or test process) uses: `prefix` plus a random suffix.
 *
 * @param prefix Readable start of the slug.
 * @returns e.g. `"acme-3f9c2a1b"`.
 */
export function uniqueSlug(prefix = "org"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A Plugin node in an {@linkcode OrgSpec}; `application` absent means "let the store default it". */
export interface PluginSpec {
  slug: string;
  plugin: string;
  plugin_type: PluginType;
  application?: string | null;
  label?: string;
  options?: Record<string, unknown>;
  enabled?: boolean;
}

/** A binding in an {@linkcode OrgSpec}; plugins are named `service/slug`. */
export interface BindingSpec {
  plugin: string;
  /** Defaults to the plugin's `plugin_type`. */
  tab?: PluginType;
  default?: boolean;
  search_template?: string;
  /** An identity Plugin node, `service/slug`. */
  identity?: string;
}

/** One org to build with {@linkcode buildOrg}. */
export interface OrgSpec {
  slug: string;
  name?: string;
  project_types?: string[];
  services?: {
    slug: string;
    fields?: Partial<Omit<ThirdPartyService, "slug">>;
    applications?: { slug: string; credentials?: Record<string, string> }[];
    plugins?: PluginSpec[];
  }[];
  projects?: { slug: string; id?: string; project_types?: string[] }[];
  /** Bindings per project type slug. */
  project_type_bindings?: Record<string, BindingSpec[]>;
  /** Bindings per project slug. */
  project_bindings?: Record<string, BindingSpec[]>;
}

/** What {@linkcode buildOrg} made. */
export interface BuiltOrg {
  org: string;
  /** Plugin nodes by `service/slug`. */
  plugins: Record<string, PluginNode>;
  /** Projects by slug. */
  projects: Record<string, Project>;
  /**
   * The id of a Plugin node.
   *
   * @param ref `service/slug`.
   */
  pluginId(ref: string): string;
  /**
   * The {@linkcode Binding} a {@linkcode BindingSpec} stands for.
   *
   * @param spec The binding spec.
   */
  binding(spec: BindingSpec): Binding;
}

/**
 * Writes one org through the store's public API, in dependency order.
 *
 * @param store Where to write.
 * @param spec What to write.
 * @returns Ids of what was created.
 * @example
 * ```ts
 * const built = await buildOrg(store, {
 *   slug: uniqueSlug("acme"),
 *   project_types: ["api"],
 *   services: [{ slug: "aws", applications: [{ slug: "main" }], plugins: [
 *     { slug: "ssm", plugin: "aws-ssm", plugin_type: "configuration" },
 *   ] }],
 *   projects: [{ slug: "billing", project_types: ["api"] }],
 *   project_type_bindings: { api: [{ plugin: "aws/ssm", default: true }] },
 * });
 * ```
 */
export async function buildOrg(store: GraphStore, spec: OrgSpec): Promise<BuiltOrg> {
  const org = spec.slug;
  await store.createOrg({ slug: org, name: spec.name ?? `Org ${org}` });
  for (const pt of spec.project_types ?? []) await store.createProjectType(org, { slug: pt, name: `Type ${pt}` });
  const plugins: Record<string, PluginNode> = {};
  for (const svc of spec.services ?? []) {
    await store.createService(org, {
      slug: svc.slug,
      name: `Service ${svc.slug}`,
      vendor: null,
      base_url: null,
      account: null,
      region: null,
      ...svc.fields,
    });
    for (const app of svc.applications ?? []) {
      await store.createApplication(org, svc.slug, {
        slug: app.slug,
        name: `App ${app.slug}`,
        credentials: app.credentials ?? { token: `v1:k1:ciphertext-of-${app.slug}` },
      });
    }
    for (const p of svc.plugins ?? []) {
      plugins[`${svc.slug}/${p.slug}`] = await store.createPlugin(org, svc.slug, {
        slug: p.slug,
        service: svc.slug,
        application: p.application ?? null,
        plugin: p.plugin,
        plugin_type: p.plugin_type,
        label: p.label ?? `Plugin ${p.slug}`,
        options: p.options ?? {},
        enabled: p.enabled ?? true,
      });
    }
  }
  const projects: Record<string, Project> = {};
  for (const p of spec.projects ?? []) {
    projects[p.slug] = await store.createProject(org, {
      ...(p.id ? { id: p.id } : {}),
      slug: p.slug,
      name: `Project ${p.slug}`,
      project_types: p.project_types ?? [],
    });
  }
  const pluginId = (ref: string): string => {
    const node = plugins[ref];
    if (!node) throw new RangeError(`No Plugin node "${ref}" in the spec of org "${org}"`);
    return node.id;
  };
  const binding = (b: BindingSpec): Binding => ({
    plugin_id: pluginId(b.plugin),
    tab: b.tab ?? plugins[b.plugin]!.plugin_type,
    default: b.default ?? false,
    search_template: b.search_template ?? "",
    identity_plugin_id: b.identity ? pluginId(b.identity) : null,
  });
  for (const [slug, list] of Object.entries(spec.project_type_bindings ?? {})) {
    const scope: BindingScope = { kind: "project_type", org, slug };
    await store.replaceBindings(scope, list.map(binding));
  }
  for (const [slug, list] of Object.entries(spec.project_bindings ?? {})) {
    const scope: BindingScope = { kind: "project", org, id: projects[slug]!.id };
    await store.replaceBindings(scope, list.map(binding));
  }
  return { org, plugins, projects, pluginId, binding };
}

/** Options of {@linkcode generateGraph}. */
export interface GenerateOptions {
  /** How many projects. */
  projects: number;
  /** PRNG seed; the same seed gives the same graph. Default 1. */
  seed?: number;
  /** Org slug. Default `"bench"`. */
  org?: string;
  /** Project types. Default 20. */
  projectTypes?: number;
  /** Services, each with one application and three Plugin nodes. Default 10. */
  services?: number;
}

/** Manifest slugs {@linkcode generateGraph} uses; pass them as `loaded`. */
export const GENERATED_MANIFESTS = { configuration: "demo-config", logs: "demo-logs" } as const;

/**
 * Generates one org with `projects` projects, deterministically.
 *
 * Each service has one application and Plugin nodes `config-a`, `config-b`
 * (configuration) and `logs`. Project type `i` binds `config-a` (default) and
 * `config-b` of service `i mod services`, and its `logs` (default). Every
 * project has one project type; every fourth a second one (so its logs tab is
 * ambiguous unless the project sets a default), and every other project binds
 * `config-b` of its first type's service as its own default, plus a `logs`
 * default when it has two types.
 *
 * @param options Size and seed.
 * @returns A dump for `importAll`.
 */
export function generateGraph(options: GenerateOptions): GraphDump {
  const random = mulberry32(options.seed ?? 1);
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  };
  const pad = (n: number) => String(n).padStart(5, "0");
  const typeCount = options.projectTypes ?? 20;
  const serviceCount = options.services ?? 10;
  const services: GraphDump["organizations"][number]["services"] = [];
  const pluginIds: { configA: string; configB: string; logs: string }[] = [];
  for (let s = 0; s < serviceCount; s++) {
    const slug = `svc-${pad(s)}`;
    const ids = { configA: uuid(), configB: uuid(), logs: uuid() };
    pluginIds.push(ids);
    const node = (id: string, pluginSlug: string, type: PluginType): PluginNode => ({
      id,
      slug: pluginSlug,
      service: slug,
      application: "main",
      plugin: GENERATED_MANIFESTS[type],
      plugin_type: type,
      label: `${pluginSlug} of ${slug}`,
      options: { prefix: `/${slug}/${pluginSlug}` },
      enabled: true,
    });
    services.push({
      slug,
      name: `Service ${s}`,
      vendor: "demo",
      base_url: null,
      account: `acct-${s}`,
      region: "us-east-1",
      applications: [{ slug: "main", name: "Main", credentials: { token: `v1:k1:${uuid()}` } }],
      plugins: [
        node(ids.configA, "config-a", "configuration"),
        node(ids.configB, "config-b", "configuration"),
        node(ids.logs, "logs", "logs"),
      ],
    });
  }
  const bindingOf = (plugin_id: string, tab: PluginType, isDefault: boolean): Binding => ({
    plugin_id,
    tab,
    default: isDefault,
    search_template: "/{org.slug}/{project.slug}",
    identity_plugin_id: null,
  });
  const projectTypes = Array.from({ length: typeCount }, (_, t) => ({ slug: `type-${pad(t)}`, name: `Type ${t}` }));
  const project_type_bindings = projectTypes.map((pt, t) => {
    const ids = pluginIds[t % serviceCount]!;
    return {
      project_type: pt.slug,
      bindings: [
        bindingOf(ids.configA, "configuration", true),
        bindingOf(ids.configB, "configuration", false),
        bindingOf(ids.logs, "logs", true),
      ],
    };
  });
  const projects: GraphDump["organizations"][number]["projects"] = [];
  for (let p = 0; p < options.projects; p++) {
    const first = Math.floor(random() * typeCount);
    const types = new Set([first]);
    if (p % 4 === 0) types.add((first + 1 + Math.floor(random() * (typeCount - 1))) % typeCount);
    const bindings: Binding[] = [];
    if (p % 2 === 0) {
      const ids = pluginIds[first % serviceCount]!;
      bindings.push(bindingOf(ids.configB, "configuration", true));
      if (types.size > 1) bindings.push(bindingOf(ids.logs, "logs", true));
    }
    projects.push({
      id: uuid(),
      slug: `project-${pad(p)}`,
      name: `Project ${p}`,
      project_types: [...types].sort((a, b) => a - b).map((t) => projectTypes[t]!.slug),
      bindings,
    });
  }
  return {
    organizations: [{
      slug: options.org ?? "bench",
      name: "Benchmark org",
      project_types: projectTypes,
      projects,
      services,
      project_type_bindings,
    }],
  };
}

/** A small, fast, seedable PRNG (mulberry32): numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
