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
  ServiceApplication,
  ThirdPartyService,
  WriteOptions,
} from "../store.ts";
import { one, run, type Tx } from "./_db.ts";
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

/** A project type, or null (also for an unknown org). */
export async function findProjectType(
  tx: Tx,
  ref: { org: string; slug: string },
  options: LockOption = {},
): Promise<ProjectType | null> {
  const row = await one(tx, options.lock ? Q.lockProjectType : Q.getProjectType, ref);
  return row ? slugAndName(row.toObject() as ProjectType) : null;
}

/** A project type; 404 for it or its org. */
export async function projectType(
  tx: Tx,
  ref: { org: string; slug: string },
  options: LockOption = {},
): Promise<ProjectType> {
  await org(tx, ref.org);
  const found = await findProjectType(tx, ref, options) ?? raise(notFound("project_type", ref));
  return assertIfMatch(found, options, nodeName("project_type", ref));
}

/** A project by id, else slug, or null (also for an unknown org). */
export async function findProject(
  tx: Tx,
  ref: { org: string; slug: string },
  options: LockOption = {},
): Promise<Project | null> {
  const row = await one(tx, options.lock ? Q.lockProject : Q.getProject, { org: ref.org, project: ref.slug });
  return row ? toProject(row.get("project")) : null;
}

/** A project by id, else slug; 404 for it or its org. */
export async function project(tx: Tx, ref: { org: string; slug: string }, options: LockOption = {}): Promise<Project> {
  await org(tx, ref.org);
  const found = await findProject(tx, ref, options) ?? raise(notFound("project", ref));
  return assertIfMatch(found, options, nodeName("project", ref));
}

/** A service, or null (also for an unknown org). */
export async function findService(
  tx: Tx,
  ref: { org: string; slug: string },
  options: LockOption = {},
): Promise<ThirdPartyService | null> {
  const row = await one(tx, options.lock ? Q.lockService : Q.getService, ref);
  return row ? toService(row.get("service")) : null;
}

/** A service; 404 for it or its org. */
export async function service(
  tx: Tx,
  ref: { org: string; slug: string },
  options: LockOption = {},
): Promise<ThirdPartyService> {
  await org(tx, ref.org);
  const found = await findService(tx, ref, options) ?? raise(notFound("service", ref));
  return assertIfMatch(found, options, nodeName("service", ref));
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

/** An application, or null (also for an unknown org or service). */
export async function findApplication(
  tx: Tx,
  ref: InService,
  options: LockOption = {},
): Promise<ServiceApplication | null> {
  const row = await one(tx, options.lock ? Q.lockApplication : Q.getApplication, { ...ref });
  return row ? toApplication(row.toObject() as ApplicationRow) : null;
}

/** An application; 404 for it, its service or its org. */
export async function application(tx: Tx, ref: InService, options: LockOption = {}): Promise<ServiceApplication> {
  await service(tx, { org: ref.org, slug: ref.service });
  const found = await findApplication(tx, ref, options) ?? raise(notFound("application", ref));
  return assertIfMatch(found, options, nodeName("application", ref));
}

/** A Plugin node by id, else slug, or null (also for an unknown org or service). */
export async function findPlugin(tx: Tx, ref: InService, options: LockOption = {}): Promise<PluginNode | null> {
  const row = await one(tx, options.lock ? Q.lockPlugin : Q.getPlugin, {
    org: ref.org,
    service: ref.service,
    plugin: ref.slug,
  });
  return row ? toPluginNode(row.get("plugin")) : null;
}

/** A Plugin node by id, else slug; 404 for it, its service or its org. */
export async function plugin(tx: Tx, ref: InService, options: LockOption = {}): Promise<PluginNode> {
  await service(tx, { org: ref.org, slug: ref.service });
  const found = await findPlugin(tx, ref, options) ?? raise(notFound("plugin", ref));
  return assertIfMatch(found, options, nodeName("plugin", ref));
}

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
