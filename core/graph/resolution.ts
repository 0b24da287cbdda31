/**
 * Tab resolution rules of spec section 6, steps 2 to 4, as pure functions
 * over edges a store has read. The SQLite store calls these; the Neo4j store
 * does the same in one Cypher query, and the store contract suite holds both
 * to the same answers.
 *
 * @module
 */

import type {
  Binding,
  BindingOrigin,
  CandidateSummary,
  DroppedCandidate,
  EffectiveBinding,
  PluginNode,
  SelectionReason,
} from "./store.ts";

/** One raw `USES_PLUGIN` edge with its origin and Plugin node. */
export interface RawEdge extends Binding {
  /** The project, or the project type the edge belongs to. */
  origin: BindingOrigin;
  /** The Plugin node the edge points at. */
  plugin: PluginNode;
}

/** Why more than one candidate is left. */
export type Ambiguity = "source" | "defaults" | "several";

/**
 * Says why a selection is ambiguous, for the 400 body.
 *
 * @param why Which rule left several candidates.
 * @param source The `?source=` given, for `"source"`.
 * @returns The sentence.
 */
export function ambiguityMessage(why: Ambiguity, source?: string): string {
  if (why === "source") return `source "${source}" matches more than one plugin; use its id or service/slug`;
  if (why === "defaults") return "more than one project type sets a default for this tab; choose one with ?source=";
  return "several plugins are bound to this tab and none is the default; choose one with ?source=";
}

/**
 * Merges project and project-type edges keyed by Plugin node: the project's
 * edge wins whole. Between project types, the first by project-type slug
 * gives the properties, but the Plugin node is a default when any of the
 * project types makes it one (a type that lists it without a default does
 * not cancel another type's default).
 *
 * @param edges Edges of one project and its project types, any tabs.
 * @returns One edge per (tab, Plugin node), sorted by tab, then Plugin slug.
 */
export function mergeEdges(edges: RawEdge[]): EffectiveBinding[] {
  const rank = (e: RawEdge) => (e.origin.kind === "project" ? "0" : `1${e.origin.slug}`);
  const sorted = [...edges].sort((a, b) => rank(a).localeCompare(rank(b)));
  const merged = new Map<string, EffectiveBinding>();
  for (const edge of sorted) {
    const key = `${edge.tab}\u0000${edge.plugin_id}`;
    const first = merged.get(key);
    if (!first) merged.set(key, { ...edge });
    else if (first.origin.kind === "project_type" && edge.default) first.default = true;
  }
  return [...merged.values()].sort((a, b) =>
    a.tab.localeCompare(b.tab) || a.plugin.slug.localeCompare(b.plugin.slug) ||
    a.plugin.service.localeCompare(b.plugin.service)
  );
}

/**
 * Summarises a candidate for error bodies.
 *
 * @param binding A merged edge.
 * @returns Its Plugin node's id, slug, service, manifest slug and label.
 */
export function summarise(binding: EffectiveBinding): CandidateSummary {
  const p = binding.plugin;
  return { plugin_id: p.id, slug: p.slug, service: p.service, plugin: p.plugin, label: p.label };
}

/** The outcome of {@linkcode selectBinding}. */
export type Selection =
  | { kind: "none"; dropped: DroppedCandidate[] }
  | { kind: "source_not_found"; source: string; candidates: CandidateSummary[] }
  | { kind: "ambiguous"; candidates: CandidateSummary[]; why: string }
  | { kind: "selected"; binding: EffectiveBinding; reason: SelectionReason };

/**
 * Steps 3 and 4: keep enabled, loaded candidates of one tab, then select by
 * `source`, the project's default, a project type's default, or the only
 * candidate.
 *
 * @param merged Output of {@linkcode mergeEdges} for the tab.
 * @param options `source` from the query; `loaded` manifest slugs.
 * @returns The selection, or why there is none.
 */
export function selectBinding(
  merged: EffectiveBinding[],
  options: { source?: string | undefined; loaded: ReadonlySet<string> | string[] },
): Selection {
  const loaded = options.loaded instanceof Set ? options.loaded : new Set(options.loaded);
  const dropped: DroppedCandidate[] = [];
  const candidates = merged.filter((b) => {
    const reason = !b.plugin.enabled ? "disabled" : !loaded.has(b.plugin.plugin) ? "not_loaded" : null;
    if (reason) dropped.push({ plugin_id: b.plugin.id, slug: b.plugin.slug, reason });
    return reason === null;
  });
  const source = options.source;
  if (source !== undefined && source !== "") {
    const matches = matchSource(candidates, source);
    if (matches.length === 1) return { kind: "selected", binding: matches[0]!, reason: "source" };
    if (matches.length > 1) {
      return {
        kind: "ambiguous",
        candidates: matches.map(summarise),
        why: ambiguityMessage("source", source),
      };
    }
    const droppedMatch = matchSource(merged, source);
    if (droppedMatch.length > 0) {
      const ids = new Set(droppedMatch.map((b) => b.plugin.id));
      return { kind: "none", dropped: dropped.filter((d) => ids.has(d.plugin_id)) };
    }
    return { kind: "source_not_found", source, candidates: candidates.map(summarise) };
  }
  if (candidates.length === 0) return { kind: "none", dropped };
  const projectDefault = candidates.find((b) => b.default && b.origin.kind === "project");
  if (projectDefault) return { kind: "selected", binding: projectDefault, reason: "project_default" };
  const typeDefaults = candidates.filter((b) => b.default);
  if (typeDefaults.length === 1) {
    return { kind: "selected", binding: typeDefaults[0]!, reason: "project_type_default" };
  }
  if (typeDefaults.length > 1) {
    return {
      kind: "ambiguous",
      candidates: typeDefaults.map(summarise),
      why: ambiguityMessage("defaults"),
    };
  }
  if (candidates.length === 1) return { kind: "selected", binding: candidates[0]!, reason: "only_candidate" };
  return {
    kind: "ambiguous",
    candidates: candidates.map(summarise),
    why: ambiguityMessage("several"),
  };
}

function matchSource(candidates: EffectiveBinding[], source: string): EffectiveBinding[] {
  const byId = candidates.filter((b) => b.plugin.id === source);
  if (byId.length > 0) return byId;
  const slash = source.indexOf("/");
  if (slash > 0) {
    const service = source.slice(0, slash);
    const slug = source.slice(slash + 1);
    return candidates.filter((b) => b.plugin.service === service && b.plugin.slug === slug);
  }
  return candidates.filter((b) => b.plugin.slug === source);
}
