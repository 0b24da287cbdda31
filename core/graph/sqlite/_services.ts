/**
 * Third-party services, their applications and their Plugin nodes in the
 * SQLite store. Each function runs inside a transaction the store opened.
 * Private to `core/graph/sqlite/`.
 *
 * @module
 */

import * as messages from "../messages.ts";
import * as rules from "../rules.ts";
import { toApplication, toPluginNode } from "../rows.ts";
import type * as graph from "../store.ts";
import type { SqliteDb } from "./_db.ts";
import {
  application,
  APPLICATION_COLUMNS,
  type ApplicationRow,
  findApplication,
  findService,
  org,
  type OrgRow,
  plugin,
  PLUGIN_COLUMNS,
  PLUGIN_FROM,
  type PluginRowWithKey,
  service,
  SERVICE_COLUMNS,
  type ServiceRow,
} from "./_lookups.ts";
import { recordChange } from "./_changes.ts";
import { limitOffset } from "./_orgs.ts";

/** Where a service is: its org's slug and its own. */
export interface ServiceRef {
  /** Organization slug. */
  org: string;
  /** Service slug. */
  service: string;
}

/** Finds a service by org and service slug; 404 for either. */
export function serviceOf(db: SqliteDb, ref: ServiceRef): ServiceRow {
  return service(db, org(db, ref.org), ref.service);
}

/** Services of an org, by slug. */
export function listServices(db: SqliteDb, slug: string, page: graph.Page | undefined): graph.ThirdPartyService[] {
  const [limit, offset] = limitOffset(page);
  return db.all<ServiceRow>(
    `SELECT ${SERVICE_COLUMNS} FROM services WHERE org_id = ? ORDER BY slug LIMIT ? OFFSET ?`,
    org(db, slug).id,
    limit,
    offset,
  ).map(rules.toService);
}

/** Creates a service; 409 for a slug taken in the org. */
export function insertService(
  db: SqliteDb,
  o: OrgRow,
  svc: graph.ThirdPartyService,
  options?: graph.CreateOptions,
): graph.ThirdPartyService {
  const value = rules.toService(svc);
  if (findService(db, o, value.slug)) throw messages.alreadyExists("service", { org: o.slug, slug: value.slug });
  db.run(
    "INSERT INTO services (org_id, slug, name, vendor, base_url, account, region) VALUES (?, ?, ?, ?, ?, ?, ?)",
    o.id,
    value.slug,
    value.name,
    value.vendor,
    value.base_url,
    value.account,
    value.region,
  );
  recordChange(db, options, {
    kind: "service",
    verb: "create",
    ref: { org: o.slug, slug: value.slug },
    from: null,
    to: value,
  });
  return value;
}

/** Patches a service; `null` clears an optional field. */
export function updateService(
  db: SqliteDb,
  ref: ServiceRef,
  patch: Partial<Omit<graph.ThirdPartyService, "slug">>,
  options: graph.WriteOptions = {},
): graph.ThirdPartyService {
  const row = service(db, org(db, ref.org), ref.service, options);
  const next = rules.patchService(row, patch);
  db.run(
    "UPDATE services SET name = ?, vendor = ?, base_url = ?, account = ?, region = ? WHERE id = ?",
    next.name,
    next.vendor,
    next.base_url,
    next.account,
    next.region,
    row.id,
  );
  const where = { org: ref.org, slug: ref.service };
  recordChange(db, options, { kind: "service", verb: "update", ref: where, from: rules.toService(row), to: next });
  return next;
}

/** Deletes a service without applications and Plugin nodes. */
export function deleteService(db: SqliteDb, ref: ServiceRef, options: graph.WriteOptions = {}): void {
  const row = service(db, org(db, ref.org), ref.service, options);
  const slugs = (table: string) =>
    db.all<{ slug: string }>(`SELECT slug FROM ${table} WHERE service_id = ? ORDER BY slug`, row.id).map((r) => r.slug);
  messages.assertServiceEmpty(ref.service, { applications: slugs("applications"), plugins: slugs("plugins") });
  db.run("DELETE FROM services WHERE id = ?", row.id);
  const where = { org: ref.org, slug: ref.service };
  recordChange(db, options, { kind: "service", verb: "delete", ref: where, from: rules.toService(row), to: null });
}

/** Applications of a service, by slug. */
export function listApplications(db: SqliteDb, ref: ServiceRef): graph.ServiceApplication[] {
  return db.all<ApplicationRow>(
    `SELECT ${APPLICATION_COLUMNS} FROM applications WHERE service_id = ? ORDER BY slug`,
    serviceOf(db, ref).id,
  ).map(toApplication);
}

/** Creates an application; 409 for a slug taken in the service. */
export function insertApplication(
  db: SqliteDb,
  where: { org: string; service: ServiceRow },
  app: graph.ServiceApplication,
  options?: graph.CreateOptions,
): graph.ServiceApplication {
  const svc = where.service;
  const value = rules.newApplication(app);
  if (findApplication(db, svc, value.slug)) {
    throw messages.alreadyExists("application", { service: svc.slug, slug: value.slug });
  }
  db.run(
    "INSERT INTO applications (service_id, slug, name, credentials) VALUES (?, ?, ?, ?)",
    svc.id,
    value.slug,
    value.name,
    JSON.stringify(value.credentials),
  );
  const ref = { org: where.org, service: svc.slug, slug: value.slug };
  recordChange(db, options, { kind: "application", verb: "create", ref, from: null, to: value });
  return value;
}

/**
 * Patches name and credentials: `credentials` replaces the whole map,
 * `credential_changes` merges into it; `check` sees the result and the
 * Plugin nodes using the application.
 */
export function updateApplication(
  db: SqliteDb,
  ref: ServiceRef & { slug: string },
  patch: graph.ApplicationPatch,
  options: graph.ApplicationWriteOptions = {},
): graph.ServiceApplication {
  const row = application(db, serviceOf(db, ref), ref.slug, options);
  const next = rules.patchApplication(toApplication(row), patch);
  if (options.check) {
    const users = db.all<PluginRowWithKey>(
      `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.application_id = ? ORDER BY pl.slug`,
      row.id,
    );
    options.check(next, users.map(toPluginNode));
  }
  db.run(
    "UPDATE applications SET name = ?, credentials = ? WHERE id = ?",
    next.name,
    JSON.stringify(next.credentials),
    row.id,
  );
  recordChange(db, options, { kind: "application", verb: "update", ref, from: toApplication(row), to: next });
  return next;
}

/** Deletes an application no Plugin node uses. */
export function deleteApplication(
  db: SqliteDb,
  ref: ServiceRef & { slug: string },
  options: graph.WriteOptions = {},
): void {
  const row = application(db, serviceOf(db, ref), ref.slug, options);
  messages.assertApplicationUnused(
    ref.slug,
    db.all<{ slug: string }>("SELECT slug FROM plugins WHERE application_id = ? ORDER BY slug", row.id)
      .map((r) => r.slug),
  );
  db.run("DELETE FROM applications WHERE id = ?", row.id);
  recordChange(db, options, { kind: "application", verb: "delete", ref, from: toApplication(row), to: null });
}

/** Plugin nodes of a service, by slug. */
export function listPlugins(db: SqliteDb, ref: ServiceRef): graph.PluginNode[] {
  return db.all<PluginRowWithKey>(
    `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.service_id = ? ORDER BY pl.slug`,
    serviceOf(db, ref).id,
  ).map(toPluginNode);
}

/**
 * Creates a Plugin node. With `defaultApplication`, a node without an
 * application uses the service's only application (an import keeps none).
 * `check` sees the node with its service and application before it is written.
 */
export function insertPlugin(
  db: SqliteDb,
  where: { org: string; service: ServiceRow },
  input: graph.PluginNodeInput,
  options: { defaultApplication: boolean } & Pick<graph.PluginWriteOptions, "check" | "audit">,
): graph.PluginNode {
  const svc = where.service;
  rules.checkPluginType(input);
  if (input.id !== undefined && db.get("SELECT 1 FROM plugins WHERE id = ?", input.id)) {
    throw messages.idTaken("plugin", input.id);
  }
  if (db.get("SELECT 1 FROM plugins WHERE service_id = ? AND slug = ?", svc.id, input.slug)) {
    throw messages.alreadyExists("plugin", { service: svc.slug, slug: input.slug });
  }
  let app: ApplicationRow | null = null;
  if (input.application !== null && input.application !== undefined) {
    app = application(db, svc, input.application);
  } else if (options.defaultApplication) {
    // USES_APPLICATION defaults to the service's only application.
    const apps = db.all<ApplicationRow>(
      `SELECT ${APPLICATION_COLUMNS} FROM applications WHERE service_id = ? LIMIT 2`,
      svc.id,
    );
    if (apps.length === 1) app = apps[0]!;
  }
  const node = rules.newPluginNode(input, { service: svc.slug, application: app?.slug ?? null });
  options.check?.(node, { service: rules.toService(svc), application: app && toApplication(app) });
  db.run(
    `INSERT INTO plugins (id, service_id, application_id, slug, plugin, plugin_type, label, options, enabled)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    node.id,
    svc.id,
    app?.id ?? null,
    node.slug,
    node.plugin,
    node.plugin_type,
    node.label,
    JSON.stringify(node.options),
    node.enabled ? 1 : 0,
  );
  const ref = { org: where.org, service: svc.slug, slug: node.slug };
  recordChange(db, options, { kind: "plugin", verb: "create", ref, from: null, to: node });
  return node;
}

/**
 * Patches slug, application (`null` unlinks), label, options and enabled;
 * `check` sees the result with its service and application.
 */
export function updatePlugin(
  db: SqliteDb,
  ref: ServiceRef & { slug: string },
  patch: graph.PluginNodePatch,
  options: graph.PluginWriteOptions = {},
): graph.PluginNode {
  const svc = serviceOf(db, ref);
  const row = plugin(db, svc, ref.slug, options);
  const next = rules.patchPluginNode(toPluginNode(row), patch);
  if (next.slug !== row.slug && db.get("SELECT 1 FROM plugins WHERE service_id = ? AND slug = ?", svc.id, next.slug)) {
    throw messages.alreadyExists("plugin", { service: svc.slug, slug: next.slug });
  }
  let app = db.get<ApplicationRow>(
    `SELECT ${APPLICATION_COLUMNS} FROM applications WHERE id = (SELECT application_id FROM plugins WHERE rid = ?)`,
    row.rid,
  ) ?? null;
  if (patch.application === null) app = null;
  else if (patch.application !== undefined) app = application(db, svc, patch.application);
  next.application = app?.slug ?? null;
  options.check?.(next, { service: rules.toService(svc), application: app && toApplication(app) });
  db.run(
    "UPDATE plugins SET slug = ?, label = ?, options = ?, enabled = ?, application_id = ? WHERE rid = ?",
    next.slug,
    next.label,
    JSON.stringify(next.options),
    next.enabled ? 1 : 0,
    app?.id ?? null,
    row.rid,
  );
  const stored = toPluginNode(
    db.get<PluginRowWithKey>(`SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.rid = ?`, row.rid)!,
  );
  const where = { org: ref.org, service: svc.slug, slug: row.slug };
  recordChange(db, options, { kind: "plugin", verb: "update", ref: where, from: toPluginNode(row), to: stored });
  return stored;
}

/** Deletes a Plugin node no binding points at. */
export function deletePlugin(db: SqliteDb, ref: ServiceRef & { slug: string }, options: graph.WriteOptions = {}): void {
  const svc = serviceOf(db, ref);
  const row = plugin(db, svc, ref.slug, options);
  const users = db.all<messages.BindingUser>(
    `SELECT DISTINCT 'project_type' AS kind, pt.slug AS key, pt.slug AS slug FROM bindings b
       JOIN project_types pt ON pt.id = b.project_type_id WHERE b.plugin_rid = ?1 OR b.identity_plugin_rid = ?1
     UNION
     SELECT DISTINCT 'project' AS kind, p.id AS key, p.slug AS slug FROM bindings b
       JOIN projects p ON p.rid = b.project_rid WHERE b.plugin_rid = ?1 OR b.identity_plugin_rid = ?1
     ORDER BY 1 DESC, 3`,
    row.rid,
  );
  messages.assertPluginUnbound({ org: ref.org, service: svc.slug, slug: row.slug }, users);
  db.run("DELETE FROM plugins WHERE rid = ?", row.rid);
  const where = { org: ref.org, service: svc.slug, slug: row.slug };
  recordChange(db, options, { kind: "plugin", verb: "delete", ref: where, from: toPluginNode(row), to: null });
}

/** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
export function findPluginNodes(db: SqliteDb, manifestSlugs: string[]): graph.PluginNodeRef[] {
  return db.all<graph.PluginNodeRef>(
    `SELECT o.slug AS org, s.slug AS service, pl.id AS id, pl.slug AS slug, pl.plugin AS plugin
       FROM plugins pl JOIN services s ON s.id = pl.service_id JOIN organizations o ON o.id = s.org_id
      WHERE pl.plugin IN (SELECT value FROM json_each(?))
      ORDER BY o.slug, s.slug, pl.slug`,
    JSON.stringify(manifestSlugs),
  ).map((r) => ({ org: r.org, service: r.service, id: r.id, slug: r.slug, plugin: r.plugin }));
}
