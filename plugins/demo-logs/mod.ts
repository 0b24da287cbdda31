/**
 * A logs plugin that makes up a deterministic stream of entries for each
 * project: one entry every `interval_seconds`, levels and messages cycling.
 * No backend, no network; the logs plugin of the README walk-through and the
 * end-to-end tests.
 *
 * @module
 */

import {
  type CallContext,
  CursorExpired,
  type HandlerInit,
  type HistogramBucket,
  InvalidInput,
  type LogEntry,
  type LogField,
  type LogFilter,
  type LogPage,
  type LogQuery,
  type LogsHandler,
  type PluginManifest,
} from "@imbi/plugin-sdk";

const LEVELS = ["info", "info", "debug", "warn", "info", "error"];
const MESSAGES = ["request served", "cache refreshed", "slow query", "retrying upstream", "job finished"];

interface Options {
  interval_seconds: number;
  latency_ms: number;
}

/** Synthetic logs, newest first, with filters, levels and cursors. */
export class DemoLogs implements LogsHandler {
  static manifest: PluginManifest = {
    slug: "demo-logs",
    name: "Demo logs",
    description: "Generates a deterministic log stream per project. For demos and tests.",
    plugin_type: "logs",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        interval_seconds: { type: "integer", minimum: 1, maximum: 86400, default: 60 },
        latency_ms: { type: "integer", minimum: 0, maximum: 60000, default: 0 },
      },
      additionalProperties: false,
    },
    network: { hosts: [] },
    hints: { supports_histogram: true, cacheable: true },
  };

  #options: Options;

  constructor(init: HandlerInit) {
    this.#options = init.options as unknown as Options;
  }

  async #pause(): Promise<void> {
    if (this.#options.latency_ms > 0) await new Promise((r) => setTimeout(r, this.#options.latency_ms));
  }

  #entries(ctx: CallContext, query: LogQuery): LogEntry[] {
    const step = this.#options.interval_seconds * 1000;
    const start = Date.parse(query.start);
    const end = Date.parse(query.end);
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) {
      throw new InvalidInput("start and end must be ISO 8601 times with start before end");
    }
    const entries: LogEntry[] = [];
    for (let t = Math.floor(end / step) * step; t >= start && entries.length < 100_000; t -= step) {
      const n = t / step;
      const entry: LogEntry = {
        timestamp: new Date(t).toISOString(),
        level: LEVELS[n % LEVELS.length]!,
        message: `${ctx.project.slug}: ${MESSAGES[n % MESSAGES.length]}`,
        fields: { project: ctx.project.slug, stream: ctx.search_template, sequence: n },
      };
      if (matches(entry, query)) entries.push(entry);
    }
    return entries;
  }

  async search(ctx: CallContext, query: LogQuery): Promise<LogPage> {
    await this.#pause();
    const fingerprint = fingerprintOf(ctx, query);
    let offset = 0;
    if (query.cursor) {
      const [fp, at] = query.cursor.split(".");
      if (fp !== fingerprint || !/^\d+$/.test(at ?? "")) throw new CursorExpired();
      offset = Number(at);
    }
    const all = this.#entries(ctx, query);
    const entries = all.slice(offset, offset + query.limit);
    const next = offset + entries.length;
    return {
      entries,
      ...(next < all.length ? { next_cursor: `${fingerprint}.${next}` } : {}),
      warnings: [],
    };
  }

  async schema(): Promise<LogField[]> {
    return await Promise.resolve([
      { name: "project", label: "Project", type: "string" },
      { name: "stream", label: "Stream", type: "string" },
      { name: "sequence", label: "Sequence", type: "number" },
    ]);
  }

  async histogram(ctx: CallContext, query: LogQuery, buckets: number): Promise<HistogramBucket[]> {
    await this.#pause();
    const start = Date.parse(query.start);
    const end = Date.parse(query.end);
    const width = Math.max(1, Math.ceil((end - start) / buckets));
    const out: HistogramBucket[] = Array.from({ length: buckets }, (_, i) => ({
      timestamp: new Date(start + i * width).toISOString(),
      count: 0,
      levels: {},
    }));
    for (const entry of this.#entries(ctx, query)) {
      const bucket = out[Math.min(buckets - 1, Math.floor((Date.parse(entry.timestamp) - start) / width))]!;
      bucket.count++;
      bucket.levels[entry.level!] = (bucket.levels[entry.level!] ?? 0) + 1;
    }
    return out;
  }
}

function matches(entry: LogEntry, query: LogQuery): boolean {
  if (query.levels.length > 0 && !query.levels.includes(entry.level!)) return false;
  return query.filters.every((f) => test(f, f.field === "message" ? entry.message : entry.fields[f.field]));
}

function test(filter: LogFilter, raw: unknown): boolean {
  const value = raw === undefined ? "" : String(raw);
  switch (filter.op as string) {
    case "eq":
      return value === filter.value;
    case "ne":
      return value !== filter.value;
    case "contains":
      return value.includes(filter.value);
    case "starts_with":
      return value.startsWith(filter.value);
    case "regex":
      try {
        return new RegExp(filter.value).test(value);
      } catch {
        throw new InvalidInput(`"${filter.value}" is not a valid regular expression`);
      }
    default:
      throw new InvalidInput(`filter operator "${filter.op}" is not one of eq, ne, contains, starts_with, regex`);
  }
}

function fingerprintOf(ctx: CallContext, query: LogQuery): string {
  const text = JSON.stringify([
    ctx.project.id,
    ctx.search_template,
    query.start,
    query.end,
    query.filters,
    query.levels,
  ]);
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash.toString(36);
}

/** The package's entry points. */
export const plugins = [DemoLogs];
