/**
 * `plugins.lock.json` as the import and export format of the lock state in
 * the graph store (`core/packages/lock_file_sync.ts`), and the CLI's
 * `plugins import` / `plugins export` on a real SQLite store: when a file is
 * imported, when it is refused, and that an export followed by an edit
 * imports cleanly.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AuditLog } from "../../core/audit.ts";
import { ConflictError } from "../../core/errors.ts";
import { SqliteStore } from "../../core/graph/sqlite/store.ts";
import { exportLockfile, importLockfile } from "../../core/packages/lock_file_sync.ts";
import { readLockfile, updateLockfile } from "../../core/packages/lockfile.ts";
import { StoreLockState } from "../../core/packages/store_lock_state.ts";
import { main } from "../../cli/plugins.ts";
import { numberedLockEntry } from "./_helpers.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "imbi-lock-sync-" });
  const store = SqliteStore.open(`${dir}/graph.sqlite`);
  const audit = new AuditLog(store.control.audit, { replica: "test:1" });
  const lock = new StoreLockState(store.control.deployment("default").lock, audit);
  return {
    dir,
    store,
    lock,
    file: `${dir}/plugins.lock.json`,
    async [Symbol.asyncDispose]() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const who = { actor: "cli:tests", requestId: null, now: () => new Date("2026-05-02T10:00:00Z") };

/** An admin install of package p2 on the store: one more revision. */
async function installP2(lock: StoreLockState): Promise<void> {
  await lock.update((draft) => {
    draft.packages.p2 = numberedLockEntry(2);
    return { action: "install", package: "p2", summary: "install p2", detail: {} };
  }, who);
}

/** Writes a lockfile holding packages p<i> for each i, at a revision. */
async function writeFile(path: string, revision: number, packages: number[]): Promise<void> {
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      lockfile_version: 1,
      revision,
      packages: Object.fromEntries(packages.map((i) => [`p${i}`, numberedLockEntry(i)])),
    }),
  );
}

Deno.test("importLockfile() into an empty store keeps the file's revision number", async () => {
  await using s = await setup();
  await writeFile(s.file, 7, [1, 2]);
  assert.deepEqual(await importLockfile(s.lock, s.file, who), { outcome: "imported", from_revision: 0, revision: 7 });
  const current = await s.lock.read();
  assert.equal(current.revision, 7);
  assert.deepEqual(Object.keys(current.packages), ["p1", "p2"]);
  const [record] = (await s.store.control.audit.list({ target_kind: "lock" })).items;
  assert.equal(record!.action, "lock.import");
  assert.equal(record!.actor, "cli:tests");
  assert.deepEqual(record!.to, { revision: 7, packages: { p1: "1.0.0", p2: "1.0.0" } });
});

Deno.test("importLockfile() refuses a file behind the store unless forced; equal packages import nothing", async () => {
  await using s = await setup();
  await writeFile(s.file, 3, [1]);
  await importLockfile(s.lock, s.file, who);
  // An admin install on the store: revision 4.
  await installP2(s.lock);
  // The git file, edited from revision 3 to 4 beside that install: the store has changes it lacks.
  await writeFile(s.file, 4, [1, 3]);
  const refused = await importLockfile(s.lock, s.file, who).catch((e) => e);
  assert.ok(refused instanceof ConflictError, String(refused));
  assert.match(refused.message, /the graph store is at revision 4 and the file at 4/);
  assert.equal((await s.lock.read()).revision, 4, "nothing written");
  const forced = await importLockfile(s.lock, s.file, { ...who, force: true });
  assert.deepEqual(forced, { outcome: "imported", from_revision: 4, revision: 5 });
  assert.deepEqual(Object.keys((await s.lock.read()).packages), ["p1", "p3"]);
  assert.deepEqual(Object.keys((await s.lock.get(4))!.lockfile.packages), ["p1", "p2"], "the history keeps it");
  assert.equal((await importLockfile(s.lock, s.file, who)).outcome, "unchanged");
  await writeFile(s.file, 9, [5]);
  assert.equal((await importLockfile(s.lock, s.file, { ...who, onlyIfEmpty: true })).outcome, "unchanged");
});

Deno.test("exportLockfile() then an edit of the file imports cleanly as the file's revision", async () => {
  await using s = await setup();
  await writeFile(s.file, 1, [1]);
  await importLockfile(s.lock, s.file, who);
  await installP2(s.lock);
  const exported = await exportLockfile(s.lock, s.file);
  assert.equal(exported.revision, 2);
  assert.deepEqual(await readLockfile(s.file), exported);
  await updateLockfile(s.file, (draft) => {
    delete draft.packages.p1;
  });
  assert.deepEqual(await importLockfile(s.lock, s.file, who), { outcome: "imported", from_revision: 2, revision: 3 });
  assert.deepEqual(Object.keys((await s.lock.read()).packages), ["p2"]);
});

Deno.test("deno task plugins export and import move the lock state between the file and the store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "imbi-lock-cli-" });
  try {
    const env = { IMBI_DATA_DIR: dir, IMBI_LOCKFILE: `${dir}/plugins.lock.json`, USER: "ops" };
    // An empty store exports an empty lockfile; a file with no packages then imports nothing.
    assert.equal(await main(["export"], env), 0);
    assert.deepEqual(await readLockfile(env.IMBI_LOCKFILE), { lockfile_version: 1, revision: 0, packages: {} });
    assert.equal(await main(["import", "--file", `${dir}/other.json`], env), 0);
    assert.equal(await main(["import", "extra"], env), 2, "usage error");
    const store = SqliteStore.open(`${dir}/graph.sqlite`);
    try {
      assert.equal(await store.control.deployment("default").lock.revision(), 0);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
