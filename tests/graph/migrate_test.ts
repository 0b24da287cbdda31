/**
 * `graph:migrate` round trip: a populated SQLite graph is copied into an
 * empty Neo4j with the CLI, then back into a new SQLite file, and every
 * `exportAll()` along the way equals the first. The test runs its own Neo4j
 * so "empty target" and "whole store" mean what they say.
 *
 * Needs `IMBI_TEST_NEO4J_LIB` (the jars `tests/setup/neo4j.ts` installed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConflictError } from "../../core/errors.ts";
import { countGraph, firstDifference, migrateGraph, parseStoreSpec } from "../../core/graph/migrate.ts";
import type { GraphStore } from "../../core/graph/store.ts";
import { setLogSink } from "../../core/logger.ts";
import { Neo4jStore } from "../../core/graph/neo4j/store.ts";
import { SqliteStore } from "../../core/graph/sqlite/store.ts";
import { buildOrg, GENERATED_MANIFESTS, generateGraph } from "../support/graph_fixtures.ts";
import { NEO4J_VERSION, Neo4jServer } from "../support/neo4j_server.ts";
import { serviceUrl } from "../support/services.ts";

const libDir = serviceUrl("IMBI_TEST_NEO4J_LIB");
const root = new URL("../../", import.meta.url).pathname;

/** Adds what the generated graph lacks: identity bindings, a disabled node, no application, empty service fields. */
async function richOrg(store: GraphStore, slug: string): Promise<void> {
  await buildOrg(store, {
    slug,
    project_types: ["web", "api", "batch"],
    services: [
      {
        slug: "aws",
        fields: { vendor: "amazon", region: "eu-west-1", account: "42", base_url: "https://aws.example" },
        applications: [{ slug: "main", credentials: { key: "v1:k1:X", secret: "v1:k1:Y" } }, { slug: "spare" }],
        plugins: [
          { slug: "ssm", plugin: "demo-config", plugin_type: "configuration", application: "main" },
          {
            slug: "cw",
            plugin: "demo-logs",
            plugin_type: "logs",
            options: { group: "/x", n: [1, 2], deep: { a: null } },
          },
          { slug: "off", plugin: "demo-config", plugin_type: "configuration", enabled: false },
        ],
      },
      { slug: "bare" },
      { slug: "vault", plugins: [{ slug: "kv", plugin: "demo-config", plugin_type: "configuration" }] },
    ],
    projects: [
      { slug: "billing", project_types: ["web", "api"] },
      { slug: "plain" },
      { slug: "jobs", project_types: ["batch"] },
    ],
    project_type_bindings: {
      web: [{ plugin: "aws/ssm", default: true, search_template: "/{project.slug}" }, { plugin: "aws/cw" }],
      api: [{ plugin: "vault/kv", search_template: "kv/{org.slug}" }, { plugin: "aws/ssm" }],
    },
    project_bindings: {
      billing: [{ plugin: "aws/cw", default: true, identity: "aws/ssm" }, { plugin: "aws/off" }],
      jobs: [{ plugin: "vault/kv", default: true, identity: "aws/cw" }],
    },
  });
}

async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/graph_migrate.ts", ...args],
    cwd: root,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("parseStoreSpec() reads sqlite paths and Neo4j URLs with credentials from the URL or the environment", () => {
  assert.deepEqual(parseStoreSpec("sqlite:data/graph.sqlite"), { kind: "sqlite", path: "data/graph.sqlite" });
  assert.deepEqual(parseStoreSpec("bolt://db:7687", { IMBI_GRAPH_USER: "imbi", IMBI_GRAPH_PASSWORD: "pw" }), {
    kind: "neo4j",
    url: "bolt://db:7687",
    user: "imbi",
    password: "pw",
  });
  assert.deepEqual(parseStoreSpec("neo4j://u%40x:p%2Fw@db:7687", { IMBI_GRAPH_PASSWORD: "other" }), {
    kind: "neo4j",
    url: "neo4j://db:7687",
    user: "u@x",
    password: "p/w",
  });
  assert.throws(() => parseStoreSpec("sqlite:"), RangeError);
  assert.throws(() => parseStoreSpec("http://user:secret@db"), (e: Error) => !e.message.includes("secret"));
});

Deno.test({
  name: "graph:migrate copies SQLite into an empty Neo4j and back without losing a node or an edge",
  ignore: libDir === undefined,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "imbi-migrate-" });
    const previousSink = setLogSink(() => {});
    const server = await Neo4jServer.launch(
      { version: NEO4J_VERSION, libDir: libDir!, route: "cached", coordinates: [] },
      { heap: "384m", pagecache: "32m" },
    );
    const env = { IMBI_GRAPH_USER: server.user, IMBI_GRAPH_PASSWORD: server.password, NO_COLOR: "1" };
    const source = SqliteStore.open(`${dir}/source.sqlite`);
    const back = SqliteStore.open(`${dir}/back.sqlite`);
    let neo4j: Neo4jStore | undefined;
    try {
      await source.importAll(generateGraph({ projects: 400, org: "gen-a", seed: 7 }));
      await source.importAll(generateGraph({ projects: 50, org: "gen-b", seed: 8, projectTypes: 5, services: 3 }));
      await richOrg(source, "rich");
      await source.createOrg({ slug: "empty", name: "Nothing in it" });
      const original = await source.exportAll();
      const counts = countGraph(original);
      assert.ok(counts.uses_plugin > 400 && counts.uses_application > 0 && counts.has_type > 400);

      await t.step("sqlite -> neo4j with the CLI: progress on stderr, counts on stdout, same graph", async () => {
        const result = await cli(["--from", `sqlite:${dir}/source.sqlite`, "--to", server.url], env);
        assert.equal(result.code, 0, result.stderr);
        for (const phase of ["check", "export", "import", "verify", "done"]) {
          assert.match(result.stderr, new RegExp(`^  ${phase}\\s`, "m"));
        }
        assert.ok(!result.stderr.includes(server.password), "the password is not printed");
        assert.deepEqual(JSON.parse(result.stdout).counts, counts);
        neo4j = await Neo4jStore.connect({ url: server.url, user: server.user, password: server.password });
        const copied = await neo4j.exportAll();
        assert.equal(firstDifference(original, copied), null);
        assert.deepEqual(copied, original);
        const [record] = (await neo4j.control.audit.list({ action: "graph.import" })).items;
        assert.deepEqual(record!.from, { store: `sqlite:${dir}/source.sqlite` });
        assert.deepEqual((record!.to as { counts: unknown }).counts, counts);
        assert.match(record!.actor, /^cli:/);
        assert.ok(!JSON.stringify(record).includes(server.password), "no credential in the audit record");
      });

      await t.step("a non-empty target is refused unless --force, and --force still refuses a shared org", async () => {
        const refused = await cli(["--from", `sqlite:${dir}/source.sqlite`, "--to", server.url], env);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /not empty.*--force/);
        const clash = await cli(["--from", `sqlite:${dir}/source.sqlite`, "--to", server.url, "--force"], env);
        assert.equal(clash.code, 1);
        assert.match(clash.stderr, /already holds organization "empty", "gen-a", "gen-b", "rich"; nothing was copied/);
        assert.deepEqual(await neo4j!.exportAll(), original);
        const missing = await cli(["--from", `sqlite:${dir}/missing.sqlite`, "--to", `sqlite:${dir}/x.sqlite`], env);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /No SQLite graph/);
        assert.equal((await cli(["--from", "sqlite:a"], env)).code, 2);
      });

      await t.step("neo4j -> sqlite gives the original graph back, and both resolve tabs alike", async () => {
        const events: string[] = [];
        const copied = await migrateGraph(neo4j!, back, { progress: (e) => events.push(e.phase) });
        assert.deepEqual(copied, counts);
        assert.deepEqual(events, ["check", "export", "export", "import", "import", "verify", "done"]);
        assert.deepEqual(await back.exportAll(), original);
        await assert.rejects(migrateGraph(neo4j!, back), ConflictError);
        assert.equal(
          (await back.control.audit.list({ action: "graph.import" })).items.length,
          0,
          "no audit without who",
        );
        const loaded = Object.values(GENERATED_MANIFESTS);
        for (const org of original.organizations) {
          for (const project of org.projects.slice(0, 25)) {
            for (const tab of ["configuration", "logs"] as const) {
              const query = { org: org.slug, project: project.slug, tab, loaded };
              assert.deepEqual(
                await neo4j!.resolveTab(query),
                await source.resolveTab(query),
                `${org.slug}/${project.slug}/${tab}`,
              );
            }
          }
        }
      });
    } finally {
      await neo4j?.close();
      await source.close();
      await back.close();
      await server.dispose();
      setLogSink(previousSink);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
