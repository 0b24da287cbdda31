/**
 * Traces through the plugin sandbox, on Deno's built-in OpenTelemetry
 * (`OTEL_DENO=true` and the standard `OTEL_*` variables).
 *
 * - Every plugin call is a client span (`plugin <method>`), a child of the
 *   request's server span, with the plugin, the Plugin node, the method, the
 *   outcome and the time it waited in the node's queue.
 * - Its W3C trace context goes to the plugin process with the call; there
 *   every `fetch` carries a `traceparent` of the same trace and is recorded
 *   as a client span (`sandbox/child_trace.ts`).
 * - Those spans come back with the answer. They were made in an untrusted
 *   process, so they are checked (ids, parent, times, a fixed set of
 *   attributes, the node's secrets scrubbed) and then posted by this process
 *   as OTLP/JSON to the collector, beside Deno's own export: the plugin's
 *   network allow-list stays exact. (The OpenTelemetry API cannot make a span
 *   with a given id, which the upstream's `traceparent` already names.)
 *
 * @module
 */

import type { Span } from "@opentelemetry/api";
import { MAX_CHILD_SPANS } from "../sandbox/child_trace.ts";
import { log } from "../logger.ts";
import { otel, otelEnv } from "./otel.ts";

const tracer = otel?.trace.getTracer("imbi-plugins");

/** What the sandbox reports into a plugin call's span. */
export interface PluginCallTrace {
  /** The trace context to send to the plugin process; undefined when tracing is off. */
  readonly traceparent: string | undefined;
  /** The call waited this long in the node's queue before a process took it. */
  queued(ms: number): void;
  /**
   * The spans the plugin process returned with its answer: checked, scrubbed and exported.
   *
   * @param spans Unchecked, as they came over the wire.
   * @param scrub Removes the node's secrets from a text.
   */
  childSpans(spans: unknown[] | undefined, scrub: (text: string) => string): void;
}

const OFF: PluginCallTrace = { traceparent: undefined, queued() {}, childSpans() {} };

/** What names a plugin call's span. */
export interface PluginCallAttributes {
  /** The manifest slug of the handler. */
  plugin: string;
  /** The Plugin node's id. */
  nodeId: string;
  /** The protocol method. */
  method: string;
}

/**
 * Runs one plugin call in its own span (when tracing is on).
 *
 * @param attributes The plugin, node and method.
 * @param run The call; it gets the trace context to pass on and reports into the span.
 * @returns What `run` returns.
 */
export function tracePluginCall<T>(
  attributes: PluginCallAttributes,
  run: (call: PluginCallTrace) => Promise<T>,
): Promise<T> {
  if (!otel || !tracer) return run(OFF);
  const { SpanKind, SpanStatusCode } = otel;
  return tracer.startActiveSpan(`plugin ${attributes.method}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "imbi.plugin": attributes.plugin,
      "imbi.plugin_node": attributes.nodeId,
      "imbi.method": attributes.method,
    },
  }, async (span) => {
    const ids = span.spanContext();
    const started = Date.now();
    const call: PluginCallTrace = {
      traceparent: `00-${ids.traceId}-${ids.spanId}-0${ids.traceFlags & 1}`,
      queued: (ms) => span.setAttribute("imbi.queue_wait_ms", Math.round(ms * 1000) / 1000),
      childSpans: (spans, scrub) => exportChildSpans(spans, { span, started, plugin: attributes.plugin, scrub }),
    };
    try {
      const value = await run(call);
      span.setAttribute("imbi.outcome", "ok");
      return value;
    } catch (error) {
      const kind = (error as { kind?: unknown }).kind;
      const outcome = typeof kind === "string" ? kind : "internal";
      span.setAttribute("imbi.outcome", outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** One span as OTLP/JSON carries it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: { stringValue: string } | { intValue: string } }[];
  status: { code: number };
}

const SPAN_ID = /^[0-9a-f]{16}$/;
const HTTP_METHOD = /^[A-Z]{1,16}$/;
const CHILD_ATTRIBUTES = new Set([
  "http.request.method",
  "server.address",
  "server.port",
  "url.full",
  "http.response.status_code",
  "error.type",
]);
/** Slack for clocks of two processes on one machine. */
const CLOCK_SLACK_MS = 1000;

function exportChildSpans(
  spans: unknown[] | undefined,
  call: { span: Span; started: number; plugin: string; scrub: (text: string) => string },
): void {
  if (!spans || spans.length === 0) return;
  const ids = call.span.spanContext();
  const window = { from: call.started - CLOCK_SLACK_MS, to: Date.now() + CLOCK_SLACK_MS };
  const checked: OtlpSpan[] = [];
  for (const raw of spans.slice(0, MAX_CHILD_SPANS)) {
    const span = checkChildSpan(raw, ids.spanId, window);
    if (span === undefined) continue;
    const attributes: OtlpSpan["attributes"] = [{ key: "imbi.plugin", value: { stringValue: call.plugin } }];
    for (const [key, value] of Object.entries(span.attributes)) {
      if (!CHILD_ATTRIBUTES.has(key)) continue;
      if (typeof value === "number" && Number.isInteger(value)) {
        attributes.push({ key, value: { intValue: String(value) } });
      } else if (typeof value === "string") {
        attributes.push({ key, value: { stringValue: call.scrub(value.slice(0, 512)) } });
      }
    }
    checked.push({
      traceId: ids.traceId,
      spanId: span.span_id,
      parentSpanId: ids.spanId,
      name: span.name,
      kind: 3,
      startTimeUnixNano: `${BigInt(Math.round(span.start_ms * 1000)) * 1000n}`,
      endTimeUnixNano: `${BigInt(Math.round(span.end_ms * 1000)) * 1000n}`,
      attributes,
      status: { code: span.error ? 2 : 1 },
    });
  }
  if (checked.length > 0) childExporter.add(checked);
}

interface Unchecked {
  span_id: string;
  name: string;
  start_ms: number;
  end_ms: number;
  attributes: Record<string, unknown>;
  error: boolean;
}

function checkChildSpan(raw: unknown, parent: string, window: { from: number; to: number }): Unchecked | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const s = raw as Record<string, unknown>;
  const { span_id, parent_span_id, name, start_ms, end_ms, attributes, error } = s;
  if (typeof span_id !== "string" || !SPAN_ID.test(span_id) || /^0+$/.test(span_id)) return undefined;
  if (parent_span_id !== parent || typeof name !== "string" || !HTTP_METHOD.test(name)) return undefined;
  if (typeof start_ms !== "number" || typeof end_ms !== "number" || !(start_ms <= end_ms)) return undefined;
  if (start_ms < window.from || end_ms > window.to) return undefined;
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) return undefined;
  return { span_id, name, start_ms, end_ms, attributes: attributes as Record<string, unknown>, error: error === true };
}

/** Posts checked child spans as OTLP/JSON, batched, to where Deno sends its own traces. */
class ChildSpanExporter {
  #buffer: OtlpSpan[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> = Promise.resolve();
  #warned = false;

  add(spans: OtlpSpan[]): void {
    this.#buffer.push(...spans);
    if (this.#buffer.length >= 512) void this.flush();
    else if (this.#timer === undefined) {
      const timer = setTimeout(() => void this.flush(), 1000);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Sends what is buffered; resolves when every send so far has finished. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#buffer.splice(0);
    if (batch.length > 0) this.#sending = this.#sending.then(() => this.#post(batch));
    return this.#sending;
  }

  async #post(spans: OtlpSpan[]): Promise<void> {
    const base = (otelEnv("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "http://localhost:4318").replace(/\/+$/, "");
    const url = otelEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? `${base}/v1/traces`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    for (const pair of (otelEnv("OTEL_EXPORTER_OTLP_HEADERS") ?? "").split(",")) {
      const at = pair.indexOf("=");
      if (at > 0) headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    }
    const body = {
      resourceSpans: [{
        resource: {
          attributes: [{ key: "service.name", value: { stringValue: otelEnv("OTEL_SERVICE_NAME") ?? "imbi-plugins" } }],
        },
        scopeSpans: [{ scope: { name: "imbi-plugin-sandbox" }, spans }],
      }],
    };
    try {
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the collector answered ${response.status}`);
    } catch (error) {
      if (this.#warned) return;
      this.#warned = true;
      log.warn("cannot export plugin spans", { url, error: String(error) });
    }
  }
}

const childExporter = new ChildSpanExporter();

/**
 * Sends the plugin spans still buffered (service shutdown).
 *
 * @returns When they were sent, or failed.
 */
export function flushPluginSpans(): Promise<void> {
  return childExporter.flush();
}
