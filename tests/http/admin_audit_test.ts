/**
 * `GET /admin/audit` (the shared audit log, paged and filtered) and `GET
 * /admin/replicas` (this deployment's live replicas) through the real app,
 * and the audit records of reloads and key re-encryption.
 *
 * @module
 */

import assert from "node:assert/strict";
import { seedService } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

Deno.test("GET /admin/audit", async (t) => {
  await using app = await startTestApp({ packages: [] });
  await seedService(app, { slug: "vendor", name: "Vendor" });
  for (let i = 0; i < 3; i++) {
    await app.ok("POST", "/orgs/acme/third-party-services/vendor/applications", {
      body: { slug: `app-${i}`, name: `App ${i}`, credentials: { token: `never-shown-${i}` } },
    });
  }

  await t.step("pages newest first with limit and before/next, filtered by thing and action", async () => {
    const first = await app.ok("GET", "/admin/audit?target_kind=application&limit=2");
    assert.equal(first.items.length, 2);
    assert.deepEqual(first.items.map((r: { target: string }) => r.target), ["acme/vendor/app-2", "acme/vendor/app-1"]);
    assert.equal(typeof first.next, "number");
    const second = await app.ok("GET", `/admin/audit?target_kind=application&limit=2&before=${first.next}`);
    assert.deepEqual(second.items.map((r: { target: string }) => r.target), ["acme/vendor/app-0"]);
    assert.equal(second.next, null);
    const one = await app.ok("GET", "/admin/audit?target_kind=application&target=acme/vendor/app-1");
    assert.equal(one.items.length, 1);
    assert.equal(one.items[0].replica, app.services.audit.replica);
    assert.equal(one.items[0].actor, "admin-api:admin");
    assert.ok(!JSON.stringify(one).includes("never-shown"), "a credential value in the audit log");
  });

  await t.step("reloads and key re-encryption are recorded, who and what", async () => {
    await app.ok("POST", "/admin/plugins/reload", { status: 200 });
    const [reload] = (await app.ok("GET", "/admin/audit?action=registry.reload")).items;
    assert.equal(reload.target, app.services.audit.replica);
    assert.equal(reload.to.generation, reload.from.generation + 1);
    await app.ok("POST", "/admin/credentials/reencrypt", { status: 200 });
    const [reencrypt] = (await app.ok("GET", "/admin/audit?action=credentials.reencrypt")).items;
    assert.equal(reencrypt.detail.key_id, app.services.keyring.currentKid);
    assert.equal(reencrypt.detail.applications, 0, "every value was already on the current key");
    assert.equal(reencrypt.actor, "admin-api:admin");
  });

  await t.step("400 naming the parameter for a bad query; admin token only", async () => {
    const bad = await app.request("GET", "/admin/audit?limit=0");
    assert.equal(bad.status, 400, bad.text);
    assert.ok(JSON.stringify(bad.body).includes("/limit"), bad.text);
    assert.equal((await app.request("GET", "/admin/audit", { token: app.readToken })).status, 403);
    assert.equal((await app.request("GET", "/admin/audit", { token: null })).status, 401);
  });
});

Deno.test("GET /admin/replicas", async (t) => {
  await using app = await startTestApp({ packages: [] });
  await t.step("lists this replica with the revision it serves and no lag", async () => {
    let body;
    for (let i = 0; i < 100; i++) {
      body = await app.ok("GET", "/admin/replicas");
      if (body.items.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(body.replica, app.services.audit.replica);
    assert.equal(body.revision, app.services.runtime.registry.revision);
    assert.deepEqual(body.items.map((r: { id: string; lag: number; error: null }) => [r.id, r.lag, r.error]), [
      [app.services.audit.replica, 0, null],
    ]);
    const ready = await app.ok("GET", "/readyz", { token: null });
    assert.equal(ready.replica.id, app.services.audit.replica);
    assert.equal(ready.registry.revision, body.revision);
  });
  await t.step("admin token only", async () => {
    assert.equal((await app.request("GET", "/admin/replicas", { token: app.readToken })).status, 403);
  });
});
