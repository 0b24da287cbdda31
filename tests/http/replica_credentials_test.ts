/**
 * Two service instances on one graph store, as two replicas behind a load
 * balancer: each with its own plugin runtime, sandbox pool, data directory
 * and store connection; only the graph is shared. A credential or option
 * written through one is what the other's next call runs with. The first
 * test pass shares one SQLite file, the second (`IMBI_TEST_E2E_STORE=neo4j`)
 * the test Neo4j.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Keyring } from "../../core/crypto.ts";
import { Neo4jStore } from "../../core/graph/neo4j/store.ts";
import { SqliteStore } from "../../core/graph/sqlite/store.ts";
import type { GraphStore } from "../../core/graph/store.ts";
import { uniqueSlug } from "../support/graph_fixtures.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { seedProject } from "../support/seed.ts";
import { serviceUrl } from "../support/services.ts";
import { DEMO_PACKAGES, type LocalPackage, ROOT, startTestApp, type TestApp } from "../support/test_app.ts";

const ECHO: LocalPackage = {
  name: "@imbi-test/echo-credentials",
  dir: `${ROOT}tests/fixtures/packages/echo-credentials`,
  entryPoints: ["echo-credentials"],
};

/** Two connections to one store, and how to remove what backs them. */
async function sharedStore(): Promise<{ stores: [GraphStore, GraphStore]; cleanup: () => Promise<void> }> {
  if (Deno.env.get("IMBI_TEST_E2E_STORE") === "neo4j") {
    const connect = () =>
      Neo4jStore.connect({
        url: serviceUrl("IMBI_TEST_NEO4J_URL")!,
        user: Deno.env.get("IMBI_TEST_NEO4J_USER") ?? "neo4j",
        password: Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "",
      });
    return { stores: [await connect(), await connect()], cleanup: () => Promise.resolve() };
  }
  const dir = await Deno.makeTempDir({ prefix: "imbi-replicas-" });
  const path = `${dir}/graph.db`;
  return {
    stores: [SqliteStore.open(path), SqliteStore.open(path)],
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

/** What the echo plugin answers: a digest of its `token` and its `greeting`. */
async function echoed(app: TestApp, org: string): Promise<Record<string, string>> {
  const r = await app.ok("POST", `/orgs/${org}/projects/web/configuration/values`, { body: {}, status: 200 });
  return Object.fromEntries(r.items.map((v: { key: string; value: string }) => [v.key, v.value]));
}

/** The fixture's digest of a credential. */
async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The live (not draining) sandbox processes of one Plugin node on a replica. */
function liveProcesses(app: TestApp, nodeId: string): number {
  return app.services.runtime.pool.list().filter((s) => s.key.startsWith(`${nodeId}|`)).length;
}

Deno.test("a credential or option change through one replica is what another's next call uses", async (t) => {
  const shared = await sharedStore();
  try {
    // One deployment of their own: the two replicas share its lock state, no other test does.
    const env = { IMBI_ENCRYPTION_KEYS: Keyring.generate("shared"), IMBI_DEPLOYMENT: `replicas-${uniqueSlug()}` };
    const packages = [...DEMO_PACKAGES, ECHO];
    await using a = await startTestApp({ packages, env, store: shared.stores[0] });
    await using b = await startTestApp({ packages, env, store: shared.stores[1] });
    const org = uniqueSlug("replicas");
    await seedProject(a, org);
    const svc = `/orgs/${org}/third-party-services/vault`;
    await a.ok("POST", `/orgs/${org}/third-party-services`, { body: { slug: "vault", name: "Vault" } });
    const first = makeSecret("token-one");
    await a.ok("POST", `${svc}/applications`, { body: { slug: "main", name: "Main", credentials: { token: first } } });
    const node = await a.ok("POST", `${svc}/plugins`, {
      body: { slug: "echo", plugin: "echo-credentials", label: "Echo" },
    });
    await a.ok("PUT", `/orgs/${org}/projects/web/plugins`, {
      body: { bindings: [{ plugin_id: node.id, tab: "configuration", default: true }] },
    });

    await t.step("B answers with the credentials and options written through A", async () => {
      assert.deepEqual(await echoed(b, org), { greeting: "hello", token_sha256: await digest(first) });
    });

    await t.step("a credential changed through A is what B's next call uses; B keeps no old process", async () => {
      const second = makeSecret("token-two");
      await a.ok("PATCH", `${svc}/applications/main`, { body: { credentials: { token: second } } });
      assert.equal((await echoed(b, org)).token_sha256, await digest(second));
      assert.equal(liveProcesses(b, node.id), 1);
    });

    await t.step("an option changed through B is what A's next call uses; A keeps no old process", async () => {
      assert.equal((await echoed(a, org)).greeting, "hello");
      await b.ok("PATCH", `${svc}/plugins/echo`, { body: { options: { greeting: "bonjour" } } });
      assert.equal((await echoed(a, org)).greeting, "bonjour");
      assert.equal(liveProcesses(a, node.id), 1);
    });
  } finally {
    await shared.cleanup();
  }
});
