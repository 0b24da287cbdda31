/**
 * Neo4j outages at the store level: the test starts its own Neo4j (the
 * shared one must stay up for the other tests), kills it, checks that every
 * store method fails fast with `UnavailableError` and a `retryAfterSeconds`,
 * restarts it on the same port with the same data, and checks that the same
 * store object answers again within seconds, without being reconnected.
 *
 * Needs `IMBI_TEST_NEO4J_LIB` (the jars `tests/setup/neo4j.ts` installed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { UnavailableError } from "../../core/errors.ts";
import type { GraphStore } from "../../core/graph/store.ts";
import { Neo4jStore } from "../../core/graph/neo4j/store.ts";
import { log, type LogSink, setLogSink } from "../../core/logger.ts";
import { buildOrg, uniqueSlug } from "../support/graph_fixtures.ts";
import { NEO4J_VERSION, Neo4jServer } from "../support/neo4j_server.ts";
import { serviceUrl } from "../support/services.ts";
import { startTestApp, type TestApp } from "../support/test_app.ts";
import { bareService, boundProjectSpec, resolveConfiguration } from "./_specs.ts";

const libDir = serviceUrl("IMBI_TEST_NEO4J_LIB");

/** Every store method once, with arguments that would succeed on a healthy store. */
function everyMethod(store: GraphStore, org: string, projectId: string, pluginId: string) {
  const svc = bareService("s2", "S");
  const scope = { kind: "project" as const, org, id: projectId };
  const calls: Record<string, () => Promise<unknown>> = {
    ping: () => store.ping(),
    listOrgs: () => store.listOrgs(),
    getOrg: () => store.getOrg(org),
    findOrg: () => store.findOrg(org),
    createOrg: () => store.createOrg({ slug: uniqueSlug(), name: "N" }),
    updateOrg: () => store.updateOrg(org, { name: "N" }),
    deleteOrg: () => store.deleteOrg(uniqueSlug()),
    listProjectTypes: () => store.listProjectTypes(org),
    getProjectType: () => store.getProjectType(org, "web"),
    findProjectType: () => store.findProjectType(org, "web"),
    createProjectType: () => store.createProjectType(org, { slug: "api", name: "API" }),
    updateProjectType: () => store.updateProjectType(org, "web", { name: "W" }),
    deleteProjectType: () => store.deleteProjectType(org, "web"),
    listProjects: () => store.listProjects(org),
    getProject: () => store.getProject(org, projectId),
    findProject: () => store.findProject(org, projectId),
    createProject: () => store.createProject(org, { slug: "q", name: "Q", project_types: [] }),
    updateProject: () => store.updateProject(org, projectId, { name: "P" }),
    deleteProject: () => store.deleteProject(org, projectId),
    listServices: () => store.listServices(org),
    getService: () => store.getService(org, "aws"),
    findService: () => store.findService(org, "aws"),
    createService: () => store.createService(org, svc),
    updateService: () => store.updateService(org, "aws", { name: "A" }),
    deleteService: () => store.deleteService(org, "aws"),
    listApplications: () => store.listApplications(org, "aws"),
    getApplication: () => store.getApplication(org, "aws", "main"),
    findApplication: () => store.findApplication(org, "aws", "main"),
    createApplication: () => store.createApplication(org, "aws", { slug: "b", name: "B", credentials: {} }),
    updateApplication: () => store.updateApplication(org, "aws", "main", { name: "M" }),
    deleteApplication: () => store.deleteApplication(org, "aws", "main"),
    listPlugins: () => store.listPlugins(org, "aws"),
    getPlugin: () => store.getPlugin(org, "aws", pluginId),
    findPlugin: () => store.findPlugin(org, "aws", pluginId),
    createPlugin: () =>
      store.createPlugin(org, "aws", {
        slug: "x",
        service: "aws",
        application: null,
        plugin: "demo-config",
        plugin_type: "configuration",
        label: "X",
        options: {},
        enabled: true,
      }),
    updatePlugin: () => store.updatePlugin(org, "aws", pluginId, { label: "L" }),
    deletePlugin: () => store.deletePlugin(org, "aws", pluginId),
    findPluginNodes: () => store.findPluginNodes(["demo-config"]),
    disablePluginNodes: () => store.disablePluginNodes([pluginId]),
    getBindings: () => store.getBindings(scope),
    replaceBindings: () => store.replaceBindings(scope, []),
    effectiveBindings: () => store.effectiveBindings(org, projectId),
    resolveTab: () => resolveConfiguration(store, { org, project: projectId }),
    exportAll: () => store.exportAll(),
    importAll: () => store.importAll({ organizations: [] }),
  };
  return calls;
}

/** Log lines of the test, kept off stderr; the store warns on every failed call. */
function quietLogs(): { lines: string[]; restore: () => LogSink } {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  return { lines, restore: () => setLogSink(previous) };
}

Deno.test({
  name: "Neo4jStore fails fast with UnavailableError while Neo4j is down and recovers by itself when it is back",
  ignore: libDir === undefined,
  fn: async (t) => {
    const server = await Neo4jServer.launch(
      { version: NEO4J_VERSION, libDir: libDir!, route: "cached", coordinates: [] },
      { heap: "384m", pagecache: "32m" },
    );
    const logs = quietLogs();
    let store: Neo4jStore | undefined;
    let app: TestApp | undefined;
    let recoveredMs: number | null = null;
    try {
      store = await Neo4jStore.connect({ url: server.url, user: server.user, password: server.password });
      const built = await buildOrg(store, boundProjectSpec(uniqueSlug()));
      // The spec's ciphertext is a placeholder no keyring opens; /readyz would rightly call the keys unreadable.
      await store.updateApplication(built.org, "aws", "main", { credentials: {} });
      const projectId = built.projects.billing!.id;
      const pluginId = built.pluginId("aws/ssm");
      const before = await resolveConfiguration(store, { org: built.org, project: "billing" });
      assert.equal(before.kind, "selected");
      const calls = everyMethod(store, built.org, projectId, pluginId);
      app = await startTestApp({ packages: [], store });
      assert.equal((await app.request("GET", `/orgs/${built.org}`)).status, 200);

      await server.stop({ kill: true });

      await t.step(
        "HTTP: graph endpoints answer 503 problem+json with Retry-After; /readyz not ready; /healthz up",
        async () => {
          for (
            const path of [
              "/orgs",
              `/orgs/${built.org}/projects/billing`,
              `/orgs/${built.org}/projects/billing/configuration`,
            ]
          ) {
            const r = await app!.request("GET", path);
            assert.equal(r.status, 503, `${path}: ${r.text}`);
            assert.equal(r.headers.get("content-type"), "application/problem+json");
            assert.ok(Number(r.headers.get("retry-after")) > 0, `${path}: no Retry-After`);
            assert.doesNotMatch(r.text, /bolt:|password/i);
          }
          const ready = await app!.request("GET", "/readyz", { token: null });
          assert.equal(ready.status, 503);
          assert.equal(ready.body.store.status, "down");
          assert.equal((await app!.request("GET", "/healthz", { token: null })).status, 200);
        },
      );

      await t.step("ping() fails within a second", async () => {
        const started = performance.now();
        await assert.rejects(store!.ping(), UnavailableError);
        assert.ok(performance.now() - started < 1000, `ping took ${Math.round(performance.now() - started)} ms`);
      });

      await t.step("every method throws UnavailableError with retryAfterSeconds within 5 s", async () => {
        const outcomes = await Promise.all(
          Object.entries(calls).map(async ([name, call]) => {
            const started = performance.now();
            try {
              await call();
              return { name, error: null, ms: performance.now() - started };
            } catch (error) {
              return { name, error, ms: performance.now() - started };
            }
          }),
        );
        for (const { name, error, ms } of outcomes) {
          assert.ok(error instanceof UnavailableError, `${name}: expected UnavailableError, got ${error}`);
          assert.ok(error.retryAfterSeconds > 0, `${name}: retryAfterSeconds ${error.retryAfterSeconds}`);
          assert.ok(!/password|bolt:\/\//i.test(error.message), `${name}: message "${error.message}" leaks`);
          assert.ok(ms < 5000, `${name} took ${Math.round(ms)} ms`);
        }
        const methods = Object.getOwnPropertyNames(Neo4jStore.prototype)
          .filter((name) => !["constructor", "close", "schemaNames"].includes(name));
        assert.deepEqual(outcomes.map((o) => o.name).sort(), methods.sort(), "every method is tried");
      });

      await t.step("the same store answers within seconds of Neo4j coming back, with the data intact", async () => {
        await server.start();
        const back = performance.now();
        let recovered: number | null = null;
        while (performance.now() - back < 10_000) {
          try {
            await store!.ping();
            recovered = performance.now() - back;
            break;
          } catch (error) {
            assert.ok(error instanceof UnavailableError, `unexpected ${error}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        assert.ok(recovered !== null, "the store did not recover within 10 s of Neo4j answering again");
        const after = await resolveConfiguration(store!, { org: built.org, project: "billing" });
        assert.deepEqual(after, before);
        // Writes work again too, through the pool's fresh connections.
        await store!.updateOrg(built.org, { name: "Back" });
        assert.deepEqual(await store!.getOrg(built.org), { slug: built.org, name: "Back" });
        recoveredMs = Math.round(recovered);
      });

      await t.step("HTTP: /readyz is ready again and graph endpoints answer, with no restart", async () => {
        const ready = await app!.request("GET", "/readyz", { token: null });
        assert.equal(ready.status, 200, ready.text);
        const org = await app!.request("GET", `/orgs/${built.org}`);
        assert.equal(org.status, 200, org.text);
        assert.equal(org.body.name, "Back");
      });
    } finally {
      if (app) await app.close();
      else await store?.close();
      logs.restore();
      await server.dispose();
      if (recoveredMs !== null) {
        log.info("neo4j outage test: store answered again", { ms_after_server_ready: recoveredMs });
      }
    }
  },
});

Deno.test("Neo4jStore.connect() gives up within its acquisition timeout on a server that accepts but never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const logs = quietLogs();
  try {
    const started = performance.now();
    const error = await Neo4jStore.connect({
      url: `bolt://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
      user: "neo4j",
      password: "secret-password",
      acquisitionTimeoutMs: 1500,
    }).then(() => null, (e: unknown) => e);
    const ms = performance.now() - started;
    assert.ok(error instanceof UnavailableError, `expected UnavailableError, got ${error}`);
    assert.ok(ms < 4000, `took ${Math.round(ms)} ms`);
    assert.ok(!error.message.includes("secret-password"));
  } finally {
    logs.restore();
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});
