/**
 * The shapes of protocol results, checked: what a handler returns crosses a
 * process boundary as JSON and is untrusted, so the host parses every
 * answer with these before it uses it, and the conformance suite runs the
 * same parsers (and stricter checks of its own) over a handler under test.
 *
 * Each parser returns a clean copy (times as ISO 8601 UTC, optional fields
 * that are `null` dropped, absent `fields` and `warnings` as empty) or throws
 * a `TypeError` naming the first bad field, e.g.
 * `entries[3].timestamp must be an ISO 8601 time`.
 *
 * @module
 */

import type { ConfigKey, ConfigValue, ConnectionCheck, HistogramBucket, LogEntry, LogField, LogPage } from "./types.ts";

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${where || "the result"} must be an object`);
  }
  return value as Record<string, unknown>;
}

function string(value: unknown, where: string): string {
  if (typeof value !== "string") throw new TypeError(`${where} must be a string`);
  return value;
}

/**
 * A time already in the form `toISOString()` writes, and one it would write back unchanged: no day past the 28th,
 * no hour 24, which `Date` carries into the next month or day.
 */
const CANONICAL_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

function time(value: unknown, where: string): string {
  // Most answers carry canonical times (a listing has one per key): keep them without a parse and a new string.
  if (typeof value === "string" && CANONICAL_TIME.test(value)) return value;
  if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
    throw new TypeError(`${where} must be an ISO 8601 time`);
  }
  return new Date(value).toISOString();
}

function list<T>(value: unknown, where: string, item: (value: unknown, where: string) => T): T[] {
  if (!Array.isArray(value)) throw new TypeError(`${where || "the result"} must be a list`);
  // An item is checked without its path, which would be a few new strings per item (a listing can have 100,000):
  // only a bad item is checked again with it, to name it in the error.
  return value.map((v, i) => {
    try {
      return item(v, "");
    } catch (error) {
      item(v, `${where}[${i}]`);
      throw error;
    }
  });
}

function field(where: string, name: string): string {
  return where ? `${where}.${name}` : name;
}

function configKey(value: unknown, where: string): ConfigKey {
  const o = object(value, where);
  if (typeof o.secret !== "boolean") throw new TypeError(`${field(where, "secret")} must be a boolean`);
  const key: ConfigKey = {
    key: string(o.key, field(where, "key")),
    data_type: string(o.data_type, field(where, "data_type")),
    secret: o.secret,
  };
  if (o.last_modified !== undefined && o.last_modified !== null) {
    key.last_modified = time(o.last_modified, field(where, "last_modified"));
  }
  return key;
}

function configValue(value: unknown, where: string): ConfigValue {
  return { ...configKey(value, where), value: string(object(value, where).value, field(where, "value")) };
}

function logEntry(value: unknown, where: string): LogEntry {
  const o = object(value, where);
  const entry: LogEntry = {
    timestamp: time(o.timestamp, field(where, "timestamp")),
    message: string(o.message, field(where, "message")),
    fields: object(o.fields ?? {}, field(where, "fields")),
  };
  if (o.level !== undefined && o.level !== null) entry.level = string(o.level, field(where, "level"));
  return entry;
}

/**
 * Parses one configuration key, as `setValue` returns it.
 *
 * @param value The handler's answer.
 * @returns The key, `last_modified` normalised.
 * @throws {TypeError} Naming the first bad field.
 */
export function parseConfigKey(value: unknown): ConfigKey {
  return configKey(value, "");
}

/**
 * Parses the answer of `listKeys`.
 *
 * @param value The handler's answer.
 * @returns The keys.
 * @throws {TypeError} Naming the first bad field.
 */
export function parseConfigKeys(value: unknown): ConfigKey[] {
  return list(value, "", configKey);
}

/**
 * Parses the answer of `getValues`.
 *
 * @param value The handler's answer.
 * @returns The keys with their values.
 * @throws {TypeError} Naming the first bad field.
 */
export function parseConfigValues(value: unknown): ConfigValue[] {
  return list(value, "", configValue);
}

/**
 * Parses the answer of `search`: at most `limit` entries, newest first.
 *
 * @param value The handler's answer.
 * @param limit The query's `limit`.
 * @returns The page.
 * @throws {TypeError} Naming the first bad field, too many entries, or entries out of order.
 */
export function parseLogPage(value: unknown, limit: number): LogPage {
  const o = object(value, "");
  const entries = list(o.entries, "entries", logEntry);
  if (entries.length > limit) throw new TypeError(`returned ${entries.length} entries for a limit of ${limit}`);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i - 1]!.timestamp < entries[i]!.timestamp) {
      throw new TypeError(`entries[${i}] is newer than the entry before it: entries must be newest first`);
    }
  }
  const warnings = o.warnings === undefined ? [] : list(o.warnings, "warnings", string);
  const page: LogPage = { entries, warnings };
  if (o.next_cursor !== undefined && o.next_cursor !== null) page.next_cursor = string(o.next_cursor, "next_cursor");
  return page;
}

/**
 * Parses the answer of `schema`.
 *
 * @param value The handler's answer.
 * @returns The fields.
 * @throws {TypeError} Naming the first bad field.
 */
export function parseLogFields(value: unknown): LogField[] {
  return list(value, "", (f, where) => {
    const o = object(f, where);
    return {
      name: string(o.name, field(where, "name")),
      label: string(o.label, field(where, "label")),
      type: string(o.type, field(where, "type")),
    };
  });
}

/**
 * Parses the answer of `histogram`.
 *
 * @param value The handler's answer.
 * @returns The buckets.
 * @throws {TypeError} Naming the first bad field.
 */
export function parseHistogram(value: unknown): HistogramBucket[] {
  return list(value, "", (b, where) => {
    const o = object(b, where);
    if (typeof o.count !== "number" || o.count < 0) {
      throw new TypeError(`${field(where, "count")} must be a non-negative number`);
    }
    const levels = object(o.levels ?? {}, field(where, "levels"));
    for (const [level, n] of Object.entries(levels)) {
      if (typeof n !== "number") throw new TypeError(`${field(where, `levels.${level}`)} must be a number`);
    }
    return {
      timestamp: time(o.timestamp, field(where, "timestamp")),
      count: o.count,
      levels: levels as Record<string, number>,
    };
  });
}

/**
 * Parses the answer of `checkConnection`.
 *
 * @param value The handler's answer.
 * @returns What was checked (at least one item).
 * @throws {TypeError} Naming the first bad field.
 */
export function parseConnectionCheck(value: unknown): ConnectionCheck {
  const o = object(value, "");
  const checked = list(o.checked, "checked", (item, where) => string(item, where));
  if (checked.length === 0) throw new TypeError("checked must name at least one thing that was checked");
  return { checked };
}
