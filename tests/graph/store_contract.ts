/**
 * The one graph-store contract suite (spec section 9): every `GraphStore`
 * behaviour, registered as `Deno.test`s for one store kind.
 *
 * Parallel-safe against one shared store: every scenario works in its own
 * orgs (random slugs), never assumes the store is empty, and filters global
 * answers (`listOrgs`, `findPluginNodes`, `exportAll`) down to its own orgs.
 * Project and Plugin ids it chooses itself are random UUIDs.
 *
 * @example
 * ```ts
 * storeContract("sqlite", async () => {
 *   const store = SqliteStore.open(":memory:");
 *   return { store, cleanup: () => store.close() };
 * });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConflictError, NotFoundError, ValidationError } from "../../core/errors.ts";
import type { Binding, BindingScope, GraphDump, Resolution, ResolveQuery } from "../../core/graph/store.ts";
import { buildOrg, type BuiltOrg, type OrgSpec, uniqueSlug } from "../support/graph_fixtures.ts";
import { contractArea, type OpenStore } from "./_area.ts";
import { bareService, configNodesSpec } from "./_specs.ts";
import { writeContract } from "./_write_contract.ts";
import { controlContract } from "./control_contract.ts";

/** Opens a store for one `Deno.test`; `cleanup` closes it and removes what it owns. */
export type { OpenStore };

type ErrorClass<E extends Error> = new (...args: never[]) => E;

const LOADED = ["demo-config", "demo-logs"];

/**
 * Registers the contract tests for one store kind.
 *
 * @param name Store name, the prefix of every test name (`"sqlite"`, `"neo4j"`).
 * @param open Opens a store; called once per `Deno.test`. A fresh call may
 *   return a store that already holds other tests' data (a shared server).
 * @param options `ignore` skips every test (e.g. the server is not running).
 */
export function storeContract(name: string, open: OpenStore, options: { ignore?: boolean } = {}): void {
  const area = contractArea(name, open, options);

  controlContract(name, open, options);

  area("ping() and kind", async (t, store) => {
    await t.step("ping() answers and kind names the store", async () => {
      await store.ping();
      assert.equal(typeof store.kind, "string");
      assert.ok(store.kind.length > 0);
    });
  });

  area("organizations", async (t, store) => {
    await t.step("createOrg() then getOrg() and listOrgs() by slug", async () => {
      const suffix = crypto.randomUUID().slice(0, 8);
      const b = `zz-b-${suffix}`, a = `zz-a-${suffix}`;
      assert.deepEqual(await store.createOrg({ slug: b, name: "B" }), { slug: b, name: "B" });
      await store.createOrg({ slug: a, name: "A" });
      assert.deepEqual(await store.getOrg(a), { slug: a, name: "A" });
      const mine = (await store.listOrgs()).filter((o) => o.slug.endsWith(suffix));
      assert.deepEqual(mine, [{ slug: a, name: "A" }, { slug: b, name: "B" }]);
    });
    await t.step("findOrg() of an unknown slug is null", async () => {
      assert.equal(await store.findOrg(uniqueSlug("nope")), null);
    });
    await t.step("createOrg() refuses a duplicate slug", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "One" });
      await rejectsWith(store.createOrg({ slug: org, name: "Two" }), ConflictError);
      assert.deepEqual(await store.getOrg(org), { slug: org, name: "One" });
    });
    await t.step("updateOrg() changes the name; unknown org is NotFoundError", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "Old" });
      assert.deepEqual(await store.updateOrg(org, { name: "New" }), { slug: org, name: "New" });
      assert.deepEqual(await store.getOrg(org), { slug: org, name: "New" });
      const missing = uniqueSlug("nope");
      const error = await rejectsWith(store.updateOrg(missing, { name: "X" }), NotFoundError);
      assert.match(error.message, new RegExp(`Organization "${missing}" not found`));
    });
    await t.step("deleteOrg() removes an empty org; unknown org is NotFoundError", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "Gone" });
      await store.deleteOrg(org);
      assert.equal(await store.findOrg(org), null);
      await rejectsWith(store.deleteOrg(org), NotFoundError);
    });
    await t.step("deleteOrg() refuses an org that holds a project type, project or service", async () => {
      for (
        const spec of [
          { project_types: ["api"] },
          { projects: [{ slug: "p" }] },
          { services: [{ slug: "svc" }] },
        ] satisfies Partial<OrgSpec>[]
      ) {
        const org = uniqueSlug();
        await buildOrg(store, { slug: org, ...spec });
        await rejectsWith(store.deleteOrg(org), ConflictError);
        assert.notEqual(await store.findOrg(org), null);
      }
    });
  });

  area("project types", async (t, store) => {
    await t.step("CRUD in an org, listed by slug", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "O" });
      assert.deepEqual(await store.createProjectType(org, { slug: "web", name: "Web" }), { slug: "web", name: "Web" });
      await store.createProjectType(org, { slug: "api", name: "API" });
      assert.deepEqual(await store.getProjectType(org, "web"), { slug: "web", name: "Web" });
      assert.deepEqual(await store.listProjectTypes(org), [{ slug: "api", name: "API" }, { slug: "web", name: "Web" }]);
      assert.deepEqual(await store.updateProjectType(org, "web", { name: "Website" }), {
        slug: "web",
        name: "Website",
      });
      await store.deleteProjectType(org, "web");
      assert.equal(await store.findProjectType(org, "web"), null);
      assert.deepEqual(await store.listProjectTypes(org), [{ slug: "api", name: "API" }]);
    });
    await t.step("listProjectTypes() pages with limit and offset", async () => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, project_types: ["d", "b", "a", "c"] });
      const slugs = async (page: { limit?: number; offset?: number }) =>
        (await store.listProjectTypes(org, page)).map((p) => p.slug);
      assert.deepEqual(await slugs({ limit: 2 }), ["a", "b"]);
      assert.deepEqual(await slugs({ limit: 2, offset: 2 }), ["c", "d"]);
      assert.deepEqual(await slugs({ offset: 3 }), ["d"]);
    });
    await t.step("createProjectType() refuses a duplicate slug in the org, not in another org", async () => {
      const [one, two] = [uniqueSlug(), uniqueSlug()];
      await buildOrg(store, { slug: one, project_types: ["web"] });
      await buildOrg(store, { slug: two, project_types: ["web"] });
      await rejectsWith(store.createProjectType(one, { slug: "web", name: "Again" }), ConflictError);
    });
    await t.step("an unknown org or project type is NotFoundError naming it", async () => {
      const missing = uniqueSlug("nope");
      const error = await rejectsWith(store.createProjectType(missing, { slug: "web", name: "W" }), NotFoundError);
      assert.match(error.message, new RegExp(`Organization "${missing}" not found`));
      await rejectsWith(store.listProjectTypes(missing), NotFoundError);
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "O" });
      await rejectsWith(store.updateProjectType(org, "ghost", { name: "G" }), NotFoundError);
      await rejectsWith(store.deleteProjectType(org, "ghost"), NotFoundError);
      assert.equal(await store.findProjectType(missing, "web"), null);
    });
    await t.step("deleteProjectType() refuses while projects have the type, listing them", async () => {
      const org = uniqueSlug();
      await buildOrg(store, {
        slug: org,
        project_types: ["web"],
        projects: [{ slug: "site-b", project_types: ["web"] }, { slug: "site-a", project_types: ["web"] }],
      });
      const error = await rejectsWith(store.deleteProjectType(org, "web"), ConflictError);
      assert.match(error.message, /site-a/);
      assert.match(error.message, /site-b/);
      assert.deepEqual(error.extra.projects, ["site-a", "site-b"]);
      assert.notEqual(await store.findProjectType(org, "web"), null);
    });
    await t.step("deleteProjectType() drops the type's bindings", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        project_types: ["web"],
        services: [{ slug: "svc", plugins: [{ slug: "cfg", plugin: "demo-config", plugin_type: "configuration" }] }],
        project_type_bindings: { web: [{ plugin: "svc/cfg" }] },
      });
      await store.deleteProjectType(built.org, "web");
      await store.createProjectType(built.org, { slug: "web", name: "Web again" });
      assert.deepEqual(await store.getBindings({ kind: "project_type", org: built.org, slug: "web" }), []);
      // The Plugin node is no longer referenced, so it can go.
      await store.deletePlugin(built.org, "svc", "cfg");
    });
  });

  area("projects", async (t, store) => {
    await t.step("createProject() assigns an id; getProject() finds it by id and by slug", async () => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, project_types: ["web", "api"] });
      const project = await store.createProject(org, {
        slug: "billing",
        name: "Billing",
        project_types: ["web", "api", "web"],
      });
      assert.equal(typeof project.id, "string");
      assert.ok(project.id.length > 0);
      assert.deepEqual(project, { id: project.id, slug: "billing", name: "Billing", project_types: ["api", "web"] });
      assert.deepEqual(await store.getProject(org, project.id), project);
      assert.deepEqual(await store.getProject(org, "billing"), project);
      assert.equal(await store.findProject(org, "nope"), null);
      assert.equal(await store.findProject(uniqueSlug("nope"), project.id), null);
    });
    await t.step("createProject() keeps a given id; listProjects() is by slug and pages", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "O" });
      const id = crypto.randomUUID();
      await store.createProject(org, { id, slug: "zeta", name: "Z", project_types: [] });
      await store.createProject(org, { slug: "alpha", name: "A", project_types: [] });
      const list = await store.listProjects(org);
      assert.deepEqual(list.map((p) => p.slug), ["alpha", "zeta"]);
      assert.equal(list[1]!.id, id);
      assert.deepEqual((await store.listProjects(org, { limit: 1, offset: 1 })).map((p) => p.slug), ["zeta"]);
    });
    await t.step("getProject() in another org does not find the project by its id", async () => {
      const built = await buildOrg(store, { slug: uniqueSlug(), projects: [{ slug: "p" }] });
      const other = uniqueSlug();
      await store.createOrg({ slug: other, name: "Other" });
      assert.equal(await store.findProject(other, built.projects.p!.id), null);
    });
    await t.step("createProject() refuses an unknown project type or org with NotFoundError", async () => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, project_types: ["web"] });
      const error = await rejectsWith(
        store.createProject(org, { slug: "p", name: "P", project_types: ["web", "ghost"] }),
        NotFoundError,
      );
      assert.match(error.message, /"ghost"/);
      assert.equal(await store.findProject(org, "p"), null);
      await rejectsWith(
        store.createProject(uniqueSlug("nope"), { slug: "p", name: "P", project_types: [] }),
        NotFoundError,
      );
    });
    await t.step("createProject() refuses a duplicate slug in the org and a duplicate id anywhere", async () => {
      const [one, two] = [uniqueSlug(), uniqueSlug()];
      const built = await buildOrg(store, { slug: one, projects: [{ slug: "p" }] });
      await buildOrg(store, { slug: two, projects: [{ slug: "p" }] });
      await rejectsWith(store.createProject(one, { slug: "p", name: "Again", project_types: [] }), ConflictError);
      await rejectsWith(
        store.createProject(two, { id: built.projects.p!.id, slug: "q", name: "Q", project_types: [] }),
        ConflictError,
      );
      assert.equal(await store.findProject(two, "q"), null);
    });
    await t.step("updateProject() changes name, slug and project types", async () => {
      const org = uniqueSlug();
      const built = await buildOrg(store, {
        slug: org,
        project_types: ["web", "api"],
        projects: [{ slug: "p", project_types: ["web"] }, { slug: "taken" }],
      });
      const id = built.projects.p!.id;
      const updated = await store.updateProject(org, "p", { slug: "p2", name: "P2", project_types: ["api"] });
      assert.deepEqual(updated, { id, slug: "p2", name: "P2", project_types: ["api"] });
      assert.deepEqual(await store.getProject(org, id), updated);
      assert.deepEqual(await store.updateProject(org, id, { name: "P3" }), { ...updated, name: "P3" });
      await rejectsWith(store.updateProject(org, id, { slug: "taken" }), ConflictError);
      await rejectsWith(store.updateProject(org, id, { project_types: ["ghost"] }), NotFoundError);
      await rejectsWith(store.updateProject(org, "ghost", { name: "G" }), NotFoundError);
      assert.deepEqual(await store.getProject(org, id), { ...updated, name: "P3" });
    });
    await t.step("deleteProject() drops the project and its bindings", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{ slug: "svc", plugins: [{ slug: "cfg", plugin: "demo-config", plugin_type: "configuration" }] }],
        projects: [{ slug: "p" }],
        project_bindings: { p: [{ plugin: "svc/cfg", default: true }] },
      });
      const id = built.projects.p!.id;
      await store.deleteProject(built.org, id);
      assert.equal(await store.findProject(built.org, id), null);
      await rejectsWith(store.deleteProject(built.org, id), NotFoundError);
      // Nothing references the Plugin node any more.
      await store.deletePlugin(built.org, "svc", "cfg");
      await store.createProject(built.org, { id, slug: "p", name: "P", project_types: [] });
      assert.deepEqual(await store.getBindings({ kind: "project", org: built.org, id }), []);
    });
  });

  area("services and applications", async (t, store) => {
    await t.step("service CRUD, listed by slug, optional fields null", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "O" });
      const aws = {
        slug: "aws",
        name: "AWS",
        vendor: "amazon",
        base_url: "https://aws.amazon.com",
        account: "123",
        region: "us-east-1",
      };
      assert.deepEqual(await store.createService(org, aws), aws);
      await store.createService(org, bareService("a-first", "First"));
      assert.deepEqual(await store.getService(org, "aws"), aws);
      assert.deepEqual((await store.listServices(org)).map((s) => s.slug), ["a-first", "aws"]);
      assert.deepEqual((await store.listServices(org, { limit: 1 })).map((s) => s.slug), ["a-first"]);
      const updated = await store.updateService(org, "aws", { name: "Amazon", region: null });
      assert.deepEqual(updated, { ...aws, name: "Amazon", region: null });
      assert.deepEqual(await store.getService(org, "aws"), updated);
      await store.deleteService(org, "aws");
      assert.equal(await store.findService(org, "aws"), null);
      await rejectsWith(store.deleteService(org, "aws"), NotFoundError);
      await rejectsWith(store.updateService(org, "aws", { name: "X" }), NotFoundError);
    });
    await t.step("service slugs are unique per org", async () => {
      const [one, two] = [uniqueSlug(), uniqueSlug()];
      await buildOrg(store, { slug: one, services: [{ slug: "aws" }] });
      await buildOrg(store, { slug: two, services: [{ slug: "aws" }] });
      await rejectsWith(
        store.createService(one, bareService("aws", "Again")),
        ConflictError,
      );
      await rejectsWith(
        store.createService(uniqueSlug("nope"), bareService("aws", "A")),
        NotFoundError,
      );
    });
    await t.step("application CRUD with ciphertext credentials, slugs unique per service", async () => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, services: [{ slug: "aws" }, { slug: "gcp" }] });
      const app = { slug: "main", name: "Main", credentials: { key: "v1:k1:abc", secret: "v1:k1:def" } };
      assert.deepEqual(await store.createApplication(org, "aws", app), app);
      await store.createApplication(org, "gcp", app);
      await store.createApplication(org, "aws", { slug: "backup", name: "Backup", credentials: {} });
      await rejectsWith(store.createApplication(org, "aws", app), ConflictError);
      assert.deepEqual(await store.getApplication(org, "aws", "main"), app);
      assert.deepEqual((await store.listApplications(org, "aws")).map((a) => a.slug), ["backup", "main"]);
      const updated = await store.updateApplication(org, "aws", "main", { credentials: { key: "v1:k2:new" } });
      assert.deepEqual(updated, { slug: "main", name: "Main", credentials: { key: "v1:k2:new" } });
      assert.deepEqual(await store.getApplication(org, "aws", "main"), updated);
      assert.deepEqual(await store.updateApplication(org, "aws", "main", { name: "Renamed" }), {
        ...updated,
        name: "Renamed",
      });
      await store.deleteApplication(org, "aws", "backup");
      assert.equal(await store.findApplication(org, "aws", "backup"), null);
    });
    await t.step("an unknown service or application is NotFoundError naming it", async () => {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "O" });
      const error = await rejectsWith(
        store.createApplication(org, "ghost", { slug: "a", name: "A", credentials: {} }),
        NotFoundError,
      );
      assert.match(error.message, /"ghost"/);
      await rejectsWith(store.listApplications(org, "ghost"), NotFoundError);
      assert.equal(await store.findApplication(org, "ghost", "a"), null);
      await store.createService(org, bareService("svc", "S"));
      await rejectsWith(store.updateApplication(org, "svc", "ghost", { name: "G" }), NotFoundError);
      await rejectsWith(store.deleteApplication(org, "svc", "ghost"), NotFoundError);
    });
    await t.step("deleteService() refuses while it has applications or Plugin nodes", async () => {
      const org = uniqueSlug();
      await buildOrg(store, {
        slug: org,
        services: [
          { slug: "with-app", applications: [{ slug: "main" }] },
          { slug: "with-plugin", plugins: [{ slug: "cfg", plugin: "demo-config", plugin_type: "configuration" }] },
        ],
      });
      const withApp = await rejectsWith(store.deleteService(org, "with-app"), ConflictError);
      assert.match(withApp.message, /main/);
      const withPlugin = await rejectsWith(store.deleteService(org, "with-plugin"), ConflictError);
      assert.match(withPlugin.message, /cfg/);
      assert.notEqual(await store.findService(org, "with-app"), null);
      assert.notEqual(await store.findService(org, "with-plugin"), null);
    });
    await t.step("deleteApplication() refuses while a Plugin node uses it, naming it", async () => {
      const org = uniqueSlug();
      await buildOrg(store, {
        slug: org,
        services: [{
          slug: "aws",
          applications: [{ slug: "main" }],
          plugins: [{ slug: "ssm", plugin: "aws-ssm", plugin_type: "configuration", application: "main" }],
        }],
      });
      const error = await rejectsWith(store.deleteApplication(org, "aws", "main"), ConflictError);
      assert.match(error.message, /"ssm"/);
      assert.notEqual(await store.findApplication(org, "aws", "main"), null);
    });
  });

  area("plugin nodes", async (t, store) => {
    const svcOrg = async (apps: string[] = []) => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, services: [{ slug: "aws", applications: apps.map((slug) => ({ slug })) }] });
      return org;
    };
    const input = (slug: string, extra: Record<string, unknown> = {}) => ({
      slug,
      service: "aws",
      application: null,
      plugin: "aws-ssm",
      plugin_type: "configuration" as const,
      label: `SSM ${slug}`,
      options: { region: "us-east-1", nested: { path: ["a", "b"] } },
      enabled: true,
      ...extra,
    });
    await t.step("createPlugin() assigns an id; getPlugin() finds it by id and by slug", async () => {
      const org = await svcOrg(["main"]);
      const node = await store.createPlugin(org, "aws", input("ssm", { application: "main" }));
      assert.equal(typeof node.id, "string");
      assert.deepEqual(node, { ...input("ssm", { application: "main" }), id: node.id });
      assert.deepEqual(await store.getPlugin(org, "aws", node.id), node);
      assert.deepEqual(await store.getPlugin(org, "aws", "ssm"), node);
      assert.equal(await store.findPlugin(org, "aws", "ghost"), null);
      assert.equal(await store.findPlugin(org, "ghost", "ssm"), null);
      await store.createPlugin(org, "aws", input("a-first"));
      assert.deepEqual((await store.listPlugins(org, "aws")).map((p) => p.slug), ["a-first", "ssm"]);
    });
    await t.step("createPlugin() keeps a given id and refuses it anywhere else", async () => {
      const [one, two] = [await svcOrg(), await svcOrg()];
      const id = crypto.randomUUID();
      assert.equal((await store.createPlugin(one, "aws", input("ssm", { id }))).id, id);
      await rejectsWith(store.createPlugin(two, "aws", input("other", { id })), ConflictError);
      assert.equal(await store.findPlugin(two, "aws", "other"), null);
    });
    await t.step("Plugin slugs are unique per service, not across services", async () => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, services: [{ slug: "aws" }, { slug: "aws-2" }] });
      await store.createPlugin(org, "aws", input("ssm"));
      await store.createPlugin(org, "aws-2", input("ssm", { service: "aws-2" }));
      await rejectsWith(store.createPlugin(org, "aws", input("ssm")), ConflictError);
    });
    await t.step("createPlugin() with an unknown service or application is NotFoundError", async () => {
      const org = await svcOrg(["main"]);
      const error = await rejectsWith(
        store.createPlugin(org, "aws", input("ssm", { application: "ghost" })),
        NotFoundError,
      );
      assert.match(error.message, /"ghost"/);
      await rejectsWith(store.createPlugin(org, "ghost", input("ssm")), NotFoundError);
      assert.equal(await store.findPlugin(org, "aws", "ssm"), null);
    });
    await t.step("createPlugin() with application null uses the service's only application", async () => {
      const one = await svcOrg(["main"]);
      assert.equal((await store.createPlugin(one, "aws", input("ssm"))).application, "main");
      assert.equal((await store.findPlugin(one, "aws", "ssm"))!.application, "main");
    });
    await t.step("createPlugin() with application null stays null with zero or two applications", async () => {
      const none = await svcOrg([]);
      assert.equal((await store.createPlugin(none, "aws", input("ssm"))).application, null);
      const two = await svcOrg(["main", "backup"]);
      assert.equal((await store.createPlugin(two, "aws", input("ssm"))).application, null);
      assert.equal(
        (await store.createPlugin(two, "aws", input("ssm-2", { application: "backup" }))).application,
        "backup",
      );
    });
    await t.step("updatePlugin() patches slug, label, options, enabled and application", async () => {
      const org = await svcOrg(["main", "backup"]);
      const node = await store.createPlugin(org, "aws", input("ssm", { application: "main" }));
      await store.createPlugin(org, "aws", input("taken"));
      const updated = await store.updatePlugin(org, "aws", node.id, {
        slug: "ssm-2",
        label: "New",
        options: { region: "eu-west-1" },
        enabled: false,
        application: "backup",
      });
      assert.deepEqual(updated, {
        ...node,
        slug: "ssm-2",
        label: "New",
        options: { region: "eu-west-1" },
        enabled: false,
        application: "backup",
      });
      assert.deepEqual(await store.getPlugin(org, "aws", "ssm-2"), updated);
      assert.equal((await store.updatePlugin(org, "aws", "ssm-2", { application: null })).application, null);
      assert.equal((await store.updatePlugin(org, "aws", "ssm-2", { label: "L" })).application, null);
      await rejectsWith(store.updatePlugin(org, "aws", node.id, { slug: "taken" }), ConflictError);
      await rejectsWith(store.updatePlugin(org, "aws", node.id, { application: "ghost" }), NotFoundError);
      await rejectsWith(store.updatePlugin(org, "aws", "ghost", { label: "G" }), NotFoundError);
    });
    await t.step("deletePlugin() removes an unbound node, by id or slug", async () => {
      const org = await svcOrg();
      const node = await store.createPlugin(org, "aws", input("ssm"));
      await store.createPlugin(org, "aws", input("other"));
      await store.deletePlugin(org, "aws", node.id);
      await store.deletePlugin(org, "aws", "other");
      assert.deepEqual(await store.listPlugins(org, "aws"), []);
      await rejectsWith(store.deletePlugin(org, "aws", "ssm"), NotFoundError);
    });
    await t.step("deletePlugin() refuses while bindings point at it, listing the scopes", async () => {
      const built = await buildOrg(
        store,
        configNodesSpec(uniqueSlug(), {
          projects: [{ slug: "billing" }],
          project_type_bindings: { web: [{ plugin: "svc/a" }] },
          project_bindings: { billing: [{ plugin: "svc/a", default: true, identity: "svc/b" }] },
        }),
      );
      const error = await rejectsWith(store.deletePlugin(built.org, "svc", "a"), ConflictError);
      assert.match(error.message, /web/);
      assert.match(error.message, /billing/);
      const scopes = error.extra.scopes as BindingScope[];
      assert.deepEqual(
        sortScopes(scopes),
        sortScopes([
          { kind: "project_type", org: built.org, slug: "web" },
          { kind: "project", org: built.org, id: built.projects.billing!.id },
        ]),
      );
      const identity = await rejectsWith(store.deletePlugin(built.org, "svc", "b"), ConflictError);
      assert.match(identity.message, /billing/);
      assert.notEqual(await store.findPlugin(built.org, "svc", "a"), null);
    });
  });

  area("findPluginNodes() and disablePluginNodes()", async (t, store) => {
    await t.step("findPluginNodes() finds nodes of the given manifests in every org", async () => {
      const manifest = uniqueSlug("m");
      const other = uniqueSlug("m");
      const plugins = (slug: string) => [
        { slug, plugin: manifest, plugin_type: "configuration" as const },
        { slug: `${slug}-x`, plugin: other, plugin_type: "configuration" as const },
        { slug: `${slug}-y`, plugin: "demo-logs", plugin_type: "logs" as const },
      ];
      const a = await buildOrg(store, { slug: uniqueSlug("a"), services: [{ slug: "svc", plugins: plugins("one") }] });
      const b = await buildOrg(store, { slug: uniqueSlug("b"), services: [{ slug: "svc", plugins: plugins("two") }] });
      const found = await store.findPluginNodes([manifest, other]);
      const expected = [
        { org: a.org, service: "svc", id: a.pluginId("svc/one"), slug: "one", plugin: manifest },
        { org: a.org, service: "svc", id: a.pluginId("svc/one-x"), slug: "one-x", plugin: other },
        { org: b.org, service: "svc", id: b.pluginId("svc/two"), slug: "two", plugin: manifest },
        { org: b.org, service: "svc", id: b.pluginId("svc/two-x"), slug: "two-x", plugin: other },
      ];
      assert.deepEqual(sortBy(found, (r) => r.id), sortBy(expected, (r) => r.id));
      assert.deepEqual(await store.findPluginNodes([uniqueSlug("none")]), []);
      assert.deepEqual(await store.findPluginNodes([]), []);
    });
    await t.step("disablePluginNodes() disables exactly the given nodes; unknown ids are ignored", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{
          slug: "svc",
          plugins: [
            { slug: "a", plugin: "demo-config", plugin_type: "configuration" },
            { slug: "b", plugin: "demo-config", plugin_type: "configuration" },
          ],
        }],
      });
      await store.disablePluginNodes([built.pluginId("svc/a"), crypto.randomUUID()]);
      assert.equal((await store.findPlugin(built.org, "svc", "a"))!.enabled, false);
      assert.equal((await store.findPlugin(built.org, "svc", "b"))!.enabled, true);
      await store.disablePluginNodes([]);
    });
  });

  area("replaceBindings() and getBindings()", async (t, store) => {
    const graph = (slug = uniqueSlug()) =>
      buildOrg(store, {
        slug,
        project_types: ["web"],
        services: [
          {
            slug: "aws",
            applications: [{ slug: "main" }],
            plugins: [
              { slug: "ssm", plugin: "aws-ssm", plugin_type: "configuration" },
              { slug: "ssm-2", plugin: "aws-ssm", plugin_type: "configuration" },
              { slug: "cw", plugin: "aws-cloudwatch-logs", plugin_type: "logs" },
            ],
          },
        ],
        projects: [{ slug: "billing", project_types: ["web"] }],
      });
    await t.step("replaceBindings() stores and returns the bindings in the given order", async () => {
      const built = await graph();
      const bindings: Binding[] = [
        built.binding({ plugin: "aws/ssm-2", search_template: "/{project.slug}" }),
        built.binding({ plugin: "aws/cw", default: true, search_template: "{project.slug}-logs" }),
        built.binding({ plugin: "aws/ssm", default: true, identity: "aws/ssm-2" }),
      ];
      const scopes: BindingScope[] = [
        { kind: "project_type", org: built.org, slug: "web" },
        { kind: "project", org: built.org, id: built.projects.billing!.id },
      ];
      for (const scope of scopes) {
        assert.deepEqual(await store.replaceBindings(scope, bindings), bindings);
        assert.deepEqual(await store.getBindings(scope), bindings);
        const smaller = [built.binding({ plugin: "aws/cw" })];
        assert.deepEqual(await store.replaceBindings(scope, smaller), smaller);
        assert.deepEqual(await store.getBindings(scope), smaller);
      }
      // One scope's replace leaves the other's alone.
      assert.deepEqual(await store.replaceBindings(scopes[1]!, []), []);
      assert.deepEqual(await store.getBindings(scopes[1]!), []);
      assert.deepEqual(await store.getBindings(scopes[0]!), [built.binding({ plugin: "aws/cw" })]);
    });
    await t.step("a project scope is found by project id and by slug", async () => {
      const built = await graph();
      const bindings = [built.binding({ plugin: "aws/ssm", default: true })];
      const id = built.projects.billing!.id;
      await store.replaceBindings({ kind: "project", org: built.org, id }, bindings);
      assert.deepEqual(await store.getBindings({ kind: "project", org: built.org, id }), bindings);
      assert.deepEqual(await store.getBindings({ kind: "project", org: built.org, id: "billing" }), bindings);
    });
    await t.step("an unknown org, project type or project is NotFoundError", async () => {
      const built = await graph();
      const bindings = [built.binding({ plugin: "aws/ssm" })];
      for (
        const scope of [
          { kind: "project_type", org: built.org, slug: "ghost" },
          { kind: "project", org: built.org, id: "ghost" },
          { kind: "project_type", org: uniqueSlug("nope"), slug: "web" },
        ] satisfies BindingScope[]
      ) {
        await rejectsWith(store.replaceBindings(scope, bindings), NotFoundError);
        await rejectsWith(store.getBindings(scope), NotFoundError);
      }
    });
    await t.step("replaceBindings() refuses a plugin_id that names no Plugin node of the org", async () => {
      const built = await graph();
      const other = await graph();
      const scope: BindingScope = { kind: "project_type", org: built.org, slug: "web" };
      for (const pluginId of [crypto.randomUUID(), other.pluginId("aws/ssm")]) {
        const error: ValidationError = await rejectsWith(
          store.replaceBindings(scope, [
            built.binding({ plugin: "aws/ssm" }),
            { ...built.binding({ plugin: "aws/ssm-2" }), plugin_id: pluginId },
          ]),
          ValidationError,
        );
        assert.deepEqual(pointers(error), ["/bindings/1/plugin_id"]);
      }
      assert.deepEqual(await store.getBindings(scope), []);
    });
    /** Bindings that break the rules, in the project type `web` or the project `billing`, and the pointers refused. */
    const refusals: {
      name: string;
      scope: "web" | "billing";
      bindings: (built: BuiltOrg) => Binding[];
      pointers: string[];
    }[] = [
      {
        name: "replaceBindings() refuses a tab that differs from the plugin_type",
        scope: "web",
        bindings: (b) => [b.binding({ plugin: "aws/ssm" }), b.binding({ plugin: "aws/cw", tab: "configuration" })],
        pointers: ["/bindings/1/tab"],
      },
      {
        name: "replaceBindings() refuses a second default for a tab",
        scope: "billing",
        bindings: (b) => [
          b.binding({ plugin: "aws/ssm", default: true }),
          b.binding({ plugin: "aws/cw", default: true }),
          b.binding({ plugin: "aws/ssm-2", default: true }),
        ],
        pointers: ["/bindings/2/default"],
      },
      {
        name: "replaceBindings() refuses the same Plugin node twice",
        scope: "web",
        bindings: (b) => [
          b.binding({ plugin: "aws/ssm" }),
          b.binding({ plugin: "aws/ssm-2" }),
          b.binding({ plugin: "aws/ssm", search_template: "other" }),
        ],
        pointers: ["/bindings/2/plugin_id"],
      },
      {
        name: "replaceBindings() refuses an identity_plugin_id that names no Plugin node of the org",
        scope: "web",
        bindings: (b) => [{ ...b.binding({ plugin: "aws/ssm" }), identity_plugin_id: crypto.randomUUID() }],
        pointers: ["/bindings/0/identity_plugin_id"],
      },
      {
        name: "replaceBindings() lists every broken rule at once",
        scope: "web",
        bindings: (b) => [
          b.binding({ plugin: "aws/ssm", default: true }),
          b.binding({ plugin: "aws/cw", tab: "configuration" }),
          b.binding({ plugin: "aws/ssm-2", default: true }),
        ],
        pointers: ["/bindings/1/tab", "/bindings/2/default"],
      },
    ];
    for (const refusal of refusals) {
      await t.step(refusal.name, async () => {
        const built = await graph();
        const scope: BindingScope = refusal.scope === "web"
          ? { kind: "project_type", org: built.org, slug: "web" }
          : { kind: "project", org: built.org, id: built.projects.billing!.id };
        const error = await rejectsWith(store.replaceBindings(scope, refusal.bindings(built)), ValidationError);
        assert.deepEqual(pointers(error), refusal.pointers);
      });
    }
    await t.step("a refused replaceBindings() leaves the old bindings exactly", async () => {
      const built = await graph();
      for (
        const scope of [
          { kind: "project_type", org: built.org, slug: "web" },
          { kind: "project", org: built.org, id: built.projects.billing!.id },
        ] satisfies BindingScope[]
      ) {
        const old = [
          built.binding({ plugin: "aws/cw", default: true, search_template: "old-{project.slug}" }),
          built.binding({ plugin: "aws/ssm", search_template: "kept" }),
        ];
        await store.replaceBindings(scope, old);
        await rejectsWith(
          store.replaceBindings(scope, [
            built.binding({ plugin: "aws/ssm-2", default: true }),
            built.binding({ plugin: "aws/ssm", search_template: "new" }),
            { ...built.binding({ plugin: "aws/cw" }), plugin_id: crypto.randomUUID() },
          ]),
          ValidationError,
        );
        assert.deepEqual(await store.getBindings(scope), old);
      }
    });
  });

  area("resolveTab()", async (t, store) => {
    const base = (spec: Omit<OrgSpec, "slug" | "services"> & { plugins?: OrgSpec["services"] }) =>
      buildOrg(store, {
        slug: uniqueSlug(),
        project_types: ["web", "api"],
        services: spec.plugins ?? [
          {
            slug: "aws",
            fields: { vendor: "amazon", region: "us-east-1", account: "123", base_url: null },
            applications: [{ slug: "main", credentials: { key: "v1:k1:AAA", secret: "v1:k1:BBB" } }],
            plugins: [
              { slug: "ssm", plugin: "demo-config", plugin_type: "configuration" },
              { slug: "params", plugin: "demo-config", plugin_type: "configuration" },
              { slug: "cw", plugin: "demo-logs", plugin_type: "logs" },
            ],
          },
          {
            slug: "vault",
            plugins: [{ slug: "kv", plugin: "demo-config", plugin_type: "configuration" }],
          },
        ],
        ...spec,
      });
    const resolve = (built: BuiltOrg, extra: Partial<ResolveQuery> = {}) =>
      store.resolveTab({ org: built.org, project: "billing", tab: "configuration", loaded: LOADED, ...extra });

    await t.step("resolveTab() answers project_not_found for an unknown project or org", async () => {
      const built = await base({ projects: [{ slug: "billing" }] });
      assert.deepEqual(await resolve(built, { project: "ghost" }), { kind: "project_not_found" });
      assert.deepEqual(await resolve(built, { org: uniqueSlug("nope") }), { kind: "project_not_found" });
    });
    await t.step("resolveTab() answers none when nothing is bound for the tab", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/cw", default: true }] },
      });
      assert.deepEqual(await resolve(built), { kind: "none", dropped: [] });
    });
    await t.step(
      "resolveTab() selects the only candidate, by project id and by slug, with service and application",
      async () => {
        const built = await base({
          projects: [{ slug: "billing", project_types: ["web"] }],
          project_type_bindings: { web: [{ plugin: "aws/ssm", search_template: "/{org.slug}/{project.slug}" }] },
        });
        const byId = await resolve(built, { project: built.projects.billing!.id });
        const bySlug = await resolve(built);
        assert.deepEqual(byId, bySlug);
        const target = selected(bySlug, "only_candidate");
        assert.deepEqual(target.org, { slug: built.org, name: `Org ${built.org}` });
        assert.deepEqual(target.project, built.projects.billing);
        assert.deepEqual(target.service, {
          slug: "aws",
          name: "Service aws",
          vendor: "amazon",
          base_url: null,
          account: "123",
          region: "us-east-1",
        });
        assert.deepEqual(target.application, {
          slug: "main",
          name: "App main",
          credentials: { key: "v1:k1:AAA", secret: "v1:k1:BBB" },
        });
        assert.deepEqual(target.binding, {
          ...built.binding({ plugin: "aws/ssm", search_template: "/{org.slug}/{project.slug}" }),
          origin: { kind: "project_type", slug: "web" },
          plugin: built.plugins["aws/ssm"],
        });
      },
    );
    await t.step("resolveTab() gives a null application when the Plugin node has none", async () => {
      const built = await base({
        projects: [{ slug: "billing" }],
        project_bindings: { billing: [{ plugin: "vault/kv" }] },
      });
      const target = selected(await resolve(built), "only_candidate");
      assert.equal(target.application, null);
      assert.equal(target.service.slug, "vault");
    });
    await t.step("resolveTab() prefers the project's default", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm", default: true }, { plugin: "aws/params" }] },
        project_bindings: { billing: [{ plugin: "vault/kv", default: true }] },
      });
      const target = selected(await resolve(built), "project_default");
      assert.equal(target.binding.plugin_id, built.pluginId("vault/kv"));
      assert.deepEqual(target.binding.origin, { kind: "project" });
    });
    await t.step("resolveTab() falls back to a project type's default", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm" }, { plugin: "aws/params", default: true }] },
        project_bindings: { billing: [{ plugin: "vault/kv" }] },
      });
      const target = selected(await resolve(built), "project_type_default");
      assert.equal(target.binding.plugin_id, built.pluginId("aws/params"));
      assert.deepEqual(target.binding.origin, { kind: "project_type", slug: "web" });
    });
    await t.step("a project edge overrides a project type's edge for the same Plugin node", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm", default: true, search_template: "type-{project.slug}" }] },
        project_bindings: { billing: [{ plugin: "aws/ssm", search_template: "project-{project.slug}" }] },
      });
      // The project's edge replaces the type's, default flag included.
      const target = selected(await resolve(built), "only_candidate");
      assert.equal(target.binding.search_template, "project-{project.slug}");
      assert.deepEqual(target.binding.origin, { kind: "project" });
      assert.equal(target.binding.default, false);
    });
    await t.step("resolveTab() is ambiguous when two project types set different defaults", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web", "api"] }],
        project_type_bindings: {
          web: [{ plugin: "aws/ssm", default: true }],
          api: [{ plugin: "vault/kv", default: true }],
        },
      });
      const result = await resolve(built);
      assert.equal(result.kind, "ambiguous");
      assert.deepEqual(
        sortBy(candidateIds(result), (id) => id),
        sortBy([built.pluginId("aws/ssm"), built.pluginId("vault/kv")], (id) => id),
      );
    });
    await t.step("two project types with the same default are not ambiguous", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web", "api"] }],
        project_type_bindings: {
          web: [{ plugin: "aws/ssm", default: true }, { plugin: "vault/kv" }],
          api: [{ plugin: "aws/ssm", default: true }],
        },
      });
      const target = selected(await resolve(built), "project_type_default");
      assert.equal(target.binding.plugin_id, built.pluginId("aws/ssm"));
      // Between project types, the first by slug ("api") wins the merge.
      assert.deepEqual(target.binding.origin, { kind: "project_type", slug: "api" });
    });
    await t.step(
      "a project type listing a plugin without a default does not cancel another type's default",
      async () => {
        const built = await base({
          projects: [{ slug: "billing", project_types: ["web", "api"] }],
          project_type_bindings: {
            api: [{ plugin: "aws/ssm", search_template: "api-{project.slug}" }, { plugin: "vault/kv" }],
            web: [{ plugin: "aws/ssm", default: true, search_template: "web-{project.slug}" }],
          },
        });
        const target = selected(await resolve(built), "project_type_default");
        assert.equal(target.binding.plugin_id, built.pluginId("aws/ssm"));
        // The properties come from the first type by slug; the default from any type.
        assert.deepEqual(target.binding.origin, { kind: "project_type", slug: "api" });
        assert.equal(target.binding.search_template, "api-{project.slug}");
        assert.equal(target.binding.default, true);
      },
    );
    await t.step("resolveTab() is ambiguous with several candidates and no default, listing all", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm" }, { plugin: "vault/kv" }] },
        project_bindings: { billing: [{ plugin: "aws/params" }] },
      });
      const result = await resolve(built);
      assert.equal(result.kind, "ambiguous");
      if (result.kind !== "ambiguous") return;
      assert.deepEqual(
        sortBy(result.candidates, (c) => c.plugin_id),
        sortBy(
          ["aws/ssm", "vault/kv", "aws/params"].map((ref) => {
            const p = built.plugins[ref]!;
            return { plugin_id: p.id, slug: p.slug, service: p.service, plugin: p.plugin, label: p.label };
          }),
          (c) => c.plugin_id,
        ),
      );
      assert.ok(result.why.length > 0);
    });
    await t.step("?source= selects by Plugin id, by slug and by service/slug", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm", default: true }, { plugin: "aws/params" }] },
        project_bindings: { billing: [{ plugin: "vault/kv" }] },
      });
      for (
        const [source, ref] of [[built.pluginId("aws/params"), "aws/params"], ["kv", "vault/kv"], [
          "aws/params",
          "aws/params",
        ]]
      ) {
        const target = selected(await resolve(built, { source }), "source");
        assert.equal(target.binding.plugin_id, built.pluginId(ref!));
      }
      const target = selected(await resolve(built, { source: "vault/kv" }), "source");
      assert.equal(target.service.slug, "vault");
    });
    await t.step("?source= naming no candidate is source_not_found listing the candidates", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm" }] },
      });
      for (const source of ["params", "vault/kv", crypto.randomUUID(), built.pluginId("aws/cw")]) {
        const result = await resolve(built, { source });
        assert.equal(result.kind, "source_not_found", source);
        if (result.kind !== "source_not_found") return;
        assert.equal(result.source, source);
        assert.deepEqual(result.candidates.map((c) => c.plugin_id), [built.pluginId("aws/ssm")]);
      }
    });
    await t.step("?source= slug matching Plugin nodes of two services is ambiguous; service/slug is not", async () => {
      const built = await base({
        plugins: [
          { slug: "aws", plugins: [{ slug: "config", plugin: "demo-config", plugin_type: "configuration" }] },
          { slug: "gcp", plugins: [{ slug: "config", plugin: "demo-config", plugin_type: "configuration" }] },
        ],
        projects: [{ slug: "billing" }],
        project_bindings: { billing: [{ plugin: "aws/config", default: true }, { plugin: "gcp/config" }] },
      });
      const result = await resolve(built, { source: "config" });
      assert.equal(result.kind, "ambiguous");
      assert.deepEqual(
        sortBy(candidateIds(result), (id) => id),
        sortBy([built.pluginId("aws/config"), built.pluginId("gcp/config")], (id) => id),
      );
      const target = selected(await resolve(built, { source: "gcp/config" }), "source");
      assert.equal(target.binding.plugin_id, built.pluginId("gcp/config"));
    });
    await t.step("disabled and not-loaded Plugin nodes are dropped with their reasons", async () => {
      const built = await base({
        plugins: [{
          slug: "aws",
          plugins: [
            { slug: "off", plugin: "demo-config", plugin_type: "configuration", enabled: false },
            { slug: "unloaded", plugin: "not-installed", plugin_type: "configuration" },
            { slug: "ok", plugin: "demo-config", plugin_type: "configuration" },
          ],
        }],
        projects: [{ slug: "billing" }, { slug: "other" }],
        project_bindings: {
          billing: [{ plugin: "aws/off", default: true }, { plugin: "aws/unloaded" }],
          other: [{ plugin: "aws/off", default: true }, { plugin: "aws/unloaded" }, { plugin: "aws/ok" }],
        },
      });
      const none = await resolve(built);
      assert.equal(none.kind, "none");
      if (none.kind !== "none") return;
      assert.deepEqual(sortBy(none.dropped, (d) => d.slug), [
        { plugin_id: built.pluginId("aws/off"), slug: "off", reason: "disabled" },
        { plugin_id: built.pluginId("aws/unloaded"), slug: "unloaded", reason: "not_loaded" },
      ]);
      const target = selected(await resolve(built, { project: "other" }), "only_candidate");
      assert.equal(target.binding.plugin_id, built.pluginId("aws/ok"));
      const bySource = await resolve(built, { project: "other", source: "off" });
      assert.deepEqual(bySource, {
        kind: "none",
        dropped: [{ plugin_id: built.pluginId("aws/off"), slug: "off", reason: "disabled" }],
      });
    });
    await t.step("resolveTab() reads only the asked tab", async () => {
      const built = await base({
        projects: [{ slug: "billing", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "aws/ssm", default: true }, { plugin: "aws/cw" }] },
      });
      const target = selected(await resolve(built, { tab: "logs" }), "only_candidate");
      assert.equal(target.binding.plugin_id, built.pluginId("aws/cw"));
      assert.equal(target.binding.tab, "logs");
    });
  });

  area("effectiveBindings()", async (t, store) => {
    await t.step("effectiveBindings() merges every tab, project edges winning, with origins", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        project_types: ["web", "api"],
        services: [{
          slug: "aws",
          plugins: [
            { slug: "ssm", plugin: "demo-config", plugin_type: "configuration" },
            { slug: "params", plugin: "demo-config", plugin_type: "configuration" },
            { slug: "cw", plugin: "demo-logs", plugin_type: "logs" },
          ],
        }],
        projects: [{ slug: "billing", project_types: ["web", "api"] }, { slug: "empty" }],
        project_type_bindings: {
          web: [{ plugin: "aws/ssm", default: true, search_template: "web" }, { plugin: "aws/cw" }],
          api: [{ plugin: "aws/params", search_template: "api" }, { plugin: "aws/ssm", search_template: "api" }],
        },
        project_bindings: { billing: [{ plugin: "aws/cw", default: true, search_template: "mine" }] },
      });
      const effective = await store.effectiveBindings(built.org, "billing");
      assert.deepEqual(effective, [
        {
          ...built.binding({ plugin: "aws/params", search_template: "api" }),
          origin: { kind: "project_type", slug: "api" },
          plugin: built.plugins["aws/params"],
        },
        {
          // "api" gives the properties; "web" makes it a default, which the merge keeps.
          ...built.binding({ plugin: "aws/ssm", default: true, search_template: "api" }),
          origin: { kind: "project_type", slug: "api" },
          plugin: built.plugins["aws/ssm"],
        },
        {
          ...built.binding({ plugin: "aws/cw", default: true, search_template: "mine" }),
          origin: { kind: "project" },
          plugin: built.plugins["aws/cw"],
        },
      ]);
      assert.deepEqual(await store.effectiveBindings(built.org, built.projects.billing!.id), effective);
      assert.deepEqual(await store.effectiveBindings(built.org, "empty"), []);
    });
    await t.step("effectiveBindings() is NotFoundError for an unknown project or org", async () => {
      const built = await buildOrg(store, { slug: uniqueSlug(), projects: [{ slug: "p" }] });
      const missing = uniqueSlug("nope");
      const project = await rejectsWith(store.effectiveBindings(built.org, "ghost"), NotFoundError);
      assert.equal(project.message, `Project "ghost" not found in organization "${built.org}"`);
      const org = await rejectsWith(store.effectiveBindings(missing, "p"), NotFoundError);
      assert.equal(org.message, `Organization "${missing}" not found`);
    });
  });

  area("getX() and findX()", async (t, store) => {
    const built = await buildOrg(store, {
      slug: uniqueSlug(),
      project_types: ["web"],
      projects: [{ slug: "p", project_types: ["web"] }],
      services: [{
        slug: "aws",
        applications: [{ slug: "main" }],
        plugins: [{ slug: "ssm", plugin: "demo-config", plugin_type: "configuration" }],
      }],
    });
    const org = built.org;
    const missing = uniqueSlug("nope");
    // Each lookup: the getter and finder of one kind, an absent thing in a present org, the same in a missing org.
    const lookups: {
      kind: string;
      get: (org: string, slug: string) => Promise<unknown>;
      find: (org: string, slug: string) => Promise<unknown>;
      present: string;
      absent: string;
    }[] = [
      {
        kind: "getProjectType()",
        get: (o, s) => store.getProjectType(o, s),
        find: (o, s) => store.findProjectType(o, s),
        present: "web",
        absent: `Project type "ghost" not found in organization "${org}"`,
      },
      {
        kind: "getProject()",
        get: (o, s) => store.getProject(o, s),
        find: (o, s) => store.findProject(o, s),
        present: "p",
        absent: `Project "ghost" not found in organization "${org}"`,
      },
      {
        kind: "getService()",
        get: (o, s) => store.getService(o, s),
        find: (o, s) => store.findService(o, s),
        present: "aws",
        absent: `Third-party service "ghost" not found in organization "${org}"`,
      },
      {
        kind: "getApplication()",
        get: (o, s) => store.getApplication(o, "aws", s),
        find: (o, s) => store.findApplication(o, "aws", s),
        present: "main",
        absent: `Application "ghost" not found in service "aws"`,
      },
      {
        kind: "getPlugin()",
        get: (o, s) => store.getPlugin(o, "aws", s),
        find: (o, s) => store.findPlugin(o, "aws", s),
        present: "ssm",
        absent: `Plugin "ghost" not found in service "aws"`,
      },
    ];
    await t.step("getOrg() throws the one NotFoundError; findOrg() is null", async () => {
      assert.deepEqual(await store.getOrg(org), await store.findOrg(org));
      const error = await rejectsWith(store.getOrg(missing), NotFoundError);
      assert.equal(error.message, `Organization "${missing}" not found`);
      assert.equal(await store.findOrg(missing), null);
    });
    for (const lookup of lookups) {
      await t.step(`${lookup.kind} throws the one NotFoundError naming the missing thing or org`, async () => {
        assert.deepEqual(await lookup.get(org, lookup.present), await lookup.find(org, lookup.present));
        assert.notEqual(await lookup.find(org, lookup.present), null);
        assert.equal((await rejectsWith(lookup.get(org, "ghost"), NotFoundError)).message, lookup.absent);
        assert.equal(
          (await rejectsWith(lookup.get(missing, lookup.present), NotFoundError)).message,
          `Organization "${missing}" not found`,
        );
        assert.equal(await lookup.find(org, "ghost"), null);
        assert.equal(await lookup.find(missing, lookup.present), null);
      });
    }
    await t.step("getApplication() and getPlugin() name a missing service", async () => {
      for (
        const lookup of [() => store.getApplication(org, "ghost", "main"), () => store.getPlugin(org, "ghost", "ssm")]
      ) {
        const error = await rejectsWith(lookup(), NotFoundError);
        assert.equal(error.message, `Third-party service "ghost" not found in organization "${org}"`);
      }
    });
  });

  area("concurrency", async (t, store) => {
    const race = async <T>(n: number, make: (i: number) => Promise<T>) => {
      const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => make(i)));
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      assert.equal(won.length, 1, "exactly one create wins");
      for (const r of lost) assert.ok(r.reason instanceof ConflictError, `expected ConflictError, got ${r.reason}`);
    };
    await t.step("parallel createOrg() of one slug: exactly one wins, the rest ConflictError", async () => {
      const org = uniqueSlug();
      await race(8, (i) => store.createOrg({ slug: org, name: `N${i}` }));
    });
    await t.step("parallel createProject(), createService() and createPlugin() of one slug", async () => {
      const org = uniqueSlug();
      await buildOrg(store, { slug: org, services: [{ slug: "svc" }] });
      await race(8, (i) => store.createProject(org, { slug: "p", name: `P${i}`, project_types: [] }));
      await race(
        8,
        (i) => store.createService(org, bareService("s2", `S${i}`)),
      );
      await race(8, (i) =>
        store.createPlugin(org, "svc", {
          slug: "cfg",
          service: "svc",
          application: null,
          plugin: "demo-config",
          plugin_type: "configuration",
          label: `L${i}`,
          options: {},
          enabled: true,
        }));
      assert.equal((await store.listProjects(org)).length, 1);
    });
    await t.step("parallel replaceBindings() leave exactly one of the written sets", async () => {
      const built = await buildOrg(store, configNodesSpec(uniqueSlug(), { nodes: ["a", "b", "c", "d"] }));
      const scope: BindingScope = { kind: "project_type", org: built.org, slug: "web" };
      const sets = [["a", "b"], ["c"], ["d", "c", "a"], ["b", "d"]].map((refs, i) =>
        refs.map((r, j) => built.binding({ plugin: `svc/${r}`, default: j === 0, search_template: `set-${i}` }))
      );
      await Promise.all(sets.map((set) => store.replaceBindings(scope, set)));
      const final = await store.getBindings(scope);
      assert.ok(sets.some((set) => isDeepEqual(set, final)), "the final bindings are one whole set");
    });
  });

  area("exportAll() and importAll()", async (t, store) => {
    const richOrg = (slug: string) =>
      buildOrg(store, {
        slug,
        project_types: ["web", "api"],
        services: [
          {
            slug: "aws",
            fields: { vendor: "amazon", region: "eu-west-1", account: "42", base_url: "https://aws.example" },
            applications: [{ slug: "main", credentials: { key: "v1:k1:X" } }, { slug: "spare" }],
            plugins: [
              { slug: "ssm", plugin: "demo-config", plugin_type: "configuration", application: "main" },
              { slug: "cw", plugin: "demo-logs", plugin_type: "logs", options: { group: "/x", n: [1, 2] } },
              { slug: "off", plugin: "demo-config", plugin_type: "configuration", enabled: false },
            ],
          },
          { slug: "empty" },
        ],
        projects: [
          { slug: "billing", project_types: ["web", "api"] },
          { slug: "plain" },
        ],
        project_type_bindings: {
          web: [{ plugin: "aws/ssm", default: true, search_template: "/{project.slug}" }, { plugin: "aws/cw" }],
        },
        project_bindings: {
          billing: [{ plugin: "aws/cw", default: true, identity: "aws/ssm" }, { plugin: "aws/off" }],
        },
      });

    await t.step("exportAll() then importAll() into a fresh store gives the same graph", async () => {
      const suffix = crypto.randomUUID().slice(0, 8);
      const mine = [`exp-a-${suffix}`, `exp-b-${suffix}`];
      for (const slug of mine) await richOrg(slug);
      const exported = ownPart(await store.exportAll(), mine);
      assert.deepEqual(exported.organizations.map((o) => o.slug), mine);
      const org = exported.organizations[0]!;
      assert.deepEqual(org.project_types.map((p) => p.slug), ["api", "web"]);
      assert.deepEqual(org.projects.map((p) => p.slug), ["billing", "plain"]);
      assert.deepEqual(org.services.map((s) => s.slug), ["aws", "empty"]);
      assert.equal(org.projects[0]!.bindings.length, 2);
      assert.deepEqual(org.project_type_bindings.map((b) => b.project_type), ["web"]);
      // Renamed, with fresh ids, so the same dump can load into a shared store too.
      const { dump, slugs } = renamed(exported);
      const fresh = await open();
      try {
        await fresh.store.importAll(dump);
        assert.deepEqual(ownPart(await fresh.store.exportAll(), slugs), dump);
        const resolution = await fresh.store.resolveTab({
          org: slugs[0]!,
          project: "billing",
          tab: "logs",
          loaded: LOADED,
        });
        const target = selected(resolution, "project_default");
        assert.deepEqual(target.application, null);
        const ssm = dump.organizations[0]!.services[0]!.plugins.find((p) => p.slug === "ssm")!;
        assert.equal(target.binding.identity_plugin_id, ssm.id);
      } finally {
        await fresh.cleanup();
      }
    });
    await t.step("importAll() refuses an org that exists and writes nothing", async () => {
      const suffix = crypto.randomUUID().slice(0, 8);
      await richOrg(`imp-${suffix}`);
      const { dump, slugs } = renamed(ownPart(await store.exportAll(), [`imp-${suffix}`]));
      await store.createOrg({ slug: slugs[0]!, name: "Already here" });
      const second = renamed(dump);
      const both: GraphDump = { organizations: [...second.dump.organizations, ...dump.organizations] };
      await rejectsWith(store.importAll(both), ConflictError);
      assert.equal(await store.findOrg(second.slugs[0]!), null);
      assert.deepEqual(await store.getOrg(slugs[0]!), { slug: slugs[0]!, name: "Already here" });
    });
    await t.step("importAll() refuses a dump that breaks a binding rule and writes nothing", async () => {
      const suffix = crypto.randomUUID().slice(0, 8);
      await richOrg(`bad-${suffix}`);
      const { dump, slugs } = renamed(ownPart(await store.exportAll(), [`bad-${suffix}`]));
      dump.organizations[0]!.projects[0]!.bindings[1]!.plugin_id = crypto.randomUUID();
      const error = await rejectsWith(store.importAll(dump), ValidationError);
      assert.ok(pointers(error).every((p) => p.endsWith("/bindings/1/plugin_id")), pointers(error).join());
      assert.equal(await store.findOrg(slugs[0]!), null);
      assert.deepEqual(await store.findPluginNodes(["demo-logs"]).then((r) => r.filter((n) => n.org === slugs[0])), []);
    });
  });

  writeContract(area);
}

// -------------------------------------------------------------- helpers

/** Awaits a rejection of class `cls` and returns the error for more checks. */
async function rejectsWith<E extends Error>(promise: Promise<unknown>, cls: ErrorClass<E>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof cls) return error;
    throw new assert.AssertionError({
      message: `expected ${cls.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : error}`,
    });
  }
  throw new assert.AssertionError({ message: `expected ${cls.name}, but the call succeeded` });
}

function pointers(error: ValidationError): string[] {
  return error.errors.map((e) => e.pointer).sort();
}

function selected(result: Resolution, reason: string) {
  if (result.kind !== "selected") {
    throw new assert.AssertionError({ message: `expected a selection, got ${JSON.stringify(result)}` });
  }
  assert.equal(result.reason, reason);
  return result.target;
}

function candidateIds(result: Resolution): string[] {
  return result.kind === "ambiguous" || result.kind === "source_not_found"
    ? result.candidates.map((c) => c.plugin_id)
    : [];
}

function sortBy<T>(list: T[], key: (item: T) => string): T[] {
  return [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function sortScopes(scopes: BindingScope[]): BindingScope[] {
  return sortBy(scopes, (s) => JSON.stringify(s));
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** The part of a dump that belongs to `slugs`, in `slugs` order. */
function ownPart(dump: GraphDump, slugs: string[]): GraphDump {
  return {
    organizations: slugs.map((slug) => {
      const org = dump.organizations.find((o) => o.slug === slug);
      if (!org) throw new assert.AssertionError({ message: `org "${slug}" missing from the dump` });
      return org;
    }),
  };
}

/**
 * A copy of a dump with new org slugs (same sort order) and new project and
 * Plugin ids, references rewritten: loadable beside the original.
 */
function renamed(dump: GraphDump): { dump: GraphDump; slugs: string[] } {
  const suffix = crypto.randomUUID().slice(0, 8);
  const ids = new Map<string, string>();
  const remap = (id: string) => {
    if (!ids.has(id)) ids.set(id, crypto.randomUUID());
    return ids.get(id)!;
  };
  const copy = structuredClone(dump);
  for (const org of copy.organizations) {
    org.slug = `${org.slug}-r${suffix}`;
    for (const svc of org.services) for (const plugin of svc.plugins) plugin.id = remap(plugin.id);
    const rebind = (b: Binding) => {
      b.plugin_id = remap(b.plugin_id);
      if (b.identity_plugin_id !== null) b.identity_plugin_id = remap(b.identity_plugin_id);
    };
    for (const project of org.projects) {
      project.id = remap(project.id);
      project.bindings.forEach(rebind);
    }
    for (const entry of org.project_type_bindings) entry.bindings.forEach(rebind);
  }
  return { dump: copy, slugs: copy.organizations.map((o) => o.slug) };
}
