/**
 * The graph's error messages, written once for both stores, the import
 * planner and the callers that name a missing thing: each kind of node has
 * one name (`Third-party service`, never `Service`) and one place (`in
 * organization "acme"`, `in service "aws"`).
 *
 * @example
 * ```ts
 * throw notFound("service", { org: "acme", slug: "aws" });
 * // NotFoundError: Third-party service "aws" not found in organization "acme"
 * ```
 *
 * @module
 */

import { ConflictError, NotFoundError, UnavailableError } from "../errors.ts";
import type { BindingScope } from "./store.ts";

/** The kinds of graph node a message can name. */
export type NodeKind = "org" | "project_type" | "project" | "service" | "application" | "plugin";

/** Where a node is: its slug (or id), its org, and for applications and Plugin nodes its service. */
export interface NodeRef {
  /** The slug (or id) as the caller gave it. */
  slug: string;
  /** The organization; unused for an org. */
  org?: string;
  /** The service; only for applications and Plugin nodes. */
  service?: string;
}

/** How each kind is named at the start of a message. */
const NOUNS: Record<NodeKind, string> = {
  org: "Organization",
  project_type: "Project type",
  project: "Project",
  service: "Third-party service",
  application: "Application",
  plugin: "Plugin",
};

function place(kind: NodeKind, ref: NodeRef): string {
  if (kind === "org") return "";
  if (kind === "application" || kind === "plugin") return ` in service "${ref.service}"`;
  return ` in organization "${ref.org}"`;
}

/**
 * A node's name and place, as messages start: `Project "billing" in organization "acme"`.
 *
 * @param kind What it is.
 * @param ref Its slug and where it is.
 * @returns The words.
 */
export function nodeName(kind: NodeKind, ref: NodeRef): string {
  return `${NOUNS[kind]} "${ref.slug}"${place(kind, ref)}`;
}

/**
 * A scope's binding set, as messages name it: `The bindings of project type "web" in organization "acme"`.
 *
 * @param scopeLabel The scope's label (`scopeLabel()` of `rules.ts`).
 * @param org Its organization's slug.
 * @returns The words.
 */
export function bindingSetName(scopeLabel: string, org: string): string {
  return `The bindings of ${scopeLabel} in organization "${org}"`;
}

/**
 * The one "not found" of a kind of node.
 *
 * @param kind What is missing.
 * @param ref Its slug and where it was looked for.
 * @returns The error to throw, e.g. `Project "billing" not found in organization "acme"`.
 */
export function notFound(kind: NodeKind, ref: NodeRef): NotFoundError {
  return new NotFoundError(`${NOUNS[kind]} "${ref.slug}" not found${place(kind, ref)}`);
}

/**
 * The one "already exists" of a kind of node (a slug taken where it must be unique).
 *
 * @param kind What was to be created.
 * @param ref Its slug and where it is taken.
 * @returns The error to throw, e.g. `Plugin "ssm" already exists in service "aws"`.
 */
export function alreadyExists(kind: NodeKind, ref: NodeRef): ConflictError {
  return new ConflictError(`${NOUNS[kind]} "${ref.slug}" already exists${place(kind, ref)}`);
}

/**
 * A globally unique id that is taken.
 *
 * @param kind Project or Plugin node.
 * @param id The id.
 * @returns The error to throw, e.g. `Project id "…" is already taken`.
 */
export function idTaken(kind: "project" | "plugin", id: string): ConflictError {
  return new ConflictError(`${NOUNS[kind]} id "${id}" is already taken`);
}

/**
 * Quotes names for a message, at most `max` of them.
 *
 * @param names The names.
 * @param max How many to show before `and N more`.
 * @returns `"a", "b" and 3 more`.
 */
export function quoteList(names: string[], max = 10): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** How many things an organization holds, in `deleteOrg`. */
export interface OrgHoldings {
  /** Its project types. */
  project_types: number;
  /** Its projects. */
  projects: number;
  /** Its services. */
  services: number;
}

/**
 * Refuses to delete an organization that holds anything.
 *
 * @param slug The organization.
 * @param counts What it holds.
 * @throws {ConflictError} When any count is above zero; `extra` carries the counts.
 */
export function assertOrgEmpty(slug: string, counts: OrgHoldings): void {
  const held = Object.entries(counts).filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what.replace("_", " ")}`);
  if (held.length > 0) {
    throw new ConflictError(`${NOUNS.org} "${slug}" still holds ${held.join(", ")}`, { extra: { ...counts } });
  }
}

/**
 * Refuses to delete a project type that projects have.
 *
 * @param slug The project type.
 * @param projects Slugs of the projects that have it.
 * @throws {ConflictError} When any project has it; `extra.projects` lists them.
 */
export function assertProjectTypeUnused(slug: string, projects: string[]): void {
  if (projects.length > 0) {
    throw new ConflictError(`${NOUNS.project_type} "${slug}" is used by project ${quoteList(projects)}`, {
      extra: { projects },
    });
  }
}

/**
 * Refuses to delete a service that still has applications or Plugin nodes.
 *
 * @param slug The service.
 * @param holdings Slugs of its applications and Plugin nodes.
 * @throws {ConflictError} When it has any; `extra` lists them.
 */
export function assertServiceEmpty(slug: string, holdings: { applications: string[]; plugins: string[] }): void {
  const { applications, plugins } = holdings;
  if (applications.length === 0 && plugins.length === 0) return;
  const parts = [
    applications.length > 0 ? `application ${quoteList(applications)}` : "",
    plugins.length > 0 ? `Plugin ${quoteList(plugins)}` : "",
  ].filter(Boolean);
  throw new ConflictError(`${NOUNS.service} "${slug}" still has ${parts.join(" and ")}`, {
    extra: { applications, plugins },
  });
}

/**
 * Refuses to delete an application a Plugin node uses.
 *
 * @param slug The application.
 * @param plugins Slugs of the Plugin nodes that use it.
 * @throws {ConflictError} When any does; `extra.plugins` lists them.
 */
export function assertApplicationUnused(slug: string, plugins: string[]): void {
  if (plugins.length > 0) {
    throw new ConflictError(`${NOUNS.application} "${slug}" is used by Plugin ${quoteList(plugins)}`, {
      extra: { plugins },
    });
  }
}

/** A binding scope that points at a Plugin node, as a store reads it. */
export interface BindingUser {
  /** Project type or project. */
  kind: "project_type" | "project";
  /** The project type's slug or the project's id. */
  key: string;
  /** The slug, for the message. */
  slug: string;
}

/**
 * Refuses to delete a Plugin node that bindings point at.
 *
 * @param node Where the node is: org, service and slug.
 * @param users The scopes whose bindings name it, in message order.
 * @throws {ConflictError} When any does; `extra.scopes` lists the binding scopes.
 */
export function assertPluginUnbound(node: { org: string; service: string; slug: string }, users: BindingUser[]): void {
  if (users.length === 0) return;
  const { org } = node;
  const scopes: BindingScope[] = users.map((u) =>
    u.kind === "project_type" ? { kind: "project_type", org, slug: u.key } : { kind: "project", org, id: u.key }
  );
  const names = users.map((u) => `${u.kind.replace("_", " ")} "${u.slug}"`);
  throw new ConflictError(
    `${NOUNS.plugin} "${node.service}/${node.slug}" is bound by ${names.slice(0, 10).join(", ")}` +
      (names.length > 10 ? ` and ${names.length - 10} more` : ""),
    { extra: { scopes } },
  );
}

/**
 * A uniqueness rule of the database tripped by a concurrent write that
 * passed the store's own checks.
 *
 * @param cause The database error.
 * @returns The error to throw.
 */
export function concurrentWrite(cause: unknown): ConflictError {
  return new ConflictError("The write conflicts with a concurrent write; retry it", { cause });
}

/**
 * The store cannot answer (down, locked, closed).
 *
 * @param options Why (`closed` for a store this process closed), the cause,
 *   and the `Retry-After` to suggest.
 * @returns The error to throw; its message never names a URL or credential.
 */
export function unavailable(
  options: { closed?: boolean; refused?: boolean; cause?: unknown; retryAfterSeconds?: number } = {},
): UnavailableError {
  const message = options.closed
    ? "The graph store is closed"
    : options.refused
    ? "The graph store refused the credentials"
    : "The graph store is unavailable";
  return new UnavailableError(message, {
    ...(options.cause !== undefined ? { cause: options.cause } : {}),
    ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
  });
}
