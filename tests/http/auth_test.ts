import assert from "node:assert/strict";
import { startTestApp } from "../support/test_app.ts";

Deno.test("bearer-token auth on every endpoint but the probes", async (t) => {
  await using app = await startTestApp({ packages: [] });
  await t.step("/healthz, /readyz and /openapi.json need no token", async () => {
    for (const path of ["/healthz", "/readyz", "/openapi.json"]) {
      assert.equal((await app.request("GET", path, { token: null })).status, 200, path);
    }
  });
  await t.step("no token is 401 with a challenge", async () => {
    const r = await app.request("GET", "/orgs", { token: null });
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
  });
  await t.step("a wrong token is 401", async () => {
    assert.equal((await app.request("GET", "/orgs", { token: "not-the-token-at-all" })).status, 401);
  });
  await t.step("a read token reads but may not write", async () => {
    assert.equal((await app.request("GET", "/orgs", { token: app.readToken })).status, 200);
    const r = await app.request("POST", "/orgs", { token: app.readToken, body: { slug: "acme", name: "A" } });
    assert.equal(r.status, 403);
  });
  await t.step("a read token may call exactly the reads: GETs outside /admin and configuration values", async () => {
    const doc = (await app.request("GET", "/openapi.json", { token: null })).body;
    for (const [template, methods] of Object.entries<Record<string, { security?: unknown[] }>>(doc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, "x");
      for (const [method, operation] of Object.entries(methods)) {
        // `security: []` marks the probes and the document; admin operations list the `admin` role in theirs.
        const open = Array.isArray(operation.security) && operation.security.length === 0;
        const token = open ? null : app.readToken;
        const r = await app.request(method.toUpperCase(), path, { token, body: method === "get" ? undefined : {} });
        const read = (method === "get" && !template.startsWith("/admin")) ||
          (method === "post" && template.endsWith("/configuration/values"));
        if (open) assert.notEqual(r.status, 401, `${method} ${template}`);
        else {
          assert.equal(r.status === 403, !read, `${method} ${template}: ${r.status}`);
          const admin = JSON.stringify(operation.security ?? []).includes('"admin"');
          assert.equal(admin, !read, `${method} ${template}: the admin role in its security requirement`);
        }
      }
    }
  });
  await t.step("an unknown route is a 404 problem; a wrong method is 405", async () => {
    const r = await app.request("GET", "/nowhere");
    assert.equal(r.status, 404);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
    assert.equal((await app.request("PUT", "/orgs")).status, 405);
  });
});
