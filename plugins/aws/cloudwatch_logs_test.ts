import assert from "node:assert/strict";
import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { CloudWatchLogs, filterPattern } from "./cloudwatch_logs.ts";
import { cloudWatchLogsApi, motoInit as init, motoUrl, withoutMoto as ignore } from "./moto.ts";

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
