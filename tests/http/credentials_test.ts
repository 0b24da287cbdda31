import assert from "node:assert/strict";
import { Keyring } from "../../core/crypto.ts";
import { installLogScanner, makeSecret } from "../support/secret_scan.ts";
import { openTestApp } from "../support/test_app.ts";

const ADMIN = `admin-${crypto.randomUUID()}`;

Deno.test("POST /admin/credentials/reencrypt", async (t) => {
  installLogScanner();
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-rotate-" });
  const oldKey = Keyring.generate("old");
  const newKey = Keyring.generate("new");
  const secret = makeSecret("rotated");
  try {
    { // The credential sealed with the old key; the service closes with the block.
      await using app = await openTestApp(dataDir, { adminToken: ADMIN, env: { IMBI_ENCRYPTION_KEYS: oldKey } });
      await app.ok("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
      await app.ok("POST", "/orgs/acme/third-party-services", { body: { slug: "aws", name: "AWS" } });
      await app.ok("POST", "/orgs/acme/third-party-services/aws/applications", {
        body: { slug: "prod", name: "Prod", credentials: { secret_access_key: secret, access_key_id: "AKIDEXAMPLE" } },
      });
    }

    await t.step("moves every value to the first key, and a second run has nothing to move", async () => {
      const env = { IMBI_ENCRYPTION_KEYS: `${newKey},${oldKey}` };
      await using app = await openTestApp(dataDir, { adminToken: ADMIN, env });
      const first = await app.ok("POST", "/admin/credentials/reencrypt", { status: 200 });
      assert.deepEqual(first, { key_id: "new", applications: 1, plugins: 0, values: 2 });
      const again = await app.ok("POST", "/admin/credentials/reencrypt", { status: 200 });
      assert.deepEqual(again, { key_id: "new", applications: 0, plugins: 0, values: 0 });
      const stored = await app.services.store.getApplication("acme", "aws", "prod");
      assert.deepEqual(Object.values(stored!.credentials).map((c) => Keyring.kidOf(c)), ["new", "new"]);
    });

    await t.step("after it, the old key can be dropped", async () => {
      await using app = await openTestApp(dataDir, { adminToken: ADMIN, env: { IMBI_ENCRYPTION_KEYS: newKey } });
      const stored = await app.services.store.getApplication("acme", "aws", "prod");
      const plain = await app.services.directory.decryptCredentials("acme", "aws", stored!);
      assert.equal(plain.secret_access_key, secret);
      assert.equal(plain.access_key_id, "AKIDEXAMPLE");
    });

    await t.step("needs the admin token", async () => {
      const read = "read-only-token-for-the-test";
      const env = { IMBI_READ_TOKENS: read, IMBI_ENCRYPTION_KEYS: newKey };
      await using app = await openTestApp(dataDir, { adminToken: ADMIN, env });
      const response = await app.request("POST", "/admin/credentials/reencrypt", { token: read });
      assert.equal(response.status, 403, response.text);
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
