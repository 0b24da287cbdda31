/**
 * Tab resolution p50 at 100 and at 100,000 projects, on SQLite and, when a
 * variable names one, on Neo4j: the same generated graphs and queries as
 * `bench/_resolution.ts`. Private to `bench/`.
 *
 * @module
 */

import neo4j from "neo4j-driver";
import type { GraphStore, ResolveQuery } from "../core/graph/store.ts";
import { Neo4jStore } from "../core/graph/neo4j/store.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";
import { generateGraph, uniqueSlug } from "../tests/support/graph_fixtures.ts";
import { percentile, resolutionQueries, timeResolutions } from "./_resolution.ts";

/** Graph sizes compared. */
export const SIZES = { small: 100, large: 100_000 } as const;

/** p50 and p99 at both sizes, ms. */
export interface ResolutionRow {
  store: string;
  small: number;
  smallP99: number;
  large: number;
  largeP99: number;
  /** Why the store could not be measured (the numbers are then NaN). */
  error?: string;
}

/** Alternating batches of this many queries, so a drift in the machine's load weighs on both sizes alike. */
const BATCH = 100;

/**
 * Imports a graph of each size (into one store each, or both into one), warms both up, then times their queries
 * in alternating batches.
 */
async function both(
  stores: { small: GraphStore; large: GraphStore },
  label: string,
  orgs: { small: string; large: string },
): Promise<ResolutionRow> {
  const queries = { small: [] as ResolveQuery[], large: [] as ResolveQuery[] };
  for (const size of ["small", "large"] as const) {
    const projects = SIZES[size];
    const dump = generateGraph({ projects, seed: projects, org: orgs[size] }); // one seed per size: ids differ
    await stores[size].importAll(dump);
    queries[size] = resolutionQueries(dump.organizations[0]!);
    await timeResolutions(stores[size], { queries: queries[size].slice(0, 1), warmUp: 300 });
  }
  const times = { small: [] as number[], large: [] as number[] };
  for (let at = 0; at < queries.small.length; at += BATCH) {
    for (const size of ["small", "large"] as const) {
      const batch = await timeResolutions(stores[size], { queries: queries[size].slice(at, at + BATCH), warmUp: 0 });
      times[size].push(...batch.sorted);
    }
  }
  const [small, large] = [times.small.sort((x, y) => x - y), times.large.sort((x, y) => x - y)];
  return {
    store: label,
    small: percentile(small, 50),
    smallP99: percentile(small, 99),
    large: percentile(large, 50),
    largeP99: percentile(large, 99),
  };
}

/**
 * Measures SQLite (a fresh temp file), then Neo4j when `IMBI_BENCH_NEO4J_URL` or `IMBI_TEST_NEO4J_URL` is set
 * (user and password from `IMBI_BENCH_NEO4J_USER`/`_PASSWORD` or `IMBI_TEST_NEO4J_USER`/`_PASSWORD`); the Neo4j
 * graphs go into fresh orgs of one database that are deleted afterwards; on SQLite each graph has its own file.
 *
 * @param progress Reports what runs.
 * @returns One row per store.
 */
export async function resolutionScaling(progress: (text: string) => void): Promise<ResolutionRow[]> {
  const rows: ResolutionRow[] = [];
  const dir = await Deno.makeTempDir({ prefix: "imbi-bench-resolution-" });
  const sqlite = { small: SqliteStore.open(`${dir}/small.db`), large: SqliteStore.open(`${dir}/large.db`) };
  try {
    progress("SQLite");
    rows.push(await both(sqlite, "SQLite", { small: "small", large: "large" }));
  } finally {
    await sqlite.small.close();
    await sqlite.large.close();
    await Deno.remove(dir, { recursive: true });
  }
  const url = Deno.env.get("IMBI_BENCH_NEO4J_URL") ?? Deno.env.get("IMBI_TEST_NEO4J_URL");
  if (!url) return rows;
  const bench = Deno.env.get("IMBI_BENCH_NEO4J_URL") !== undefined;
  const user = Deno.env.get(bench ? "IMBI_BENCH_NEO4J_USER" : "IMBI_TEST_NEO4J_USER") ?? "neo4j";
  const password = Deno.env.get(bench ? "IMBI_BENCH_NEO4J_PASSWORD" : "IMBI_TEST_NEO4J_PASSWORD") ?? "";
  const orgs = { small: uniqueSlug("bench-small"), large: uniqueSlug("bench-large") };
  const store = await Neo4jStore.connect({ url, user, password });
  try {
    progress("Neo4j");
    rows.push(await both({ small: store, large: store }, "Neo4j", orgs));
  } catch (error) {
    // E.g. a heap too small for the 100,000-project import: the row says so, the other rows stand.
    rows.push({ store: "Neo4j", small: NaN, smallP99: NaN, large: NaN, largeP99: NaN, error: String(error) });
  } finally {
    await store.close();
    const driver = neo4j.driver(url, neo4j.auth.basic(user, password));
    try {
      for (const org of Object.values(orgs)) {
        // CALL … IN TRANSACTIONS needs an auto-commit transaction: a session's run().
        const session = driver.session();
        try {
          await session.run(
            "MATCH (n) WHERE n.org = $org CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS",
            { org },
          );
        } finally {
          await session.close();
        }
        await driver.executeQuery("MATCH (o:Organization {slug: $org}) DETACH DELETE o", { org });
      }
    } finally {
      await driver.close();
    }
  }
  return rows;
}
