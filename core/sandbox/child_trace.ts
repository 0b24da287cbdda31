/**
 * Trace context inside a plugin process (the bootstrap's side of issue 12's
 * tracing). The host sends each call's W3C `traceparent` (the plugin-call
 * span); while the handler runs, every `fetch` it makes, plain or through
 * the SDK's helper, carries a `traceparent` of the same trace and is recorded
 * as a client span. The spans go back to the host with the call's answer,
 * and the host exports them: the plugin's network allow-list stays exact,
 * it never talks to the collector itself.
 *
 * Nothing here is trusted: plugin code could replace `fetch` or forge spans,
 * so the host checks every span it gets (`core/ops/tracing.ts`).
 *
 * @module
 */

import type { AsyncLocalStorage } from "node:async_hooks";

/** A client span recorded in the plugin process, as it crosses the wire. */
export interface ChildSpan {
  /** 16 hex digits. */
  span_id: string;
  /** The span it is a child of: the host's plugin-call span. */
  parent_span_id: string;
  /** `GET`, `POST`, ...: the HTTP method, as OpenTelemetry names client spans. */
  name: string;
  /** Epoch milliseconds. */
  start_ms: number;
  /** Epoch milliseconds. */
  end_ms: number;
  /** HTTP attributes: method, server address and port, URL without its query, response status. */
  attributes: Record<string, string | number>;
  /** Whether the request failed (no response, or a 5xx). */
  error: boolean;
}

/** Most spans one call returns. */
export const MAX_CHILD_SPANS = 32;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

interface CallTrace {
  traceId: string;
  parentId: string;
  flags: string;
  spans: ChildSpan[];
}

/**
 * The current call's trace, set up by the first traced call: `node:async_hooks` costs a plugin process about
 * 3 MiB, which a service without tracing (the default) never pays.
 */
let current: AsyncLocalStorage<CallTrace> | undefined;

async function traceStorage(): Promise<AsyncLocalStorage<CallTrace>> {
  const { AsyncLocalStorage } = await import("node:async_hooks");
  return current ??= new AsyncLocalStorage<CallTrace>();
}

/**
 * Splits a W3C `traceparent` (version 00) into its parts.
 *
 * @param value The header's value.
 * @returns Trace id, parent span id and flags; undefined when malformed or all-zero.
 */
export function parseTraceparent(value: string): { traceId: string; parentId: string; flags: string } | undefined {
  const match = TRACEPARENT.exec(value);
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { traceId: match[1]!, parentId: match[2]!, flags: match[3]! };
}

function randomSpanId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Runs one handler call in its trace context.
 *
 * @param traceparent The host's plugin-call span, when tracing is on.
 * @param fn The handler call.
 * @returns The call's promise, and the list its fetches are recorded into.
 */
export function traced<T>(traceparent: string | undefined, fn: () => Promise<T>): {
  result: Promise<T>;
  spans: ChildSpan[];
} {
  // An async wrapper turns a handler's synchronous throw into a rejection.
  const run = async () => await fn();
  const parsed = traceparent === undefined ? undefined : parseTraceparent(traceparent);
  if (parsed === undefined) return { result: run(), spans: [] };
  const trace: CallTrace = { ...parsed, spans: [] };
  const result = current ? current.run(trace, run) : traceStorage().then((storage) => storage.run(trace, run));
  return { result, spans: trace.spans };
}

/**
 * Wraps `globalThis.fetch` so that a request made during a traced call
 * carries its `traceparent` (unless the plugin set one) and is recorded.
 * Called once, before the plugin is loaded.
 */
export function installFetchTracing(): void {
  const original = globalThis.fetch;
  globalThis.fetch = async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const trace = current?.getStore();
    if (trace === undefined) return await original(input, init);
    const request = new Request(input, init);
    const spanId = randomSpanId();
    if (!request.headers.has("traceparent")) {
      request.headers.set("traceparent", `00-${trace.traceId}-${spanId}-${trace.flags}`);
    }
    const url = new URL(request.url);
    const span: ChildSpan = {
      span_id: spanId,
      parent_span_id: trace.parentId,
      name: request.method,
      start_ms: now(),
      end_ms: 0,
      attributes: {
        "http.request.method": request.method,
        "server.address": url.hostname,
        "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)),
        "url.full": `${url.origin}${url.pathname}`,
      },
      error: false,
    };
    try {
      const response = await original(request);
      span.attributes["http.response.status_code"] = response.status;
      span.error = response.status >= 500;
      return response;
    } catch (error) {
      span.error = true;
      span.attributes["error.type"] = error instanceof Error ? error.name : "Error";
      throw error;
    } finally {
      span.end_ms = now();
      if (trace.spans.length < MAX_CHILD_SPANS) trace.spans.push(span);
    }
  };
}
