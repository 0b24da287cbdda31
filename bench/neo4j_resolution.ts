/**
 * Tab resolution on Neo4j with a 10,000-project graph, beside the same on
 * SQLite: median and p99 of 1,000 `resolveTab()` calls (spec 6 steps 1 to
 * 5, no handler call), the same queries as `bench/resolution_bench.ts`.
 *
 * `deno run --allow-all bench/neo4j_resolution.ts` starts a throwaway Neo4j
 * 5.26 (as the tests do: Maven, cached under `.cache/test-services`, 512 MiB
 * heap, 64 MiB page cache) unless `IMBI_BENCH_NEO4J_URL` names one (with
 * `IMBI_GRAPH_USER` and `IMBI_GRAPH_PASSWORD`); the graph goes into a fresh
 * org there. Prints one JSON line per store.
 *
 * @module
 */

import type { GraphStore } from "../core/graph/store.ts";
import { setLogLevel } from "../core/logger.ts";
import { Neo4jStore } from "../core/graph/neo4j/store.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";
import { generateGraph, uniqueSlug } from "../tests/support/graph_fixtures.ts";
import { installNeo4j, Neo4jServer } from "../tests/support/neo4j_server.ts";
import { percentile, PROJECTS, resolutionQueries, timeResolutions } from "./_resolution.ts";

const WARM_UP = 200;
const root = new URL("../", import.meta.url).pathname;

async function measure(store: GraphStore, extra: Record<string, unknown>): Promise<void> {
  const dump = generateGraph({ projects: PROJECTS, seed: 42, org: uniqueSlug("bench") });
  const importStarted = performance.now();
  await store.importAll(dump);
  const importMs = performance.now() - importStarted;
  const { sorted: times, outcomes } = await timeResolutions(store, {
    queries: resolutionQueries(dump.organizations[0]!),
    warmUp: WARM_UP,
  });
  const line = JSON.stringify({
    store: store.kind,
    projects: PROJECTS,
    resolutions: times.length,
    median_ms: Number(percentile(times, 50).toFixed(3)),
    p99_ms: Number(percentile(times, 99).toFixed(3)),
    max_ms: Number(times.at(-1)!.toFixed(3)),
    import_ms: Math.round(importMs),
    outcomes,
    ...extra,
  });
  await Deno.stdout.write(new TextEncoder().encode(line + "\n"));
}

async function main(): Promise<void> {
  setLogLevel("warn");
  const dir = await Deno.makeTempDir({ prefix: "imbi-bench-" });
  const sqlite = SqliteStore.open(`${dir}/graph.db`);
  try {
    await measure(sqlite, {});
  } finally {
    await sqlite.close();
    await Deno.remove(dir, { recursive: true });
  }

  const given = Deno.env.get("IMBI_BENCH_NEO4J_URL");
  let server: Neo4jServer | null = null;
  const extra: Record<string, unknown> = {};
  if (!given) {
    const install = await installNeo4j(`${root}.cache/test-services`);
    const started = performance.now();
    server = await Neo4jServer.launch(install, { heap: "512m", pagecache: "64m" });
    extra.server = `Neo4j ${install.version} community, heap 512m, page cache 64m, loopback`;
    extra.server_start_ms = Math.round(performance.now() - started);
  }
  const store = await Neo4jStore.connect({
    url: given ?? server!.url,
    user: given ? Deno.env.get("IMBI_GRAPH_USER") ?? "neo4j" : server!.user,
    password: given ? Deno.env.get("IMBI_GRAPH_PASSWORD") ?? "" : server!.password,
  });
  try {
    await measure(store, extra);
  } finally {
    await store.close();
    await server?.dispose();
  }
}

if (import.meta.main) await main();
