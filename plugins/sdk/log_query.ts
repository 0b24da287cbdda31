/**
 * Helpers for logs handlers: validate a {@linkcode LogQuery} the same way
 * everywhere, and apply its filters and levels to entries a backend could
 * not filter exactly.
 *
 * @module
 */

import { InvalidInput } from "./errors.ts";
import type { FilterOp, LogEntry, LogField, LogFilter, LogQuery } from "./types.ts";

/** The filter operators of plugin API 1.0. */
export const FILTER_OPS: readonly FilterOp[] = ["eq", "ne", "contains", "starts_with", "regex"];

/**
 * The fields every {@linkcode LogEntry} has, for the start of a logs
 * handler's `schema` answer.
 *
 * @example
 * ```ts
 * const fields = [...ENTRY_FIELDS, { name: "log_stream", label: "Log stream", type: "keyword" }];
 * ```
 */
export const ENTRY_FIELDS: readonly LogField[] = [
  { name: "timestamp", label: "Time", type: "datetime" },
  { name: "level", label: "Level", type: "keyword" },
  { name: "message", label: "Message", type: "text" },
];

/** The largest page a search may ask for. */
export const MAX_LIMIT = 1000;

/** A query with its times parsed. */
export interface CheckedQuery {
  /** Start of the window, milliseconds since the epoch (inclusive). */
  startMs: number;
  /** End of the window, milliseconds since the epoch (inclusive). */
  endMs: number;
  /** Levels, lower-cased. */
  levels: string[];
}

/**
 * Validates a search query: ISO times with `start <= end`, `limit` in
 * 1..1000, known filter operators, valid regular expressions.
 *
 * @param query The query the host passed.
 * @returns Parsed times and lower-cased levels.
 * @throws {InvalidInput} Naming the first rule the query breaks.
 */
export function checkLogQuery(query: LogQuery): CheckedQuery {
  const startMs = Date.parse(query.start);
  const endMs = Date.parse(query.end);
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new InvalidInput("start and end must be ISO 8601 times");
  if (startMs > endMs) throw new InvalidInput("start must not be after end");
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_LIMIT) {
    throw new InvalidInput(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  for (const filter of query.filters ?? []) {
    if (!FILTER_OPS.includes(filter.op)) {
      throw new InvalidInput(`Unknown filter operator ${JSON.stringify(filter.op)}; use ${FILTER_OPS.join(", ")}`);
    }
    if (typeof filter.field !== "string" || filter.field === "" || typeof filter.value !== "string") {
      throw new InvalidInput("Each filter needs a field and a string value");
    }
    if (filter.op === "regex") {
      try {
        new RegExp(filter.value);
      } catch {
        throw new InvalidInput(`The filter regex ${JSON.stringify(filter.value)} is not valid`);
      }
    }
  }
  return { startMs, endMs, levels: (query.levels ?? []).map((l) => l.toLowerCase()) };
}

/**
 * The value of a field of an entry: `message`, `level` and `timestamp` are
 * the entry's own; anything else is looked up in `fields`, by dotted path.
 *
 * @param entry The log entry.
 * @param field The field name.
 * @returns The value, or undefined.
 */
export function entryField(entry: LogEntry, field: string): unknown {
  if (field === "message" || field === "level" || field === "timestamp") return entry[field];
  return lookupField(entry.fields, field);
}

/**
 * A field of a JSON document by name: its own key of that name if it has
 * one (`"http.status"` as a flat key), else by dotted path
 * (`{http: {status: 200}}`).
 *
 * @param document A parsed JSON object, e.g. a backend's log record.
 * @param field The field name.
 * @returns The value, or undefined.
 */
export function lookupField(document: Record<string, unknown>, field: string): unknown {
  if (Object.hasOwn(document, field)) return document[field];
  let value: unknown = document;
  for (const part of field.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function matchesFilter(entry: LogEntry, filter: LogFilter): boolean {
  const raw = entryField(entry, filter.field);
  const value = raw === undefined || raw === null ? undefined : typeof raw === "string" ? raw : JSON.stringify(raw);
  switch (filter.op) {
    case "eq":
      return value === filter.value;
    case "ne":
      return value !== filter.value;
    case "contains":
      return value !== undefined && value.includes(filter.value);
    case "starts_with":
      return value !== undefined && value.startsWith(filter.value);
    case "regex":
      return value !== undefined && new RegExp(filter.value).test(value);
  }
}

/**
 * Whether an entry passes a query's filters (all must match) and levels
 * (any, case-insensitive; an entry without a level fails a level filter).
 *
 * @param entry The log entry.
 * @param query The filters and levels.
 * @returns True when the entry belongs in the result.
 */
export function matchesLogQuery(entry: LogEntry, query: Pick<LogQuery, "filters" | "levels">): boolean {
  const levels = (query.levels ?? []).map((l) => l.toLowerCase());
  if (levels.length > 0 && !levels.includes((entry.level ?? "").toLowerCase())) return false;
  return (query.filters ?? []).every((filter) => matchesFilter(entry, filter));
}
