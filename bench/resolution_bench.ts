/**
 * Tab resolution on the SQLite store with a 10,000-project graph (spec 6
 * steps 1 to 5, no handler call).
 *
 * `deno bench --allow-all bench/resolution_bench.ts` runs `Deno.bench` cases;
 * `deno run --allow-all bench/resolution_bench.ts` prints the median and p99
 * of 1,000 resolutions over projects spread across the graph.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";
import type { ResolveQuery } from "../core/graph/store.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";
import { GENERATED_MANIFESTS, generateGraph } from "../tests/support/graph_fixtures.ts";

const PROJECTS = 10_000;
const SAMPLES = 1_000;
const LOADED = Object.values(GENERATED_MANIFESTS);

/** Builds the graph in a temp-file store; returns it and the queries to run. */
async function setup(): Promise<
  { store: SqliteStore; queries: ResolveQuery[]; dir: string; dispose: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "imbi-bench-" });
  const store = SqliteStore.open(`${dir}/graph.db`);
  const dump = generateGraph({ projects: PROJECTS, seed: 42 });
  await store.importAll(dump);
  const org = dump.organizations[0]!;
  // Every tenth project, alternating tabs and id/slug lookups: deterministic.
  const queries: ResolveQuery[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const project = org.projects[(i * 10 + 7) % org.projects.length]!;
    const tab: PluginType = i % 2 === 0 ? "configuration" : "logs";
    queries.push({ org: org.slug, project: i % 3 === 0 ? project.slug : project.id, tab, loaded: LOADED });
  }
  return {
    store,
    queries,
    dir,
    dispose: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function report(): Promise<void> {
  const { store, queries, dispose } = await setup();
  try {
    for (const q of queries.slice(0, 100)) await store.resolveTab(q); // warm-up
    const times: number[] = [];
    const kinds = new Map<string, number>();
    for (const q of queries) {
      const start = performance.now();
      const result = await store.resolveTab(q);
      times.push(performance.now() - start);
      kinds.set(result.kind, (kinds.get(result.kind) ?? 0) + 1);
    }
    times.sort((a, b) => a - b);
    const line = JSON.stringify({
      projects: PROJECTS,
      resolutions: times.length,
      median_ms: Number(percentile(times, 50).toFixed(4)),
      p99_ms: Number(percentile(times, 99).toFixed(4)),
      outcomes: Object.fromEntries(kinds),
    });
    await Deno.stdout.write(new TextEncoder().encode(line + "\n"));
  } finally {
    await dispose();
  }
}

if (import.meta.main) {
  await report();
} else {
  const { store, queries, dir } = await setup();
  // Deno.bench has no teardown hook: remove the temp graph when the runner exits.
  globalThis.addEventListener("unload", () => {
    void store.close();
    Deno.removeSync(dir, { recursive: true });
  });
  let i = 0;
  Deno.bench({
    name: "resolveTab() on SQLite, 10,000 projects, by id or slug",
    group: "resolution",
    baseline: true,
    fn: async () => {
      await store.resolveTab(queries[i++ % queries.length]!);
    },
  });
  let j = 0;
  Deno.bench({
    name: "effectiveBindings() on SQLite, 10,000 projects (every tab)",
    group: "effective",
    fn: async () => {
      const q = queries[j++ % queries.length]!;
      await store.effectiveBindings(q.org, q.project);
    },
  });
}
