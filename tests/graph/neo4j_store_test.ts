/**
 * The store contract against the shared Neo4j test server, plus what only
 * the Neo4j store has: its schema created idempotently at connect, values
 * that only ever travel as Cypher parameters, and tab resolution in one
 * query.
 *
 * Needs `IMBI_TEST_NEO4J_URL` (started by `tests/setup/neo4j.ts`); without
 * it the tests are ignored, or fail when `IMBI_TEST_SERVICES=required`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Neo4jStore } from "../../core/graph/neo4j/store.ts";
import { SCHEMA } from "../../core/graph/neo4j/schema.ts";
import { setLogLevel, setLogSink } from "../../core/logger.ts";
import { storeContract } from "./store_contract.ts";
import { buildOrg, uniqueSlug } from "../support/graph_fixtures.ts";
import { serviceUrl } from "../support/services.ts";
import { boundProjectSpec, configNodesSpec, resolveConfiguration } from "./_specs.ts";

const url = serviceUrl("IMBI_TEST_NEO4J_URL");
const ignore = url === undefined;

function connect(): Promise<Neo4jStore> {
  return Neo4jStore.connect({
    url: url!,
    user: Deno.env.get("IMBI_TEST_NEO4J_USER") ?? "neo4j",
    password: Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "",
  });
}

storeContract("neo4j", async () => {
  const store = await connect();
  return { store, cleanup: () => store.close() };
}, { ignore });

/**
 * Runs `fn` with a store connected to the test Neo4j and the Cypher text of
 * every query it logs (at log level debug, which `fn` turns on when it
 * wants them); afterwards the log level, the log sink and the store are
 * restored and closed.
 */
async function withQueries(fn: (store: Neo4jStore, queries: string[]) => Promise<void>): Promise<void> {
  const store = await connect();
  const queries: string[] = [];
  const previousSink = setLogSink((line) => {
    const entry = JSON.parse(line) as { msg: string; cypher?: string };
    if (entry.msg === "neo4j query" && entry.cypher) queries.push(entry.cypher);
  });
  try {
    await fn(store, queries);
  } finally {
    setLogLevel("info");
    setLogSink(previousSink);
    await store.close();
  }
}

Deno.test({
  name: "Neo4jStore.connect() creates every constraint and index once, however often it runs",
  ignore,
  fn: async () => {
    const stores = await Promise.all([connect(), connect(), connect()]);
    try {
      const again = await connect();
      stores.push(again);
      const { constraints, indexes } = await again.schemaNames();
      for (const statement of SCHEMA) {
        const names = statement.kind === "constraint" ? constraints : indexes;
        assert.equal(names.filter((n) => n === statement.name).length, 1, `${statement.kind} ${statement.name}`);
      }
      // Nothing else was created beside them (the server's own lookup indexes have no owner either).
      const ours = new Set(SCHEMA.map((s) => s.name));
      assert.deepEqual(constraints.filter((n) => !ours.has(n)), []);
      assert.deepEqual(indexes.filter((n) => !ours.has(n) && !n.startsWith("index_")), []);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  },
});

Deno.test({
  name: "Neo4jStore's constraints refuse what the store's own checks would, even when the checks are skipped",
  ignore,
  fn: async () => {
    const store = await connect();
    try {
      const built = await buildOrg(store, configNodesSpec(uniqueSlug()));
      // One default per scope and tab is also a relationship uniqueness constraint:
      // a dump (checked whole before writing) cannot sneak two in, and neither can
      // two writers; here the store's check fires first with a 422.
      await assert.rejects(
        store.replaceBindings({ kind: "project_type", org: built.org, slug: "web" }, [
          built.binding({ plugin: "svc/a", default: true }),
          built.binding({ plugin: "svc/b", default: true }),
        ]),
        (error: Error) => error.name === "ValidationError",
      );
      const { constraints } = await store.schemaNames();
      assert.ok(constraints.includes("uses_plugin_default"));
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "Neo4jStore sends every value as a parameter: hostile text is stored verbatim and never reaches Cypher",
  ignore,
  fn: () =>
    withQueries(async (store, queries) => {
      setLogLevel("debug");
      const marker = `x'}) DETACH DELETE n //"\`${crypto.randomUUID().slice(0, 8)}`;
      const org = `${uniqueSlug()}-${marker}`;
      await store.createOrg({ slug: org, name: marker });
      await store.createProjectType(org, { slug: marker, name: marker });
      await store.createService(org, {
        slug: "svc",
        name: marker,
        vendor: marker,
        base_url: null,
        account: marker,
        region: null,
      });
      await store.createApplication(org, "svc", { slug: marker, name: marker, credentials: { [marker]: marker } });
      const node = await store.createPlugin(org, "svc", {
        slug: marker,
        service: "svc",
        application: marker,
        plugin: "demo-config",
        plugin_type: "configuration",
        label: marker,
        options: { [marker]: [marker] },
        enabled: true,
      });
      const project = await store.createProject(org, { slug: marker, name: marker, project_types: [marker] });
      await store.replaceBindings({ kind: "project", org, id: marker }, [{
        plugin_id: node.id,
        tab: "configuration",
        default: true,
        search_template: marker,
        identity_plugin_id: null,
      }]);
      const resolution = await store.resolveTab({
        org,
        project: marker,
        tab: "configuration",
        source: `svc/${marker}`,
        loaded: ["demo-config", marker],
      });
      assert.equal(resolution.kind, "selected");
      if (resolution.kind !== "selected") return;
      assert.equal(resolution.target.project.id, project.id);
      assert.equal(resolution.target.binding.search_template, marker);
      assert.deepEqual(resolution.target.binding.plugin.options, { [marker]: [marker] });
      assert.deepEqual(resolution.target.application?.credentials, { [marker]: marker });
      // The marker holds "/": as a source it reads as service/slug and names no candidate.
      assert.equal(
        (await store.resolveTab({ org, project: marker, tab: "configuration", source: marker, loaded: [] })).kind,
        "source_not_found",
      );
      assert.deepEqual(
        await store.resolveTab({ org, project: project.id, tab: "configuration", source: node.id, loaded: [] }),
        { kind: "none", dropped: [{ plugin_id: node.id, slug: marker, reason: "not_loaded" }] },
      );
      assert.deepEqual((await store.exportAll()).organizations.filter((o) => o.slug === org).length, 1);

      assert.ok(queries.length > 10, `saw ${queries.length} queries`);
      const leaked = queries.filter((q) => q.includes(marker.slice(-8)) || q.includes("DETACH DELETE n //"));
      assert.deepEqual(leaked, [], "no query text holds an input value");
    }),
});

Deno.test({
  name: "Neo4jStore.resolveTab() is one query and one round trip, without a delayed-ACK stall",
  ignore,
  fn: () =>
    withQueries(async (store, queries) => {
      const built = await buildOrg(store, boundProjectSpec(uniqueSlug()));
      setLogLevel("debug");
      const resolution = await resolveConfiguration(store, { org: built.org, project: "billing" });
      setLogLevel("info");
      assert.equal(resolution.kind, "selected");
      if (resolution.kind !== "selected") return;
      assert.deepEqual(resolution.target.application, {
        slug: "main",
        name: "App main",
        credentials: { key: "v1:k1:AAA" },
      });
      assert.equal(queries.length, 1);
      // A long query must not wait for a delayed ACK (Nagle's algorithm on the
      // driver's socket cost ~40 ms per resolution; without it, about 2 ms).
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const started = performance.now();
        await store.resolveTab({ org: built.org, project: "billing", tab: "configuration", loaded: ["demo-config"] });
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      assert.ok(times[15]! < 25, `median resolution ${times[15]!.toFixed(1)} ms`);
    }),
});

Deno.test("Neo4jStore.connect() refuses a URL that is not neo4j:// or bolt://", async () => {
  await assert.rejects(
    Neo4jStore.connect({ url: "http://user:secret@localhost:7474", user: "neo4j", password: "x" }),
    (error: Error) => error instanceof TypeError && !error.message.includes("secret"),
  );
});
