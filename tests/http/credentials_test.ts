import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { Keyring } from "../../core/crypto.ts";
import { buildServices, type Services } from "../../core/wiring.ts";
import { createApp } from "../../routes/app.ts";
import { installLogScanner, makeSecret, scanForSecrets } from "../support/secret_scan.ts";

const ADMIN = `admin-${crypto.randomUUID()}`;

async function withService<T>(
  dataDir: string,
  keys: string,
  fn: (call: (method: string, path: string, body?: unknown) => Promise<Response>, services: Services) => Promise<T>,
): Promise<T> {
  const services = await buildServices(loadConfig({
    IMBI_DATA_DIR: dataDir,
    IMBI_LOCKFILE: `${dataDir}/plugins.lock.json`,
    IMBI_ADMIN_TOKEN: ADMIN,
    IMBI_ENCRYPTION_KEYS: keys,
  }));
  const app = createApp({ ...services, version: "test", clock: () => new Date() });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    scanForSecrets(await response.clone().text(), `the response to ${method} ${path}`);
    return response;
  };
  try {
    return await fn(call, services);
  } finally {
    await services.close();
  }
}

Deno.test("POST /admin/credentials/reencrypt", async (t) => {
  installLogScanner();
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-rotate-" });
  const oldKey = Keyring.generate("old");
  const newKey = Keyring.generate("new");
  const secret = makeSecret("rotated");
  try {
    await withService(dataDir, oldKey, async (call) => {
      assert.equal((await call("POST", "/orgs", { slug: "acme", name: "Acme" })).status, 201);
      assert.equal((await call("POST", "/orgs/acme/third-party-services", { slug: "aws", name: "AWS" })).status, 201);
      const created = await call("POST", "/orgs/acme/third-party-services/aws/applications", {
        slug: "prod",
        name: "Prod",
        credentials: { secret_access_key: secret, access_key_id: "AKIDEXAMPLE" },
      });
      assert.equal(created.status, 201);
    });

    await t.step("moves every value to the first key, and a second run has nothing to move", async () => {
      await withService(dataDir, `${newKey},${oldKey}`, async (call, services) => {
        const first = await call("POST", "/admin/credentials/reencrypt");
        assert.equal(first.status, 200);
        assert.deepEqual(await first.json(), { key_id: "new", applications: 1, plugins: 0, values: 2 });
        const again = await call("POST", "/admin/credentials/reencrypt");
        assert.deepEqual(await again.json(), { key_id: "new", applications: 0, plugins: 0, values: 0 });
        const stored = await services.store.getApplication("acme", "aws", "prod");
        assert.deepEqual(Object.values(stored!.credentials).map((c) => Keyring.kidOf(c)), ["new", "new"]);
      });
    });

    await t.step("after it, the old key can be dropped", async () => {
      await withService(dataDir, newKey, async (_call, services) => {
        const stored = await services.store.getApplication("acme", "aws", "prod");
        const plain = await services.directory.decryptCredentials("acme", "aws", stored!);
        assert.equal(plain.secret_access_key, secret);
        assert.equal(plain.access_key_id, "AKIDEXAMPLE");
      });
    });

    await t.step("needs the admin token", async () => {
      const services = await buildServices(loadConfig({
        IMBI_DATA_DIR: dataDir,
        IMBI_LOCKFILE: `${dataDir}/plugins.lock.json`,
        IMBI_ADMIN_TOKEN: ADMIN,
        IMBI_READ_TOKENS: "read-only-token-for-the-test",
        IMBI_ENCRYPTION_KEYS: newKey,
      }));
      try {
        const app = createApp({ ...services, version: "test", clock: () => new Date() });
        const response = await app.request("/admin/credentials/reencrypt", {
          method: "POST",
          headers: { authorization: "Bearer read-only-token-for-the-test" },
        });
        assert.equal(response.status, 403);
        await response.body?.cancel();
      } finally {
        await services.close();
      }
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
