/**
 * Replicas starting together on a Neo4j that has no schema yet (issue 10:
 * one of two replicas started at the same moment used to exit with "cannot
 * start" after Neo4j reported a deadlock between their schema transactions).
 * The test starts its own, empty Neo4j (the shared one already has every
 * constraint), connects six stores at the same instant, and checks that all
 * six start and that every constraint and index exists exactly once.
 *
 * Needs `IMBI_TEST_NEO4J_LIB` (the jars `tests/setup/neo4j.ts` installed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Neo4jStore } from "../../core/graph/neo4j/store.ts";
import { SCHEMA } from "../../core/graph/neo4j/schema.ts";
import { setLogSink } from "../../core/logger.ts";
import { NEO4J_VERSION, Neo4jServer } from "../support/neo4j_server.ts";
import { serviceUrl } from "../support/services.ts";

const libDir = serviceUrl("IMBI_TEST_NEO4J_LIB");

Deno.test({
  name: "Neo4jStore.connect() six times at once on an empty Neo4j: all start, each schema rule exists once",
  ignore: libDir === undefined,
  fn: async () => {
    const server = await Neo4jServer.launch(
      { version: NEO4J_VERSION, libDir: libDir!, route: "cached", coordinates: [] },
      { heap: "384m", pagecache: "32m" },
    );
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    const stores: Neo4jStore[] = [];
    try {
      const connect = () => Neo4jStore.connect({ url: server.url, user: server.user, password: server.password });
      const results = await Promise.allSettled(Array.from({ length: 6 }, connect));
      for (const r of results) if (r.status === "fulfilled") stores.push(r.value);
      assert.deepEqual(results.filter((r) => r.status === "rejected"), [], "every replica starts");
      const { constraints, indexes } = await stores[0]!.schemaNames();
      for (const statement of SCHEMA) {
        const names = statement.kind === "constraint" ? constraints : indexes;
        assert.equal(names.filter((n) => n === statement.name).length, 1, `${statement.kind} ${statement.name}`);
      }
      const retried = lines.filter((l) => l.includes("schema statement hit a concurrent schema change")).length;
      Deno.stdout.writeSync(new TextEncoder().encode(`measured: schema statements retried after a race: ${retried}\n`));
    } finally {
      setLogSink(previous);
      await Promise.all(stores.map((s) => s.close()));
      await server.dispose();
    }
  },
});
