import assert from "node:assert/strict";
import { startTestApp } from "../support/test_app.ts";

Deno.test("/orgs", async (t) => {
  await using app = await startTestApp({ packages: [] });
  await t.step("creates, reads, lists, renames and deletes", async () => {
    assert.equal((await app.request("POST", "/orgs", { body: { slug: "acme", name: "Acme" } })).status, 201);
    assert.deepEqual((await app.request("GET", "/orgs/acme")).body, { slug: "acme", name: "Acme" });
    assert.deepEqual((await app.request("GET", "/orgs")).body.items.map((o: { slug: string }) => o.slug), ["acme"]);
    assert.equal((await app.request("PATCH", "/orgs/acme", { body: { name: "ACME" } })).body.name, "ACME");
    assert.equal((await app.request("DELETE", "/orgs/acme")).status, 204);
    assert.equal((await app.request("GET", "/orgs/acme")).status, 404);
  });
  await t.step("a duplicate slug is 409", async () => {
    await app.request("POST", "/orgs", { body: { slug: "dup", name: "A" } });
    const r = await app.request("POST", "/orgs", { body: { slug: "dup", name: "B" } });
    assert.equal(r.status, 409);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
  });
  await t.step("a bad slug and a missing name are 422 with pointers", async () => {
    const r = await app.request("POST", "/orgs", { body: { slug: "Bad Slug" } });
    assert.equal(r.status, 422);
    assert.deepEqual(r.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ["/name", "/slug"]);
    assert.equal(r.body.status, 422);
    assert.ok(r.body.type && r.body.title && r.body.detail);
  });
  await t.step("malformed JSON is 400", async () => {
    const r = await app.request("POST", "/orgs", { body: "{not json" });
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /not valid JSON/);
  });
  await t.step("an unknown property is refused", async () => {
    const r = await app.request("POST", "/orgs", { body: { slug: "x1", name: "X", extra: 1 } });
    assert.equal(r.status, 422);
    assert.equal(r.body.errors[0].pointer, "/extra");
  });
  await t.step("deleting an org that still holds things is 409", async () => {
    await app.request("POST", "/orgs", { body: { slug: "full", name: "Full" } });
    await app.request("POST", "/orgs/full/project-types", { body: { slug: "svc", name: "Svc" } });
    assert.equal((await app.request("DELETE", "/orgs/full")).status, 409);
  });
});

Deno.test("/orgs/{org}/project-types and /orgs/{org}/projects", async (t) => {
  await using app = await startTestApp({ packages: [] });
  await app.request("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
  await t.step("project types CRUD", async () => {
    assert.equal(
      (await app.request("POST", "/orgs/acme/project-types", { body: { slug: "api", name: "API" } })).status,
      201,
    );
    assert.equal((await app.request("GET", "/orgs/acme/project-types/api")).body.name, "API");
    assert.equal((await app.request("GET", "/orgs/acme/project-types")).body.items.length, 1);
    assert.equal((await app.request("GET", "/orgs/nope/project-types")).status, 404);
  });
  await t.step("projects with project types; id generated; lookup by id or slug", async () => {
    const r = await app.request("POST", "/orgs/acme/projects", {
      body: { slug: "web", name: "Web", project_types: ["api"] },
    });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.body.id);
    assert.deepEqual(r.body.project_types, ["api"]);
    assert.equal((await app.request("GET", `/orgs/acme/projects/${r.body.id}`)).body.slug, "web");
    assert.equal((await app.request("GET", "/orgs/acme/projects/web")).body.id, r.body.id);
  });
  await t.step("an unknown project type is 404", async () => {
    const r = await app.request("POST", "/orgs/acme/projects", {
      body: { slug: "x2", name: "X", project_types: ["ghost"] },
    });
    assert.equal(r.status, 404);
    assert.match(r.body.detail, /ghost/);
  });
  await t.step("deleting a project type in use is 409", async () => {
    assert.equal((await app.request("DELETE", "/orgs/acme/project-types/api")).status, 409);
  });
  await t.step("update and delete a project", async () => {
    const r = await app.request("PATCH", "/orgs/acme/projects/web", { body: { name: "Website", project_types: [] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, "Website");
    assert.equal((await app.request("DELETE", "/orgs/acme/projects/web")).status, 204);
    assert.equal((await app.request("GET", "/orgs/acme/projects/web")).status, 404);
  });
});
