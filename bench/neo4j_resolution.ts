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

import type { PluginType } from "@imbi/plugin-sdk/types";
import type { GraphStore, ResolveQuery } from "../core/graph/store.ts";
import { setLogLevel } from "../core/logger.ts";
import { Neo4jStore } from "../core/graph/neo4j/store.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";
import { GENERATED_MANIFESTS, generateGraph, uniqueSlug } from "../tests/support/graph_fixtures.ts";
import { installNeo4j, Neo4jServer } from "../tests/support/neo4j_server.ts";

const PROJECTS = 10_000;
const SAMPLES = 1_000;
const WARM_UP = 200;
const LOADED = Object.values(GENERATED_MANIFESTS);
const root = new URL("../", import.meta.url).pathname;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Every tenth project, alternating tabs and id/slug lookups: as in `bench/resolution_bench.ts`. */
function queriesFor(org: ReturnType<typeof generateGraph>["organizations"][number]): ResolveQuery[] {
  const queries: ResolveQuery[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const project = org.projects[(i * 10 + 7) % org.projects.length]!;
    const tab: PluginType = i % 2 === 0 ? "configuration" : "logs";
    queries.push({ org: org.slug, project: i % 3 === 0 ? project.slug : project.id, tab, loaded: LOADED });
  }
  return queries;
}

async function measure(store: GraphStore, extra: Record<string, unknown>): Promise<void> {
  const dump = generateGraph({ projects: PROJECTS, seed: 42, org: uniqueSlug("bench") });
  const importStarted = performance.now();
  await store.importAll(dump);
  const importMs = performance.now() - importStarted;
  const queries = queriesFor(dump.organizations[0]!);
  for (let i = 0; i < WARM_UP; i++) await store.resolveTab(queries[(i * 7) % queries.length]!);
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
    store: store.kind,
    projects: PROJECTS,
    resolutions: times.length,
    median_ms: Number(percentile(times, 50).toFixed(3)),
    p99_ms: Number(percentile(times, 99).toFixed(3)),
    max_ms: Number(times.at(-1)!.toFixed(3)),
    import_ms: Math.round(importMs),
    outcomes: Object.fromEntries(kinds),
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
