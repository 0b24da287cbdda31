import assert from "node:assert/strict";
import { log, logContext, setLogLevel, setLogSink, withLogContext } from "../core/logger.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("log lines keep their shape and carry the request's context across awaits", async () => {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  try {
    await withLogContext({ request_id: "r-1" }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.info("first {not a placeholder}", { n: 1 });
      await withLogContext({ plugin: "demo-config" }, () => log.warn("nested"));
      assert.deepEqual(logContext(), { request_id: "r-1" });
    });
    log.error("outside");
    setLogLevel("warn");
    log.info("dropped below the threshold");
  } finally {
    setLogLevel("info");
    setLogSink(previous);
  }
  const parsed = lines.map((line) => JSON.parse(line));
  assert.equal(parsed.length, 3);
  assert.deepEqual(Object.keys(parsed[0]), ["ts", "level", "msg", "request_id", "n"]);
  assert.deepEqual([parsed[0].level, parsed[0].msg, parsed[0].request_id], [
    "info",
    "first {not a placeholder}",
    "r-1",
  ]);
  assert.deepEqual([parsed[1].level, parsed[1].request_id, parsed[1].plugin], ["warn", "r-1", "demo-config"]);
  assert.equal(parsed[2].request_id, undefined);
});

Deno.test("with OTEL_DENO=true log lines are exported as OTel logs with their severity and trace context", async () => {
  const posts: { path: string; body: string }[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    posts.push({ path: new URL(request.url).pathname, body: await request.text() });
    return Response.json({});
  });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env", "--allow-read", `${ROOT}tests/fixtures/otel/log_in_span.ts`],
      cwd: ROOT,
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "imbi-logger-test",
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    // Printed as well (Deno's default capture mode): info on stdout, warn and error on stderr, same JSON shape.
    const stdout = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(stdout.map((l) => l.msg), ["inside the request"]);
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(stderr.map((l) => l.msg), ["a warning {with braces}", "outside any request"]);

    const records = posts.filter((p) => p.path === "/v1/logs").flatMap((p) =>
      JSON.parse(p.body).resourceLogs.flatMap((r: { scopeLogs: { logRecords: unknown[] }[] }) =>
        r.scopeLogs.flatMap((s) => s.logRecords)
      )
    ) as { severityText: string; body: { stringValue: string }; traceId: string; spanId: string }[];
    const exported = records.map((r) => ({ ...r, line: JSON.parse(r.body.stringValue) }));
    assert.deepEqual(exported.map((r) => [r.severityText, r.line.msg]), [
      ["INFO", "inside the request"],
      ["WARN", "a warning {with braces}"],
      ["ERROR", "outside any request"],
    ]);
    const [inside, warning, outside] = exported;
    assert.match(inside!.traceId, /^[0-9a-f]{32}$/);
    assert.equal(inside!.line.trace_id, inside!.traceId, "the line names the trace it is exported under");
    assert.equal(inside!.line.span_id, inside!.spanId);
    assert.equal(inside!.line.request_id, "otel-req-1");
    assert.equal(inside!.line.answer, 42);
    assert.equal(warning!.traceId, inside!.traceId);
    assert.equal(outside!.traceId, "");
    assert.equal(outside!.line.trace_id, undefined);
  } finally {
    await receiver.shutdown();
  }
});
