/**
 * What the two resolution benchmarks share: the 10,000-project graph's
 * queries and the timing of `resolveTab()` over them. Private to `bench/`.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";
import type { GraphDump, GraphStore, ResolveQuery } from "../core/graph/store.ts";
import { GENERATED_MANIFESTS } from "../tests/support/graph_fixtures.ts";

/** Projects in the generated graph. */
export const PROJECTS = 10_000;
/** Resolutions measured. */
export const SAMPLES = 1_000;
/** Every generated manifest counts as loaded. */
export const LOADED: string[] = Object.values(GENERATED_MANIFESTS);

/**
 * Every tenth project of the org, alternating tabs and id/slug lookups: deterministic.
 *
 * @param org The generated org.
 * @returns {@linkcode SAMPLES} queries.
 */
export function resolutionQueries(org: GraphDump["organizations"][number]): ResolveQuery[] {
  const queries: ResolveQuery[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const project = org.projects[(i * 10 + 7) % org.projects.length]!;
    const tab: PluginType = i % 2 === 0 ? "configuration" : "logs";
    queries.push({ org: org.slug, project: i % 3 === 0 ? project.slug : project.id, tab, loaded: LOADED });
  }
  return queries;
}

/** What {@linkcode timeResolutions} measured. */
export interface ResolutionTimes {
  /** Every duration, in ms, sorted. */
  sorted: number[];
  /** How many of each `Resolution` kind came back. */
  outcomes: Record<string, number>;
}

/**
 * Runs `warmUp` resolutions, then times each query once.
 *
 * @param store The store holding the graph.
 * @param options The queries and how many warm-up calls to make first.
 * @returns The sorted durations and the outcomes.
 */
export async function timeResolutions(
  store: GraphStore,
  options: { queries: ResolveQuery[]; warmUp: number },
): Promise<ResolutionTimes> {
  const { queries } = options;
  for (let i = 0; i < options.warmUp; i++) await store.resolveTab(queries[(i * 7) % queries.length]!);
  const sorted: number[] = [];
  const kinds = new Map<string, number>();
  for (const q of queries) {
    const start = performance.now();
    const result = await store.resolveTab(q);
    sorted.push(performance.now() - start);
    kinds.set(result.kind, (kinds.get(result.kind) ?? 0) + 1);
  }
  sorted.sort((a, b) => a - b);
  return { sorted, outcomes: Object.fromEntries(kinds) };
}

/**
 * The `p`th percentile of sorted durations.
 *
 * @param sorted Durations, ascending.
 * @param p 0 to 100.
 * @returns The duration.
 */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
