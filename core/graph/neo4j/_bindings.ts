/**
 * Bindings, their merge and tab resolution in the Neo4j store. Private to
 * `core/graph/neo4j/`.
 *
 * @module
 */

import { assertIfMatch } from "../etag.ts";
import { bindingSetName, notFound } from "../messages.ts";
import { type Ambiguity, ambiguityMessage } from "../resolution.ts";
import {
  type ApplicationRow,
  type BindingRow,
  type PluginRow,
  type ProjectRow,
  slugAndName,
  toApplication,
  toEdge,
  toProject,
} from "../rows.ts";
import type { BindingTarget } from "../rules.ts";
import { toService } from "../rules.ts";
import type {
  Binding,
  BindingScope,
  CandidateSummary,
  DroppedCandidate,
  EffectiveBinding,
  Organization,
  Resolution,
  SelectionReason,
  ThirdPartyService,
  WriteOptions,
} from "../store.ts";
import { recordChange } from "./_changes.ts";
import { one, run, type Tx } from "./_db.ts";
import * as find from "./_lookups.ts";
import { edgeRows } from "./import_plan.ts";
import { Q } from "./queries.ts";
import { EFFECTIVE_BINDINGS } from "./resolution.ts";

/** Replaces a scope's bindings, holding the scope node's lock; returns them as stored. */
export async function replaceBindings(
  tx: Tx,
  scope: BindingScope,
  bindings: Binding[],
  options: WriteOptions = {},
): Promise<Binding[]> {
  const key = await find.scope(tx, scope, { lock: true });
  const before = options.ifMatch || options.audit ? await find.readBindings(tx, key) : [];
  assertIfMatch(before, options, bindingSetName(key.label, key.org));
  const ids = new Set<string>();
  for (const b of bindings) {
    if (typeof b.plugin_id === "string") ids.add(b.plugin_id);
    if (typeof b.identity_plugin_id === "string") ids.add(b.identity_plugin_id);
  }
  const known = new Map<string, BindingTarget>();
  for (const r of (await run(tx, Q.pluginsOfOrg, { org: key.org, ids: [...ids] })).records) {
    known.set(r.get("id"), r.toObject() as BindingTarget);
  }
  const rows = edgeRows(bindings, { org: key.org, scope: key, lookup: (id) => known.get(id), prefix: "" });
  if (key.kind === "project_type") {
    await run(tx, Q.clearProjectTypeBindings, { org: key.org, slug: key.key });
    if (rows.length > 0) await run(tx, Q.writeProjectTypeBindings, { org: key.org, slug: key.key, rows });
  } else {
    await run(tx, Q.clearProjectBindings, { org: key.org, id: key.key });
    if (rows.length > 0) await run(tx, Q.writeProjectBindings, { org: key.org, id: key.key, rows });
  }
  const after = await find.readBindings(tx, key);
  const ref = { org: key.org, slug: key.slug, scope: key.kind };
  await recordChange(tx, options, { kind: "bindings", verb: "replace", ref, from: before, to: after });
  return after;
}

/** A merged edge as the resolution queries return it; `default` is the merged flag. */
export interface MergedRow {
  /** The edge's properties. */
  edge: Omit<BindingRow, "plugin_id">;
  /** The merged default flag. */
  default: boolean;
  /** The project type's slug the edge came from, or null for the project's own. */
  origin: string | null;
  /** The Plugin node. */
  plugin: PluginRow;
}

/**
 * Maps a merged edge.
 *
 * @param row A merged edge of `RESOLVE_TAB` or `EFFECTIVE_BINDINGS`.
 * @returns The effective binding.
 */
export function toEffective(row: MergedRow): EffectiveBinding {
  return toEdge({ ...row.edge, default: row.default, plugin_id: row.plugin.id }, row.origin, row.plugin);
}

/** Merged bindings of a project for every tab; 404 for an unknown org or project. */
export async function effectiveBindings(tx: Tx, ref: { org: string; project: string }): Promise<EffectiveBinding[]> {
  const row = (await one(tx, EFFECTIVE_BINDINGS, ref))!;
  if (!row.get("found")) {
    await find.org(tx, ref.org);
    throw notFound("project", { org: ref.org, slug: ref.project });
  }
  return (row.get("merged") as MergedRow[]).map(toEffective);
}

/** The one row `RESOLVE_TAB` returns. */
export interface ResolutionRow {
  /** The outcome. */
  kind: Resolution["kind"];
  /** Why the chosen candidate was chosen. */
  reason: SelectionReason | null;
  /** Why it is ambiguous. */
  why: Ambiguity | null;
  /** Candidates for `source_not_found` and `ambiguous`. */
  candidates: CandidateSummary[];
  /** Dropped candidates for `none`. */
  dropped: DroppedCandidate[];
  /** The project's org. */
  org: Organization | null;
  /** The project. */
  project: ProjectRow | null;
  /** The chosen edge. */
  chosen: MergedRow | null;
  /** The chosen node's service. */
  service: ThirdPartyService | null;
  /** The chosen node's application. */
  application: ApplicationRow | null;
}

/**
 * Maps the row of tab resolution.
 *
 * @param row The row of `RESOLVE_TAB`.
 * @param source The `?source=` sent, or null.
 * @returns The resolution, as `selectBinding` would answer it.
 */
export function toResolution(row: ResolutionRow, source: string | null): Resolution {
  switch (row.kind) {
    case "project_not_found":
      return { kind: "project_not_found" };
    case "none":
      return { kind: "none", dropped: row.dropped };
    case "source_not_found":
      return { kind: "source_not_found", source: source!, candidates: row.candidates };
    case "ambiguous":
      return { kind: "ambiguous", candidates: row.candidates, why: ambiguityMessage(row.why!, source ?? undefined) };
    case "selected":
      return {
        kind: "selected",
        reason: row.reason!,
        target: {
          org: slugAndName(row.org!),
          project: toProject(row.project!),
          binding: toEffective(row.chosen!),
          service: toService(row.service!),
          application: row.application ? toApplication(row.application) : null,
        },
      };
  }
}
