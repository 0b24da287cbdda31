import { importLockfile } from "../../core/packages/lock_file_sync.ts";
import assert from "node:assert/strict";
import { startGate } from "../support/gate.ts";
import { waitGone } from "../support/sandbox_harness.ts";
import { configurationAnswer, seedBoundPlugin } from "../support/seed.ts";
import { DEMO_PACKAGES, lockLocalPackages, startTestApp } from "../support/test_app.ts";
import { reloadProbe } from "../fixtures/reload/versions.ts";

Deno.test("GET /admin/plugins", async (t) => {
  await using app = await startTestApp();
  await t.step("lists every package and entry point with its status", async () => {
    const r = await app.request("GET", "/admin/plugins");
    assert.equal(r.status, 200, r.text);
    const names = r.body.items.map((p: { name: string }) => p.name).sort();
    assert.deepEqual(names, DEMO_PACKAGES.map((p) => p.name).sort());
    for (const pkg of r.body.items) {
      assert.equal(pkg.entries[0].status, "loaded", JSON.stringify(pkg));
    }
  });
  await t.step("needs the admin token", async () => {
    assert.equal((await app.request("GET", "/admin/plugins", { token: app.readToken })).status, 403);
    assert.equal((await app.request("GET", "/admin/plugins", { token: null })).status, 401);
  });
});

Deno.test("POST /admin/plugins/reload", async (t) => {
  const gate = startGate();
  const app = await startTestApp({ packages: [await reloadProbe(1)] });
  try {
    await seedBoundPlugin(app, { plugin: "reload-probe", options: { gate_url: gate.url } });

    await t.step(
      "a request in flight finishes on the old handler; new ones use the new one; old processes close",
      async () => {
        const inFlight = app.request("GET", "/orgs/acme/projects/web/configuration");
        const entered = await gate.arrival();
        assert.equal(entered.get("version"), "1");
        const oldKeys = app.services.runtime.pool.list().map((p) => p.key);
        const oldPid = app.services.runtime.pool.list()[0]!.stats.pid;
        assert.ok(oldPid);

        await lockLocalPackages(app.lockfilePath, [await reloadProbe(2, app.dataDir)]);
        const imported = await importLockfile(app.services.lock, app.lockfilePath, {
          actor: "cli:tests",
          requestId: null,
          now: () => new Date(),
        });
        assert.equal(imported.outcome, "imported");
        const reload = await app.request("POST", "/admin/plugins/reload");
        assert.equal(reload.status, 200, reload.text);
        assert.equal(reload.body.items[0].version, "2.0.0");
        const next = app.services.runtime.pool.list().filter((p) => !oldKeys.includes(p.key));
        assert.equal(next.length, 1, "the reload started the busy node's next process before it swapped");
        assert.equal(next[0]!.stats.state, "ready");

        gate.open();
        const fresh = await configurationAnswer(app.request("GET", "/orgs/acme/projects/web/configuration"));
        assert.deepEqual(fresh, { key: "VERSION_2", version: "2.0.0" });
        assert.deepEqual(await configurationAnswer(inFlight), { key: "VERSION_1", version: "1.0.0" });

        const deadline = Date.now() + 10_000;
        while (app.services.runtime.pool.list().some((p) => oldKeys.includes(p.key)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.ok(
          !app.services.runtime.pool.list().some((p) => oldKeys.includes(p.key)),
          "old supervisor still listed",
        );
        // The supervisor leaves the pool as it stops its process; the process ends a moment later.
        await waitGone(oldPid!);
      },
    );
  } finally {
    await app.close();
    await gate.shutdown();
  }
});
