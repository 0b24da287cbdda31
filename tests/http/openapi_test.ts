import assert from "node:assert/strict";
import { startTestApp } from "../support/test_app.ts";

Deno.test("GET /openapi.json", async (t) => {
  await using app = await startTestApp({ packages: [] });
  const r = await app.request("GET", "/openapi.json", { token: null });
  await t.step("describes every operation the app routes", () => {
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, "3.1.0");
    const routes = app.hono.routes.filter((route) => route.method !== "ALL");
    assert.ok(routes.length >= 40, `only ${routes.length} routes`);
    for (const route of routes) {
      const path = route.path.replace(/:([A-Za-z0-9_]+)(\{[^/]*\})?/g, "{$1}");
      const method = route.method.toLowerCase();
      assert.ok(r.body.paths[path]?.[method], `${method} ${path} missing`);
    }
  });
  await t.step("request bodies are the same schemas that validate", () => {
    const create = r.body.paths["/orgs"].post.requestBody.content["application/json"].schema;
    assert.deepEqual(create.required, ["slug", "name"]);
    assert.equal(create.additionalProperties, false);
  });
  await t.step("graph resources show ETag, If-Match and 412", () => {
    const item = r.body.paths["/orgs/{org}/third-party-services/{svc}/applications/{app}"];
    const ifMatch = { $ref: "#/components/parameters/IfMatch" };
    const etag = { ETag: { $ref: "#/components/headers/ETag" } };
    assert.deepEqual(item.get.responses["200"].headers, etag);
    assert.deepEqual(item.patch.responses["200"].headers, etag);
    for (const op of [item.patch, item.delete]) {
      assert.ok(op.parameters.some((p: unknown) => JSON.stringify(p) === JSON.stringify(ifMatch)));
      assert.equal(op.responses["412"].content["application/problem+json"].schema.$ref, "#/components/schemas/Problem");
    }
    assert.deepEqual(r.body.paths["/orgs"].post.responses["201"].headers, etag);
    const bindings = r.body.paths["/orgs/{org}/projects/{id}/plugins"];
    assert.deepEqual(bindings.get.responses["200"].headers, etag);
    assert.ok(bindings.put.responses["412"]);
    assert.equal(r.body.components.parameters.IfMatch.in, "header");
    assert.equal(r.body.components.parameters.IfMatch.name, "If-Match");
    assert.equal(r.body.paths["/orgs"].get.responses["412"], undefined, "a list takes no If-Match");
  });
  await t.step("cacheable tab reads show Age, Cache-Control and source.cached", () => {
    const keys = r.body.paths["/orgs/{org}/projects/{id}/configuration"].get;
    const values = r.body.paths["/orgs/{org}/projects/{id}/configuration/values"].post;
    const schema = r.body.paths["/orgs/{org}/projects/{id}/logs/schema"].get;
    const cacheControl = JSON.stringify({ $ref: "#/components/parameters/CacheControl" });
    for (const op of [keys, values, schema]) {
      assert.deepEqual(op.responses["200"].headers, { Age: { $ref: "#/components/headers/Age" } });
      assert.ok(op.parameters.some((p: unknown) => JSON.stringify(p) === cacheControl));
    }
    const search = r.body.paths["/orgs/{org}/projects/{id}/logs"].get;
    assert.equal(search.responses["200"].headers, undefined, "searches are never cached");
    const source = keys.responses["200"].content["application/json"].schema.properties.source;
    assert.equal(source.properties.cached.type, "boolean");
    assert.ok(source.required.includes("cached"));
    assert.equal(r.body.components.parameters.CacheControl.name, "Cache-Control");
  });
  await t.step("covers the spec's endpoint list", () => {
    for (
      const path of [
        "/orgs",
        "/orgs/{org}/project-types",
        "/orgs/{org}/projects",
        "/orgs/{org}/third-party-services",
        "/orgs/{org}/third-party-services/{svc}/applications",
        "/orgs/{org}/third-party-services/{svc}/plugins",
        "/orgs/{org}/project-types/{pt}/plugins",
        "/orgs/{org}/projects/{id}/plugins",
        "/orgs/{org}/projects/{id}/tabs",
        "/orgs/{org}/projects/{id}/configuration",
        "/orgs/{org}/projects/{id}/configuration/values",
        "/orgs/{org}/projects/{id}/configuration/{key}",
        "/orgs/{org}/projects/{id}/logs",
        "/orgs/{org}/projects/{id}/logs/schema",
        "/orgs/{org}/projects/{id}/logs/histogram",
        "/admin/catalog",
        "/admin/plugins",
        "/admin/plugins/reload",
        "/admin/plugins/{package}",
        "/healthz",
        "/readyz",
      ]
    ) assert.ok(r.body.paths[path], path);
  });
});
