import assert from "node:assert/strict";
import { startTestApp } from "../support/test_app.ts";

Deno.test("GET /openapi.json", async (t) => {
  await using app = await startTestApp({ packages: [] });
  const r = await app.request("GET", "/openapi.json", { token: null });
  await t.step("describes every operation the app routes", () => {
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, "3.1.0");
    // The operator console and the API documentation are pages beside the API, not operations of it.
    const routes = app.hono.routes.filter((route) => route.method !== "ALL" && !/^\/(ui|docs)(\/|$)/.test(route.path));
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
      assert.equal(op.responses["412"].$ref, "#/components/responses/PreconditionFailed");
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

  // deno-lint-ignore no-explicit-any
  const operations = Object.entries(r.body.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op, name: `${method} ${path}` }))
  );
  const problemRef = (status: string) =>
    ({
      400: "BadRequest",
      401: "Unauthorized",
      403: "Forbidden",
      404: "NotFound",
      409: "Conflict",
      412: "PreconditionFailed",
      413: "PayloadTooLarge",
      415: "UnsupportedMediaType",
      422: "Validation",
      500: "Internal",
      502: "BadGateway",
      503: "Unavailable",
      504: "Timeout",
    } as Record<string, string>)[status];

  await t.step("every operation declares its problem responses from its declaration", () => {
    for (const { path, op, name } of operations) {
      const statuses = Object.keys(op.responses);
      const has = (...wanted: string[]) => {
        for (const status of wanted) assert.ok(statuses.includes(status), `${name} lacks ${status}: ${statuses}`);
      };
      assert.ok(!statuses.includes("default"), `${name} still has only a default response`);
      has("500");
      if (op.security?.length !== 0) has("401", "503");
      if (op.security?.[0]?.bearer?.includes("admin")) has("403");
      if (op.requestBody) has("400", "413", "415", "422");
      if (op.parameters.some((p: { in?: string }) => p.in === "query")) has("400");
      if (path.includes("{")) has("404");
      if (op.tags[0] === "Tabs") has("502", "503", "504");
      for (const status of statuses.filter((s) => Number(s) >= 400 && !(path === "/readyz" && s === "503"))) {
        assert.deepEqual(op.responses[status], { $ref: `#/components/responses/${problemRef(status)}` }, name);
      }
    }
    for (const response of Object.values(r.body.components.responses) as { content: unknown }[]) {
      assert.deepEqual(response.content, {
        "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
      });
    }
  });

  await t.step("every success response has a schema, except a 204", () => {
    for (const { op, name } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, { content?: object }>)) {
        if (Number(status) >= 400 && !(name === "get /readyz" && status === "503")) continue;
        if (status === "204") {
          assert.equal(response.content, undefined, name);
          continue;
        }
        const [media] = Object.values(response.content ?? {}) as { schema?: unknown }[];
        assert.ok(media?.schema, `${name} ${status} has no schema`);
      }
    }
  });

  await t.step("every integer parameter and request body field is bounded both ways", () => {
    const bounded = (schema: unknown, at: string): void => {
      if (typeof schema !== "object" || schema === null) return;
      const s = schema as { type?: unknown; minimum?: number; maximum?: number };
      if (s.type === "integer" || (Array.isArray(s.type) && s.type.includes("integer"))) {
        assert.ok(typeof s.minimum === "number" && typeof s.maximum === "number", `${at} is an unbounded integer`);
        assert.ok(s.maximum! <= Number.MAX_SAFE_INTEGER, at);
      }
      for (const [key, value] of Object.entries(schema)) bounded(value, `${at}/${key}`);
    };
    for (const { op, name } of operations) bounded(op.requestBody, `${name} requestBody`);
    for (const { op, name } of operations) {
      for (
        const p of op.parameters as { name: string; schema?: { type?: string; minimum?: number; maximum?: number } }[]
      ) {
        if (p.schema?.type !== "integer") continue;
        assert.equal(typeof p.schema.minimum, "number", `${name} ${p.name}`);
        assert.ok(
          typeof p.schema.maximum === "number" && p.schema.maximum <= Number.MAX_SAFE_INTEGER,
          `${name} ${p.name}`,
        );
      }
    }
  });

  await t.step("admin operations say so in their security requirement", () => {
    const admin = operations.filter(({ op }) => op.security?.[0]?.bearer?.includes("admin")).map(({ name }) => name);
    assert.ok(admin.includes("post /orgs") && admin.includes("delete /admin/plugins/{package}"), String(admin));
    assert.ok(!admin.includes("get /orgs") && !admin.includes("post /orgs/{org}/projects/{id}/configuration/values"));
    for (const name of ["get /healthz", "get /readyz", "get /openapi.json"]) {
      assert.deepEqual(operations.find((o) => o.name === name)?.op.security, [], name);
    }
  });

  await t.step("rules the server enforces are in the schemas", () => {
    const paths = r.body.paths;
    const install = paths["/admin/plugins"].post.requestBody.content["application/json"].schema;
    assert.deepEqual(install.oneOf.map((b: { required: string[] }) => b.required), [["catalog"], ["specifier"]]);
    assert.ok(install.properties.specifier.pattern);
    const upgrade = paths["/admin/plugins/{package}"].patch.requestBody.content["application/json"].schema;
    assert.ok(new RegExp(upgrade.properties.version.pattern, "u").test(">=1.2.3 <2 || ^3.0.0-rc.1"));
    assert.ok(!new RegExp(upgrade.properties.version.pattern, "u").test("not-a-range!"));
    const logs = paths["/orgs/{org}/projects/{id}/logs"].get.parameters;
    for (const name of ["start", "end"]) {
      assert.equal(logs.find((p: { name: string }) => p.name === name).schema.format, "date-time", name);
    }
    const orgs = paths["/orgs"].get.parameters;
    assert.equal(orgs.find((p: { name: string }) => p.name === "offset").schema.maximum, 1_000_000_000);
    const name = paths["/orgs"].post.requestBody.content["application/json"].schema.properties.name;
    assert.ok(!new RegExp(name.pattern, "u").test("a\u0000b"));
    assert.ok(!new RegExp(name.pattern, "u").test("a\nb"));
    assert.ok(new RegExp(name.pattern, "u").test("Ünïcødé ☃"));
  });
});

Deno.test("GET /openapi.json lists the data types the installed configuration plugins declare", async () => {
  await using app = await startTestApp();
  const r = await app.request("GET", "/openapi.json", { token: null });
  const put = r.body.paths["/orgs/{org}/projects/{id}/configuration/{key}"].put;
  const dataType = put.requestBody.content["application/json"].schema.properties.data_type;
  const registry = await app.request("GET", "/admin/plugins");
  assert.deepEqual(dataType.enum, ["secret", "string"], `data types of the loaded entry points; ${registry.text}`);
  await using bare = await startTestApp({ packages: [] });
  const none = await bare.request("GET", "/openapi.json", { token: null });
  const free = none.body.paths["/orgs/{org}/projects/{id}/configuration/{key}"].put.requestBody.content;
  assert.equal(free["application/json"].schema.properties.data_type.enum, undefined);
});
