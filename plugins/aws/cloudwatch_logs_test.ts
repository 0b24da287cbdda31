import assert from "node:assert/strict";
import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import type { HistogramBucket } from "@imbi/plugin-sdk";
import { CloudWatchLogs, filterPattern } from "./cloudwatch_logs.ts";
import { type InsightsRow, startFakeInsights } from "./fake_insights.ts";
import { histogramGrid, insightsQuery } from "./insights.ts";
import { cloudWatchLogsApi, motoInit as init, motoKeys, motoUrl, withoutMoto as ignore } from "./moto.ts";

/** Seeds a fresh log group: 13 JSON events over three hours in two streams, two sharing one millisecond. */
async function seed(): Promise<{ group: string; start: string; end: string; base: number }> {
  const logs = cloudWatchLogsApi(motoUrl!);
  const group = `/test/${crypto.randomUUID().slice(0, 8)}`;
  const base = Date.now() - 4 * 3600_000;
  await logs("CreateLogGroup", { logGroupName: group });
  const levels = ["info", "error", "warn", "info", "debug"];
  for (const stream of ["web", "worker"]) {
    await logs("CreateLogStream", { logGroupName: group, logStreamName: stream });
    const offset = stream === "web" ? 0 : 7;
    const events = Array.from({ length: stream === "web" ? 7 : 6 }, (_, i) => ({
      timestamp: base + (i + offset) * 15 * 60_000,
      message: JSON.stringify({
        level: levels[(i + offset) % levels.length],
        message: `${stream} event ${i}`,
        request: `r${i}`,
      }),
    }));
    if (stream === "worker") {
      events.push({
        timestamp: base + 6 * 15 * 60_000,
        message: JSON.stringify({ level: "ERROR", message: "worker collides" }),
      });
    }
    events.sort((a, b) => a.timestamp - b.timestamp);
    await logs("PutLogEvents", { logGroupName: group, logStreamName: stream, logEvents: events });
  }
  return { group, base, start: new Date(base).toISOString(), end: new Date(base + 4 * 3600_000).toISOString() };
}

Deno.test({
  name: "CloudWatchLogs keeps the logs protocol against moto",
  ignore,
  async fn(t) {
    const { group, start, end } = await seed();
    const runner = inProcess(CloudWatchLogs, init());
    const rejected = inProcess(CloudWatchLogs, init({ access_key_id: "AKIANOTAKEY", secret_access_key: "x" }));
    await conformanceSteps(t, runner, {
      ctx: testContext(group),
      query: { start, end },
      minEntries: 10,
      rejectedCredentials: rejected,
    });
  },
});

Deno.test({
  name: "CloudWatchLogs.search() parses JSON events, filters by level and field, newest first",
  ignore,
  async fn() {
    const { group, start, end } = await seed();
    const runner = inProcess(CloudWatchLogs, init());
    const ctx = testContext(group);
    const all = await runner.call<
      { entries: { timestamp: string; level?: string; message: string; fields: Record<string, unknown> }[] }
    >(
      "search",
      [ctx, { start, end, filters: [], levels: [], limit: 100 }],
    );
    assert.equal(all.entries.length, 14);
    assert.equal(all.entries[0]!.message, "worker event 5");
    assert.equal(all.entries.at(-1)!.message, "web event 0");
    assert.deepEqual(all.entries[0]!.fields, {
      log_stream: "worker",
      event_id: all.entries[0]!.fields.event_id,
      request: "r5",
    });
    const errors = await runner.call<{ entries: { level?: string; message: string }[] }>("search", [ctx, {
      start,
      end,
      filters: [],
      levels: ["ERROR"],
      limit: 100,
    }]);
    const messages = errors.entries.map((e) => e.message);
    assert.equal(messages[0], "worker event 4");
    assert.deepEqual(messages.slice(1, 3).sort(), ["web event 6", "worker collides"]);
    assert.equal(messages[3], "web event 1");
    assert.ok(errors.entries.every((e) => e.level === "error"));
    const web = await runner.call<{ entries: { message: string }[] }>("search", [ctx, {
      start,
      end,
      levels: [],
      limit: 100,
      filters: [{ field: "log_stream", op: "eq", value: "web" }, {
        field: "message",
        op: "regex",
        value: "event [0-2]$",
      }],
    }]);
    assert.deepEqual(web.entries.map((e) => e.message), ["web event 2", "web event 1", "web event 0"]);
  },
});

Deno.test({
  name: "CloudWatchLogs.search() reports a missing log group as not_found",
  ignore,
  async fn() {
    const runner = inProcess(CloudWatchLogs, init());
    const now = new Date().toISOString();
    await assert.rejects(
      runner.call("search", [testContext("/no/such/group"), {
        start: "2024-01-01T00:00:00Z",
        end: now,
        filters: [],
        levels: [],
        limit: 10,
      }]),
      { kind: "not_found" },
    );
  },
});

Deno.test("filterPattern() builds JSON and text patterns from filters and levels", () => {
  const json = { format: "json", level_field: "level", message_field: "msg" } as const;
  assert.equal(filterPattern({ filters: [], levels: [] }, json), "");
  assert.equal(
    filterPattern({
      levels: ["error"],
      filters: [{ field: "http.status", op: "ne", value: "200" }, { field: "message", op: "contains", value: 'a"b' }],
    }, json),
    '{ ($.level = "error" || $.level = "ERROR") && ($.http.status != "200") && ($.msg = "*a\\"b*") }',
  );
  assert.equal(
    filterPattern({ levels: [], filters: [{ field: "path", op: "starts_with", value: "/api" }] }, json),
    '{ ($.path = "/api*") }',
  );
  assert.equal(filterPattern({ levels: ["warn"], filters: [] }, { ...json, format: "text" }), '?"warn" ?"WARN"');
  assert.equal(
    filterPattern({ levels: [], filters: [{ field: "message", op: "contains", value: "timeout" }] }, {
      ...json,
      format: "text",
    }),
    '"timeout"',
  );
  assert.throws(() => filterPattern({ levels: [], filters: [{ field: "bad field", op: "eq", value: "x" }] }, json), {
    kind: "invalid_input",
  });
});

function total(buckets: HistogramBucket[]): number {
  return buckets.reduce((n, b) => n + b.count, 0);
}

Deno.test({
  name: "CloudWatchLogs.histogram() counts FilterLogEvents events per bucket and level against moto",
  ignore,
  async fn() {
    const { group, start, end, base } = await seed();
    const runner = inProcess(CloudWatchLogs, init());
    const ctx = testContext(group);
    const query = { start, end, filters: [], levels: [], limit: 1 };
    const buckets = await runner.call<HistogramBucket[]>("histogram", [ctx, query, 4]);
    // Four hours in four buckets: one hour wide, aligned to the hour, so the window spans five.
    const grid = histogramGrid(Date.parse(start), Date.parse(end), 4);
    assert.equal(grid.widthMs, 3_600_000);
    assert.deepEqual(
      buckets.map((b) => b.timestamp),
      [0, 1, 2, 3, 4].map((i) => new Date(grid.originMs + i * 3_600_000).toISOString()),
    );
    const expected = [0, 0, 0, 0, 0];
    const stamps = [...Array(7).keys()].map((i) => base + i * 900_000)
      .concat([...Array(6).keys()].map((i) => base + (i + 7) * 900_000), [base + 6 * 900_000]);
    for (const at of stamps) expected[Math.floor((at - grid.originMs) / grid.widthMs)]!++;
    assert.deepEqual(buckets.map((b) => b.count), expected);
    assert.equal(total(buckets), 14);
    const levels = buckets.reduce<Record<string, number>>((all, b) => {
      for (const [level, n] of Object.entries(b.levels)) all[level] = (all[level] ?? 0) + n;
      return all;
    }, {});
    assert.deepEqual(levels, { info: 5, error: 4, warn: 3, debug: 2 });

    const errors = await runner.call<HistogramBucket[]>("histogram", [ctx, { ...query, levels: ["ERROR"] }, 4]);
    assert.equal(total(errors), 4);
    assert.ok(errors.every((b) => Object.keys(b.levels).every((l) => l === "error")));
  },
});

Deno.test({
  name: "CloudWatchLogs.histogram() refuses a window with more events than max_scan, naming the way out",
  ignore,
  async fn() {
    const logs = cloudWatchLogsApi(motoUrl!);
    const group = `/test/${crypto.randomUUID().slice(0, 8)}`;
    await logs("CreateLogGroup", { logGroupName: group });
    await logs("CreateLogStream", { logGroupName: group, logStreamName: "s" });
    const base = Date.now() - 3_600_000;
    const logEvents = Array.from(
      { length: 120 },
      (_, i) => ({ timestamp: base + i * 1000, message: `{"level":"info"}` }),
    );
    await logs("PutLogEvents", { logGroupName: group, logStreamName: "s", logEvents });
    const runner = inProcess(CloudWatchLogs, { ...init(), options: { endpoint: motoUrl, max_scan: 100 } });
    const query = {
      start: new Date(base).toISOString(),
      end: new Date().toISOString(),
      filters: [],
      levels: [],
      limit: 1,
    };
    await assert.rejects(
      runner.call("histogram", [testContext(group), query, 10]),
      (error: Error & { kind?: string }) => {
        assert.equal(error.kind, "invalid_input");
        assert.match(error.message, /more than 100 events \(max_scan\).*histogram_source.*"insights"/);
        return true;
      },
    );
  },
});

Deno.test("CloudWatchLogs.histogram() with histogram_source insights runs a stats query and counts its rows", async () => {
  const start = "2024-05-01T10:00:00.000Z";
  const end = "2024-05-01T10:59:59.999Z";
  await using fake = startFakeInsights({
    groups: ["/ecs/web"],
    answer: (): InsightsRow[] => [
      { imbi_bucket: "2024-05-01 10:00:00.000", imbi_level: "error", imbi_count: "3" },
      { imbi_bucket: "2024-05-01 10:00:00.000", imbi_level: "warning", imbi_count: "2" },
      { imbi_bucket: "2024-05-01 10:30:00.000", imbi_count: "4" },
    ],
  });
  const runner = inProcess(CloudWatchLogs, {
    options: { endpoint: fake.url, histogram_source: "insights" },
    credentials: { access_key_id: "AKIDEXAMPLE", secret_access_key: "example" },
    service: { region: "us-east-1" },
  });
  const buckets = await runner.call<HistogramBucket[]>("histogram", [testContext("/ecs/web"), {
    start,
    end,
    filters: [{ field: "http.status", op: "ne", value: "200" }, {
      field: "message",
      op: "starts_with",
      value: "GET /a",
    }],
    levels: ["ERROR", "warn"],
    limit: 1,
  }, 4]);
  assert.deepEqual(fake.queries, [{
    logGroupName: "/ecs/web",
    startTime: Date.parse(start) / 1000,
    endTime: Math.ceil(Date.parse(end) / 1000),
    queryString: "fields tolower(level) as imbi_level" +
      ' | filter http.status != "200"' +
      " | filter message like /^GET \\/a/" +
      ' | filter imbi_level in ["error", "warn"]' +
      " | stats count(*) as imbi_count by bin(900s) as imbi_bucket, imbi_level",
  }]);
  assert.deepEqual(fake.actions, ["StartQuery", "GetQueryResults", "GetQueryResults", "GetQueryResults"]);
  assert.deepEqual(buckets, [
    { timestamp: "2024-05-01T10:00:00.000Z", count: 5, levels: { error: 3, warn: 2 } },
    { timestamp: "2024-05-01T10:15:00.000Z", count: 0, levels: {} },
    { timestamp: "2024-05-01T10:30:00.000Z", count: 4, levels: {} },
    { timestamp: "2024-05-01T10:45:00.000Z", count: 0, levels: {} },
  ]);
});

Deno.test("CloudWatchLogs.histogram() reports a failed Insights query and a missing group as typed errors", async () => {
  await using fake = startFakeInsights({ groups: ["/ecs/web"], answer: () => [], fail: true });
  const runner = inProcess(CloudWatchLogs, {
    options: { endpoint: fake.url, histogram_source: "insights" },
    credentials: motoKeys().access_key_id ? motoKeys() : { access_key_id: "AKIDEXAMPLE", secret_access_key: "x" },
    service: { region: "us-east-1" },
  });
  const query = { start: "2024-05-01T10:00:00Z", end: "2024-05-01T11:00:00Z", filters: [], levels: [], limit: 1 };
  await assert.rejects(runner.call("histogram", [testContext("/ecs/web"), query, 6]), {
    kind: "upstream_unavailable",
    message: "The CloudWatch Logs Insights query ended Failed",
  });
  await assert.rejects(runner.call("histogram", [testContext("/ecs/other"), query, 6]), { kind: "not_found" });
});

Deno.test("insightsQuery() reads text levels, escapes values and refuses fields Insights cannot name", () => {
  const text = { format: "text", level_field: "level", message_field: "message", widthSeconds: 60 } as const;
  assert.equal(
    insightsQuery({ filters: [{ field: "message", op: "contains", value: 'say "hi"' }], levels: ["warn"] }, text),
    "parse @message /(?i)\\b(?<imbi_word>fatal|critical|error|warning|warn|info|debug|trace)\\b/" +
      " | fields tolower(imbi_word) as imbi_level" +
      ' | filter @message like "say \\"hi\\""' +
      ' | filter imbi_level in ["warn", "warning"]' +
      " | stats count(*) as imbi_count by bin(60s) as imbi_bucket, imbi_level",
  );
  assert.throws(() => insightsQuery({ filters: [{ field: "request", op: "eq", value: "x" }], levels: [] }, text), {
    kind: "invalid_input",
  });
  const json = { ...text, format: "json" } as const;
  assert.throws(() => insightsQuery({ filters: [{ field: "bad field", op: "eq", value: "x" }], levels: [] }, json), {
    kind: "invalid_input",
  });
});

Deno.test("histogramGrid() makes whole-second buckets aligned to the epoch that cover the window", () => {
  assert.deepEqual(histogramGrid(Date.parse("2024-05-01T10:07:00Z"), Date.parse("2024-05-01T11:06:59.999Z"), 4), {
    originMs: Date.parse("2024-05-01T10:00:00Z"),
    widthMs: 900_000,
    count: 5,
  });
  assert.equal(histogramGrid(0, 10, 100).widthMs, 1000);
  assert.throws(() => histogramGrid(0, 10, 0), { kind: "invalid_input" });
});
