/**
 * Tab resolution p50 at 100 and at 100,000 projects, on SQLite and, when a
 * variable names one, on Neo4j: the same generated graphs and queries as
 * `bench/_resolution.ts`. Private to `bench/`.
 *
 * @module
 */

import neo4j from "neo4j-driver";
import type { GraphStore } from "../core/graph/store.ts";
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
}

async function timeOne(store: GraphStore, projects: number, org: string): Promise<{ p50: number; p99: number }> {
  const dump = generateGraph({ projects, seed: projects, org }); // one seed per size: ids differ between the graphs
  await store.importAll(dump);
  const { sorted } = await timeResolutions(store, {
    queries: resolutionQueries(dump.organizations[0]!),
    warmUp: 300,
  });
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function both(store: GraphStore, label: string, orgs: [string, string]): Promise<ResolutionRow> {
  const small = await timeOne(store, SIZES.small, orgs[0]);
  const large = await timeOne(store, SIZES.large, orgs[1]);
  return { store: label, small: small.p50, smallP99: small.p99, large: large.p50, largeP99: large.p99 };
}

/**
 * Measures SQLite (a fresh temp file), then Neo4j when `IMBI_BENCH_NEO4J_URL` or `IMBI_TEST_NEO4J_URL` is set
 * (user and password from `IMBI_BENCH_NEO4J_USER`/`_PASSWORD` or `IMBI_TEST_NEO4J_USER`/`_PASSWORD`); the Neo4j
 * graphs go into fresh orgs that are deleted afterwards.
 *
 * @param progress Reports what runs.
 * @returns One row per store.
 */
export async function resolutionScaling(progress: (text: string) => void): Promise<ResolutionRow[]> {
  const rows: ResolutionRow[] = [];
  const dir = await Deno.makeTempDir({ prefix: "imbi-bench-resolution-" });
  const sqlite = SqliteStore.open(`${dir}/graph.db`);
  try {
    progress("SQLite");
    rows.push(await both(sqlite, "SQLite", ["small", "large"]));
  } finally {
    await sqlite.close();
    await Deno.remove(dir, { recursive: true });
  }
  const url = Deno.env.get("IMBI_BENCH_NEO4J_URL") ?? Deno.env.get("IMBI_TEST_NEO4J_URL");
  if (!url) return rows;
  const bench = Deno.env.get("IMBI_BENCH_NEO4J_URL") !== undefined;
  const user = Deno.env.get(bench ? "IMBI_BENCH_NEO4J_USER" : "IMBI_TEST_NEO4J_USER") ?? "neo4j";
  const password = Deno.env.get(bench ? "IMBI_BENCH_NEO4J_PASSWORD" : "IMBI_TEST_NEO4J_PASSWORD") ?? "";
  const orgs: [string, string] = [uniqueSlug("bench-small"), uniqueSlug("bench-large")];
  const store = await Neo4jStore.connect({ url, user, password });
  try {
    progress("Neo4j");
    rows.push(await both(store, "Neo4j", orgs));
  } finally {
    await store.close();
    const driver = neo4j.driver(url, neo4j.auth.basic(user, password));
    try {
      for (const org of orgs) {
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
