import assert from "node:assert/strict";
import { seedWalkthrough } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

Deno.test("GET /orgs/{org}/projects/{id}/configuration", async (t) => {
  await using app = await startTestApp();
  const seed = await seedWalkthrough(app);
  const base = `/orgs/${seed.org}/projects/${seed.projectId}`;

  await t.step("lists keys from the bound plugin with a source block", async () => {
    const r = await app.request("GET", `${base}/configuration`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.items.map((k: { key: string }) => k.key), ["GREETING"]);
    assert.equal(r.body.items[0].value, undefined);
    assert.equal(r.body.prefix, `memory:/${seed.org}/web`);
    assert.equal(r.body.source.plugin, "demo-config");
    assert.equal(r.body.source.package, "@imbi/plugin-demo-config");
    assert.equal(r.body.source.version, "1.0.0");
    assert.equal(r.body.source.reason, "project_type_default");
    assert.equal(r.body.source.binding_from, "project_type:http-api");
  });

  await t.step("writes, reads values and deletes idempotently", async () => {
    const put = await app.request("PUT", `${base}/configuration/API_URL`, {
      body: { value: "https://api.example", data_type: "string" },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.item.key, "API_URL");
    const values = await app.request("POST", `${base}/configuration/values`, {
      body: { keys: ["API_URL", "MISSING"] },
    });
    assert.equal(values.status, 200, values.text);
    assert.deepEqual(values.body.items.map((v: { key: string; value: string }) => [v.key, v.value]), [[
      "API_URL",
      "https://api.example",
    ]]);
    for (let i = 0; i < 2; i++) {
      const del = await app.request("DELETE", `${base}/configuration/API_URL`);
      assert.equal(del.status, 200, del.text);
    }
    const after = await app.request("POST", `${base}/configuration/values`, { body: {} });
    assert.deepEqual(after.body.items.map((v: { key: string }) => v.key), ["GREETING"]);
  });

  await t.step("renders the search_template per project", async () => {
    const r = await app.request("GET", `${base}/configuration`);
    assert.equal(r.status, 200);
    const prefix = await app.services.tabs.listKeys({ org: seed.org, project: "web", requestId: "t" });
    assert.equal(prefix.source.slug, "config");
  });

  await t.step("a plugin's refusal is a 422 problem", async () => {
    const r = await app.request("PUT", `${base}/configuration/K`, { body: { value: "v", data_type: "blob" } });
    assert.equal(r.status, 422);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
    assert.match(r.body.detail, /data_type/);
  });

  await t.step("a malformed body names the field", async () => {
    const r = await app.request("PUT", `${base}/configuration/K`, { body: { value: 1 } });
    assert.equal(r.status, 422);
    const pointers = r.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    assert.deepEqual(pointers, ["/data_type", "/value"]);
  });

  await t.step("unknown project and org are 404", async () => {
    assert.equal((await app.request("GET", `/orgs/${seed.org}/projects/nope/configuration`)).status, 404);
    const r = await app.request("GET", `/orgs/nope/projects/web/configuration`);
    assert.equal(r.status, 404);
    assert.match(r.body.detail, /Organization "nope"/);
  });

  await t.step("?source= by id, slug and service/slug; unknown source is 404", async () => {
    for (const source of [seed.configPluginId, "config", "demo/config"]) {
      const r = await app.request("GET", `${base}/configuration?source=${encodeURIComponent(source)}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.source.reason, "source");
    }
    const r = await app.request("GET", `${base}/configuration?source=other`);
    assert.equal(r.status, 404);
  });

  await t.step("a disabled plugin answers 503 with Retry-After", async () => {
    const off = await app.request("PATCH", `/orgs/${seed.org}/third-party-services/demo/plugins/config`, {
      body: { enabled: false },
    });
    assert.equal(off.status, 200, off.text);
    const r = await app.request("GET", `${base}/configuration`);
    assert.equal(r.status, 503);
    assert.ok(r.headers.get("retry-after"));
    assert.match(r.body.detail, /disabled/);
    await app.request("PATCH", `/orgs/${seed.org}/third-party-services/demo/plugins/config`, {
      body: { enabled: true },
    });
  });
});

Deno.test("GET /orgs/{org}/projects/{id}/logs", async (t) => {
  const fixed = new Date("2026-06-01T12:00:00Z");
  await using app = await startTestApp({ clock: () => fixed });
  const seed = await seedWalkthrough(app);
  const base = `/orgs/${seed.org}/projects/web/logs`;

  await t.step("defaults to the last hour, newest first, with a cursor", async () => {
    const r = await app.request("GET", `${base}?limit=5`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.entries.length, 5);
    assert.equal(r.body.entries[0].timestamp, "2026-06-01T12:00:00.000Z");
    assert.ok(r.body.next_cursor);
    assert.equal(r.body.source.plugin, "demo-logs");
    const next = await app.request("GET", `${base}?limit=5&cursor=${encodeURIComponent(r.body.next_cursor)}`);
    assert.equal(next.status, 200, next.text);
    assert.equal(next.body.entries[0].timestamp, "2026-06-01T11:55:00.000Z");
  });

  await t.step("filters and levels are passed through", async () => {
    const r = await app.request("GET", `${base}?level=error&filter=message:contains:web&limit=50`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.entries.length > 0);
    assert.ok(r.body.entries.every((e: { level: string }) => e.level === "error"));
  });

  await t.step("a cursor from another query is 409", async () => {
    const first = await app.request("GET", `${base}?limit=2`);
    const r = await app.request(
      "GET",
      `${base}?limit=2&level=warn&cursor=${encodeURIComponent(first.body.next_cursor)}`,
    );
    assert.equal(r.status, 409);
  });

  await t.step("bad query parameters are 400 naming each one", async () => {
    const r = await app.request("GET", `${base}?limit=0&filter=nocolon&start=yesterday`);
    assert.equal(r.status, 400);
    const pointers = r.body.errors.map((e: { pointer: string }) => e.pointer);
    assert.ok(pointers.includes("/limit"), r.text);
    assert.ok(pointers.some((p: string) => p.startsWith("/filter")), r.text);
  });

  await t.step("schema and histogram", async () => {
    const schema = await app.request("GET", `${base}/schema`);
    assert.equal(schema.status, 200, schema.text);
    assert.ok(schema.body.fields.some((f: { name: string }) => f.name === "project"));
    const histogram = await app.request("GET", `${base}/histogram?buckets=6`);
    assert.equal(histogram.status, 200, histogram.text);
    assert.equal(histogram.body.buckets.length, 6);
    assert.deepEqual(histogram.body.warnings, []);
    const all = await app.request("GET", `${base}?limit=1000`);
    const counted = histogram.body.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0);
    assert.equal(counted, all.body.entries.length);
    assert.equal(counted, 61, "an hour at one entry a minute, both ends included");
  });

  await t.step("nothing bound to a tab is 404 saying so", async () => {
    await app.request("POST", `/orgs/${seed.org}/projects`, { body: { slug: "lonely", name: "Lonely" } });
    const r = await app.request("GET", `/orgs/${seed.org}/projects/lonely/logs`);
    assert.equal(r.status, 404);
    assert.match(r.body.detail, /No plugin is bound to the logs tab/);
  });
});
