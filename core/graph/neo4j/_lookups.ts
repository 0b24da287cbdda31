/**
 * The lookups every write and read of the Neo4j store starts from, inside a
 * transaction: `findX` answers null, `x` throws the one `NotFoundError` of
 * `core/graph/messages.ts`; `lock: true` also takes the node's write lock.
 * Private to `core/graph/neo4j/`.
 *
 * @module
 */

import { assertIfMatch } from "../etag.ts";
import { nodeName, notFound } from "../messages.ts";
import {
  type ApplicationRow,
  type BindingRow,
  slugAndName,
  toApplication,
  toBinding,
  toPluginNode,
  toProject,
} from "../rows.ts";
import { projectTypeSlugs, scopeLabel, toService } from "../rules.ts";
import type {
  Binding,
  BindingScope,
  Organization,
  PluginNode,
  Project,
  ProjectType,
  ThirdPartyService,
  WriteOptions,
} from "../store.ts";
import { one, type Row, run, type Tx } from "./_db.ts";
import { Q } from "./queries.ts";

/**
 * How a write's lookup reads: under the node's write lock, and, with
 * `ifMatch`, only while the node's ETag matches (`PreconditionFailedError`
 * otherwise; compared after the lock is taken, so it holds until the write).
 */
export interface LockOption extends WriteOptions {
  /** Take the write lock (for a check-then-change write). */
  lock?: boolean;
}

/** A binding scope found in the graph. */
export interface ScopeKey {
  /** Project type or project. */
  kind: "project_type" | "project";
  /** Organization slug. */
  org: string;
  /** Project-type slug or project id. */
  key: string;
  /** Project-type or project slug. */
  slug: string;
  /** For messages: `project type "web"` or `project "billing"`. */
  label: string;
}

/** An organization, or null. */
export async function findOrg(tx: Tx, slug: string, options: LockOption = {}): Promise<Organization | null> {
  const row = await one(tx, options.lock ? Q.lockOrg : Q.getOrg, { org: slug });
  return row ? slugAndName(row.toObject() as Organization) : null;
}

/** An organization; 404 when absent. */
export async function org(tx: Tx, slug: string, options: LockOption = {}): Promise<Organization> {
  const found = await findOrg(tx, slug, options) ?? raise(notFound("org", { slug }));
  return assertIfMatch(found, options, nodeName("org", { slug }));
}

/** Where a node of an org is. */
export interface InOrg {
  /** Organization slug. */
  org: string;
  /** The node's slug (or, for a project, id). */
  slug: string;
}

/** Where a node of a service is. */
export interface InService {
  /** Organization slug. */
  org: string;
  /** Service slug. */
  service: string;
  /** The node's slug (or, for a Plugin node, id). */
  slug: string;
}

/** Per kind of node below an org: its get and lock queries, and the parameter its slug travels in. */
const QUERIES = {
  project_type: [Q.getProjectType, Q.lockProjectType, "slug"],
  project: [Q.getProject, Q.lockProject, "project"],
  service: [Q.getService, Q.lockService, "slug"],
  application: [Q.getApplication, Q.lockApplication, "slug"],
  plugin: [Q.getPlugin, Q.lockPlugin, "plugin"],
} as const;

/**
 * `find` (null when absent) and `get` (404 for the node or one on its path,
 * checked from the top) for one kind of node.
 */
function nodeReads<R extends InOrg | InService, T extends object>(
  kind: keyof typeof QUERIES,
  parent: (tx: Tx, ref: R) => Promise<unknown>,
  value: (row: Row) => T,
) {
  const [get, lock, slugParam] = QUERIES[kind];
  async function find(tx: Tx, ref: R, options: LockOption = {}): Promise<T | null> {
    const { slug, ...path } = ref;
    const row = await one(tx, options.lock ? lock : get, { ...path, [slugParam]: slug });
    return row ? value(row) : null;
  }
  async function found(tx: Tx, ref: R, options: LockOption = {}): Promise<T> {
    await parent(tx, ref);
    const node = await find(tx, ref, options) ?? raise(notFound(kind, ref));
    return assertIfMatch(node, options, nodeName(kind, ref));
  }
  return { find, get: found };
}

const inOrg = (tx: Tx, ref: InOrg) => org(tx, ref.org);
const inService = (tx: Tx, ref: InService) => service(tx, { org: ref.org, slug: ref.service });

const PROJECT_TYPES = nodeReads("project_type", inOrg, (row) => slugAndName(row.toObject() as ProjectType));
const PROJECTS = nodeReads("project", inOrg, (row): Project => toProject(row.get("project")));
const SERVICES = nodeReads("service", inOrg, (row): ThirdPartyService => toService(row.get("service")));
const APPLICATIONS = nodeReads("application", inService, (row) => toApplication(row.toObject() as ApplicationRow));
const PLUGINS = nodeReads("plugin", inService, (row): PluginNode => toPluginNode(row.get("plugin")));

/** A project type, or null (also for an unknown org). */
export const findProjectType = PROJECT_TYPES.find;
/** A project type; 404 for it or its org. */
export const projectType = PROJECT_TYPES.get;
/** A project by id, else slug, or null (also for an unknown org). */
export const findProject = PROJECTS.find;
/** A project by id, else slug; 404 for it or its org. */
export const project = PROJECTS.get;
/** A service, or null (also for an unknown org). */
export const findService = SERVICES.find;
/** A service; 404 for it or its org. */
export const service = SERVICES.get;
/** An application, or null (also for an unknown org or service). */
export const findApplication = APPLICATIONS.find;
/** An application; 404 for it, its service or its org. */
export const application = APPLICATIONS.get;
/** A Plugin node by id, else slug, or null (also for an unknown org or service). */
export const findPlugin = PLUGINS.find;
/** A Plugin node by id, else slug; 404 for it, its service or its org. */
export const plugin = PLUGINS.get;

/** Project-type slugs deduplicated and sorted; 404 for one the org lacks. */
export async function projectTypesExist(tx: Tx, orgSlug: string, slugs: string[] | undefined): Promise<string[]> {
  const unique = projectTypeSlugs(slugs);
  const found = new Set(
    (await run(tx, Q.existingProjectTypes, { org: orgSlug, slugs: unique })).records.map((r) => r.get("slug")),
  );
  const missing = unique.find((slug) => !found.has(slug));
  if (missing !== undefined) throw notFound("project_type", { org: orgSlug, slug: missing });
  return unique;
}

/** A binding scope; 404 for an unknown org, project type or project. */
export async function scope(tx: Tx, scope: BindingScope, options: { lock?: boolean } = {}): Promise<ScopeKey> {
  if (scope.kind === "project_type") {
    const pt = await projectType(tx, { org: scope.org, slug: scope.slug }, options);
    return {
      kind: "project_type",
      org: scope.org,
      key: pt.slug,
      slug: pt.slug,
      label: scopeLabel("project_type", pt.slug),
    };
  }
  const p = await project(tx, { org: scope.org, slug: scope.id }, options);
  return { kind: "project", org: scope.org, key: p.id, slug: p.slug, label: scopeLabel("project", p.slug) };
}

/** The bindings of a scope in written order. */
export async function readBindings(tx: Tx, scope: ScopeKey): Promise<Binding[]> {
  const result = scope.kind === "project_type"
    ? await run(tx, Q.projectTypeBindings, { org: scope.org, slug: scope.key })
    : await run(tx, Q.projectBindings, { org: scope.org, id: scope.key });
  return result.records.map((r) => toBinding(r.get("binding") as BindingRow));
}

function raise(error: Error): never {
  throw error;
}
