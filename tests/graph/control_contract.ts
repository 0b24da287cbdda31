/**
 * The control-state part of the graph-store contract (`core/graph/control.ts`):
 * the audit log, the lock state with its compare-and-set (also raced, and
 * through `StoreLockState`, which must lose no concurrent change), and the
 * replicas' heartbeats. Registered by `storeContract()` for each store kind, so it
 * runs on SQLite and Neo4j alike.
 *
 * Parallel-safe against one shared store: every scenario uses its own
 * targets and deployments (random names) and filters what it reads down to
 * them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AuditLog } from "../../core/audit.ts";
import type { AuditInput } from "../../core/graph/audit_store.ts";
import { type LockRevision, RevisionConflictError } from "../../core/graph/lock_store.ts";
import { ConflictError } from "../../core/errors.ts";
import { emptyLockfile, serializeLockfile } from "../../core/packages/lockfile.ts";
import { StoreLockState } from "../../core/packages/store_lock_state.ts";
import { numberedLockEntry } from "../packages/_helpers.ts";
import { contractArea, type OpenStore } from "./_area.ts";

/** An audit record to append, for a target of its own. */
function entry(target: string, fields: Partial<AuditInput> = {}): AuditInput {
  return {
    at: "2026-05-01T10:00:00.000Z",
    actor: "admin-api:admin",
    replica: "web-1:7",
    request_id: "req-1",
    action: "package.install",
    target_kind: "package",
    target,
    from: null,
    to: { version: "1.0.0" },
    detail: {},
    ...fields,
  };
}

/** A revision to commit, with a document of its own revision number. */
function revision(n: number, fields: Partial<LockRevision> = {}): LockRevision {
  return {
    revision: n,
    document: serializeLockfile({ ...emptyLockfile(), revision: n }),
    written_at: "2026-05-01T10:00:00.000Z",
    written_by: "admin-api:admin",
    request_id: `req-${n}`,
    action: "install",
    package: "@zz/p",
    from_revision: n - 1,
    summary: `revision ${n}`,
    replica: "web-1:7",
    ...fields,
  };
}

/**
 * Registers the control-state contract tests for one store kind.
 *
 * @param name Store name, the prefix of every test name.
 * @param open Opens a store; called once per `Deno.test`.
 * @param options `ignore` skips every test.
 */
export function controlContract(name: string, open: OpenStore, options: { ignore?: boolean } = {}): void {
  const area = contractArea(name, open, options);

  area("control.audit", async (t, store) => {
    const audit = store.control.audit;
    await t.step("append() assigns increasing seqs; list() returns every field back, newest first", async () => {
      const target = `@zz/${crypto.randomUUID()}`;
      const first = await audit.append(entry(target, {
        from: { fields: ["a", "b"], nested: { n: 1, none: null } },
        to: null,
        detail: { revisions: { from: 3, to: 4 }, "odd/key~": "x" },
        request_id: null,
      }));
      const second = await audit.append(entry(target, { action: "package.upgrade", at: "2026-05-01T10:00:01.000Z" }));
      assert.ok(second.seq > first.seq, `${second.seq} > ${first.seq}`);
      const page = await audit.list({ target_kind: "package", target });
      assert.deepEqual(page, { items: [second, first], next: null });
      assert.deepEqual(first, {
        seq: first.seq,
        ...entry(target, {
          from: { fields: ["a", "b"], nested: { n: 1, none: null } },
          to: null,
          detail: { revisions: { from: 3, to: 4 }, "odd/key~": "x" },
          request_id: null,
        }),
      });
    });
    await t.step("list() filters by target and action and pages with before/next", async () => {
      const target = `@zz/${crypto.randomUUID()}`;
      const other = `@zz/${crypto.randomUUID()}`;
      const appended = [];
      for (let i = 0; i < 5; i++) {
        appended.push(await audit.append(entry(target, { action: i % 2 ? "package.remove" : "package.install" })));
        await audit.append(entry(other));
      }
      const newest = appended.map((r) => r.seq).reverse();
      const one = await audit.list({ target, limit: 2 });
      assert.deepEqual(one.items.map((r) => r.seq), newest.slice(0, 2));
      assert.equal(one.next, newest[1]);
      const two = await audit.list({ target, limit: 2, before: one.next! });
      assert.deepEqual(two.items.map((r) => r.seq), newest.slice(2, 4));
      const three = await audit.list({ target, limit: 2, before: two.next! });
      assert.deepEqual(three, { items: [appended[0]], next: null });
      const removes = await audit.list({ target, action: "package.remove" });
      assert.deepEqual(removes.items.map((r) => r.seq), [appended[3]!.seq, appended[1]!.seq]);
      assert.deepEqual((await audit.list({ target_kind: "credentials", target })).items, []);
    });
    await t.step("list() without filters pages through every record", async () => {
      const target = `@zz/${crypto.randomUUID()}`;
      const last = await audit.append(entry(target));
      const page = await audit.list({ limit: 1 });
      assert.equal(page.items.length, 1);
      assert.ok(page.items[0]!.seq >= last.seq);
      assert.equal(typeof page.next, "number");
    });
    await t.step("20 concurrent appends get 20 distinct seqs", async () => {
      const target = `@zz/${crypto.randomUUID()}`;
      const records = await Promise.all(Array.from({ length: 20 }, () => audit.append(entry(target))));
      assert.equal(new Set(records.map((r) => r.seq)).size, 20);
      const listed = await audit.list({ target });
      assert.deepEqual(listed.items.map((r) => r.seq), records.map((r) => r.seq).sort((a, b) => b - a));
    });
    await t.step("list() refuses a limit outside 1..1000 and a negative cursor", async () => {
      for (const query of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { before: -1 }]) {
        await assert.rejects(audit.list(query), RangeError, JSON.stringify(query));
      }
    });
  });

  area("control.deployment().lock", async (t, store) => {
    const fresh = () => store.control.deployment(`test-${crypto.randomUUID().slice(0, 8)}`).lock;
    await t.step("an empty lock state is revision 0 with no current revision", async () => {
      const lock = fresh();
      assert.equal(await lock.revision(), 0);
      assert.equal(await lock.current(), null);
      assert.deepEqual(await lock.list(), []);
    });
    await t.step(
      "commit() writes revisions and their audit records; current(), get() and list() read them",
      async () => {
        const lock = fresh();
        const target = `@zz/${crypto.randomUUID()}`;
        const one = await lock.commit(0, revision(1), entry(target));
        assert.deepEqual(one, revision(1));
        await lock.commit(1, revision(2, { request_id: null, package: null, action: "rollback" }), entry(target));
        assert.equal(await lock.revision(), 2);
        assert.deepEqual(await lock.current(), revision(2, { request_id: null, package: null, action: "rollback" }));
        assert.deepEqual(await lock.get(1), revision(1));
        assert.equal(await lock.get(3), null);
        assert.deepEqual((await lock.list()).map((r) => r.revision), [2, 1]);
        assert.deepEqual((await lock.list({ before: 2 })).map((r) => r.revision), [1]);
        assert.deepEqual((await lock.list({ limit: 1 })).map((r) => r.revision), [2]);
        assert.equal((await store.control.audit.list({ target })).items.length, 2, "audited in the same transaction");
      },
    );
    await t.step("commit() may jump ahead (an import keeps the file's number), never backwards", async () => {
      const lock = fresh();
      await lock.commit(0, revision(7, { from_revision: 0 }), entry("@zz/jump"));
      assert.equal(await lock.revision(), 7);
      await assert.rejects(lock.commit(7, revision(7), entry("@zz/jump")), RangeError);
      await assert.rejects(lock.commit(7, revision(3), entry("@zz/jump")), RangeError);
    });
    await t.step("a commit on a stale revision fails with RevisionConflictError and writes nothing", async () => {
      const lock = fresh();
      const target = `@zz/${crypto.randomUUID()}`;
      await lock.commit(0, revision(1), entry(target));
      const error = await lock.commit(0, revision(1, { summary: "lost" }), entry(target)).catch((e) => e);
      assert.ok(error instanceof RevisionConflictError, String(error));
      assert.ok(error instanceof ConflictError);
      assert.equal(error.expected, 0);
      assert.equal(error.actual, 1);
      assert.equal((await lock.current())!.summary, "revision 1");
      assert.equal((await store.control.audit.list({ target })).items.length, 1, "the loser's audit record is gone");
    });
    await t.step("12 concurrent commits on one revision: exactly one wins, one revision 1 exists", async () => {
      const lock = fresh();
      const target = `@zz/${crypto.randomUUID()}`;
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => lock.commit(0, revision(1, { summary: `writer ${i}` }), entry(target))),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1);
      for (const r of results) {
        if (r.status === "rejected") assert.ok(r.reason instanceof RevisionConflictError, String(r.reason));
      }
      assert.deepEqual((await lock.list()).map((r) => r.summary), [
        (won[0] as PromiseFulfilledResult<LockRevision>).value.summary,
      ]);
      assert.equal((await store.control.audit.list({ target })).items.length, 1);
    });
    await t.step("deployments do not see each other's lock state", async () => {
      const a = fresh();
      const b = fresh();
      await a.commit(0, revision(1), entry("@zz/a"));
      assert.equal(await b.revision(), 0);
      await b.commit(0, revision(1, { summary: "b" }), entry("@zz/b"));
      assert.equal((await a.current())!.summary, "revision 1");
    });
    await t.step("StoreLockState: 10 concurrent installs of different packages lose none", async () => {
      const state = new StoreLockState(fresh(), new AuditLog(store.control.audit, { replica: "contract:1" }));
      const who = { actor: "admin-api:admin", requestId: null, now: () => new Date("2026-05-01T10:00:00Z") };
      const written = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        state.update((draft) => {
          draft.packages[`p${i}`] = numberedLockEntry(i);
          return { action: "install", package: `p${i}`, summary: `install p${i}`, detail: {} };
        }, who)));
      assert.deepEqual(written.map((w) => w.lockfile.revision).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const current = await state.read();
      assert.equal(current.revision, 10);
      assert.deepEqual(Object.keys(current.packages).sort(), Array.from({ length: 10 }, (_, i) => `p${i}`).sort());
      const history = await state.list();
      assert.deepEqual(history.map((h) => h.revision), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      for (const h of history) assert.equal(Object.keys(h.lockfile.packages).length, h.revision, "each adds one");
    });
    await t.step(
      "StoreLockState: a change's checks run again on the newer revision (a second install is refused)",
      async () => {
        const state = new StoreLockState(fresh(), new AuditLog(store.control.audit, { replica: "contract:1" }));
        const who = { actor: "admin-api:admin", requestId: null, now: () => new Date() };
        const install = () =>
          state.update((draft) => {
            if (draft.packages.p1) throw new ConflictError("p1 is already installed");
            draft.packages.p1 = numberedLockEntry(1);
            return { action: "install", package: "p1", summary: "install p1", detail: {} };
          }, who);
        const results = await Promise.allSettled([install(), install(), install(), install()]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        assert.equal(await state.revision(), 1);
      },
    );
  });

  area("control.deployment().replicas", async (t, store) => {
    const replicas = store.control.deployment(`test-${crypto.randomUUID().slice(0, 8)}`).replicas;
    const row = (id: string, seen: string, fields = {}) => ({
      id,
      host: "pod-a",
      started_at: "2026-05-01T10:00:00.000Z",
      seen_at: seen,
      revision: 3,
      error: null,
      ...fields,
    });
    await t.step("beat() inserts and replaces rows; list() returns them by id", async () => {
      await replicas.beat(row("b:2", "2026-05-01T10:00:05.000Z"));
      await replicas.beat(row("a:1", "2026-05-01T10:00:05.000Z"));
      await replicas.beat(row("a:1", "2026-05-01T10:00:07.000Z", { revision: 4, error: "cannot fetch x" }));
      assert.deepEqual(await replicas.list(), [
        row("a:1", "2026-05-01T10:00:07.000Z", { revision: 4, error: "cannot fetch x" }),
        row("b:2", "2026-05-01T10:00:05.000Z"),
      ]);
    });
    await t.step("prune() deletes rows not seen since a time; remove() deletes one", async () => {
      assert.equal(await replicas.prune("2026-05-01T10:00:06.000Z"), 1);
      assert.deepEqual((await replicas.list()).map((r) => r.id), ["a:1"]);
      await replicas.remove("a:1");
      assert.deepEqual(await replicas.list(), []);
    });
  });
}
