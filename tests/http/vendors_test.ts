import assert from "node:assert/strict";
import { makeSecret } from "../support/secret_scan.ts";
import { seedService } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

Deno.test("/orgs/{org}/third-party-services/{svc}/applications", async (t) => {
  await using app = await startTestApp();
  await seedService(app, { slug: "aws", name: "AWS", vendor: "Amazon", region: "us-east-1" });
  const secret = makeSecret("aws-key");
  await t.step("credentials are write-only: responses list field names only", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/aws/applications", {
      body: { slug: "prod", name: "Production", credentials: { secret_access_key: secret } },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.credential_fields, ["secret_access_key"]);
    assert.deepEqual(r.body.credentials, {});
    const read = await app.request("GET", "/orgs/acme/third-party-services/aws/applications/prod");
    assert.deepEqual(read.body.credential_fields, ["secret_access_key"]);
    const list = await app.request("GET", "/orgs/acme/third-party-services/aws/applications");
    assert.equal(list.body.items.length, 1);
  });
  await t.step("stored ciphertext does not hold the plaintext", async () => {
    const stored = await app.services.store.getApplication("acme", "aws", "prod");
    assert.ok(stored);
    assert.ok(!JSON.stringify(stored).includes(secret));
    assert.match(stored.credentials.secret_access_key!, /^v1\./);
  });
  await t.step("a credential set to null is removed; a new one replaces", async () => {
    const r = await app.request("PATCH", "/orgs/acme/third-party-services/aws/applications/prod", {
      body: { credentials: { secret_access_key: null, access_key_id: makeSecret("id") } },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.credential_fields, ["access_key_id"]);
  });
  await t.step("an unknown service is 404", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/none/applications", {
      body: { slug: "x1", name: "X", credentials: {} },
    });
    assert.equal(r.status, 404);
  });
  await t.step("a non-string credential value is 422 with its pointer", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/aws/applications", {
      body: { slug: "bad", name: "Bad", credentials: { key: 42 } },
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.errors[0].pointer, "/credentials/key");
  });
});

Deno.test("/orgs/{org}/third-party-services/{svc}/plugins", async (t) => {
  await using app = await startTestApp();
  await seedService(app, { slug: "demo", name: "Demo" });
  await t.step("options are validated against the manifest and defaults applied", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/demo/plugins", {
      body: { slug: "config", plugin: "demo-config", label: "Config", options: {} },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.options, { seed: {}, latency_ms: 0 });
    assert.equal(r.body.plugin_type, "configuration");
    assert.equal(r.body.status, "loaded");
    assert.deepEqual(r.body.network.hosts, []);
  });
  await t.step("options that break the schema are 422 with pointers under /options", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/demo/plugins", {
      body: { slug: "bad", plugin: "demo-config", label: "Bad", options: { latency_ms: -1, extra: true } },
    });
    assert.equal(r.status, 422);
    assert.deepEqual(r.body.errors.map((e: { pointer: string }) => e.pointer).sort(), [
      "/options/extra",
      "/options/latency_ms",
    ]);
  });
  await t.step("an entry point that is not loaded is 422 on /plugin", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/demo/plugins", {
      body: { slug: "ghost", plugin: "ghost-plugin", label: "Ghost" },
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.errors[0].pointer, "/plugin");
  });
  await t.step("a duplicate slug in the service is 409", async () => {
    const r = await app.request("POST", "/orgs/acme/third-party-services/demo/plugins", {
      body: { slug: "config", plugin: "demo-logs", label: "Again" },
    });
    assert.equal(r.status, 409);
  });
  await t.step("update re-validates options; delete", async () => {
    const bad = await app.request("PATCH", "/orgs/acme/third-party-services/demo/plugins/config", {
      body: { options: { latency_ms: "slow" } },
    });
    assert.equal(bad.status, 422);
    const ok = await app.request("PATCH", "/orgs/acme/third-party-services/demo/plugins/config", {
      body: { label: "Renamed", options: { latency_ms: 5 } },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.label, "Renamed");
    assert.deepEqual(ok.body.options, { seed: {}, latency_ms: 5 });
    assert.equal((await app.request("DELETE", "/orgs/acme/third-party-services/demo/plugins/config")).status, 204);
  });
  await t.step("deleting a service with plugins or applications is 409", async () => {
    await app.request("POST", "/orgs/acme/third-party-services/demo/plugins", {
      body: { slug: "logs", plugin: "demo-logs", label: "Logs" },
    });
    assert.equal((await app.request("DELETE", "/orgs/acme/third-party-services/demo")).status, 409);
  });
});
