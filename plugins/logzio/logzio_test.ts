import assert from "node:assert/strict";
import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { type FakeLogDoc, startFakeLogzio } from "./fake_logzio.ts";
import { buildQuery, LogzioLogs } from "./logzio.ts";

const BASE = Date.parse("2024-05-01T10:00:00Z");
const LEVELS = ["info", "ERROR", "warn", "info", "debug"];

/** 12 documents of service "api" a minute apart (two share a millisecond) and 3 of service "web". */
function docs(): FakeLogDoc[] {
  const out: FakeLogDoc[] = [];
  for (let i = 0; i < 12; i++) {
    const at = new Date(BASE + (i === 7 ? 6 : i) * 60_000).toISOString();
    out.push({
      _id: `api-${i}`,
      _source: {
        "@timestamp": at,
        service: "api",
        level: LEVELS[i % 5]!,
        message: `api request ${i}`,
        path: i % 2 ? "/v1/users" : "/health",
      },
    });
  }
  for (let i = 0; i < 3; i++) {
    out.push({
      _id: `web-${i}`,
      _source: {
        "@timestamp": new Date(BASE + i * 60_000).toISOString(),
        service: "web",
        level: "info",
        message: `web ${i}`,
      },
    });
  }
  return out;
}

const window = { start: new Date(BASE - 60_000).toISOString(), end: new Date(BASE + 3600_000).toISOString() };

Deno.test("LogzioLogs keeps the logs protocol against the Logz.io fake", async (t) => {
  await using fake = startFakeLogzio(docs());
  const runner = inProcess(LogzioLogs, { options: { endpoint: fake.url }, credentials: { api_token: fake.token } });
  const rejected = inProcess(LogzioLogs, { options: { endpoint: fake.url }, credentials: { api_token: "wrong" } });
  await conformanceSteps(t, runner, {
    ctx: testContext("service:api"),
    query: window,
    minEntries: 12,
    rejectedCredentials: rejected,
  });
  assert.ok(fake.requests.every((r) => !("search_after" in r)), "only documented top-level elements are sent");
});

Deno.test("LogzioLogs.search() filters by scope, level and fields and sorts on @timestamp desc", async () => {
  await using fake = startFakeLogzio(docs());
  const runner = inProcess(LogzioLogs, { options: { endpoint: fake.url }, credentials: { api_token: fake.token } });
  const page = await runner.call<{ entries: { message: string; level?: string; fields: Record<string, unknown> }[] }>(
    "search",
    [
      testContext("service:api"),
      { ...window, levels: ["error"], filters: [{ field: "path", op: "eq", value: "/v1/users" }], limit: 10 },
    ],
  );
  assert.deepEqual(page.entries.map((e) => e.message), ["api request 11", "api request 1"]);
  assert.ok(page.entries.every((e) => e.level === "error" && e.fields.service === "api"));
  const body = fake.requests.at(-1)!;
  assert.deepEqual(body.sort, [{ "@timestamp": { order: "desc" } }]);
  assert.equal(body.size, 11);
  const contains = await runner.call<{ entries: { message: string }[] }>("search", [
    testContext("*"),
    {
      ...window,
      levels: [],
      filters: [{ field: "path", op: "contains", value: "users" }, { field: "service", op: "ne", value: "web" }],
      limit: 100,
    },
  ]);
  assert.equal(contains.entries.length, 6);
});

Deno.test("LogzioLogs.histogram() counts per bucket and per level with a date_histogram", async () => {
  await using fake = startFakeLogzio(docs());
  const runner = inProcess(LogzioLogs, { options: { endpoint: fake.url }, credentials: { api_token: fake.token } });
  const buckets = await runner.call<{ timestamp: string; count: number; levels: Record<string, number> }[]>(
    "histogram",
    [
      testContext("service:api"),
      { start: "2024-05-01T10:00:00.000Z", end: "2024-05-01T10:11:59.999Z", filters: [], levels: [], limit: 1 },
      4,
    ],
  );
  assert.deepEqual(buckets.map((b) => b.count), [3, 3, 3, 3]);
  assert.equal(buckets.reduce((n, b) => n + (b.levels.error ?? 0), 0), 3);
  assert.equal(buckets[0]!.timestamp, "2024-05-01T10:00:00.000Z");
});

Deno.test("LogzioLogs maps 401 to credentials_rejected and 429 to rate_limited with Retry-After", async () => {
  await using fake = startFakeLogzio(docs());
  const ctx = testContext("*");
  const q = { ...window, filters: [], levels: [], limit: 5 };
  const throttled = inProcess(LogzioLogs, {
    options: { endpoint: fake.url },
    credentials: { api_token: fake.throttledToken },
  });
  await assert.rejects(throttled.call("search", [ctx, q]), { kind: "rate_limited", retryAfter: 30 });
  const wrong = inProcess(LogzioLogs, {
    options: { endpoint: fake.url },
    credentials: { api_token: "secret-wrong-token" },
  });
  await assert.rejects(wrong.call("search", [ctx, q]), (e: { kind: string; message: string }) => {
    assert.equal(e.kind, "credentials_rejected");
    assert.doesNotMatch(e.message, /secret-wrong-token/);
    return true;
  });
});

Deno.test("buildQuery() sends ne filters and paging exclusions as must_not", () => {
  const q = buildQuery("service:api", {
    start: "a",
    end: "b",
    levels: ["warn"],
    filters: [{ field: "host", op: "ne", value: "h1" }],
  }, {
    levelField: "log_level",
    boundary: "c",
    exclude: ["id1"],
  });
  assert.deepEqual(q, {
    bool: {
      filter: [
        { range: { "@timestamp": { gte: "a", lte: "c" } } },
        { query_string: { query: "service:api", allow_leading_wildcard: false } },
        { terms: { log_level: ["warn", "WARN"] } },
      ],
      must_not: [{ term: { host: "h1" } }, { ids: { values: ["id1"] } }],
    },
  });
});
