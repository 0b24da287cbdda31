import assert from "node:assert/strict";
import { DemoLogs } from "./mod.ts";

const ctx = {
  org: { slug: "acme" },
  project: { id: "p1", slug: "web", name: "Web", project_types: [] },
  search_template: "web",
  request_id: "r1",
};
const handler = new DemoLogs({
  options: { interval_seconds: 60, latency_ms: 0 },
  credentials: {},
  plugin: { id: "n1", slug: "logs" },
  service: { slug: "demo", name: "Demo", vendor: null, base_url: null, account: null, region: null },
});
const base = { start: "2026-01-01T00:00:00Z", end: "2026-01-01T01:00:00Z", filters: [], levels: [], limit: 10 };

Deno.test("DemoLogs.search() pages newest first with a cursor bound to the query", async () => {
  const first = await handler.search(ctx, base);
  assert.equal(first.entries.length, 10);
  assert.equal(first.entries[0]!.timestamp, "2026-01-01T01:00:00.000Z");
  const stamps = first.entries.map((e) => Date.parse(e.timestamp));
  assert.deepEqual(stamps, [...stamps].sort((a, b) => b - a));
  const second = await handler.search(ctx, { ...base, cursor: first.next_cursor! });
  assert.equal(second.entries[0]!.timestamp, "2026-01-01T00:50:00.000Z");
  await assert.rejects(() => handler.search(ctx, { ...base, levels: ["error"], cursor: first.next_cursor! }), {
    kind: "cursor_expired",
  });
});

Deno.test("DemoLogs.search() applies levels and filters", async () => {
  const page = await handler.search(ctx, { ...base, levels: ["error"], limit: 100 });
  assert.ok(page.entries.length > 0 && page.entries.every((e) => e.level === "error"));
  const filtered = await handler.search(ctx, {
    ...base,
    limit: 100,
    filters: [{ field: "message", op: "contains", value: "slow" }],
  });
  assert.ok(filtered.entries.length > 0 && filtered.entries.every((e) => e.message.includes("slow")));
});

Deno.test("DemoLogs.histogram() counts every entry once", async () => {
  const buckets = await handler.histogram(ctx, base, 6);
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const all = await handler.search(ctx, { ...base, limit: 1000 });
  assert.equal(total, all.entries.length);
});

Deno.test("DemoLogs.search() refuses an unknown filter operator", async () => {
  const filters = [{ field: "message", op: "like" as "eq", value: "x" }];
  await assert.rejects(() => handler.search(ctx, { ...base, filters }), { kind: "invalid_input" });
});
