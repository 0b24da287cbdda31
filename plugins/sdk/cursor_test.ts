import { assertEquals, assertThrows } from "jsr:@std/assert@^1.0.0";
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
  assertEquals(/^[A-Za-z0-9_-]+$/.test(cursor), true);
  assertEquals(decodeCursor(cursor, { ...query, levels: ["warn", "error"] }, { scope: "/app" }), { token: "abc/+=" });
});

Deno.test("decodeCursor() refuses a cursor of another query, scope or a malformed one with CursorExpired", () => {
  const cursor = encodeCursor(query, 1, { scope: "/app" });
  assertThrows(() => decodeCursor(cursor, { ...query, end: "2024-01-03T00:00:00Z" }, { scope: "/app" }), CursorExpired);
  assertThrows(() => decodeCursor(cursor, { ...query, filters: [] }, { scope: "/app" }), CursorExpired);
  assertThrows(() => decodeCursor(cursor, query, { scope: "/other" }), CursorExpired);
  assertThrows(() => decodeCursor("not-a-cursor", query), CursorExpired);
  assertThrows(() => decodeCursor(btoa('{"v":2}'), query), CursorExpired);
});

Deno.test("decodeCursor() refuses a cursor older than maxAgeMs", () => {
  let now = 1_000_000;
  const clock = () => now;
  const cursor = encodeCursor(query, "t", { now: clock });
  now += 60_000;
  assertEquals(decodeCursor(cursor, query, { now: clock, maxAgeMs: 60_000 }), "t");
  now += 1;
  assertThrows(() => decodeCursor(cursor, query, { now: clock, maxAgeMs: 60_000 }), CursorExpired);
});

Deno.test("queryFingerprint() ignores limit and level order but not filters", () => {
  const a = queryFingerprint({ ...query, limit: 10 } as typeof query);
  assertEquals(a, queryFingerprint({ ...query, levels: ["warn", "error"] }));
  assertEquals(a === queryFingerprint({ ...query, filters: [{ field: "app", op: "eq", value: "web" }] }), false);
});
