import assert from "node:assert/strict";
import { setLogLevel } from "../../core/logger.ts";
import { capturedLogs, makeSecret, scanForSecrets, scanStats } from "../support/secret_scan.ts";
import { seedBoundPlugin } from "../support/seed.ts";
import { ROOT, startTestApp } from "../support/test_app.ts";

Deno.test("scanForSecrets() fails on a secret in plain, base64 or URI-encoded form", () => {
  const secret = makeSecret("probe");
  assert.throws(() => scanForSecrets(`{"value":"${secret}"}`, "a body"), /leaked into a body/);
  assert.throws(() => scanForSecrets(btoa(secret), "a body"));
  assert.throws(() => scanForSecrets(encodeURIComponent(secret), "a body"));
  scanForSecrets("nothing to see", "a body");
});

Deno.test("a plugin that tries to leak its credential reaches no response and no log line", async (t) => {
  setLogLevel("debug");
  const app = await startTestApp({
    packages: [{
      name: "@imbi-test/leaky",
      dir: `${ROOT}tests/fixtures/leaky`,
      entryPoints: ["leaky", "leaky-encodings"],
    }],
  });
  try {
    const secret = makeSecret("leaky-token");
    await seedBoundPlugin(app, { plugin: "leaky", credentials: { api_token: secret } });
    const base = "/orgs/acme/projects/web/configuration";

    await t.step("a credential returned as data is redacted", async () => {
      const keys = await app.request("GET", base);
      assert.equal(keys.status, 200, keys.text);
      assert.equal(keys.body.items[0].key, "TOKEN_[redacted]");
      assert.ok(!("prefix" in keys.body), "leaky does not implement describePrefix: no prefix");
      const values = await app.request("POST", `${base}/values`, { body: {} });
      assert.equal(values.body.items[0].value, "[redacted]");
    });
    await t.step("a credential in a typed error message is scrubbed", async () => {
      const r = await app.request("PUT", `${base}/K`, { body: { value: "v", data_type: "string" } });
      assert.equal(r.status, 502);
      assert.match(r.body.detail, /upstream refused token/);
    });
    await t.step("an untyped error's message stays out of the response", async () => {
      const r = await app.request("DELETE", `${base}/K`);
      assert.equal(r.status, 502);
      assert.doesNotMatch(r.body.detail, /unexpected failure/);
    });
    await t.step("the plugin's stderr reached the log, scrubbed", () => {
      const lines = capturedLogs().filter((l) => l.includes("debugging with token"));
      assert.ok(lines.length > 0, "the plugin's stderr line was not logged at all");
    });
    await t.step("every response and log line of this process was scanned", () => {
      const stats = scanStats();
      assert.ok(stats.responses >= 10 && stats.logLines > 0 && stats.secrets >= 2, JSON.stringify(stats));
    });
  } finally {
    setLogLevel("info");
    await app.close();
  }
});
