/**
 * Secret options, masked secret values, the Configuration prefix and the
 * histogram of logs plugins without one, through the HTTP API with real
 * plugin processes (`tests/fixtures/tab-features`).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { DecryptionError, Keyring } from "../../core/crypto.ts";
import { isSealed, optionContext } from "../../core/credentials.ts";
import { setLogLevel } from "../../core/logger.ts";
import { MASKED_VALUE } from "../../core/tabs.ts";
import { buildServices } from "../../core/wiring.ts";
import { createApp } from "../../routes/app.ts";
import { capturedLogs, makeSecret } from "../support/secret_scan.ts";
import { seedBoundPlugin } from "../support/seed.ts";
import { lockLocalPackages, ROOT, startTestApp, type TestApp } from "../support/test_app.ts";

const PACKAGE = {
  name: "@imbi-test/tab-features",
  dir: `${ROOT}tests/fixtures/tab-features`,
  entryPoints: ["secret-options", "plain-logs", "claims-histogram"],
};
const NODE = "/orgs/acme/third-party-services/vendor/plugins/secret-options";
const TAB = "/orgs/acme/projects/web/configuration";

function reversed(text: string): string {
  return [...text].reverse().join("");
}

async function values(
  app: TestApp,
  token?: string,
): Promise<Record<string, { value: string; secret: boolean; masked?: true }>> {
  const r = await app.request("POST", `${TAB}/values`, { body: {}, ...(token ? { token } : {}) });
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.items.map((i: { key: string }) => [i.key, i]));
}

Deno.test("Plugin node secret options (writeOnly)", async (t) => {
  setLogLevel("debug"); // the plugin's stderr is logged at debug
  await using app = await startTestApp({ packages: [PACKAGE] });
  const secret = makeSecret("option-token");
  const id = await seedBoundPlugin(app, {
    plugin: "secret-options",
    options: { token: secret, region: "eu-central-1" },
  });

  await t.step("responses show the secret option as set, never its value", async () => {
    const node = await app.ok("GET", NODE);
    assert.deepEqual(node.options, { token: { set: true }, region: "eu-central-1" });
    const list = await app.ok("GET", "/orgs/acme/third-party-services/vendor/plugins");
    assert.deepEqual(list.items[0].options.token, { set: true });
  });

  await t.step("the store holds a ciphertext bound to the node and the option", async () => {
    const stored = await app.services.store.getPlugin("acme", "vendor", id);
    assert.ok(isSealed(stored.options.token), String(stored.options.token));
    assert.equal(stored.options.region, "eu-central-1");
    const keyring = app.services.directory.keyring;
    const sealed = stored.options.token as string;
    assert.equal(await keyring.decrypt(sealed, optionContext("acme", "vendor", id, "token")), secret);
    await assert.rejects(
      keyring.decrypt(sealed, optionContext("acme", "vendor", "another-node", "token")),
      DecryptionError,
    );
  });

  await t.step("the plugin gets the plaintext; its answers, errors and stderr are redacted", async () => {
    const shown = await values(app);
    assert.equal(shown.TOKEN_REVERSED!.value, reversed(secret));
    assert.equal(shown.TOKEN_LENGTH!.value, String(secret.length));
    assert.equal(shown.TOKEN!.value, "[redacted]");
    const put = await app.request("PUT", `${TAB}/K`, { body: { value: "v", data_type: "string" } });
    assert.equal(put.status, 422);
    assert.match(put.body.detail, /refused token \[redacted\]/);
    await app.ok("GET", TAB); // writes the token to its stderr
  });

  await t.step("an update that leaves the secret out keeps it, unchanged in the store", async () => {
    const before = (await app.services.store.getPlugin("acme", "vendor", id)).options.token;
    const node = await app.ok("PATCH", NODE, { body: { options: { region: "us-east-1" } } });
    assert.deepEqual(node.options, { token: { set: true }, region: "us-east-1" });
    assert.equal((await app.services.store.getPlugin("acme", "vendor", id)).options.token, before);
    const shown = await values(app);
    assert.equal(shown.TOKEN_REVERSED!.value, reversed(secret));
    assert.equal(shown.REGION!.value, "us-east-1");
  });

  await t.step("a secret that breaks the schema is 422 on its pointer, without its value", async () => {
    const r = await app.request("PATCH", NODE, { body: { options: { token: "short" } } });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.body.errors, [{ pointer: "/options/token", message: "must NOT have fewer than 8 characters" }]);
    assert.doesNotMatch(r.text, /short/);
  });

  await t.step("a new value replaces it; null removes it", async () => {
    const next = makeSecret("option-token-2");
    await app.ok("PATCH", NODE, { body: { options: { token: next } } });
    assert.equal((await values(app)).TOKEN_REVERSED!.value, reversed(next));
    const node = await app.ok("PATCH", NODE, { body: { options: { token: null } } });
    assert.deepEqual(node.options, { region: "eu-west-1" });
    assert.equal((await values(app)).TOKEN_LENGTH!.value, "0");
  });

  await t.step("the plugin's stderr reached the log, scrubbed", () => {
    assert.ok(capturedLogs().some((line) => line.includes("listing keys with token [redacted]")));
    setLogLevel("info");
  });
});

Deno.test("POST /admin/credentials/reencrypt moves secret options to the new key", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-rotate-options-" });
  const lockfilePath = `${dataDir}/plugins.lock.json`;
  await lockLocalPackages(lockfilePath, [PACKAGE]);
  const admin = `admin-${crypto.randomUUID()}`;
  const secret = makeSecret("rotated-option");
  const start = async (keys: string) => {
    const config = { IMBI_DATA_DIR: dataDir, IMBI_LOCKFILE: lockfilePath, IMBI_ADMIN_TOKEN: admin };
    const services = await buildServices(loadConfig({ ...config, IMBI_ENCRYPTION_KEYS: keys }));
    const app = createApp({ ...services, version: "test", clock: () => new Date() });
    const call = (method: string, path: string, body?: unknown) =>
      app.request(path, {
        method,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    return { services, call };
  };
  const oldKey = Keyring.generate("old");
  const newKey = Keyring.generate("new");
  try {
    const first = await start(oldKey);
    try {
      assert.equal((await first.call("POST", "/orgs", { slug: "acme", name: "Acme" })).status, 201);
      assert.equal(
        (await first.call("POST", "/orgs/acme/third-party-services", { slug: "vendor", name: "Vendor" })).status,
        201,
      );
      const created = await first.call("POST", "/orgs/acme/third-party-services/vendor/plugins", {
        slug: "secrets",
        plugin: "secret-options",
        label: "S",
        options: { token: secret },
      });
      assert.equal(created.status, 201, await created.clone().text());
    } finally {
      await first.services.close();
    }
    const second = await start(`${newKey},${oldKey}`);
    try {
      const moved = await second.call("POST", "/admin/credentials/reencrypt");
      assert.deepEqual(await moved.json(), { key_id: "new", applications: 0, plugins: 1, values: 1 });
      const node = await second.services.store.getPlugin("acme", "vendor", "secrets");
      assert.equal(Keyring.kidOf(node.options.token as string), "new");
      const onlyNew = await Keyring.parse(newKey);
      assert.equal(
        await onlyNew.decrypt(node.options.token as string, optionContext("acme", "vendor", node.id, "token")),
        secret,
      );
      const again = await second.call("POST", "/admin/credentials/reencrypt");
      assert.deepEqual(await again.json(), { key_id: "new", applications: 0, plugins: 0, values: 0 });
    } finally {
      await second.services.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("POST /orgs/{org}/projects/{id}/configuration/values masks secret values for read tokens", async (t) => {
  await using app = await startTestApp({ packages: [PACKAGE] });
  await seedBoundPlugin(app, { plugin: "secret-options", options: { token: makeSecret("mask-token") } });

  await t.step("a read token sees secret keys and keys of a secret data type masked", async () => {
    const shown = await values(app, app.readToken);
    assert.deepEqual(shown.DB_PASSWORD, {
      key: "DB_PASSWORD",
      data_type: "password",
      secret: true,
      value: MASKED_VALUE,
      masked: true,
    });
    assert.equal(shown.API_KEY!.value, MASKED_VALUE, "the data type is secret though the plugin said secret: false");
    assert.equal(shown.API_KEY!.secret, true);
    assert.equal(shown.REGION!.value, "eu-west-1");
    assert.equal(shown.REGION!.masked, undefined);
  });

  await t.step("the admin token sees the values, and every caller keeps its own view in any order", async () => {
    for (const token of [app.adminToken, app.readToken, app.adminToken, app.readToken]) {
      const shown = await values(app, token);
      const admin = token === app.adminToken;
      assert.equal(shown.DB_PASSWORD!.value, admin ? "db-password-value" : MASKED_VALUE);
      assert.equal(shown.API_KEY!.value, admin ? "api-key-value" : MASKED_VALUE);
    }
  });

  await t.step("the keys listing carries no values for anyone", async () => {
    const keys = await app.request("GET", TAB, { token: app.readToken });
    assert.equal(keys.status, 200, keys.text);
    assert.ok(keys.body.items.every((k: Record<string, unknown>) => !("value" in k)));
  });
});

Deno.test("GET /orgs/{org}/projects/{id}/configuration carries the plugin's prefix", async () => {
  await using app = await startTestApp({ packages: [PACKAGE] });
  await seedBoundPlugin(app, { plugin: "secret-options", options: { region: "ap-south-1" } });
  await app.ok("PUT", "/orgs/acme/projects/web/plugins", {
    body: {
      bindings: [{
        plugin_id: (await app.ok("GET", NODE)).id,
        tab: "configuration",
        default: true,
        search_template: "{org.slug}/{project.slug}",
      }],
    },
  });
  const keys = await app.ok("GET", TAB);
  assert.equal(keys.prefix, "secret://ap-south-1/acme/web");
});

Deno.test("GET /orgs/{org}/projects/{id}/logs/histogram without histogram support", async (t) => {
  await using app = await startTestApp({ packages: [PACKAGE] });
  await seedBoundPlugin(app, { plugin: "secret-options" });
  const services = "/orgs/acme/third-party-services/vendor/plugins";
  for (const plugin of ["plain-logs", "claims-histogram"]) {
    await t.step(`${plugin}: 200 with no buckets and a warning`, async () => {
      const node = await app.ok("POST", services, { body: { slug: plugin, plugin, label: plugin } });
      await app.ok("PUT", "/orgs/acme/projects/web/plugins", {
        body: { bindings: [{ plugin_id: node.id, tab: "logs", default: true }] },
      });
      const r = await app.ok("GET", "/orgs/acme/projects/web/logs/histogram?buckets=5");
      assert.deepEqual(r.buckets, []);
      assert.deepEqual(r.warnings, [
        `The logs plugin "${plugin}" (@imbi-test/tab-features) does not support histograms`,
      ]);
      assert.equal(r.source.plugin, plugin);
    });
  }
});
