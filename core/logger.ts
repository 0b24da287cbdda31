/**
 * The one logger, on LogTape: one JSON line per record
 * (`{ts, level, msg, ...context, ...fields}`), where the context is what the
 * current request put there with {@linkcode withLogContext} (its request id,
 * later the plugin and node that served it) and, under OpenTelemetry, the
 * active `trace_id` and `span_id`. Library code logs through here, never
 * through `console`.
 *
 * With Deno's built-in OpenTelemetry on (`OTEL_DENO=true`) and its console
 * capture not turned off (`OTEL_DENO_CONSOLE` other than `ignore`), each line
 * is handed to the `console` method of its level: Deno exports it as an OTel
 * log record with that severity and the active span's trace and span ids,
 * and (in the default `capture` mode) prints it as well, `debug` and `info`
 * on stdout, `warn` and `error` on stderr. Otherwise lines go to stderr.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { configureSync, getLogger, type LogRecord, withContext } from "@logtape/logtape";
import { activeSpan, otelEnv } from "./ops/otel.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go; tests install their own sink to read every line. */
export type LogSink = (line: string, level: LogLevel) => void;

/** Whether Deno exports `console` output as OTel logs in this process. */
function consoleExported(): boolean {
  return otelEnv("OTEL_DENO") === "true" && otelEnv("OTEL_DENO_CONSOLE") !== "ignore";
}

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function otelConsoleSink(line: string, level: LogLevel): void {
  // deno-lint-ignore no-console -- Deno's OpenTelemetry exports console output as log records; this is the bridge.
  console[level](line);
}

/** The sink in place when nothing replaced it. */
export const defaultLogSink: LogSink = consoleExported() ? otelConsoleSink : stderrSink;

let sink: LogSink = defaultLogSink;
let threshold: LogLevel = "info";
const context = new AsyncLocalStorage<Record<string, unknown>>();

const LEVELS: Partial<Record<LogRecord["level"], LogLevel>> = {
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
};

function render(record: LogRecord): void {
  const level = LEVELS[record.level] ?? "error";
  const fields: Record<string, unknown> = { ts: new Date(record.timestamp).toISOString(), level };
  fields.msg = record.message.map((part) => typeof part === "string" ? part : JSON.stringify(part)).join("");
  const span = activeSpan()?.spanContext();
  if (span && span.traceId !== "00000000000000000000000000000000") {
    fields.trace_id = span.traceId;
    fields.span_id = span.spanId;
  }
  sink(JSON.stringify({ ...fields, ...record.properties }), level);
}

configureSync({
  reset: true,
  sinks: { json: render },
  loggers: [
    { category: ["imbi"], lowestLevel: "debug", sinks: ["json"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["json"] },
  ],
  contextLocalStorage: context,
});

const logger = getLogger(["imbi"]);

/**
 * Replaces where log lines go, returning the previous sink.
 *
 * @param next The new sink.
 * @returns The sink that was in place.
 */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

/**
 * Sets the lowest level that is written.
 *
 * @param level The new threshold.
 */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/**
 * Runs `fn` with `fields` added to every log line written inside it,
 * across awaits (the request id of a request, for instance).
 *
 * @param fields Fields every line carries.
 * @param fn What to run.
 * @returns What `fn` returns.
 */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return withContext(fields, fn);
}

/**
 * Adds fields to the context of the innermost {@linkcode withLogContext}
 * around the caller (no effect outside one): every later line of the same
 * request carries them, and so does its access log line.
 *
 * @param fields Fields to add, e.g. the plugin and node that serve a tab.
 */
export function addLogContext(fields: Record<string, unknown>): void {
  const store = context.getStore();
  if (store) Object.assign(store, fields);
}

/**
 * The fields of the current log context (empty outside one).
 *
 * @returns A copy of the fields.
 */
export function logContext(): Record<string, unknown> {
  return { ...context.getStore() };
}

function write(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const template = msg.replaceAll("{", "{{").replaceAll("}", "}}");
  switch (level) {
    case "debug":
      return logger.debug(template, fields);
    case "info":
      return logger.info(template, fields);
    case "warn":
      return logger.warn(template, fields);
    case "error":
      return logger.error(template, fields);
  }
}

/** Structured logger: `log.info("plugin loaded", {slug})`. */
export const log = {
  /** Detail for debugging. */
  debug: (msg: string, fields: Record<string, unknown> = {}) => write("debug", msg, fields),
  /** Normal operation. */
  info: (msg: string, fields: Record<string, unknown> = {}) => write("info", msg, fields),
  /** Something an operator should look at. */
  warn: (msg: string, fields: Record<string, unknown> = {}) => write("warn", msg, fields),
  /** A failure. */
  error: (msg: string, fields: Record<string, unknown> = {}) => write("error", msg, fields),
};
