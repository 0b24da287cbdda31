/**
 * `ResolutionMemo`: a memoised resolution is reused only while the graph is
 * the same, whichever connection wrote to it; and the SQLite store's
 * `revision()` it relies on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ResolutionMemo } from "../../core/graph/resolution_memo.ts";
import { SqliteStore } from "../../core/graph/sqlite/store.ts";
import type { GraphStore, Resolution, ResolveQuery } from "../../core/graph/store.ts";
import { runCommand } from "../support/command.ts";
import { buildOrg, uniqueSlug } from "../support/graph_fixtures.ts";
import { boundProjectSpec } from "./_specs.ts";

const LOADED = ["demo-config"];

/** A store on a fresh file, its org `billing` bound, and a second connection to the same file. */
async function twoConnections() {
  const dir = await Deno.makeTempDir({ prefix: "imbi-memo-" });
  const path = `${dir}/graph.db`;
  const store = SqliteStore.open(path);
  const org = uniqueSlug("memo");
  await buildOrg(store, boundProjectSpec(org));
  const other = SqliteStore.open(path);
  return {
    store,
    other,
    file: path,
    query: { org, project: "billing", tab: "configuration", loaded: LOADED } satisfies ResolveQuery,
    cleanup: async () => {
      await other.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function options(resolution: Resolution): unknown {
  assert.equal(resolution.kind, "selected");
  return resolution.kind === "selected" ? resolution.target.binding.plugin.options : undefined;
}

Deno.test("ResolutionMemo.resolveTab() reuses a resolution until a write through any connection", async (t) => {
  const { store, other, query, cleanup } = await twoConnections();
  try {
    const memo = new ResolutionMemo(store);
    const first = await memo.resolveTab(query);

    await t.step("the same graph and loaded slugs give the same frozen answer", async () => {
      assert.equal(await memo.resolveTab(query), first);
      assert.ok(Object.isFrozen(first));
      assert.deepEqual(options(first), {});
    });

    await t.step("a write through the memo's own store is seen by the next call", async () => {
      await store.updatePlugin(query.org, "aws", "ssm", { options: { region: "eu-west-1" } });
      assert.deepEqual(options(await memo.resolveTab(query)), { region: "eu-west-1" });
    });

    await t.step("a write through another connection (another replica on the file) is seen at once", async () => {
      await other.updatePlugin(query.org, "aws", "ssm", { options: { region: "us-east-2" } });
      assert.deepEqual(options(await memo.resolveTab(query)), { region: "us-east-2" });
      await other.updatePlugin(query.org, "aws", "ssm", { enabled: false });
      const none = await memo.resolveTab(query);
      assert.equal(none.kind, "none");
    });

    await t.step("a new loaded-slugs array is resolved again", async () => {
      await store.updatePlugin(query.org, "aws", "ssm", { enabled: true });
      const selected = await memo.resolveTab(query);
      assert.equal(selected.kind, "selected");
      const unloaded = await memo.resolveTab({ ...query, loaded: [] });
      assert.equal(unloaded.kind, "none");
    });

    await t.step("a deleted binding is seen at once", async () => {
      await other.replaceBindings({ kind: "project_type", org: query.org, slug: "web" }, []);
      assert.equal((await memo.resolveTab(query)).kind, "none");
    });
  } finally {
    await cleanup();
  }
});

Deno.test("ResolutionMemo.resolveTab() asks a store without revision() every time", async () => {
  const { store, query, cleanup } = await twoConnections();
  try {
    let calls = 0;
    const plain = {
      resolveTab: (q: ResolveQuery) => {
        calls++;
        return store.resolveTab(q);
      },
    } as unknown as GraphStore;
    const memo = new ResolutionMemo(plain);
    const first = await memo.resolveTab(query);
    const second = await memo.resolveTab(query);
    assert.equal(calls, 2);
    assert.notEqual(first, second);
    assert.deepEqual(first, second);
  } finally {
    await cleanup();
  }
});

Deno.test("ResolutionMemo keeps at most its size of resolutions", async () => {
  const { store, query, cleanup } = await twoConnections();
  try {
    const memo = new ResolutionMemo(store, { size: 1 });
    const billing = await memo.resolveTab(query);
    assert.equal(await memo.resolveTab(query), billing);
    await memo.resolveTab({ ...query, project: "nobody" });
    assert.notEqual(await memo.resolveTab(query), billing, "the full memo started over");
  } finally {
    await cleanup();
  }
});

Deno.test("SqliteStore.revision() changes with every commit, by any connection or process", async (t) => {
  const { store, other, query, file, cleanup } = await twoConnections();
  try {
    let last = store.revision();

    const changed = async (why: string, write: () => Promise<unknown> | unknown) => {
      await write();
      const now = store.revision();
      assert.notEqual(now, last, why);
      last = now;
    };

    await t.step("it stays the same while nothing is written", () => {
      assert.equal(store.revision(), last);
      assert.match(last, /^w/, "read from the WAL-index header, not from PRAGMA data_version");
    });
    await t.step("a commit through another connection changes it", async () => {
      await changed("another connection", () => other.updatePlugin(query.org, "aws", "ssm", { label: "one" }));
    });
    await t.step("after the WAL is reset, a commit of the same size still changes it", async () => {
      await other.updatePlugin(query.org, "aws", "ssm", { label: "two" });
      last = store.revision();
      const checkpoint = new DatabaseSync(file);
      checkpoint.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      checkpoint.close();
      last = store.revision();
      await changed(
        "a write at the WAL's first frame again",
        () => other.updatePlugin(query.org, "aws", "ssm", { label: "two" }),
      );
    });
    await t.step("a commit by another process changes it", async () => {
      await changed("another process", async () => {
        const script = `import { DatabaseSync } from "node:sqlite";
          const db = new DatabaseSync(${JSON.stringify(file)});
          db.exec("UPDATE organizations SET name = 'Renamed elsewhere'");
          db.close();`;
        const result = await runCommand("deno", ["eval", "--allow-read", "--allow-write", script]);
        assert.equal(result.code, 0, result.stderr);
      });
    });
    await t.step("a closed store cannot say", async () => {
      await store.close();
      assert.throws(() => store.revision(), /closed|unavailable/i);
    });
  } finally {
    await cleanup();
  }
});

Deno.test("SqliteStore.revision() of an in-memory store changes with its own writes", async () => {
  const store = SqliteStore.open(":memory:");
  try {
    const before = store.revision();
    assert.equal(store.revision(), before);
    await buildOrg(store, boundProjectSpec(uniqueSlug("memory")));
    assert.notEqual(store.revision(), before);
  } finally {
    await store.close();
  }
});
