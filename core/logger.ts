/**
 * The one logger: JSON lines with structured fields on stderr. Library code
 * logs through here, never through `console`.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go; tests install their own sink to read every line. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();
let sink: LogSink = (line) => Deno.stderr.writeSync(encoder.encode(line + "\n"));
let threshold: LogLevel = "info";

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

function write(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[threshold]) return;
  sink(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }));
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
