/**
 * The part of the graph-store contract about conditional and merging writes:
 * a write's result carries the ETag of the next read, `ifMatch` is a
 * compare-and-set on every update, delete and binding replacement, and
 * merges and the caller's checks run inside the write's one transaction, so
 * parallel writes of different fields all survive. `storeContract()`
 * registers it for every store kind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from "../../core/errors.ts";
import type { AuditStamp } from "../../core/graph/audit_changes.ts";
import { etagOf } from "../../core/graph/etag.ts";
import type { BindingScope, GraphStore, WriteOptions } from "../../core/graph/store.ts";
import { buildOrg, uniqueSlug } from "../support/graph_fixtures.ts";
import { rejection } from "../support/thrown.ts";
import type { Area } from "./_area.ts";
import { bareService } from "./_specs.ts";

/** One resource: how to read it, change it (a different state per `i`) and delete it. */
interface Resource {
  name: string;
  read(): Promise<unknown>;
  change(i: number, options?: WriteOptions): Promise<unknown>;
  remove?(options?: WriteOptions): Promise<void>;
}

/** Every kind of graph resource, in one org built for the purpose. */
async function resources(store: GraphStore): Promise<Resource[]> {
  const built = await buildOrg(store, {
    slug: uniqueSlug(),
    project_types: ["web", "spare"],
    services: [
      {
        slug: "svc",
        applications: [{ slug: "main" }, { slug: "spare" }],
        plugins: [
          { slug: "cfg", plugin: "demo-config", plugin_type: "configuration", application: "main" },
          { slug: "loose", plugin: "demo-config", plugin_type: "configuration", application: "main" },
        ],
      },
      { slug: "empty" },
    ],
    projects: [{ slug: "p", project_types: ["web"] }],
    project_type_bindings: { web: [{ plugin: "svc/cfg" }] },
  });
  const org = built.org;
  const empty = uniqueSlug("empty");
  await store.createOrg({ slug: empty, name: "Empty" });
  const web: BindingScope = { kind: "project_type", org, slug: "web" };
  return [
    {
      name: "organization",
      read: () => store.getOrg(empty),
      change: (i, o) => store.updateOrg(empty, { name: `Empty ${i}` }, o),
      remove: (o) => store.deleteOrg(empty, o),
    },
    {
      name: "project type",
      read: () => store.getProjectType(org, "spare"),
      change: (i, o) => store.updateProjectType(org, "spare", { name: `Spare ${i}` }, o),
      remove: (o) => store.deleteProjectType(org, "spare", o),
    },
    {
      name: "project",
      read: () => store.getProject(org, "p"),
      change: (i, o) => store.updateProject(org, "p", { name: `P ${i}`, project_types: i % 2 ? [] : ["web"] }, o),
      remove: (o) => store.deleteProject(org, "p", o),
    },
    {
      name: "third-party service",
      read: () => store.getService(org, "empty"),
      change: (i, o) => store.updateService(org, "empty", { region: `r-${i}` }, o),
      remove: (o) => store.deleteService(org, "empty", o),
    },
    {
      name: "application",
      read: () => store.getApplication(org, "svc", "spare"),
      change: (i, o) => store.updateApplication(org, "svc", "spare", { credential_changes: { k: `v1:k1:${i}` } }, o),
      remove: (o) => store.deleteApplication(org, "svc", "spare", o),
    },
    {
      name: "Plugin node",
      read: () => store.getPlugin(org, "svc", "loose"),
      change: (i, o) => store.updatePlugin(org, "svc", "loose", { label: `L ${i}`, options: { n: i } }, o),
      remove: (o) => store.deletePlugin(org, "svc", "loose", o),
    },
    {
      name: "binding set",
      read: () => store.getBindings(web),
      change: (i, o) => store.replaceBindings(web, [built.binding({ plugin: "svc/cfg", search_template: `t${i}` })], o),
    },
  ];
}

/**
 * Registers the conditional-write contract.
 *
 * @param area Registers one `Deno.test` with a fresh store.
 */
export function writeContract(area: Area): void {
  area("ETags and ifMatch", async (t, store) => {
    await t.step("a write answers the ETag the next read has, for every kind of resource", async () => {
      for (const r of await resources(store)) {
        assert.equal(etagOf(await r.change(1)), etagOf(await r.read()), r.name);
      }
    });

    await t.step("the same stored state has the same ETag; any change a new one", async () => {
      for (const r of await resources(store)) {
        const first = etagOf(await r.change(1));
        assert.equal(etagOf(await r.change(1)), first, `${r.name}: the same write again`);
        assert.notEqual(etagOf(await r.change(2)), first, `${r.name}: a change`);
      }
    });

    await t.step("a stale ifMatch is PreconditionFailedError and changes nothing; the current tag holds", async () => {
      for (const r of await resources(store)) {
        const stale = etagOf(await r.read());
        const now = await r.change(1);
        const current = etagOf(now);
        const error = await rejection(r.change(2, { ifMatch: [stale] }), PreconditionFailedError);
        assert.match(error.message, /has changed since it was read/, r.name);
        if (r.remove) await rejection(r.remove({ ifMatch: [stale] }), PreconditionFailedError);
        await rejection(r.change(2, { ifMatch: [`W/${current}`] }), PreconditionFailedError);
        assert.deepEqual(await r.read(), now, `${r.name} is unchanged`);
        assert.notEqual(etagOf(await r.change(2, { ifMatch: [stale, current] })), current, r.name);
        await r.change(3, { ifMatch: "*" });
        if (r.remove) {
          await r.remove({ ifMatch: [etagOf(await r.read())] });
          await rejection(r.read(), NotFoundError);
        }
      }
    });

    await t.step("ifMatch on a missing resource is NotFoundError, not a failed precondition", async () => {
      const org = uniqueSlug("ghost");
      const ifMatch = ['"nope"'];
      await rejection(store.updateOrg(org, { name: "X" }, { ifMatch }), NotFoundError);
      await rejection(store.deleteOrg(org, { ifMatch }), NotFoundError);
      await rejection(store.replaceBindings({ kind: "project", org, id: "p" }, [], { ifMatch }), NotFoundError);
    });

    await t.step("exportAll() shows every resource with the ETag its read answers", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        project_types: ["web"],
        services: [{
          slug: "svc",
          fields: { region: "eu" },
          applications: [{ slug: "main" }],
          plugins: [{
            slug: "cfg",
            plugin: "demo-config",
            plugin_type: "configuration",
            options: { a: [1, { b: 2 }] },
          }],
        }],
        projects: [{ slug: "p", project_types: ["web"] }],
        project_type_bindings: { web: [{ plugin: "svc/cfg", search_template: "x" }] },
      });
      const { org } = built;
      const dumped = (await store.exportAll()).organizations.find((o) => o.slug === org)!;
      const { applications, plugins, ...svc } = dumped.services[0]!;
      const { bindings, ...project } = dumped.projects[0]!;
      assert.equal(etagOf(svc), etagOf(await store.getService(org, "svc")));
      assert.equal(etagOf(applications[0]), etagOf(await store.getApplication(org, "svc", "main")));
      assert.equal(etagOf(plugins[0]), etagOf(await store.getPlugin(org, "svc", "cfg")));
      assert.equal(etagOf(project), etagOf(await store.getProject(org, "p")));
      assert.equal(etagOf(bindings), etagOf(await store.getBindings({ kind: "project", org, id: project.id })));
      assert.equal(
        etagOf(dumped.project_type_bindings[0]!.bindings),
        etagOf(await store.getBindings({ kind: "project_type", org, slug: "web" })),
      );
    });

    await t.step("disablePluginNodes() changes the disabled nodes' ETags", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{ slug: "svc", plugins: [{ slug: "cfg", plugin: "demo-config", plugin_type: "configuration" }] }],
      });
      const before = etagOf(await store.getPlugin(built.org, "svc", "cfg"));
      await store.disablePluginNodes([built.pluginId("svc/cfg")]);
      assert.notEqual(etagOf(await store.getPlugin(built.org, "svc", "cfg")), before);
    });

    await t.step(
      "parallel writes with the same ifMatch: exactly one wins, the rest PreconditionFailedError",
      async () => {
        for (const r of await resources(store)) {
          const ifMatch = [etagOf(await r.read())];
          const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => r.change(10 + i, { ifMatch })));
          const won = results.flatMap((x) => x.status === "fulfilled" ? [x.value] : []);
          assert.equal(won.length, 1, `${r.name}: exactly one write wins`);
          for (const x of results) {
            if (x.status === "rejected") {
              assert.ok(x.reason instanceof PreconditionFailedError, `${r.name}: ${x.reason}`);
            }
          }
          assert.equal(etagOf(await r.read()), etagOf(won[0]), `${r.name}: the winner is what is stored`);
        }
      },
    );
  });

  area("merges and checks in one transaction", async (t, store) => {
    await t.step("30 parallel updateApplication() merging one credential field each keep all 30", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{ slug: "svc", applications: [{ slug: "main" }] }],
      });
      const fields = Array.from({ length: 30 }, (_, i) => `field_${i}`);
      await Promise.all(
        fields.map((field) =>
          store.updateApplication(built.org, "svc", "main", { credential_changes: { [field]: `v1:k1:${field}` } })
        ),
      );
      const stored = await store.getApplication(built.org, "svc", "main");
      for (const field of fields) assert.equal(stored.credentials[field], `v1:k1:${field}`, field);
      assert.equal(stored.credentials.token, "v1:k1:ciphertext-of-main", "the field that was there stays");
    });

    await t.step("credential_changes: a null removes a field, after a whole-map credentials", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{ slug: "svc", applications: [{ slug: "main", credentials: { a: "v1:k1:a", b: "v1:k1:b" } }] }],
      });
      const merged = await store.updateApplication(built.org, "svc", "main", {
        credential_changes: { a: null, c: "v1:k1:c" },
      });
      assert.deepEqual(merged.credentials, { b: "v1:k1:b", c: "v1:k1:c" });
      const replaced = await store.updateApplication(built.org, "svc", "main", {
        credentials: { x: "v1:k1:x", y: "v1:k1:y" },
        credential_changes: { y: null },
      });
      assert.deepEqual(replaced.credentials, { x: "v1:k1:x" });
    });

    await t.step("parallel updatePlugin() and updateService() of different fields keep every change", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{
          slug: "svc",
          applications: [{ slug: "main" }, { slug: "other" }],
          plugins: [{ slug: "cfg", plugin: "demo-config", plugin_type: "configuration", application: "main" }],
        }],
      });
      const { org } = built;
      await Promise.all([
        store.updatePlugin(org, "svc", "cfg", { label: "New label" }),
        store.updatePlugin(org, "svc", "cfg", { options: { seed: { a: "1" } } }),
        store.updatePlugin(org, "svc", "cfg", { enabled: false }),
        store.updatePlugin(org, "svc", "cfg", { application: "other" }),
        store.updateService(org, "svc", { vendor: "acme" }),
        store.updateService(org, "svc", { region: "eu-west-1" }),
        store.updateService(org, "svc", { account: "42" }),
        store.updateService(org, "svc", { name: "Renamed" }),
      ]);
      const node = await store.getPlugin(org, "svc", "cfg");
      assert.deepEqual(
        [node.label, node.options, node.enabled, node.application],
        ["New label", { seed: { a: "1" } }, false, "other"],
      );
      const svc = await store.getService(org, "svc");
      assert.deepEqual([svc.name, svc.vendor, svc.region, svc.account], ["Renamed", "acme", "eu-west-1", "42"]);
    });

    await t.step(
      "updatePlugin() keeps the keep_options the given options leave out, as stored at the write",
      async () => {
        const built = await buildOrg(store, {
          slug: uniqueSlug(),
          services: [{
            slug: "svc",
            plugins: [{
              slug: "cfg",
              plugin: "demo-config",
              plugin_type: "configuration",
              options: { token: "v1.k1.old", region: "a" },
            }],
          }],
        });
        const { org } = built;
        await store.updatePlugin(org, "svc", "cfg", { options: { token: "v1.k1.new", region: "a" } });
        const kept = await store.updatePlugin(org, "svc", "cfg", {
          options: { region: "b" },
          keep_options: ["token", "x"],
        });
        assert.deepEqual(kept.options, { region: "b", token: "v1.k1.new" });
        const given = await store.updatePlugin(org, "svc", "cfg", {
          options: { region: "c", token: "v1.k1.given" },
          keep_options: ["token"],
        });
        assert.deepEqual(given.options, { region: "c", token: "v1.k1.given" });
        assert.deepEqual((await store.updatePlugin(org, "svc", "cfg", { options: {} })).options, {});
      },
    );

    await t.step("updateApplication()'s check sees the merged credentials and the nodes using it", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{
          slug: "svc",
          applications: [{ slug: "main", credentials: { a: "v1:k1:a" } }, { slug: "other" }],
          plugins: [
            { slug: "uses", plugin: "demo-config", plugin_type: "configuration", application: "main" },
            { slug: "elsewhere", plugin: "demo-config", plugin_type: "configuration", application: "other" },
          ],
        }],
      });
      const seen: unknown[] = [];
      await store.updateApplication(built.org, "svc", "main", { credential_changes: { b: "v1:k1:b" } }, {
        check: (next, users) => seen.push(next.credentials, users.map((u) => u.slug)),
      });
      assert.deepEqual(seen, [{ a: "v1:k1:a", b: "v1:k1:b" }, ["uses"]]);
      const refused = new ValidationError("no", []);
      const error = await rejection(
        store.updateApplication(built.org, "svc", "main", { credential_changes: { a: null } }, {
          check: () => {
            throw refused;
          },
        }),
        ValidationError,
      );
      assert.equal(error, refused);
      assert.deepEqual((await store.getApplication(built.org, "svc", "main")).credentials, {
        a: "v1:k1:a",
        b: "v1:k1:b",
      });
    });

    await t.step("createPlugin()'s and updatePlugin()'s check see the node, its service and application", async () => {
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{ slug: "svc", fields: { region: "eu" }, applications: [{ slug: "only" }] }],
      });
      const { org } = built;
      const seen: unknown[] = [];
      const check = (next: { slug: string; application: string | null }, context: {
        service: { region: string | null };
        application: { slug: string } | null;
      }) => seen.push([next.slug, next.application, context.service.region, context.application?.slug ?? null]);
      const input = {
        slug: "cfg",
        service: "svc",
        application: null,
        plugin: "demo-config",
        plugin_type: "configuration" as const,
        label: "L",
        options: {},
        enabled: true,
      };
      await store.createPlugin(org, "svc", input, { check });
      await store.updatePlugin(org, "svc", "cfg", { application: null }, { check });
      assert.deepEqual(seen, [["cfg", "only", "eu", "only"], ["cfg", null, "eu", null]]);
      const refuse = () => {
        throw new ValidationError("no", []);
      };
      await rejection(store.createPlugin(org, "svc", { ...input, slug: "two" }, { check: refuse }), ValidationError);
      assert.equal(await store.findPlugin(org, "svc", "two"), null);
      await rejection(store.updatePlugin(org, "svc", "cfg", { label: "X" }, { check: refuse }), ValidationError);
      assert.equal((await store.getPlugin(org, "svc", "cfg")).label, "L");
    });
  });

  area("audit records of writes", async (t, store) => {
    const stamp = (request: string): AuditStamp => ({
      actor: "admin-api:admin",
      request_id: request,
      replica: "replica-1",
      at: "2026-05-01T10:00:00.000Z",
    });
    const recordsOf = async (request: string) =>
      (await store.control.audit.list({ limit: 1000 })).items.filter((r) => r.request_id === request).reverse();

    await t.step(
      "every create, update, delete and binding replacement appends its record, from what to what",
      async () => {
        const request = crypto.randomUUID();
        const audit = stamp(request);
        const org = uniqueSlug();
        await store.createOrg({ slug: org, name: "O" }, { audit });
        await store.updateOrg(org, { name: "O2" }, { audit });
        await store.createProjectType(org, { slug: "web", name: "Web" }, { audit });
        const project = await store.createProject(org, { slug: "p", name: "P", project_types: ["web"] }, { audit });
        await store.updateProject(org, "p", { name: "P2" }, { audit });
        const svc = bareService("svc", "S");
        await store.createService(org, svc, { audit });
        await store.updateService(org, "svc", { region: "eu" }, { audit });
        await store.createApplication(org, "svc", {
          slug: "app",
          name: "A",
          credentials: { token: "v1.k1.nonce123.cipher123" },
        }, {
          audit,
        });
        const node = await store.createPlugin(org, "svc", {
          slug: "cfg",
          service: "svc",
          application: null,
          plugin: "demo-config",
          plugin_type: "configuration",
          label: "L",
          options: {},
          enabled: true,
        }, { audit });
        await store.updatePlugin(org, "svc", "cfg", { label: "L2" }, { audit });
        const binding = {
          plugin_id: node.id,
          tab: "configuration" as const,
          default: true,
          search_template: "",
          identity_plugin_id: null,
        };
        await store.replaceBindings({ kind: "project", org, id: project.id }, [binding], { audit });
        await store.replaceBindings({ kind: "project", org, id: project.id }, [], { audit });
        await store.deletePlugin(org, "svc", "cfg", { audit });
        await store.deleteApplication(org, "svc", "app", { audit });
        await store.deleteService(org, "svc", { audit });
        await store.deleteProject(org, "p", { audit });
        await store.deleteProjectType(org, "web", { audit });
        await store.deleteOrg(org, { audit });
        const records = await recordsOf(request);
        assert.deepEqual(records.map((r) => [r.action, r.target]), [
          ["org.create", org],
          ["org.update", org],
          ["project_type.create", `${org}/web`],
          ["project.create", `${org}/p`],
          ["project.update", `${org}/p`],
          ["service.create", `${org}/svc`],
          ["service.update", `${org}/svc`],
          ["application.create", `${org}/svc/app`],
          ["plugin.create", `${org}/svc/cfg`],
          ["plugin.update", `${org}/svc/cfg`],
          ["bindings.replace", `project:${org}/p`],
          ["bindings.replace", `project:${org}/p`],
          ["plugin.delete", `${org}/svc/cfg`],
          ["application.delete", `${org}/svc/app`],
          ["service.delete", `${org}/svc`],
          ["project.delete", `${org}/p`],
          ["project_type.delete", `${org}/web`],
          ["org.delete", org],
        ]);
        for (const r of records) {
          assert.deepEqual([r.actor, r.replica, r.at], ["admin-api:admin", "replica-1", "2026-05-01T10:00:00.000Z"]);
        }
        assert.deepEqual([records[1]!.from, records[1]!.to], [{ slug: org, name: "O" }, { slug: org, name: "O2" }]);
        assert.deepEqual([records[6]!.from, records[6]!.to].map((s) => (s as { region: string }).region), [null, "eu"]);
        assert.equal((records[9]!.to as { label: string }).label, "L2");
        assert.deepEqual([records[10]!.from, records[10]!.to], [[], [binding]]);
        assert.deepEqual(records.at(-1)!.to, null);
      },
    );

    await t.step("an application's record names its credential fields, never their values", async () => {
      const request = crypto.randomUUID();
      const audit = stamp(request);
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        services: [{
          slug: "svc",
          applications: [{ slug: "app", credentials: { a: "v1.k1.nonceA1.cipherA1", b: "v1.k1.nonceB1.cipherB1" } }],
        }],
      });
      await store.updateApplication(built.org, "svc", "app", {
        credential_changes: { a: "v1.k1.nonceA2.cipherA2", b: null, c: "v1.k1.nonceC1.cipherC1" },
      }, { audit });
      const [record] = await recordsOf(request);
      assert.deepEqual(record!.from, { slug: "app", name: "App app", credential_fields: ["a", "b"] });
      assert.deepEqual(record!.to, { slug: "app", name: "App app", credential_fields: ["a", "c"] });
      assert.deepEqual(record!.detail, { credential_fields: { added: ["c"], changed: ["a"], removed: ["b"] } });
      assert.doesNotMatch(JSON.stringify(record), /cipher/);
    });

    await t.step("a refused write leaves no record; a write without a stamp records nothing", async () => {
      const request = crypto.randomUUID();
      const audit = stamp(request);
      const built = await buildOrg(store, {
        slug: uniqueSlug(),
        project_types: ["web"],
        services: [{ slug: "svc", applications: [{ slug: "app" }] }],
        projects: [{ slug: "p", project_types: ["web"] }],
      });
      const { org } = built;
      await rejection(store.updateOrg(org, { name: "X" }, { audit, ifMatch: ['"stale"'] }), PreconditionFailedError);
      await rejection(store.deleteProjectType(org, "web", { audit }), ConflictError);
      await rejection(
        store.updateApplication(org, "svc", "app", { name: "X" }, {
          audit,
          check: () => {
            throw new ValidationError("no", []);
          },
        }),
        ValidationError,
      );
      await store.updateOrg(org, { name: "Unstamped" });
      assert.deepEqual(await recordsOf(request), []);
    });
  });
}
