/**
 * Copies a whole graph from one store to another (embedded SQLite to Neo4j
 * and back), so a deployment can move to the production store without
 * losing a node or an edge. `cli/graph_migrate.ts` is the command line on
 * top.
 *
 * The copy is `exportAll()` on the source, `importAll()` on the target (one
 * transaction: all or nothing), then `exportAll()` on the target compared
 * with what was read, organization by organization. Credentials travel as
 * the ciphertext they are stored as; the same encryption keys must be
 * configured on the new deployment.
 *
 * @module
 */

import { ConflictError } from "../errors.ts";
import type { GraphDump, GraphStore } from "./store.ts";

/** Nodes and edges of a graph, by kind. */
export interface GraphCounts {
  /** Organization nodes. */
  organizations: number;
  /** ProjectType nodes. */
  project_types: number;
  /** Project nodes. */
  projects: number;
  /** ThirdPartyService nodes. */
  services: number;
  /** ServiceApplication nodes. */
  applications: number;
  /** Plugin nodes. */
  plugins: number;
  /** `BELONGS_TO`: project types, projects and services to their org. */
  belongs_to: number;
  /** `(Project)-[:HAS_TYPE]->(ProjectType)`. */
  has_type: number;
  /** `(ThirdPartyService)-[:HAS_APPLICATION]->(ServiceApplication)`. */
  has_application: number;
  /** `(ThirdPartyService)-[:HAS_PLUGIN]->(Plugin)`. */
  has_plugin: number;
  /** `(Plugin)-[:USES_APPLICATION]->(ServiceApplication)`. */
  uses_application: number;
  /** `USES_PLUGIN` edges of projects and project types. */
  uses_plugin: number;
  /** Every node. */
  nodes: number;
  /** Every edge. */
  edges: number;
}

/** One step of a migration, for a progress display. */
export interface MigrateProgress {
  /** Which step. */
  phase: "check" | "export" | "import" | "verify" | "done";
  /** What happened, for a person. */
  message: string;
  /** The graph's counts, where the step has them. */
  counts?: GraphCounts;
}

/** Options of {@linkcode migrateGraph}. */
export interface MigrateOptions {
  /** Copy into a target that already holds organizations (none of the source's). */
  force?: boolean;
  /** Called at each step. */
  progress?: (event: MigrateProgress) => void;
  /** Who copies, for the audit record written in the import's transaction (`graph.import`). */
  audit?: { actor: string; replica: string; from: string; to: string; at?: string };
}

/** Where a graph store lives, parsed from `sqlite:<path>` or a Neo4j URL. */
export type StoreSpec =
  | { kind: "sqlite"; path: string }
  | { kind: "neo4j"; url: string; user: string; password: string };

/**
 * Counts the nodes and edges of a dump.
 *
 * @param dump A graph from `exportAll()`.
 * @returns Counts by kind, and totals.
 */
export function countGraph(dump: GraphDump): GraphCounts {
  const c: GraphCounts = {
    organizations: 0,
    project_types: 0,
    projects: 0,
    services: 0,
    applications: 0,
    plugins: 0,
    belongs_to: 0,
    has_type: 0,
    has_application: 0,
    has_plugin: 0,
    uses_application: 0,
    uses_plugin: 0,
    nodes: 0,
    edges: 0,
  };
  for (const org of dump.organizations) {
    c.organizations++;
    c.project_types += org.project_types.length;
    c.projects += org.projects.length;
    c.services += org.services.length;
    for (const project of org.projects) {
      c.has_type += project.project_types.length;
      c.uses_plugin += project.bindings.length;
    }
    for (const svc of org.services) {
      c.applications += svc.applications.length;
      c.plugins += svc.plugins.length;
      c.uses_application += svc.plugins.filter((p) => p.application !== null).length;
    }
    for (const entry of org.project_type_bindings) c.uses_plugin += entry.bindings.length;
  }
  c.belongs_to = c.project_types + c.projects + c.services;
  c.has_application = c.applications;
  c.has_plugin = c.plugins;
  c.nodes = c.organizations + c.project_types + c.projects + c.services + c.applications + c.plugins;
  c.edges = c.belongs_to + c.has_type + c.has_application + c.has_plugin + c.uses_application + c.uses_plugin;
  return c;
}

/**
 * One line for a person: `3 orgs, 10000 projects, ... (N nodes, M edges)`.
 *
 * @param c Counts from {@linkcode countGraph}.
 * @returns The summary.
 */
export function describeCounts(c: GraphCounts): string {
  return `${c.organizations} organizations, ${c.project_types} project types, ${c.projects} projects, ` +
    `${c.services} services, ${c.applications} applications, ${c.plugins} Plugin nodes, ` +
    `${c.uses_plugin} bindings (${c.nodes} nodes, ${c.edges} edges)`;
}

/**
 * Copies every organization of `from` into `to` and proves the copy whole.
 *
 * @param from The source store (only read).
 * @param to The target store.
 * @param options `force` to allow a target that holds other organizations; a progress sink.
 * @returns The counts of what was copied.
 * @throws {ConflictError} When the target is not empty and `force` is not set, or
 *   (with `force`) holds one of the source's organizations; nothing is written.
 * @throws {Error} When the target, read back, differs from the source.
 * @example
 * ```ts
 * const counts = await migrateGraph(sqlite, neo4j, { progress: (e) => log.info(e.message) });
 * ```
 */
export async function migrateGraph(
  from: GraphStore,
  to: GraphStore,
  options: MigrateOptions = {},
): Promise<GraphCounts> {
  const progress = options.progress ?? (() => {});
  progress({ phase: "check", message: `checking the target (${to.kind})` });
  const present = await to.listOrgs({ limit: 1 });
  if (present.length > 0 && !options.force) {
    throw new ConflictError(
      `The target ${to.kind} store is not empty (it holds organization "${present[0]!.slug}"); ` +
        "pass --force to copy beside what it holds",
    );
  }
  progress({ phase: "export", message: `reading every organization from the source (${from.kind})` });
  const dump = await from.exportAll();
  const counts = countGraph(dump);
  progress({ phase: "export", message: `read ${describeCounts(counts)}`, counts });
  if (options.force && present.length > 0) {
    const clash = [];
    for (const org of dump.organizations) if (await to.findOrg(org.slug)) clash.push(org.slug);
    if (clash.length > 0) {
      throw new ConflictError(
        `The target already holds organization ${clash.slice(0, 10).map((s) => `"${s}"`).join(", ")}` +
          (clash.length > 10 ? ` and ${clash.length - 10} more` : "") + "; nothing was copied",
      );
    }
  }
  progress({
    phase: "import",
    message: `writing ${counts.nodes} nodes and ${counts.edges} edges to the target in one transaction`,
  });
  const started = performance.now();
  const who = options.audit;
  await to.importAll(dump, {
    ...(who
      ? {
        audit: {
          at: who.at ?? new Date().toISOString(),
          actor: who.actor,
          replica: who.replica,
          request_id: null,
          action: "graph.import",
          target_kind: "graph",
          target: "*",
          from: { store: who.from },
          to: { store: who.to, counts },
          detail: { force: options.force === true, organizations: dump.organizations.map((o) => o.slug) },
        },
      }
      : {}),
  });
  progress({ phase: "import", message: `written in ${Math.round(performance.now() - started)} ms` });
  progress({ phase: "verify", message: "reading the target back and comparing" });
  const slugs = new Set(dump.organizations.map((o) => o.slug));
  const copied: GraphDump = {
    organizations: (await to.exportAll()).organizations.filter((o) => slugs.has(o.slug)),
  };
  const difference = firstDifference(dump, copied);
  if (difference !== null) {
    throw new Error(`The copy differs from the source at ${difference}; the target needs a look before it is used`);
  }
  const copiedCounts = countGraph(copied);
  progress({
    phase: "done",
    message: `copied ${describeCounts(copiedCounts)}; every one matches`,
    counts: copiedCounts,
  });
  return copiedCounts;
}

/**
 * The JSON pointer of the first place two dumps differ, or null when equal.
 *
 * @param a One dump.
 * @param b Another.
 * @returns A pointer like `/organizations/0/projects/3/bindings/1/default`.
 */
export function firstDifference(a: unknown, b: unknown): string | null {
  return differenceAt(a, b, "");
}

function differenceAt(a: unknown, b: unknown, at: string): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return at || "/";
  if (Array.isArray(a) !== Array.isArray(b)) return at || "/";
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const found = differenceAt(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${at}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`,
    );
    if (found !== null) return found;
  }
  return null;
}

/**
 * Parses a store argument: `sqlite:<path>`, or a `neo4j://` / `bolt://` URL
 * whose user and password come from the URL or else from `env`
 * (`IMBI_GRAPH_USER`, default `neo4j`, and `IMBI_GRAPH_PASSWORD`).
 *
 * @param text The argument.
 * @param env The environment to read credentials from.
 * @returns Where the store is.
 * @throws {RangeError} For anything else.
 */
export function parseStoreSpec(text: string, env: Record<string, string | undefined> = {}): StoreSpec {
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length);
    if (path === "") throw new RangeError(`"${text}" names no file: use sqlite:<path>`);
    return { kind: "sqlite", path };
  }
  if (/^(neo4j|bolt)(\+s|\+ssc)?:\/\/[^/\s]+/.test(text)) {
    const url = new URL(text);
    const user = url.username ? decodeURIComponent(url.username) : env.IMBI_GRAPH_USER || "neo4j";
    const password = url.password ? decodeURIComponent(url.password) : env.IMBI_GRAPH_PASSWORD ?? "";
    url.username = "";
    url.password = "";
    return { kind: "neo4j", url: url.href.replace(/\/$/, ""), user, password };
  }
  throw new RangeError(`"${text.replace(/\/\/[^@/]*@/, "//***@")}" is not sqlite:<path> or a neo4j:// or bolt:// URL`);
}

/**
 * Opens a store named by {@linkcode parseStoreSpec}.
 *
 * @param spec Where the store is.
 * @param options `mustExist`: refuse a SQLite path that is not a file yet (a source).
 * @returns The open store; the caller closes it.
 * @throws {Deno.errors.NotFound} For a missing SQLite source file.
 * @throws {UnavailableError} When Neo4j cannot be reached.
 */
export async function openStoreSpec(spec: StoreSpec, options: { mustExist?: boolean } = {}): Promise<GraphStore> {
  if (spec.kind === "sqlite") {
    if (options.mustExist) {
      const info = await Deno.stat(spec.path).catch(() => null);
      if (!info?.isFile) throw new Deno.errors.NotFound(`No SQLite graph at "${spec.path}"`);
    }
    const { SqliteStore } = await import("./sqlite/store.ts");
    return SqliteStore.open(spec.path);
  }
  const { Neo4jStore } = await import("./neo4j/store.ts");
  return await Neo4jStore.connect({ url: spec.url, user: spec.user, password: spec.password });
}
