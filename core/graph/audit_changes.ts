/**
 * The audit records of graph writes: what a store appends, in the write's
 * own transaction, when the write carries an {@linkcode AuditStamp} (so a
 * write is never acknowledged without its record, and a refused write leaves
 * none). Both stores describe a write the same way, as a
 * {@linkcode GraphChange}, and this module turns it into the record.
 *
 * A record never holds a secret: an application is shown by its name and its
 * credential field names, and the detail says which fields were added,
 * changed (a new ciphertext) or removed, by name only; a Plugin node's
 * encrypted (secret) options show as `{"set": true}`.
 *
 * @module
 */

import { Keyring } from "../crypto.ts";
import type { AuditInput } from "./audit_store.ts";

/** An application as stored (`ServiceApplication` of `store.ts`): credential values are ciphertext. */
interface StoredApplication {
  slug: string;
  name: string;
  credentials: Record<string, string>;
}

/** Who makes a write, and when, for the record the store appends with it. */
export interface AuditStamp {
  /** Who: `admin-api:<token subject>` or `cli:<user>`. */
  actor: string;
  /** The HTTP request id, or null outside a request. */
  request_id: string | null;
  /** The replica (or CLI process) making the write. */
  replica: string;
  /** ISO 8601 time of the write. */
  at: string;
  /** Names the action instead of `<kind>.<verb>`, e.g. `application.reencrypt`. */
  action?: string;
  /** Added to the record's detail, e.g. the key id of a re-encryption. */
  detail?: Record<string, unknown>;
}

/** The kinds of graph resource a record names (its `target_kind`). */
export type GraphTargetKind = "org" | "project_type" | "project" | "service" | "application" | "plugin" | "bindings";

/** One graph write, as a store describes it. */
export interface GraphChange {
  /** What kind of resource. */
  kind: GraphTargetKind;
  /** What was done to it. */
  verb: "create" | "update" | "delete" | "replace";
  /** Where it is; names the record's target ({@linkcode graphTarget}). */
  ref: TargetRef;
  /** Its stored state before the write; null for a create. */
  from: unknown;
  /** Its stored state after the write; null for a delete. */
  to: unknown;
}

/** Where a resource is, for its target name. */
export interface TargetRef {
  /** Its organization; absent for an org itself. */
  org?: string;
  /** Its service, for applications and Plugin nodes. */
  service?: string;
  /** Its slug (for a binding set, its scope's project-type or project slug). */
  slug: string;
  /** A binding set's scope. */
  scope?: "project_type" | "project";
}

/**
 * The name of a record's target: `acme`, `acme/web` (project type, project,
 * service), `acme/aws/prod` (application, Plugin node),
 * `project_type:acme/web` or `project:acme/billing` (binding sets).
 *
 * @param kind What kind of resource.
 * @param ref Where it is.
 * @returns The name.
 */
export function graphTarget(kind: GraphTargetKind, ref: TargetRef): string {
  if (kind === "org") return ref.slug;
  if (kind === "bindings") return `${ref.scope ?? "project"}:${ref.org}/${ref.slug}`;
  if (kind === "application" || kind === "plugin") return `${ref.org}/${ref.service}/${ref.slug}`;
  return `${ref.org}/${ref.slug}`;
}

/** An application as a record shows it: no credential values. */
function shownApplication(app: StoredApplication): Record<string, unknown> {
  return { slug: app.slug, name: app.name, credential_fields: Object.keys(app.credentials).sort() };
}

/** A Plugin node as a record shows it: an encrypted (secret) option as `{"set": true}`. */
function shownPlugin(node: { options: Record<string, unknown> }): Record<string, unknown> {
  const sealed = (value: unknown) => typeof value === "string" && Keyring.kidOf(value) !== undefined;
  const options = Object.fromEntries(
    Object.entries(node.options).map(([name, value]) => [name, sealed(value) ? { set: true } : value]),
  );
  return { ...node, options };
}

/** Which credential fields a write added, changed (new ciphertext) or removed, by name. */
function credentialChanges(from: StoredApplication | null, to: StoredApplication | null) {
  const before = from?.credentials ?? {};
  const after = to?.credentials ?? {};
  const names = (list: string[]) => list.sort();
  return {
    added: names(Object.keys(after).filter((f) => !(f in before))),
    changed: names(Object.keys(after).filter((f) => f in before && before[f] !== after[f])),
    removed: names(Object.keys(before).filter((f) => !(f in after))),
  };
}

/**
 * The record of one graph write.
 *
 * @param stamp Who, when, where, and any action name or detail of the caller's.
 * @param change What the store changed, from what to what.
 * @returns The record to append in the write's transaction.
 */
export function graphAuditRecord(stamp: AuditStamp, change: GraphChange): AuditInput {
  const { kind } = change;
  let { from, to } = change;
  let detail: Record<string, unknown> = {};
  if (kind === "application") {
    const [before, after] = [from as StoredApplication | null, to as StoredApplication | null];
    detail = { credential_fields: credentialChanges(before, after) };
    from = before && shownApplication(before);
    to = after && shownApplication(after);
  } else if (kind === "plugin") {
    from = from && shownPlugin(from as { options: Record<string, unknown> });
    to = to && shownPlugin(to as { options: Record<string, unknown> });
  }
  return {
    at: stamp.at,
    actor: stamp.actor,
    replica: stamp.replica,
    request_id: stamp.request_id,
    action: stamp.action ?? `${kind}.${change.verb}`,
    target_kind: kind,
    target: graphTarget(kind, change.ref),
    from,
    to,
    detail: { ...detail, ...stamp.detail },
  };
}
