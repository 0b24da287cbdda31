/**
 * Traces end to end, with the service run as `deno task serve` and Deno's
 * built-in OpenTelemetry exporting to a loopback OTLP/JSON receiver: the
 * client's `traceparent` is honoured, the server span is named by its route
 * template, the plugin call is a child span, the plugin's plain `fetch`
 * carries the trace to its upstream, and that request's span reaches the
 * collector through the host. Log lines arrive as OTel logs with the ids.
 */
import assert from "node:assert/strict";
import { serveLocked } from "./support/serve_process.ts";
import { ROOT } from "./support/test_app.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
}

/** A loopback OTLP/HTTP receiver that keeps every JSON body posted to /v1/traces and /v1/logs. */
function startCollector() {
  const spans: OtlpSpan[] = [];
  const logs: { traceId?: string; body?: { stringValue?: string } }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const body = await request.json();
    if (path === "/v1/traces") {
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans ?? []);
      }
    } else if (path === "/v1/logs") {
      for (const rl of body.resourceLogs ?? []) {
        for (const sl of rl.scopeLogs ?? []) logs.push(...sl.logRecords ?? []);
      }
    }
    return Response.json({});
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, spans, logs, close: () => server.shutdown() };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("a tab request's trace runs through the plugin process to its upstream and reaches the collector", async () => {
  const collector = startCollector();
  const seen: string[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.push(request.headers.get("traceparent") ?? "");
    return Response.json(["API_URL"]);
  });
  const probe = { name: "@imbi-test/trace-probe", dir: `${ROOT}tests/fixtures/packages/trace-probe` };
  await using served = await serveLocked([{ ...probe, entryPoints: ["trace-probe"] }], {
    prefix: "imbi-trace-",
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "imbi-trace-test",
    },
  });
  const { service, admin } = served;
  try {
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
      return JSON.parse(text);
    };
    await call("POST", "/orgs", { slug: "acme", name: "Acme" });
    await call("POST", "/orgs/acme/project-types", { slug: "api", name: "API" });
    await call("POST", "/orgs/acme/projects", { slug: "web", name: "Web", project_types: ["api"] });
    await call("POST", "/orgs/acme/third-party-services", { slug: "up", name: "Upstream" });
    const node = await call("POST", "/orgs/acme/third-party-services/up/plugins", {
      slug: "probe",
      plugin: "trace-probe",
      label: "Probe",
      options: { upstream: `http://127.0.0.1:${upstream.addr.port}` },
    });
    await call("PUT", "/orgs/acme/projects/web/plugins", {
      bindings: [{ plugin_id: node.id, tab: "configuration", default: true, search_template: "" }],
    });

    const traceId = crypto.randomUUID().replaceAll("-", "");
    const clientSpan = traceId.slice(0, 16);
    const keys = await call("GET", "/orgs/acme/projects/web/configuration", undefined, {
      traceparent: `00-${traceId}-${clientSpan}-01`,
    });
    assert.deepEqual(keys.items.map((k: { key: string }) => k.key), ["API_URL"]);

    const sent = seen.at(-1)!.split("-");
    assert.equal(sent[1], traceId, "the upstream got the client's trace id from a plain fetch in the plugin");

    const server = await until(
      "the server span",
      () => collector.spans.find((s) => s.traceId === traceId && s.parentSpanId === clientSpan),
    );
    assert.equal(server.name, "GET /orgs/:org/projects/:id/configuration");
    const plugin = await until(
      "the plugin-call span",
      () => collector.spans.find((s) => s.traceId === traceId && s.name === "plugin listKeys"),
    );
    assert.equal(plugin.parentSpanId, server.spanId);
    assert.equal(attribute(plugin, "imbi.plugin"), "trace-probe");
    assert.equal(attribute(plugin, "imbi.plugin_node"), node.id);
    assert.equal(attribute(plugin, "imbi.outcome"), "ok");
    const fetched = await until(
      "the plugin's fetch span",
      () => collector.spans.find((s) => s.traceId === traceId && s.spanId === sent[2]),
    );
    assert.equal(fetched.parentSpanId, plugin.spanId);
    assert.equal(fetched.name, "GET");
    assert.equal(attribute(fetched, "url.full"), `http://127.0.0.1:${upstream.addr.port}/keys`, "no query string");
    assert.equal(String(attribute(fetched, "http.response.status_code")), "200");

    const logged = await until(
      "a log record of the request",
      () => collector.logs.find((l) => l.traceId === traceId && l.body?.stringValue?.includes('"msg":"request"')),
    );
    assert.match(logged.body!.stringValue!, /"route":"\/orgs\/:org\/projects\/:id\/configuration"/);
  } finally {
    await service.stop();
    await upstream.shutdown();
    await collector.close();
  }
});
