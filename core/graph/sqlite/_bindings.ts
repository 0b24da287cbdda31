/**
 * Bindings, their merge and tab resolution in the SQLite store. Each
 * function runs inside a transaction the store opened. Private to
 * `core/graph/sqlite/`.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";
import { assertIfMatch } from "../etag.ts";
import { bindingSetName, notFound } from "../messages.ts";
import { mergeEdges, type RawEdge, selectBinding } from "../resolution.ts";
import { type BindingRow, slugAndName, toApplication, toBinding, toEdge, toProject } from "../rows.ts";
import { checkBindings, toService } from "../rules.ts";
import type { Binding, BindingScope, EffectiveBinding, Resolution, ResolveQuery, WriteOptions } from "../store.ts";
import { recordChange } from "./_changes.ts";
import type { SqliteDb } from "./_db.ts";
import * as lookups from "./_lookups.ts";
import {
  APPLICATION_COLUMNS,
  type ApplicationRow,
  type EdgeRow,
  findOrg,
  findProject,
  org,
  type OrgRow,
  type ScopeKey,
  SERVICE_COLUMNS,
  type ServiceRow,
} from "./_lookups.ts";

/** Columns of a binding row over `bindings b`, its Plugin node `pl` and identity node `ip`. */
export const BINDING_COLUMNS = `pl.id AS plugin_id, b.tab AS tab, b.is_default AS "default",
  b.search_template AS search_template, ip.id AS identity_plugin_id`;

/** The joins {@linkcode BINDING_COLUMNS} needs. */
export const BINDING_JOINS = `JOIN plugins pl ON pl.rid = b.plugin_rid
  LEFT JOIN plugins ip ON ip.rid = b.identity_plugin_rid`;

const EDGE_COLUMNS = `${BINDING_COLUMNS}, pl.rid AS rid, pl.slug AS slug, s.slug AS service,
  a.slug AS application, pl.plugin AS plugin, pl.plugin_type AS plugin_type, pl.label AS label,
  pl.options AS options, pl.enabled AS enabled`;
const EDGE_JOINS = `${BINDING_JOINS} JOIN services s ON s.id = pl.service_id
  LEFT JOIN applications a ON a.id = pl.application_id`;

/** Edges of a project (`?1`) and its project types, with a filter on `b` (a constant). */
function edgesSql(filter: string): string {
  return `
  SELECT NULL AS origin_slug, ${EDGE_COLUMNS} FROM bindings b ${EDGE_JOINS}
   WHERE b.project_rid = ?1 ${filter}
  UNION ALL
  SELECT pt.slug AS origin_slug, ${EDGE_COLUMNS} FROM project_project_types ppt
    JOIN project_types pt ON pt.id = ppt.project_type_id
    JOIN bindings b ON b.project_type_id = ppt.project_type_id ${EDGE_JOINS}
   WHERE ppt.project_rid = ?1 ${filter}`;
}

/** Edges of a project and its project types for one tab (`?2`). */
const EDGES_FOR_TAB = edgesSql("AND b.tab = ?2");
/** Edges of a project and its project types for every tab. */
const EDGES_ALL_TABS = edgesSql("");

/** The bindings of a scope in written order. */
export function readBindings(db: SqliteDb, scope: ScopeKey): Binding[] {
  return db.all<BindingRow>(
    `SELECT ${BINDING_COLUMNS} FROM bindings b ${BINDING_JOINS} WHERE b.${scope.column} = ? ORDER BY b.position`,
    scope.key,
  ).map(toBinding);
}

/**
 * Checks and writes the bindings of one scope. Every break is collected
 * into one `ValidationError`, pointers prefixed with `pointerPrefix`.
 */
export function writeBindings(
  db: SqliteDb,
  o: OrgRow,
  scope: ScopeKey,
  options: { bindings: Binding[]; pointerPrefix: string },
): void {
  const lookup = (id: string) =>
    db.get<{ rid: number; slug: string; service: string; plugin_type: string }>(
      `SELECT pl.rid AS rid, pl.slug AS slug, s.slug AS service, pl.plugin_type AS plugin_type
         FROM plugins pl JOIN services s ON s.id = pl.service_id WHERE pl.id = ? AND s.org_id = ?`,
      id,
      o.id,
    );
  const checked = checkBindings(options.bindings, {
    org: o.slug,
    scopeLabel: scope.label,
    lookup,
    prefix: options.pointerPrefix,
  });
  db.run(`DELETE FROM bindings WHERE ${scope.column} = ?`, scope.key);
  const insert = `INSERT INTO bindings (${scope.column}, position, plugin_rid, tab, is_default, search_template,
    identity_plugin_rid) VALUES (?, ?, ?, ?, ?, ?, ?)`;
  checked.forEach(({ binding, plugin, identity }, position) => {
    db.run(
      insert,
      scope.key,
      position,
      plugin.rid,
      binding.tab,
      binding.default ? 1 : 0,
      binding.search_template ?? "",
      identity?.rid ?? null,
    );
  });
}

/**
 * Replaces a scope's bindings after `ifMatch` held for the set it holds, and
 * records the change; returns them as stored.
 */
export function replaceBindings(db: SqliteDb, scope: BindingScope, list: Binding[], options: WriteOptions): Binding[] {
  const { org: o, scope: key } = lookups.scope(db, scope);
  const before = options.ifMatch || options.audit ? readBindings(db, key) : [];
  assertIfMatch(before, options, bindingSetName(key.label, o.slug));
  writeBindings(db, o, key, { bindings: list, pointerPrefix: "" });
  const after = readBindings(db, key);
  const ref = { org: o.slug, slug: key.slug, scope: key.kind };
  recordChange(db, options, { kind: "bindings", verb: "replace", ref, from: before, to: after });
  return after;
}

/** Raw edges of a project (and its types), for one tab or all. */
function edges(db: SqliteDb, projectRid: number, tab: PluginType | null): RawEdge[] {
  const rows = tab === null
    ? db.all<EdgeRow & { plugin_id: string }>(EDGES_ALL_TABS, projectRid)
    : db.all<EdgeRow & { plugin_id: string }>(EDGES_FOR_TAB, projectRid, tab);
  return rows.map((row) => toEdge(row, row.origin_slug, { ...row, id: row.plugin_id }));
}

/** Merged bindings of a project for every tab; 404 for an unknown org or project. */
export function effectiveBindings(db: SqliteDb, ref: { org: string; project: string }): EffectiveBinding[] {
  const o = org(db, ref.org);
  const row = findProject(db, o, ref.project);
  if (!row) throw notFound("project", { org: o.slug, slug: ref.project });
  return mergeEdges(edges(db, row.rid, null));
}

/**
 * Spec section 6 steps 1 to 5 in one snapshot: the project (by id, else
 * slug), its and its project types' edges for the tab with their Plugin
 * nodes, `mergeEdges` and `selectBinding`, then the selected node's service
 * and application (ciphertext credentials).
 */
export function resolveTab(db: SqliteDb, query: ResolveQuery): Resolution {
  const o = findOrg(db, query.org);
  const project = o && findProject(db, o, query.project);
  if (!o || !project) return { kind: "project_not_found" };
  const merged = mergeEdges(edges(db, project.rid, query.tab));
  const selection = selectBinding(merged, { source: query.source, loaded: query.loaded });
  if (selection.kind !== "selected") return selection;
  const pluginId = selection.binding.plugin.id;
  const service = db.get<ServiceRow>(
    `SELECT ${SERVICE_COLUMNS} FROM services WHERE id = (SELECT service_id FROM plugins WHERE id = ?)`,
    pluginId,
  )!;
  const app = db.get<ApplicationRow>(
    `SELECT ${APPLICATION_COLUMNS} FROM applications WHERE id = (SELECT application_id FROM plugins WHERE id = ?)`,
    pluginId,
  );
  return {
    kind: "selected",
    reason: selection.reason,
    target: {
      org: slugAndName(o),
      project: toProject(project),
      binding: selection.binding,
      service: toService(service),
      application: app ? toApplication(app) : null,
    },
  };
}
