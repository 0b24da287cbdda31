/**
 * The admin API's package operations end to end: catalog, install, upgrade,
 * remove, history, rollback and audit through `app.request()` on the real
 * service, with packages really published to the loopback Verdaccio (npm)
 * and served by the in-process JSR registry. Every refusal is checked to
 * leave the lockfile byte for byte, the package store, the history, the
 * audit log and the registry exactly as they were.
 */
import assert from "node:assert/strict";
import { startGate } from "../support/gate.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { publishFixture } from "../support/npm_publish.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { configurationAnswer, seedBoundPlugin, seedService } from "../support/seed.ts";
import { serviceUrl } from "../support/services.ts";
import { ROOT, startTestApp, type TestApp } from "../support/test_app.ts";
import { CLOSED } from "../support/local.ts";
import { manifestPackages } from "../support/manifest_packages.ts";

const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");
const FIXTURES = `${ROOT}tests/fixtures`;
const CATALOG = `${FIXTURES}/admin/catalog.json`;
const PROBE = "@imbi-test/admin-probe";
const DAY = 86_400_000;

let published: Promise<void> | undefined;

/** Publishes the probe once per run: 1.0.0 and 1.1.0 (version 1 code) and 2.0.0 (version 2 code). */
function publishProbe(): Promise<void> {
  published ??= (async () => {
    // The test command runs this file twice (SQLite, then Neo4j) against one registry.
    for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
      await publishFixture(NPM!, `${FIXTURES}/admin/probe`, { version, unlessPublished: true });
    }
  })();
  return published;
}

/** A test that needs the loopback npm registry, with the probe published there. */
function npmTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !NPM,
    async fn(t) {
      await publishProbe();
      await fn(t);
    },
  });
}

function say(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`[measured] ${line}\n`));
}

async function listing(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Everything a refused change must leave alone. */
async function snapshot(app: TestApp) {
  const registry = app.services.runtime.registry;
  return {
    lockfile: await app.services.lock.read(),
    store: (await listing(`${app.dataDir}/packages`)).filter((n) => n !== ".staging"),
    staging: await listing(`${app.dataDir}/packages/.staging`),
    history: (await app.services.lock.list()).map((r) => r.revision),
    audit: (await app.services.audit.list({ limit: 1000 })).items.filter((a) => a.action !== "registry.reload"),
    registry: { generation: registry.generation, packages: JSON.stringify(registry.packages) },
  };
}

async function jsrWithFixtures(): Promise<TestJsrRegistry> {
  const jsr = TestJsrRegistry.start();
  const old = { createdAt: new Date(Date.now() - 3 * DAY) };
  await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${FIXTURES}/packages/jsr-good`, old);
  await using packages = await manifestPackages(); // read whole by publish()
  for (const name of ["incompatible", "invalid-manifest", "clash-a", "clash-b", "missing-export"] as const) {
    await jsr.publish(`@imbi-test/${name}`, "1.0.0", packages.dir(name), old);
  }
  return jsr;
}

function problem(r: { status: number; headers: Headers; text: string }, status: number): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
}

npmTest("POST /admin/plugins", async (t) => {
  const jsr = await jsrWithFixtures();
  const app = await startTestApp({
    packages: [],
    env: { NPM_CONFIG_REGISTRY: NPM!, JSR_URL: jsr.url, IMBI_CATALOG: CATALOG },
  });
  try {
    const refused = async (body: unknown, status: number, type: string) => {
      const before = await snapshot(app);
      const r = await app.request("POST", "/admin/plugins", { body });
      problem(r, status);
      assert.equal(r.body.type, `https://imbi.dev/problems/${type}`, r.text);
      assert.deepEqual(await snapshot(app), before, "a refusal left a trace");
      return r.body;
    };

    await t.step("installs a catalog entry from npm: 201, the highest version in range, loaded", async () => {
      const r = await app.request("POST", "/admin/plugins", {
        body: { catalog: "admin-probe", accept_permissions: true },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.package.name, PROBE);
      assert.equal(r.body.package.version, "1.1.0");
      assert.equal(r.body.package.specifier, `npm:${PROBE}@1.1.0`);
      assert.deepEqual(r.body.package.source, { kind: "catalog", name: "admin-probe" });
      assert.equal(r.body.package.added_by, "admin-api:admin");
      assert.equal(r.body.package.status, "loaded");
      assert.deepEqual(
        r.body.package.entries.map((e: { slug: string; status: string }) => [e.slug, e.status]),
        [["admin-probe", "loaded"]],
      );
      assert.equal(r.body.revision, 2);
      const lock = await app.services.lock.read();
      assert.equal(lock.revision, 2);
      assert.equal(lock.packages[PROBE]!.integrity, r.body.package.integrity);
      assert.ok(app.services.runtime.registry.entry("admin-probe"), "live without a restart");
    });

    await t.step("installs a jsr: specifier with a range", async () => {
      const r = await app.request("POST", "/admin/plugins", {
        body: { specifier: "jsr:@imbi-test/jsr-good@^1", accept_permissions: true },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.package.version, "1.0.0");
      assert.deepEqual(r.body.package.source, { kind: "manual" });
      assert.equal(r.body.package.entries[0].slug, "jsr-good-logs");
      assert.equal(r.body.package.entries[0].plugin_type, "logs");
    });

    await t.step("409 when the package is already installed", async () => {
      const body = await refused(
        { specifier: `npm:${PROBE}@^1`, accept_permissions: true },
        409,
        "package-already-installed",
      );
      assert.match(body.detail, /already installed as npm:@imbi-test\/admin-probe@1\.1\.0/);
    });

    await t.step("422 for an incompatible package, with the reason per entry point", async () => {
      const body = await refused(
        { specifier: "jsr:@imbi-test/incompatible@1", accept_permissions: true },
        422,
        "package-refused",
      );
      assert.equal(body.entries[0].status, "incompatible");
      assert.match(body.entries[0].reason, /api_version "\^2\.0\.0" does not include 1\.0\.0/);
    });

    await t.step("422 for an invalid entry point, listing every entry with its status", async () => {
      const body = await refused(
        { specifier: "jsr:@imbi-test/invalid-manifest@1", accept_permissions: true },
        422,
        "package-refused",
      );
      assert.deepEqual(body.entries.map((e: { status: string }) => e.status), ["loaded", "invalid", "invalid"]);
      assert.match(body.entries[1].reason, /manifest\.plugin_type/);
      assert.match(
        body.entries[2].reason,
        /manifest\.options does not compile: strict mode: unknown keyword: "fromat"/,
      );
      const none = await refused(
        { specifier: "jsr:@imbi-test/missing-export@1", accept_permissions: true },
        422,
        "package-refused",
      );
      assert.match(none.detail, /"plugins" export/);
    });

    await t.step("422 for a slug another installed package exports", async () => {
      const a = await app.request("POST", "/admin/plugins", {
        body: { specifier: "jsr:@imbi-test/clash-a@1", accept_permissions: true },
      });
      assert.equal(a.status, 201, a.text);
      const body = await refused(
        { specifier: "jsr:@imbi-test/clash-b@1", accept_permissions: true },
        422,
        "package-refused",
      );
      assert.equal(body.clashes_with, "@imbi-test/clash-a");
      assert.deepEqual(body.slugs, ["clash-slug"]);
    });

    await t.step("502 when the registry has no such version or package", async () => {
      const version = await refused(
        { specifier: `npm:${PROBE}@^9`, accept_permissions: true },
        502,
        "package-registry",
      );
      assert.match(version.detail, /has no version matching "\^9"/);
      const missing = await refused(
        { specifier: "npm:@imbi-test/no-such-plugin@1", accept_permissions: true },
        502,
        "package-registry",
      );
      assert.match(missing.detail, /has no package "@imbi-test\/no-such-plugin"/);
    });

    await t.step("422 with a pointer for a body that names neither, both, a path or an unknown entry", async () => {
      const cases: [unknown, string][] = [
        [{}, ""],
        [{ catalog: "admin-probe", specifier: `npm:${PROBE}@1`, accept_permissions: true }, ""],
        [{ specifier: "./tests/fixtures/packages/local-good", accept_permissions: true }, "/specifier"],
        [{ specifier: "npm:Not A Name@1", accept_permissions: true }, "/specifier"],
        [{ specifier: `npm:${PROBE}@not-a-range!`, accept_permissions: true }, "/specifier"],
        [{ catalog: "no-such-entry", accept_permissions: true }, "/catalog"],
        [{ catalog: "admin-probe", extra: true, accept_permissions: true }, "/extra"],
      ];
      for (const [body, pointer] of cases) {
        const problemBody = await refused(body, 422, "validation");
        assert.equal(problemBody.errors[0].pointer, pointer, JSON.stringify(problemBody));
      }
    });

    await t.step("every admin endpoint needs the admin token", async () => {
      const calls: [string, string, unknown?][] = [
        ["GET", "/admin/catalog"],
        ["POST", "/admin/plugins", { catalog: "jsr-good", accept_permissions: true }],
        ["PATCH", `/admin/plugins/${PROBE}`, { version: "^2", accept_permissions: true }],
        ["DELETE", `/admin/plugins/${PROBE}`],
        ["GET", "/admin/plugins/history"],
        ["POST", "/admin/plugins/rollback", { revision: 1 }],
        ["GET", "/admin/audit"],
      ];
      const before = await snapshot(app);
      for (const [method, path, body] of calls) {
        assert.equal((await app.request(method, path, { body, token: app.readToken })).status, 403, path);
        assert.equal((await app.request(method, path, { body, token: null })).status, 401, path);
      }
      assert.deepEqual(await snapshot(app), before);
    });
  } finally {
    await app.close();
    await jsr.stop();
  }

  const fresh = TestJsrRegistry.start();
  const published = new Date();
  await fresh.publish("@imbi-test/fresh", "1.0.0", `${FIXTURES}/packages/jsr-good`, { createdAt: published });
  const strict = await startTestApp({
    packages: [],
    env: { NPM_CONFIG_REGISTRY: CLOSED, JSR_URL: fresh.url, IMBI_MIN_PACKAGE_AGE: "24h", IMBI_CATALOG: CATALOG },
  });
  try {
    const refused = async (body: unknown, status: number) => {
      const before = await snapshot(strict);
      const r = await strict.request("POST", "/admin/plugins", { body });
      problem(r, status);
      assert.deepEqual(await snapshot(strict), before);
      return r.body;
    };
    await t.step(
      "422 for a version younger than IMBI_MIN_PACKAGE_AGE, saying when it becomes installable",
      async () => {
        const body = await refused({ specifier: "jsr:@imbi-test/fresh@^1", accept_permissions: true }, 422);
        assert.equal(body.type, "https://imbi.dev/problems/package-too-young");
        const at = new Date(published.getTime() + DAY).toISOString();
        assert.equal(body.installable_at, at);
        assert.match(body.detail, new RegExp(`becomes installable at ${at.replaceAll(".", "\\.")}`));
      },
    );
    await t.step("502 when the registry cannot be reached", async () => {
      const body = await refused({ catalog: "admin-probe", accept_permissions: true }, 502);
      assert.match(body.detail, /Cannot reach the npm registry http:\/\/127\.0\.0\.1:9\//);
    });
  } finally {
    await strict.close();
    await fresh.stop();
  }
});

npmTest("GET /admin/catalog", async (t) => {
  await using jsr = await jsrWithFixtures();
  await using app = await startTestApp({
    packages: [],
    env: { NPM_CONFIG_REGISTRY: NPM!, JSR_URL: jsr.url, IMBI_CATALOG: CATALOG },
  });
  const byName = async () => {
    const r = await app.request("GET", "/admin/catalog");
    assert.equal(r.status, 200, r.text);
    return Object.fromEntries(r.body.items.map((e: { name: string }) => [e.name, e]));
  };
  await t.step("lists every entry with the newest installable version of its range", async () => {
    const items = await byName();
    assert.deepEqual(Object.keys(items), ["admin-probe", "jsr-good", "local-good"]);
    assert.equal(items["admin-probe"].specifier, `npm:${PROBE}@^1`);
    assert.deepEqual(items["admin-probe"].plugin_types, ["configuration"]);
    assert.equal(items["admin-probe"].homepage, "https://example.test/admin-probe");
    assert.equal(items["admin-probe"].package, PROBE);
    assert.equal(items["admin-probe"].installed, null);
    assert.equal(items["admin-probe"].latest_in_range, "1.1.0", "2.0.0 is outside ^1");
    assert.equal(items["admin-probe"].newer_in_range, null);
    assert.equal(items["local-good"].package, "@imbi-test/local-good");
    assert.equal(items["local-good"].latest_in_range, "0.3.0", "the version in its deno.json");
  });
  await t.step("shows the installed version and a newer one within the range", async () => {
    const r = await app.request("POST", "/admin/plugins", {
      body: { specifier: `npm:${PROBE}@1.0.0`, accept_permissions: true },
    });
    assert.equal(r.status, 201, r.text);
    const local = await app.request("POST", "/admin/plugins", {
      body: { catalog: "local-good", accept_permissions: true },
    });
    assert.equal(local.status, 201, local.text);
    const items = await byName();
    assert.deepEqual(items["admin-probe"].installed, {
      version: "1.0.0",
      specifier: `npm:${PROBE}@1.0.0`,
      from_catalog: false,
    });
    assert.equal(items["admin-probe"].newer_in_range, "1.1.0");
    assert.equal(items["local-good"].installed.from_catalog, true);
    assert.equal(items["local-good"].newer_in_range, null);
    assert.equal(items["jsr-good"].installed, null);
  });
  await t.step("an entry whose registry cannot answer says why instead of failing the list", async () => {
    await jsr.stop();
    const items = await byName();
    assert.equal(items["jsr-good"].latest_in_range, null);
    assert.match(items["jsr-good"].resolve_error, /jsr/i);
    assert.equal(items["admin-probe"].newer_in_range, "1.1.0");
  });
});

npmTest("PATCH /admin/plugins/{package}", async (t) => {
  await using app = await startTestApp({ packages: [], env: { NPM_CONFIG_REGISTRY: NPM!, JSR_URL: CLOSED } });
  const installed = await app.request("POST", "/admin/plugins", {
    body: { specifier: `npm:${PROBE}@1.0.0`, accept_permissions: true },
  });
  assert.equal(installed.status, 201, installed.text);

  await t.step("moves to the highest version of a range and shows what changes", async () => {
    const r = await app.request("PATCH", `/admin/plugins/${PROBE}`, {
      body: { version: "^2", accept_permissions: true },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.from, "1.0.0");
    assert.equal(r.body.to, "2.0.0");
    assert.equal(r.body.revision, 3);
    const diff = r.body.diff;
    assert.equal(diff.previous_unavailable, null);
    assert.deepEqual(diff.entry_points, {
      added: ["admin-probe-logs"],
      removed: [],
      unchanged: ["admin-probe"],
    });
    const probe = diff.changes.find((c: { slug: string }) => c.slug === "admin-probe");
    assert.deepEqual(probe, {
      slug: "admin-probe",
      change: "changed",
      api_version: { from: "^1.0.0", to: ">=1.0.0 <2.0.0" },
      network_hosts: { added: ["status.example.com"], removed: [] },
      credential_fields: { added: ["region"], removed: [], changed: [] },
    });
    assert.ok(diff.summary.includes("admin-probe: api_version ^1.0.0 → >=1.0.0 <2.0.0"), diff.summary);
    assert.ok(diff.summary.includes("admin-probe: network hosts added status.example.com"), diff.summary);
    assert.ok(
      diff.summary.some((l: string) => l.startsWith("entry point added: admin-probe-logs (logs, api_version ^1.0.0")),
    );
    assert.deepEqual(
      r.body.package.entries.map((e: { slug: string; status: string }) => [e.slug, e.status]),
      [["admin-probe", "loaded"], ["admin-probe-logs", "loaded"]],
    );
    assert.ok(app.services.runtime.registry.entry("admin-probe-logs"));
  });

  const unchanged = async (path: string, body: unknown, status: number, type: string) => {
    const before = await snapshot(app);
    const r = await app.request("PATCH", path, { body });
    problem(r, status);
    assert.equal(r.body.type, `https://imbi.dev/problems/${type}`);
    assert.deepEqual(await snapshot(app), before, "a refused upgrade left a trace");
    return r.body;
  };
  await t.step("409 when the package already has that version", async () => {
    await unchanged(
      `/admin/plugins/${PROBE}`,
      { version: "2.0.0", accept_permissions: true },
      409,
      "package-already-installed",
    );
  });
  await t.step("404 for a package that is not installed; 422 for a bad range", async () => {
    await unchanged(
      "/admin/plugins/@imbi-test/nothing",
      { version: "^1", accept_permissions: true },
      404,
      "package-not-installed",
    );
    const bad = await unchanged(
      `/admin/plugins/${PROBE}`,
      { version: "not a range!", accept_permissions: true },
      422,
      "validation",
    );
    assert.equal(bad.errors[0].pointer, "/version");
  });
  await t.step("409 listing the Plugin nodes that use an entry point the new version drops", async () => {
    await seedService(app, { slug: "svc", name: "Svc" });
    const node = await app.ok("POST", "/orgs/acme/third-party-services/svc/plugins", {
      body: { slug: "probe-logs", plugin: "admin-probe-logs", label: "Probe logs" },
    });
    const body = await unchanged(
      `/admin/plugins/${PROBE}`,
      { version: "1.1.0", accept_permissions: true },
      409,
      "package-in-use",
    );
    assert.deepEqual(body.plugin_nodes, [{
      org: "acme",
      service: "svc",
      id: node.id,
      slug: "probe-logs",
      plugin: "admin-probe-logs",
    }]);
    assert.match(body.detail, /drops entry point admin-probe-logs.*acme\/svc\/probe-logs/);
  });
  await t.step("accepts a percent-encoded package name", async () => {
    const r = await app.request("PATCH", `/admin/plugins/${encodeURIComponent(PROBE)}`, {
      body: { version: "2.0.0", accept_permissions: true },
    });
    problem(r, 409);
    assert.equal(r.body.package, PROBE);
  });
});

Deno.test("DELETE /admin/plugins/{package}", async (t) => {
  await using app = await startTestApp();
  await seedService(app, { slug: "demo", name: "Demo" });
  const node = await app.ok("POST", "/orgs/acme/third-party-services/demo/plugins", {
    body: { slug: "config", plugin: "demo-config", label: "Config" },
  });

  await t.step("409 listing the Plugin nodes that use its entry points; nothing changes", async () => {
    const before = await app.services.lock.read();
    const r = await app.request("DELETE", "/admin/plugins/@imbi/plugin-demo-config");
    problem(r, 409);
    assert.equal(r.body.type, "https://imbi.dev/problems/package-in-use");
    assert.deepEqual(r.body.plugin_nodes.map((n: { id: string }) => n.id), [node.id]);
    assert.match(r.body.detail, /acme\/demo\/config \(demo-config\)/);
    assert.deepEqual(await app.services.lock.read(), before);
    assert.ok(app.services.runtime.registry.entry("demo-config"));
  });
  await t.step("force=true removes it and disables those nodes", async () => {
    const r = await app.request("DELETE", "/admin/plugins/@imbi/plugin-demo-config?force=true");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.disabled_plugin_nodes.map((n: { id: string }) => n.id), [node.id]);
    assert.equal(r.body.removed.version, "1.0.0");
    assert.deepEqual(r.body.removed.entry_points, ["demo-config"]);
    const lock = await app.services.lock.read();
    assert.equal(lock.packages["@imbi/plugin-demo-config"], undefined);
    assert.equal(r.body.revision, lock.revision);
    assert.equal(app.services.runtime.registry.entry("demo-config"), undefined);
    const read = await app.request("GET", `/orgs/acme/third-party-services/demo/plugins/config`);
    assert.equal(read.body.enabled, false);
  });
  await t.step("a package nobody uses goes at once; an unknown one is 404", async () => {
    const r = await app.request("DELETE", `/admin/plugins/${encodeURIComponent("@imbi/plugin-demo-logs")}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.disabled_plugin_nodes, []);
    problem(await app.request("DELETE", "/admin/plugins/@imbi/plugin-demo-logs"), 404);
  });
});

Deno.test("GET /admin/plugins/history, POST /admin/plugins/rollback and GET /admin/audit", async (t) => {
  await using jsr = TestJsrRegistry.start();
  const old = { createdAt: new Date(Date.now() - 3 * DAY) };
  await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${FIXTURES}/packages/jsr-good`, old);
  await jsr.publish("@imbi-test/jsr-good", "1.2.0", `${FIXTURES}/packages/jsr-good`, old);
  {
    await using packages = await manifestPackages();
    await jsr.publish("@imbi-test/two-entries", "2.1.0", packages.dir("two-entries"), old);
  }
  await using app = await startTestApp({ packages: [], env: { NPM_CONFIG_REGISTRY: CLOSED, JSR_URL: jsr.url } });
  const call = async (method: string, path: string, body?: unknown, requestId?: string) => {
    const r = await app.request(method, path, { body, headers: requestId ? { "x-request-id": requestId } : {} });
    assert.ok(r.status < 300, `${method} ${path}: ${r.text}`);
    return r.body;
  };
  const accepted = { accept_permissions: true };
  await call("POST", "/admin/plugins", { specifier: "jsr:@imbi-test/jsr-good@1.0.0", ...accepted }, "req-install"); // r2
  await call("POST", "/admin/plugins", { specifier: "jsr:@imbi-test/two-entries@2", ...accepted }); // r3
  await call("PATCH", "/admin/plugins/@imbi-test/jsr-good", { version: "1.2.0", ...accepted }, "req-upgrade"); // r4
  await call("DELETE", "/admin/plugins/@imbi-test/two-entries"); // r5

  await t.step("history lists every revision newest first, with who, when and what", async () => {
    const items = (await call("GET", "/admin/plugins/history")).items;
    assert.deepEqual(items.map((r: { revision: number }) => r.revision), [5, 4, 3, 2, 1]);
    assert.equal(items[0].current, true);
    assert.deepEqual(items.map((r: { action: string }) => r.action), [
      "remove",
      "upgrade",
      "install",
      "install",
      "import",
    ]);
    assert.equal(items[1].written_by, "admin-api:admin");
    assert.equal(items[1].request_id, "req-upgrade");
    assert.equal(items[1].summary, "upgrade @imbi-test/jsr-good 1.0.0 → 1.2.0");
    assert.ok(!Number.isNaN(Date.parse(items[1].written_at)));
    assert.deepEqual(items[2].packages.map((p: { name: string }) => p.name), [
      "@imbi-test/jsr-good",
      "@imbi-test/two-entries",
    ]);
  });

  await t.step("rollback restores a revision's packages as a new revision and reloads", async () => {
    const r = await call("POST", "/admin/plugins/rollback", { revision: 3 });
    assert.equal(r.restored_revision, 3);
    assert.equal(r.from_revision, 5);
    assert.equal(r.revision, 6);
    assert.deepEqual(r.changes, [
      {
        package: "@imbi-test/jsr-good",
        from: "jsr:@imbi-test/jsr-good@1.2.0",
        to: "jsr:@imbi-test/jsr-good@1.0.0",
      },
      { package: "@imbi-test/two-entries", from: null, to: "jsr:@imbi-test/two-entries@2.1.0" },
    ]);
    assert.deepEqual(r.packages.map((p: { status: string }) => p.status), ["loaded", "loaded"]);
    const lock = await app.services.lock.read();
    assert.equal(lock.revision, 6);
    assert.equal(lock.packages["@imbi-test/jsr-good"]!.version, "1.0.0");
    assert.equal(app.services.runtime.registry.entry("two-config")?.version, "2.1.0");
  });

  await t.step("404 for a revision not kept, 409 for the current one; nothing changes", async () => {
    const before = await snapshot(app);
    const missing = await app.request("POST", "/admin/plugins/rollback", { body: { revision: 99 } });
    problem(missing, 404);
    const current = await app.request("POST", "/admin/plugins/rollback", { body: { revision: 6 } });
    problem(current, 409);
    assert.deepEqual(await snapshot(app), before);
  });

  await t.step("refused, naming the package, when a package is not cached and cannot be fetched", async () => {
    const lock = await app.services.lock.read();
    // Revision 4 pins jsr-good 1.2.0: drop it from the store and stop the registry.
    const dir = (await listing(`${app.dataDir}/packages`)).find((n) => n.startsWith("imbi-test__jsr-good@1.2.0-"));
    assert.ok(dir, "jsr-good 1.2.0 was cached");
    await Deno.remove(`${app.dataDir}/packages/${dir}`, { recursive: true });
    await jsr.stop();
    const before = await snapshot(app);
    const r = await app.request("POST", "/admin/plugins/rollback", { body: { revision: 4 } });
    problem(r, 502);
    assert.match(
      r.body.detail,
      /^Cannot roll back to revision 4: package "@imbi-test\/jsr-good" \(jsr:@imbi-test\/jsr-good@1\.2\.0\) is not in the package cache and cannot be fetched: /,
    );
    assert.equal(r.body.package, "@imbi-test/jsr-good");
    assert.deepEqual(await snapshot(app), before);
    assert.equal((await app.services.lock.read()).revision, lock.revision);
  });

  await t.step("the audit log lists every change with who, what and from which revision to which", async () => {
    const items = (await call("GET", "/admin/audit?target_kind=package")).items;
    assert.deepEqual(
      items.map((a: { action: string; detail: { from_revision: number; to_revision: number } }) => [
        a.action,
        a.detail.from_revision,
        a.detail.to_revision,
      ]),
      [["package.remove", 4, 5], ["package.upgrade", 3, 4], ["package.install", 2, 3], ["package.install", 1, 2]],
    );
    const install = items.at(-1);
    assert.equal(install.actor, "admin-api:admin");
    assert.equal(install.request_id, "req-install");
    assert.equal(install.target, "@imbi-test/jsr-good");
    assert.equal(install.replica, app.services.audit.replica);
    assert.equal(install.from, null);
    assert.equal(install.to.version, "1.0.0");
    assert.equal(install.detail.specifier, "jsr:@imbi-test/jsr-good@1.0.0");
    assert.deepEqual(items[1].from.version, "1.0.0");
    assert.deepEqual(items[1].to.version, "1.2.0");
    const locks = (await call("GET", "/admin/audit?target_kind=lock")).items;
    assert.deepEqual(locks.map((a: { action: string }) => a.action), ["lock.rollback", "lock.import"]);
    assert.equal(locks[0].detail.restored_revision, 3);
    assert.equal(locks[0].detail.to_revision, 6);
  });
});

npmTest(
  "The operator flow: empty lockfile → catalog install → tab → upgrade with a request in flight → rollback",
  async () => {
    const gate = startGate();
    const app = await startTestApp({
      packages: [],
      env: { NPM_CONFIG_REGISTRY: NPM!, JSR_URL: CLOSED, IMBI_CATALOG: CATALOG },
    });
    try {
      assert.deepEqual((await app.services.lock.read()).packages, {});
      const install = await app.request("POST", "/admin/plugins", {
        body: { catalog: "admin-probe", accept_permissions: true },
      });
      assert.equal(install.status, 201, install.text);
      const installedRevision = install.body.revision;
      await seedBoundPlugin(app, {
        plugin: "admin-probe",
        credentials: { token: makeSecret("probe-token") },
        options: { gate_url: gate.url },
      });
      gate.open();
      const configuration = "/orgs/acme/projects/web/configuration";
      const first = await configurationAnswer(app.request("GET", configuration));
      assert.deepEqual(first, { key: "PROBE_VERSION_1", version: "1.1.0" });

      gate.close();
      const inFlight = app.request("GET", configuration);
      assert.equal((await gate.arrival()).get("version"), "1");
      const upgrade = await app.request("PATCH", `/admin/plugins/${PROBE}`, {
        body: { version: "^2", accept_permissions: true },
      });
      assert.equal(upgrade.status, 200, upgrade.text);
      gate.open();
      const fresh = await configurationAnswer(app.request("GET", configuration));
      assert.deepEqual(fresh, { key: "PROBE_VERSION_2", version: "2.0.0" });
      const old = await configurationAnswer(inFlight);
      assert.deepEqual(
        old,
        { key: "PROBE_VERSION_1", version: "1.1.0" },
        "the request in flight finished on the old version",
      );

      const rollback = await app.request("POST", "/admin/plugins/rollback", { body: { revision: installedRevision } });
      assert.equal(rollback.status, 200, rollback.text);
      const back = await configurationAnswer(app.request("GET", configuration));
      assert.deepEqual(back, { key: "PROBE_VERSION_1", version: "1.1.0" });
    } finally {
      await app.close();
      await gate.shutdown();
    }
  },
);

Deno.test("measured: one install through the API, and a reload, with 10 packages installed", async () => {
  await using jsr = TestJsrRegistry.start();
  const work = await Deno.makeTempDir({ prefix: "imbi-measure-" });
  const old = { createdAt: new Date(Date.now() - 3 * DAY) };
  for (let i = 0; i <= 10; i++) {
    const dir = `${work}/p${i}`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ name: `@imbi-test/measure-${i}`, exports: "./mod.ts" }),
    );
    await Deno.writeTextFile(
      `${dir}/mod.ts`,
      `export class Measure${i} {\n  static manifest = { slug: "measure-${i}", name: "Measure ${i}", ` +
        `plugin_type: "configuration", api_version: "^1.0.0", network: { hosts: [] } };\n}\n` +
        `export const plugins = [Measure${i}];\n`,
    );
    await jsr.publish(`@imbi-test/measure-${i}`, "1.0.0", dir, old);
  }
  const app = await startTestApp({ packages: [], env: { NPM_CONFIG_REGISTRY: CLOSED, JSR_URL: jsr.url } });
  try {
    for (let i = 0; i < 10; i++) {
      const r = await app.request("POST", "/admin/plugins", {
        body: { specifier: `jsr:@imbi-test/measure-${i}@1`, accept_permissions: true },
      });
      assert.equal(r.status, 201, r.text);
    }
    let started = performance.now();
    const r = await app.request("POST", "/admin/plugins", {
      body: { specifier: "jsr:@imbi-test/measure-10@1", accept_permissions: true },
    });
    const installMs = performance.now() - started;
    assert.equal(r.status, 201, r.text);
    assert.equal(app.services.runtime.registry.packages.length, 11);
    started = performance.now();
    const reload = await app.request("POST", "/admin/plugins/reload");
    const reloadMs = performance.now() - started;
    assert.equal(reload.status, 200, reload.text);
    assert.ok(reload.body.items.every((p: { status: string }) => p.status === "loaded"));
    say(
      `install through the API with 10 packages installed (resolve, fetch, verify, bundle, inspect, lock, reload): ${
        Math.round(installMs)
      } ms`,
    );
    say(`reload with 11 packages installed (verify from the store, inspect each, swap): ${Math.round(reloadMs)} ms`);
    assert.ok(installMs < 30_000 && reloadMs < 30_000);
  } finally {
    await app.close();
    await Deno.remove(work, { recursive: true });
  }
});
