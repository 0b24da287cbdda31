/**
 * The whole graph in and out of the Neo4j store (`exportAll`, `importAll`).
 * Private to `core/graph/neo4j/`.
 *
 * @module
 */

import { alreadyExists, idTaken } from "../messages.ts";
import {
  type ApplicationRow,
  type BindingRow,
  type PluginRow,
  type ProjectRow,
  toApplication,
  toBinding,
  toPluginNode,
  toProject,
} from "../rows.ts";
import { toService } from "../rules.ts";
import type { GraphDump, ProjectType, ThirdPartyService } from "../store.ts";
import { one, run, type Tx } from "./_db.ts";
import { planImport } from "./import_plan.ts";
import { Q } from "./queries.ts";

/** The whole graph, every list ordered by slug and bindings in written order. */
export async function exportAll(tx: Tx): Promise<GraphDump> {
  const organizations: GraphDump["organizations"] = [];
  for (const row of (await run(tx, Q.exportAll, {})).records) {
    const projects = row.get("projects") as (ProjectRow & { bindings: BindingRow[] })[];
    const services = row.get("services") as (ThirdPartyService & {
      applications: ApplicationRow[];
      plugins: PluginRow[];
    })[];
    const typeBindings = row.get("project_type_bindings") as { project_type: string; bindings: BindingRow[] }[];
    organizations.push({
      slug: row.get("slug"),
      name: row.get("name"),
      project_types: row.get("project_types") as ProjectType[],
      projects: projects.map((p) => ({ ...toProject(p), bindings: p.bindings.map(toBinding) })),
      services: services.map((s) => ({
        ...toService(s),
        applications: s.applications.map(toApplication),
        plugins: s.plugins.map(toPluginNode),
      })),
      project_type_bindings: typeBindings.map((e) => ({
        project_type: e.project_type,
        bindings: e.bindings.map(toBinding),
      })),
    });
  }
  return { organizations };
}

/**
 * Loads a dump: checked whole by {@linkcode planImport} before the first
 * write, then written with one `UNWIND` per kind of node and edge, and the
 * counts of created nodes and edges verified.
 */
export async function importAll(tx: Tx, dump: GraphDump): Promise<void> {
  const plan = planImport(dump);
  const existing = (await run(tx, Q.existingOrgs, { orgs: plan.orgs.map((o) => o.slug) })).records;
  if (existing.length > 0) throw alreadyExists("org", { slug: existing[0]!.get("slug") });
  const takenProject = await one(tx, Q.takenProjectIds, { ids: plan.projects.map((p) => p.id) });
  if (takenProject) throw idTaken("project", takenProject.get("id"));
  const takenPlugin = await one(tx, Q.takenPluginIds, { ids: plan.plugins.map((p) => p.id) });
  if (takenPlugin) throw idTaken("plugin", takenPlugin.get("id"));
  const nodesWithEdge = (rows: readonly object[]) => ({ nodes: rows.length, relationships: rows.length });
  const steps: [string, readonly object[], { nodes: number; relationships: number }][] = [
    [Q.importOrgs, plan.orgs, { nodes: plan.orgs.length, relationships: 0 }],
    [Q.importProjectTypes, plan.projectTypes, nodesWithEdge(plan.projectTypes)],
    [Q.importServices, plan.services, nodesWithEdge(plan.services)],
    [Q.importApplications, plan.applications, nodesWithEdge(plan.applications)],
    [Q.importPlugins, plan.plugins, {
      nodes: plan.plugins.length,
      relationships: plan.plugins.length + plan.plugins.filter((p) => p.application !== null).length,
    }],
    [Q.importProjects, plan.projects, {
      nodes: plan.projects.length,
      relationships: plan.projects.reduce((n, p) => n + 1 + p.project_types.length, 0),
    }],
    [Q.importProjectBindings, plan.projectBindings, { nodes: 0, relationships: plan.projectBindings.length }],
    [Q.importProjectTypeBindings, plan.typeBindings, { nodes: 0, relationships: plan.typeBindings.length }],
  ];
  for (const [cypher, rows, expected] of steps) {
    if (rows.length === 0) continue;
    const counters = (await run(tx, cypher, { rows })).summary.counters.updates();
    if (counters.nodesCreated !== expected.nodes || counters.relationshipsCreated !== expected.relationships) {
      throw new Error(
        `importAll wrote ${counters.nodesCreated} nodes and ${counters.relationshipsCreated} edges where ` +
          `${expected.nodes} and ${expected.relationships} were expected; nothing was kept`,
      );
    }
  }
}
