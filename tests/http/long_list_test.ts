/**
 * Long listings through the HTTP API, with a real plugin process and a
 * loopback upstream: one of more keys than one slice (`core/slices.ts`),
 * checked, cached and serialised a slice at a time; and one of megabytes,
 * checked and serialised on the answer worker's thread and written as the
 * bytes it made (`core/encoded_list.ts`). Either is the same answer as a
 * short one.
 */
import assert from "node:assert/strict";
import { MASKED_VALUE } from "../../core/tabs.ts";
import { SLICE_ITEMS } from "../../core/slices.ts";
import { startKvUpstream } from "../fixtures/http-config/upstream.ts";
import { seedBoundPlugin } from "../support/seed.ts";
import { DEMO_PACKAGES, ROOT, startTestApp, type TestApp } from "../support/test_app.ts";

const PACKAGE = {
  name: "@imbi-test/http-config",
  dir: `${ROOT}tests/fixtures/http-config`,
  entryPoints: ["http-config", "http-config-uncached"],
};
const TAB = "/orgs/acme/projects/web/configuration";

for (
  const [what, keys] of [
    ["more keys than one slice", 2 * SLICE_ITEMS + 500],
    ["megabytes of keys", 30_000],
  ] as const
) {
  Deno.test(`a Configuration tab of ${what} is streamed, cached and masked like a short one`, (t) => longList(t, keys));
}

async function longList(t: Deno.TestContext, keys: number): Promise<void> {
  const upstream = startKvUpstream({ keys });
  await using app: TestApp = await startTestApp({ packages: [PACKAGE, ...DEMO_PACKAGES] });
  try {
    await seedBoundPlugin(app, {
      plugin: "http-config",
      credentials: { token: "kv-long-list" },
      options: { endpoint: upstream.url },
    });
    let first: { key: string; secret: boolean }[] = [];

    await t.step("the listing is streamed whole: every key, in order, as JSON", async () => {
      const r = await app.request("GET", TAB, { token: app.readToken });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get("content-type"), "application/json");
      assert.equal(r.headers.get("content-length"), null, "a streamed body has no length up front");
      assert.equal(r.headers.get("age"), "0");
      assert.equal(r.body.source.cached, false);
      first = r.body.items;
      assert.equal(first.length, keys + 1);
      assert.equal(r.text, JSON.stringify(r.body), "compact JSON, as c.json writes");
      assert.equal(first[0]!.key, "KEY_00");
      assert.ok(first.some((i) => i.key === "DB_PASSWORD" && i.secret));
      assert.equal(upstream.calls("GET /keys"), 1);
    });

    await t.step("the second read comes from the cache, the same keys", async () => {
      const r = await app.request("GET", TAB, { token: app.readToken });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.source.cached, true);
      assert.match(r.headers.get("age") ?? "", /^\d+$/);
      assert.deepEqual(r.body.items, first);
      assert.equal(upstream.calls("GET /keys"), 1, "the upstream was not asked again");
      const again = await app.request("GET", TAB, { token: app.readToken });
      assert.deepEqual(again.body.items, first, "a cached list's bytes are written again unchanged");
    });

    await t.step("values are masked for a read token in a long list too", async () => {
      const r = await app.request("POST", `${TAB}/values`, { body: {}, token: app.readToken });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get("content-length"), null);
      assert.equal(r.body.items.length, keys + 1);
      const secret = r.body.items.find((i: { key: string }) => i.key === "DB_PASSWORD");
      assert.deepEqual({ value: secret.value, masked: secret.masked }, { value: MASKED_VALUE, masked: true });
      assert.ok(!r.text.includes("upstream-db-password"), "the secret value is nowhere in the body");
      assert.equal(r.body.items.filter((i: { masked?: true }) => i.masked).length, 1, "only the secret key");
    });

    await t.step("the admin token sees the values, from the same cached answer", async () => {
      const r = await app.request("POST", `${TAB}/values`, { body: {} });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.source.cached, true);
      assert.equal(r.body.items.length, keys + 1);
      const secret = r.body.items.find((i: { key: string }) => i.key === "DB_PASSWORD");
      assert.deepEqual({ value: secret.value, masked: secret.masked }, {
        value: "upstream-db-password",
        masked: undefined,
      });
    });
  } finally {
    await upstream.shutdown();
  }
}
