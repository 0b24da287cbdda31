import assert from "node:assert/strict";
import { seedWalkthrough } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

Deno.test("PUT /orgs/{org}/project-types/{pt}/plugins and /orgs/{org}/projects/{id}/plugins", async (t) => {
  await using app = await startTestApp();
  const seed = await seedWalkthrough(app);
  const typePath = `/orgs/${seed.org}/project-types/${seed.projectType}/plugins`;
  const projectPath = `/orgs/${seed.org}/projects/web/plugins`;
  const second = await app.request("POST", `/orgs/${seed.org}/third-party-services/demo/plugins`, {
    body: { slug: "config-two", plugin: "demo-config", label: "Second", options: { seed: { SECOND: "2" } } },
  });
  assert.equal(second.status, 201, second.text);

  await t.step("a tab that differs from the plugin type is 422 on /bindings/0/tab", async () => {
    const r = await app.request("PUT", projectPath, {
      body: { bindings: [{ plugin_id: seed.logsPluginId, tab: "configuration" }] },
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.errors[0].pointer, "/bindings/0/tab");
  });
  await t.step("a second default for one tab is 422", async () => {
    const r = await app.request("PUT", projectPath, {
      body: {
        bindings: [
          { plugin_id: seed.configPluginId, tab: "configuration", default: true },
          { plugin_id: second.body.id, tab: "configuration", default: true },
        ],
      },
    });
    assert.equal(r.status, 422);
    assert.match(r.body.errors[0].pointer, /^\/bindings\/1\//);
  });
  await t.step("an unknown placeholder is refused when the binding is written", async () => {
    const r = await app.request("PUT", projectPath, {
      body: { bindings: [{ plugin_id: seed.configPluginId, tab: "configuration", search_template: "{org.name}" }] },
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.errors[0].pointer, "/bindings/0/search_template");
    assert.match(r.body.errors[0].message, /unknown placeholder \{org.name\}/);
  });
  await t.step("a failed replace leaves the old bindings exactly", async () => {
    const before = await app.request("GET", typePath);
    await app.request("PUT", typePath, { body: { bindings: [{ plugin_id: "nope", tab: "logs" }] } });
    assert.deepEqual((await app.request("GET", typePath)).body, before.body);
  });
  await t.step("a project binding overrides the project type's for the same plugin", async () => {
    const r = await app.request("PUT", projectPath, {
      body: {
        bindings: [{ plugin_id: seed.configPluginId, tab: "configuration", search_template: "/custom/{project.id}" }],
      },
    });
    assert.equal(r.status, 200, r.text);
    const tabs = await app.request("GET", `/orgs/${seed.org}/projects/web/tabs`);
    const config = tabs.body.tabs.configuration.find((b: { plugin_id: string }) => b.plugin_id === seed.configPluginId);
    assert.equal(config.from, "project");
    assert.equal(config.search_template, "/custom/{project.id}");
  });
  await t.step("two candidates, no default: 400 listing both; ?source= picks one", async () => {
    await app.request("PUT", typePath, {
      body: {
        bindings: [
          { plugin_id: seed.configPluginId, tab: "configuration" },
          { plugin_id: second.body.id, tab: "configuration" },
        ],
      },
    });
    await app.request("PUT", projectPath, { body: { bindings: [] } });
    const r = await app.request("GET", `/orgs/${seed.org}/projects/web/configuration`);
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body.candidates.map((c: { slug: string }) => c.slug).sort(), ["config", "config-two"]);
    const ambiguous = await app.ok("GET", `/orgs/${seed.org}/projects/web/tabs`);
    assert.equal(ambiguous.selection.configuration.kind, "ambiguous", "GET …/tabs says no binding wins, and why");
    assert.match(ambiguous.selection.configuration.why, /source/);
    const picked = await app.request("GET", `/orgs/${seed.org}/projects/web/configuration?source=demo/config-two`);
    assert.equal(picked.status, 200, picked.text);
    assert.deepEqual(picked.body.items.map((k: { key: string }) => k.key), ["SECOND"]);
  });
  await t.step("the project's default wins over the type's candidates", async () => {
    await app.request("PUT", projectPath, {
      body: { bindings: [{ plugin_id: second.body.id, tab: "configuration", default: true }] },
    });
    const r = await app.request("GET", `/orgs/${seed.org}/projects/web/configuration`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.source.slug, "config-two");
    assert.equal(r.body.source.reason, "project_default");
    const tabs = await app.ok("GET", `/orgs/${seed.org}/projects/web/tabs`);
    assert.deepEqual(tabs.selection.configuration, {
      kind: "selected",
      plugin_id: second.body.id,
      reason: "project_default",
    }, "GET …/tabs names the winner the tab request uses, with the same reason");
  });
  await t.step("deleting a bound plugin is 409", async () => {
    const r = await app.request("DELETE", `/orgs/${seed.org}/third-party-services/demo/plugins/config-two`);
    assert.equal(r.status, 409);
  });
});
