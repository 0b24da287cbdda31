/**
 * The whole graph in and out of the SQLite store (`exportAll`, `importAll`).
 * Each function runs inside a transaction the store opened. Private to
 * `core/graph/sqlite/`.
 *
 * @module
 */

import { type BindingRow, slugAndName, toApplication, toBinding, toPluginNode, toProject } from "../rows.ts";
import { scopeLabel, toService } from "../rules.ts";
import type { Binding, GraphDump, OrgDump } from "../store.ts";
import type { SqliteDb } from "./_db.ts";
import { BINDING_COLUMNS, BINDING_JOINS, writeBindings } from "./_bindings.ts";
import {
  APPLICATION_COLUMNS,
  type ApplicationRow,
  org,
  type OrgRow,
  PLUGIN_COLUMNS,
  PLUGIN_FROM,
  type PluginRowWithKey,
  PROJECT_COLUMNS,
  type ProjectRow,
  projectType,
  service,
  SERVICE_COLUMNS,
  type ServiceRow,
} from "./_lookups.ts";
import { insertOrg, insertProject, insertProjectType } from "./_orgs.ts";
import { insertApplication, insertPlugin, insertService } from "./_services.ts";

/** The whole graph, every list ordered by slug and bindings in written order. */
export function exportAll(db: SqliteDb): GraphDump {
  const orgs = db.all<OrgRow>("SELECT id, slug, name FROM organizations ORDER BY slug");
  return { organizations: orgs.map((o) => exportOrg(db, o)) };
}

function exportOrg(db: SqliteDb, o: OrgRow): OrgDump {
  const bindingsBy = <K>(sql: string) => {
    const map = new Map<K, Binding[]>();
    for (const row of db.all<BindingRow & { owner: K }>(sql, o.id)) {
      const list = map.get(row.owner) ?? [];
      list.push(toBinding(row));
      map.set(row.owner, list);
    }
    return map;
  };
  const projectBindings = bindingsBy<number>(
    `SELECT b.project_rid AS owner, ${BINDING_COLUMNS} FROM bindings b JOIN projects p ON p.rid = b.project_rid
       ${BINDING_JOINS} WHERE p.org_id = ? ORDER BY b.project_rid, b.position`,
  );
  const typeBindings = bindingsBy<string>(
    `SELECT pt.slug AS owner, ${BINDING_COLUMNS} FROM bindings b JOIN project_types pt ON pt.id = b.project_type_id
       ${BINDING_JOINS} WHERE pt.org_id = ? ORDER BY pt.slug, b.position`,
  );
  const services = db.all<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE org_id = ? ORDER BY slug`, o.id);
  return {
    ...slugAndName(o),
    project_types: db.all<OrgRow>("SELECT slug, name FROM project_types WHERE org_id = ? ORDER BY slug", o.id)
      .map(slugAndName),
    projects: db.all<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects p WHERE p.org_id = ? ORDER BY p.slug`, o.id)
      .map((row) => ({ ...toProject(row), bindings: projectBindings.get(row.rid) ?? [] })),
    services: services.map((svc) => ({
      ...toService(svc),
      applications: db.all<ApplicationRow>(
        `SELECT ${APPLICATION_COLUMNS} FROM applications WHERE service_id = ? ORDER BY slug`,
        svc.id,
      ).map(toApplication),
      plugins: db.all<PluginRowWithKey>(
        `SELECT ${PLUGIN_COLUMNS} FROM ${PLUGIN_FROM} WHERE pl.service_id = ? ORDER BY pl.slug`,
        svc.id,
      ).map(toPluginNode),
    })),
    project_type_bindings: [...typeBindings].map(([project_type, bindings]) => ({ project_type, bindings })),
  };
}

/**
 * Loads a dump with the same writes and rules as one create at a time, so
 * any break throws and the store's transaction writes nothing.
 */
export function importAll(db: SqliteDb, dump: GraphDump): void {
  dump.organizations.forEach((orgDump, i) => {
    insertOrg(db, orgDump);
    const o = org(db, orgDump.slug);
    for (const pt of orgDump.project_types) insertProjectType(db, o, pt);
    for (const svcDump of orgDump.services) {
      insertService(db, o, svcDump);
      const svc = service(db, o, svcDump.slug);
      const where = { org: o.slug, service: svc };
      for (const app of svcDump.applications) insertApplication(db, where, app);
      for (const node of svcDump.plugins) insertPlugin(db, where, node, { defaultApplication: false });
    }
    orgDump.projects.forEach((projectDump, p) => {
      const { rid } = insertProject(db, o, projectDump);
      writeBindings(db, o, { column: "project_rid", key: rid, label: scopeLabel("project", projectDump.slug) }, {
        bindings: projectDump.bindings,
        pointerPrefix: `/organizations/${i}/projects/${p}`,
      });
    });
    orgDump.project_type_bindings.forEach((entry, k) => {
      const pt = projectType(db, o, entry.project_type);
      writeBindings(db, o, { column: "project_type_id", key: pt.id, label: scopeLabel("project_type", pt.slug) }, {
        bindings: entry.bindings,
        pointerPrefix: `/organizations/${i}/project_type_bindings/${k}`,
      });
    });
  });
}
