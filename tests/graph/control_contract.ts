/**
 * The control-state part of the graph-store contract (`core/graph/control.ts`):
 * the audit log. Registered by `storeContract()` for each store kind, so it
 * runs on SQLite and Neo4j alike.
 *
 * Parallel-safe against one shared store: every scenario uses its own
 * targets (random names) and filters what it reads down to them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AuditInput } from "../../core/graph/audit_store.ts";
import type { GraphStore } from "../../core/graph/store.ts";

/** Opens a store for one `Deno.test`; `cleanup` closes it. */
type Open = () => Promise<{ store: GraphStore; cleanup: () => Promise<void> }>;

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

/**
 * Registers the control-state contract tests for one store kind.
 *
 * @param name Store name, the prefix of every test name.
 * @param open Opens a store; called once per `Deno.test`.
 * @param options `ignore` skips every test.
 */
export function controlContract(name: string, open: Open, options: { ignore?: boolean } = {}): void {
  const area = (title: string, body: (t: Deno.TestContext, store: GraphStore) => Promise<void>) => {
    Deno.test({
      name: `${name}: ${title}`,
      ignore: options.ignore ?? false,
      fn: async (t) => {
        const { store, cleanup } = await open();
        try {
          await body(t, store);
        } finally {
          await cleanup();
        }
      },
    });
  };

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
}
