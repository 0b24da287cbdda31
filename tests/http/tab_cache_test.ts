/**
 * The response cache of tab reads through the HTTP API, with real plugin
 * processes and a loopback upstream that counts what reaches it
 * (`tests/fixtures/http-config`): hits with `Age` and `source.cached`,
 * masking of cached secret values for read tokens, `Cache-Control: no-cache`,
 * invalidation on writes and on credential and option changes, and one
 * upstream call for concurrent misses.
 */
import assert from "node:assert/strict";
import { MASKED_VALUE } from "../../core/tabs.ts";
import { startKvUpstream } from "../fixtures/http-config/upstream.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { seedBoundPlugin } from "../support/seed.ts";
import { DEMO_PACKAGES, ROOT, startTestApp, type TestApp, type TestResponse } from "../support/test_app.ts";

const PACKAGE = {
  name: "@imbi-test/http-config",
  dir: `${ROOT}tests/fixtures/http-config`,
  entryPoints: ["http-config", "http-config-uncached"],
};
const SERVICE = "/orgs/acme/third-party-services/vendor";
const TAB = "/orgs/acme/projects/web/configuration";

/** Waits for a condition that other requests in flight will make true; fails after 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function assertFresh(r: TestResponse): void {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.source.cached, false, "answered by the plugin");
  assert.equal(r.headers.get("age"), "0");
}

function assertCached(r: TestResponse): void {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.source.cached, true, "answered from the cache");
  assert.match(r.headers.get("age") ?? "", /^\d+$/);
  assert.equal(r.headers.get("content-type"), "application/json");
  assert.match(r.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, "a cached answer carries its request id too");
}

function byKey(r: TestResponse): Record<string, { value: string; masked?: true }> {
  return Object.fromEntries(r.body.items.map((i: { key: string }) => [i.key, i]));
}

Deno.test("tab reads of a cacheable Plugin node go through the response cache", async (t) => {
  const upstream = startKvUpstream({ keys: 50 });
  await using app: TestApp = await startTestApp({ packages: [PACKAGE, ...DEMO_PACKAGES] });
  try {
    const token = makeSecret("kv-token");
    await seedBoundPlugin(app, {
      plugin: "http-config",
      credentials: { token },
      options: { endpoint: upstream.url },
    });
    const keyCalls = () => upstream.calls("GET /keys");

    await t.step("a second read is answered from the cache, with Age and source.cached", async () => {
      assertFresh(await app.request("GET", TAB));
      assert.equal(keyCalls(), 1);
      const again = await app.request("GET", TAB);
      assertCached(again);
      assert.equal(again.body.items.length, 51);
      assert.equal(keyCalls(), 1, "the upstream was not asked again");
      assert.equal(upstream.tokens.at(-1), token);
    });

    await t.step("a cached secret value is masked for a read token and shown to the admin", async () => {
      const admin = await app.request("POST", `${TAB}/values`, { body: {} });
      assertFresh(admin);
      assert.equal(byKey(admin).DB_PASSWORD!.value, "upstream-db-password");
      const reader = await app.request("POST", `${TAB}/values`, { body: {}, token: app.readToken });
      assertCached(reader);
      assert.deepEqual(
        { value: byKey(reader).DB_PASSWORD!.value, masked: byKey(reader).DB_PASSWORD!.masked },
        { value: MASKED_VALUE, masked: true },
      );
      assert.equal(byKey(reader).KEY_07!.value, "value-7");

      // The other way round: the read token fills the entry, the admin reads it.
      const body = { keys: ["DB_PASSWORD", "KEY_01"] };
      const first = await app.request("POST", `${TAB}/values`, { body, token: app.readToken });
      assertFresh(first);
      assert.equal(byKey(first).DB_PASSWORD!.value, MASKED_VALUE);
      const second = await app.request("POST", `${TAB}/values`, { body });
      assertCached(second);
      assert.equal(byKey(second).DB_PASSWORD!.value, "upstream-db-password");
      assert.equal(byKey(second).DB_PASSWORD!.masked, undefined);
      assert.equal(upstream.calls("GET /values"), 2, "one call per argument list");
    });

    await t.step("Cache-Control: no-cache asks the plugin, and its answer is what the next read gets", async () => {
      const before = keyCalls();
      assertFresh(await app.request("GET", TAB, { headers: { "cache-control": "no-cache" } }));
      assert.equal(keyCalls(), before + 1);
      assertCached(await app.request("GET", TAB));
      assert.equal(keyCalls(), before + 1);
    });

    await t.step("a write through the node drops its cached answers", async () => {
      assertCached(await app.request("GET", TAB));
      const put = await app.request("PUT", `${TAB}/NEW_KEY`, { body: { value: "v", data_type: "string" } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.source.cached, false);
      assert.equal(put.headers.get("age"), null, "writes carry no Age");
      const after = await app.request("GET", TAB);
      assertFresh(after);
      assert.ok(after.body.items.some((i: { key: string }) => i.key === "NEW_KEY"));
      assertCached(await app.request("GET", TAB));

      const del = await app.request("DELETE", `${TAB}/NEW_KEY`);
      assert.equal(del.status, 200, del.text);
      const gone = await app.request("GET", TAB);
      assertFresh(gone);
      assert.ok(!gone.body.items.some((i: { key: string }) => i.key === "NEW_KEY"));
      const values = await app.request("POST", `${TAB}/values`, { body: {} });
      assertFresh(values);
      assert.equal(byKey(values).NEW_KEY, undefined, "values cached before the write were dropped too");
    });

    await t.step("concurrent misses of one key make one upstream call", async () => {
      await app.ok("DELETE", `${TAB}/NOTHING`); // drops the entries
      const before = { calls: keyCalls(), stats: app.services.tabCache.stats };
      upstream.hold();
      const reads = Array.from({ length: 10 }, () => app.request("GET", TAB));
      await until(() => app.services.tabCache.stats.misses - before.stats.misses >= 10, "ten reads missed");
      upstream.release();
      const answers = await Promise.all(reads);
      for (const r of answers) assertFresh(r);
      assert.equal(keyCalls() - before.calls, 1);
      assert.equal(app.services.tabCache.stats.coalesced - before.stats.coalesced, 9);
      assert.deepEqual(new Set(answers.map((r) => r.text.replace(/"last_modified":"[^"]*"/g, ""))).size, 1);
    });

    await t.step("a credential change drops the node's entries; the next call runs with the new one", async () => {
      assertCached(await app.request("GET", TAB));
      const rotated = makeSecret("kv-token-rotated");
      await app.ok("PATCH", `${SERVICE}/applications/default`, { body: { credentials: { token: rotated } } });
      assertFresh(await app.request("GET", TAB));
      assert.equal(upstream.tokens.at(-1), rotated);
      assertCached(await app.request("GET", TAB));
    });

    await t.step("an option change drops the node's entries", async () => {
      const before = keyCalls();
      await app.ok("PATCH", `${SERVICE}/plugins/http-config`, {
        body: { options: { endpoint: upstream.url, namespace: "/other" } },
      });
      assertFresh(await app.request("GET", TAB));
      assert.equal(keyCalls(), before + 1);
      assertCached(await app.request("GET", TAB));
    });

    await t.step("the counters say what happened", () => {
      const stats = app.services.tabCache.stats;
      assert.ok(stats.hits >= 8, JSON.stringify(stats));
      assert.ok(stats.misses >= 10, JSON.stringify(stats));
      assert.ok(stats.invalidations >= 1 && stats.bypasses === 1 && stats.entries >= 1, JSON.stringify(stats));
      assert.ok(stats.bytes > 0 && stats.bytes <= stats.maxBytes);
    });

    await t.step("logs schema of a cacheable logs plugin is cached too", async () => {
      const logs = await app.ok("POST", `${SERVICE}/plugins`, {
        body: { slug: "logs", plugin: "demo-logs", label: "Logs", options: {} },
      });
      const config = await app.ok("GET", `${SERVICE}/plugins/http-config`);
      await app.ok("PUT", "/orgs/acme/projects/web/plugins", {
        body: {
          bindings: [
            { plugin_id: config.id, tab: "configuration", default: true },
            { plugin_id: logs.id, tab: "logs", default: true },
          ],
        },
      });
      const first = await app.request("GET", "/orgs/acme/projects/web/logs/schema");
      assertFresh(first);
      const second = await app.request("GET", "/orgs/acme/projects/web/logs/schema");
      assertCached(second);
      assert.deepEqual(second.body.fields, first.body.fields);
      const search = await app.request("GET", "/orgs/acme/projects/web/logs?limit=5");
      assert.equal(search.status, 200, search.text);
      assert.equal(search.body.source.cached, false, "searches are never cached");
      assert.equal(search.headers.get("age"), null);
    });
  } finally {
    await upstream.shutdown();
  }
});

Deno.test("tab reads without hints.cacheable call listKeys every time, and a missing describePrefix once", async () => {
  const upstream = startKvUpstream({ keys: 5 });
  await using app: TestApp = await startTestApp({ packages: [PACKAGE] });
  try {
    await seedBoundPlugin(app, {
      plugin: "http-config-uncached",
      credentials: { token: makeSecret("kv-token") },
      options: { endpoint: upstream.url },
    });
    const prefixCalls = async () => {
      const text = (await app.request("GET", "/metrics")).text;
      const line = text.split("\n").find((l) =>
        l.startsWith("imbi_plugin_calls_total{") && l.includes('plugin="http-config-uncached"') &&
        l.includes('method="describePrefix"') && l.includes('outcome="not_implemented"')
      );
      return line === undefined ? 0 : Number(line.split(" ").at(-1));
    };
    const before = await prefixCalls();
    for (let i = 1; i <= 3; i++) {
      const r = await app.request("GET", TAB);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.source.cached, false);
      assert.equal(r.headers.get("age"), null);
      assert.equal("prefix" in r.body, false);
      assert.equal(upstream.calls("GET /keys"), i);
    }
    assert.equal(app.services.tabCache.stats.entries, 0);
    assert.equal(await prefixCalls() - before, 1, "a handler without describePrefix is asked once, not per request");
  } finally {
    await upstream.shutdown();
  }
});

Deno.test("IMBI_TAB_CACHE_TTL_MS=0 turns the response cache off", async () => {
  const upstream = startKvUpstream({ keys: 5 });
  await using app: TestApp = await startTestApp({ packages: [PACKAGE], env: { IMBI_TAB_CACHE_TTL_MS: "0" } });
  try {
    await seedBoundPlugin(app, {
      plugin: "http-config",
      credentials: { token: makeSecret("kv-token") },
      options: { endpoint: upstream.url },
    });
    await app.ok("GET", TAB);
    const r = await app.request("GET", TAB);
    assert.equal(r.body.source.cached, false);
    assert.equal(upstream.calls("GET /keys"), 2);
  } finally {
    await upstream.shutdown();
  }
});
