import assert from "node:assert/strict";
import { CursorExpired } from "./errors.ts";
import { decodeCursor, encodeCursor, queryFingerprint } from "./cursor.ts";

const query = {
  start: "2024-01-01T00:00:00Z",
  end: "2024-01-02T00:00:00Z",
  filters: [{ field: "app", op: "eq" as const, value: "api" }],
  levels: ["error", "warn"],
};

Deno.test("decodeCursor() returns the state encodeCursor() wrapped for the same query", () => {
  const cursor = encodeCursor(query, { token: "abc/+=" }, { scope: "/app" });
  assert.deepEqual(/^[A-Za-z0-9_-]+$/.test(cursor), true);
  assert.deepEqual(decodeCursor(cursor, { ...query, levels: ["warn", "error"] }, { scope: "/app" }), {
    token: "abc/+=",
  });
});

Deno.test("decodeCursor() refuses a cursor of another query, scope or a malformed one with CursorExpired", () => {
  const cursor = encodeCursor(query, 1, { scope: "/app" });
  assert.throws(
    () => decodeCursor(cursor, { ...query, end: "2024-01-03T00:00:00Z" }, { scope: "/app" }),
    CursorExpired,
  );
  assert.throws(() => decodeCursor(cursor, { ...query, filters: [] }, { scope: "/app" }), CursorExpired);
  assert.throws(() => decodeCursor(cursor, query, { scope: "/other" }), CursorExpired);
  assert.throws(() => decodeCursor("not-a-cursor", query), CursorExpired);
  assert.throws(() => decodeCursor(btoa('{"v":2}'), query), CursorExpired);
});

Deno.test("decodeCursor() refuses a cursor older than maxAgeMs", () => {
  let now = 1_000_000;
  const clock = () => now;
  const cursor = encodeCursor(query, "t", { now: clock });
  now += 60_000;
  assert.deepEqual(decodeCursor(cursor, query, { now: clock, maxAgeMs: 60_000 }), "t");
  now += 1;
  assert.throws(() => decodeCursor(cursor, query, { now: clock, maxAgeMs: 60_000 }), CursorExpired);
});

Deno.test("queryFingerprint() ignores limit and level order but not filters", () => {
  const a = queryFingerprint({ ...query, limit: 10 } as typeof query);
  assert.deepEqual(a, queryFingerprint({ ...query, levels: ["warn", "error"] }));
  assert.deepEqual(a === queryFingerprint({ ...query, filters: [{ field: "app", op: "eq", value: "web" }] }), false);
});
