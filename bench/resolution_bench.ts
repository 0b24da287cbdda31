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

import type { ResolveQuery } from "../core/graph/store.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";
import { generateGraph } from "../tests/support/graph_fixtures.ts";
import { percentile, PROJECTS, resolutionQueries, timeResolutions } from "./_resolution.ts";

/** Builds the graph in a temp-file store; returns it and the queries to run. */
async function setup(): Promise<
  { store: SqliteStore; queries: ResolveQuery[]; dir: string; dispose: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "imbi-bench-" });
  const store = SqliteStore.open(`${dir}/graph.db`);
  const dump = generateGraph({ projects: PROJECTS, seed: 42 });
  await store.importAll(dump);
  const queries = resolutionQueries(dump.organizations[0]!);
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

async function report(): Promise<void> {
  const { store, queries, dispose } = await setup();
  try {
    const { sorted, outcomes } = await timeResolutions(store, { queries, warmUp: 100 });
    const line = JSON.stringify({
      projects: PROJECTS,
      resolutions: sorted.length,
      median_ms: Number(percentile(sorted, 50).toFixed(4)),
      p99_ms: Number(percentile(sorted, 99).toFixed(4)),
      outcomes,
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
