/**
 * The store contract against SQLite (a temp file and `:memory:`), plus what
 * only the SQLite store has: the schema, reopening, WAL, locks and rollback.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "../../core/graph/sqlite/store.ts";
import { SCHEMA_VERSION } from "../../core/graph/sqlite/schema.ts";
import { NotFoundError, UnavailableError } from "../../core/errors.ts";
import { storeContract } from "./store_contract.ts";
import { buildOrg, uniqueSlug } from "../support/graph_fixtures.ts";
import { bareService, configNodesSpec, resolveConfiguration } from "./_specs.ts";

/** A store on a fresh file in a temp dir that `cleanup` removes. */
async function openTempStore(options: { busyTimeoutMs?: number } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "imbi-sqlite-" });
  const path = `${dir}/graph.db`;
  const store = SqliteStore.open(path, options);
  return {
    store,
    path,
    cleanup: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

storeContract("sqlite file", openTempStore);
storeContract("sqlite :memory:", () => {
  const store = SqliteStore.open(":memory:");
  return Promise.resolve({ store, cleanup: () => store.close() });
});

Deno.test("SqliteStore.open() creates the schema once and keeps data across reopens", async (t) => {
  const { store, path, cleanup } = await openTempStore();
  try {
    const built = await buildOrg(store, {
      slug: uniqueSlug(),
      project_types: ["web"],
      services: [{ slug: "svc", plugins: [{ slug: "cfg", plugin: "demo-config", plugin_type: "configuration" }] }],
      projects: [{ slug: "p", project_types: ["web"] }],
      project_type_bindings: { web: [{ plugin: "svc/cfg", default: true }] },
    });
    const before = await store.exportAll();
    await store.close();

    await t.step("reopening leaves one schema_version row and the data as it was", async () => {
      for (let i = 0; i < 2; i++) {
        const again = SqliteStore.open(path);
        try {
          assert.deepEqual(await again.exportAll(), before);
          const resolution = await resolveConfiguration(again, { org: built.org, project: "p" });
          assert.equal(resolution.kind, "selected");
        } finally {
          await again.close();
        }
      }
      const raw = new DatabaseSync(path);
      try {
        assert.deepEqual(
          raw.prepare("SELECT version FROM schema_version").all().map((r) => r.version),
          Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
        );
      } finally {
        raw.close();
      }
    });
    await t.step("the file is in WAL mode with the resolution indexes", () => {
      const raw = new DatabaseSync(path);
      try {
        assert.equal(raw.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
        const indexes = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
          .all().map((r) => r.name);
        for (const name of ["bindings_by_project", "bindings_by_project_type", "project_project_types_by_type"]) {
          assert.ok(indexes.includes(name), `index ${name} exists`);
        }
      } finally {
        raw.close();
      }
    });
    await t.step("a file written by a newer schema is refused with RangeError", () => {
      const raw = new DatabaseSync(path);
      raw.prepare("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')").run();
      raw.close();
      assert.throws(() => SqliteStore.open(path), RangeError);
    });
  } finally {
    await cleanup();
  }
});

Deno.test("SqliteStore maps locks, closed connections and unopenable files to UnavailableError", async (t) => {
  await t.step("a write blocked by another connection's lock past the busy timeout", async () => {
    const { store, path, cleanup } = await openTempStore({ busyTimeoutMs: 20 });
    const other = new DatabaseSync(path);
    try {
      const org = uniqueSlug();
      await store.createOrg({ slug: org, name: "O" });
      other.exec("BEGIN IMMEDIATE");
      const error = await store.createOrg({ slug: uniqueSlug(), name: "Blocked" }).catch((e) => e);
      assert.ok(error instanceof UnavailableError, String(error));
      // WAL: readers are not blocked by the writer.
      assert.deepEqual(await store.getOrg(org), { slug: org, name: "O" });
      other.exec("ROLLBACK");
      await store.createOrg({ slug: uniqueSlug(), name: "Now free" });
    } finally {
      other.close();
      await cleanup();
    }
  });
  await t.step("every call after close(); close() is idempotent", async () => {
    const store = SqliteStore.open(":memory:");
    await store.close();
    await store.close();
    await assert.rejects(store.ping(), UnavailableError);
    await assert.rejects(store.listOrgs(), UnavailableError);
    await assert.rejects(store.createOrg({ slug: "x", name: "X" }), UnavailableError);
  });
  await t.step("a path that cannot be opened", () => {
    assert.throws(() => SqliteStore.open("/nonexistent-imbi-dir/graph.db"), UnavailableError);
  });
});

Deno.test("SqliteStore rolls back a multi-step write that fails half way", async (t) => {
  const { store, path, cleanup } = await openTempStore();
  const raw = new DatabaseSync(path);
  try {
    // A trigger makes the store's own INSERT fail after earlier steps ran.
    raw.exec(`CREATE TRIGGER fail_bindings BEFORE INSERT ON bindings WHEN NEW.search_template = 'boom'
                BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
              CREATE TRIGGER fail_projects BEFORE INSERT ON projects WHEN NEW.slug = 'boom'
                BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
    const built = await buildOrg(
      store,
      configNodesSpec(uniqueSlug(), { projects: [{ slug: "p", project_types: ["web"] }] }),
    );
    await t.step("replaceBindings(): the delete and the first insert are undone", async () => {
      const scope = { kind: "project" as const, org: built.org, id: "p" };
      const old = [built.binding({ plugin: "svc/a", default: true, search_template: "old" })];
      await store.replaceBindings(scope, old);
      await assert.rejects(
        store.replaceBindings(scope, [
          built.binding({ plugin: "svc/b", search_template: "fine" }),
          built.binding({ plugin: "svc/a", search_template: "boom" }),
        ]),
        /injected failure/,
      );
      assert.deepEqual(await store.getBindings(scope), old);
    });
    await t.step("importAll(): orgs, services and Plugin nodes written before the failure are gone", async () => {
      const dumpOrg = uniqueSlug();
      await assert.rejects(
        store.importAll({
          organizations: [{
            slug: dumpOrg,
            name: "D",
            project_types: [{ slug: "web", name: "Web" }],
            services: [{
              ...bareService("svc", "S"),
              applications: [],
              plugins: [],
            }],
            projects: [{ id: crypto.randomUUID(), slug: "boom", name: "B", project_types: [], bindings: [] }],
            project_type_bindings: [],
          }],
        }),
        /injected failure/,
      );
      assert.equal(await store.findOrg(dumpOrg), null);
      await assert.rejects(store.listServices(dumpOrg), NotFoundError);
    });
  } finally {
    raw.close();
    await cleanup();
  }
});
