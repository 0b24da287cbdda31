import assert from "node:assert/strict";
import type { AuditRecord } from "../../core/audit.ts";
import { Keyring } from "../../core/crypto.ts";
import { credentialContext } from "../../core/credentials.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { seedWalkthrough } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

Deno.test("admin graph writes are audited: who, what, when, from what to what, which request", async (t) => {
  const oldKey = Keyring.generate("old");
  const newKey = Keyring.generate("new");
  await using app = await startTestApp({ env: { IMBI_ENCRYPTION_KEYS: `${newKey},${oldKey}` } });
  const seeded = await seedWalkthrough(app);
  const svc = `/orgs/${seeded.org}/third-party-services/demo`;
  const recordsOf = async (requestId: string): Promise<AuditRecord[]> =>
    (await app.services.audit.list({ limit: 1000 })).items.filter((r) => r.request_id === requestId).reverse();

  await t.step("a credential change: its fields by name, the token, the request and the replica", async () => {
    const secret = makeSecret("rotated-token");
    const r = await app.request("PATCH", `${svc}/applications/default`, {
      body: { credentials: { token: secret, region: "eu-west-1" } },
      headers: { "x-request-id": "audit-credentials-1" },
    });
    assert.equal(r.status, 200, r.text);
    const [record, ...more] = await recordsOf("audit-credentials-1");
    assert.equal(more.length, 0);
    assert.equal(record!.action, "application.update");
    assert.equal(record!.target_kind, "application");
    assert.equal(record!.target, `${seeded.org}/demo/default`);
    assert.equal(record!.actor, "admin-api:admin");
    assert.equal(record!.replica, app.services.audit.replica);
    assert.ok(Date.parse(record!.at) > 0);
    assert.deepEqual((record!.from as { credential_fields: string[] }).credential_fields, ["token"]);
    assert.deepEqual((record!.to as { credential_fields: string[] }).credential_fields, ["region", "token"]);
    assert.deepEqual(record!.detail, { credential_fields: { added: ["region"], changed: ["token"], removed: [] } });
    const text = JSON.stringify(record);
    assert.ok(!text.includes(secret) && !text.includes("eu-west-1") && !text.includes("v1."), "no credential value");
  });

  await t.step("creates, renames, binding replacements and deletes through the API each leave one record", async () => {
    const headers = { "x-request-id": "audit-graph-1" };
    await app.ok("POST", `/orgs/${seeded.org}/project-types`, { body: { slug: "worker", name: "Worker" }, headers });
    await app.ok("PATCH", `/orgs/${seeded.org}/project-types/worker`, { body: { name: "Workers" }, headers });
    await app.ok("PUT", `/orgs/${seeded.org}/project-types/worker/plugins`, {
      body: { bindings: [{ plugin_id: seeded.configPluginId, tab: "configuration", default: true }] },
      headers,
    });
    await app.ok("DELETE", `/orgs/${seeded.org}/project-types/worker`, { headers, status: 204 });
    const records = await recordsOf("audit-graph-1");
    assert.deepEqual(records.map((r) => r.action), [
      "project_type.create",
      "project_type.update",
      "bindings.replace",
      "project_type.delete",
    ]);
    assert.deepEqual([records[1]!.from, records[1]!.to], [
      { slug: "worker", name: "Worker" },
      { slug: "worker", name: "Workers" },
    ]);
    assert.equal(records[2]!.target, `project_type:${seeded.org}/worker`);
    assert.deepEqual((records[2]!.to as { plugin_id: string }[]).map((b) => b.plugin_id), [seeded.configPluginId]);
  });

  await t.step("a refused write leaves no record", async () => {
    const headers = { "x-request-id": "audit-refused-1" };
    const stale = await app.request("PATCH", `/orgs/${seeded.org}`, {
      body: { name: "X" },
      headers: { ...headers, "if-match": '"stale"' },
    });
    assert.equal(stale.status, 412);
    const inUse = await app.request("DELETE", `/orgs/${seeded.org}/project-types/http-api`, { headers });
    assert.equal(inUse.status, 409);
    assert.deepEqual(await recordsOf("audit-refused-1"), []);
  });

  await t.step("a key re-encryption: each application moved, by field name and key id, and the run", async () => {
    const old = await Keyring.parse(oldKey);
    const field = (name: string) => credentialContext(seeded.org, "demo", "legacy", name);
    await app.services.store.createApplication(seeded.org, "demo", {
      slug: "legacy",
      name: "Legacy",
      credentials: { token: await old.encrypt(makeSecret("legacy"), field("token")) },
    });
    const r = await app.request("POST", "/admin/credentials/reencrypt", {
      headers: { "x-request-id": "audit-keys-1" },
    });
    assert.equal(r.status, 200, r.text);
    const records = await recordsOf("audit-keys-1");
    assert.deepEqual(records.map((x) => [x.action, x.target]), [
      ["application.reencrypt", `${seeded.org}/demo/legacy`],
      ["credentials.reencrypt", "*"],
    ]);
    assert.deepEqual(records[0]!.detail, {
      credential_fields: { added: [], changed: ["token"], removed: [] },
      key_id: "new",
    });
    assert.deepEqual(records[1]!.detail, { key_id: "new", applications: 1, plugins: 0, values: 1 });
  });
});
