/**
 * A logs plugin that makes up a deterministic stream of entries for each
 * project: one entry every `interval_seconds`, levels and messages cycling.
 * No backend, no network; the logs plugin of the README walk-through and the
 * end-to-end tests, and the template `deno task plugin:new --type logs`
 * copies.
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";

const LEVELS = ["info", "info", "debug", "warn", "info", "error"];
const MESSAGES = ["request served", "cache refreshed", "slow query", "retrying upstream", "job finished"];
/** The most entries one window yields. */
const MAX_ENTRIES = 100_000;

interface Options {
  interval_seconds: number;
  latency_ms: number;
}

/** Synthetic logs, newest first, with filters, levels and cursors. */
export class DemoLogs implements sdk.LogsHandler {
  /** The manifest the host reads without running any handler code. */
  static manifest: sdk.PluginManifest = {
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

  /** @param init Options with defaults applied, decrypted credentials, the Plugin node and its service. */
  constructor(init: sdk.HandlerInit) {
    this.#options = init.options as unknown as Options;
  }

  async #pause(): Promise<void> {
    if (this.#options.latency_ms > 0) await new Promise((r) => setTimeout(r, this.#options.latency_ms));
  }

  /**
   * Every entry of the window up to `beforeMs` that matches the query, newest
   * first. Replace this with a call to your backend (through `fetch`, to the
   * hosts in `network.hosts` only).
   */
  #fetchEntries(
    ctx: sdk.CallContext,
    query: sdk.LogQuery,
    window: sdk.CheckedQuery & { beforeMs: number },
  ): sdk.LogEntry[] {
    const step = this.#options.interval_seconds * 1000;
    const entries: sdk.LogEntry[] = [];
    for (let t = Math.floor(window.beforeMs / step) * step; t >= window.startMs; t -= step) {
      const n = t / step;
      const entry: sdk.LogEntry = {
        timestamp: new Date(t).toISOString(),
        level: LEVELS[n % LEVELS.length]!,
        message: `${ctx.project.slug}: ${MESSAGES[n % MESSAGES.length]}`,
        fields: { project: ctx.project.slug, stream: ctx.search_template, sequence: n },
      };
      if (sdk.matchesLogQuery(entry, query)) entries.push(entry);
      if (entries.length >= MAX_ENTRIES) break;
    }
    return entries;
  }

  /** One page of matching entries, newest first; the cursor holds the page's last timestamp. */
  async search(ctx: sdk.CallContext, query: sdk.LogQuery): Promise<sdk.LogPage> {
    await this.#pause();
    const window = sdk.checkLogQuery(query);
    const scope = `${ctx.project.id}|${ctx.search_template}`;
    const beforeMs = query.cursor ? sdk.decodeCursor<number>(query.cursor, query, { scope }) - 1 : window.endMs;
    const matching = this.#fetchEntries(ctx, query, { ...window, beforeMs });
    const page: sdk.LogPage = { entries: matching.slice(0, query.limit), warnings: [] };
    if (matching.length > query.limit) {
      page.next_cursor = sdk.encodeCursor(query, Date.parse(page.entries.at(-1)!.timestamp), { scope });
    }
    return page;
  }

  /** Nothing to reach: the stream is generated. Call your backend's cheapest authenticated read here. */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    return await Promise.resolve({ checked: ["generated log stream (no upstream, no credentials)"] });
  }

  /** The fields entries carry. */
  async schema(_ctx: sdk.CallContext): Promise<sdk.LogField[]> {
    return await Promise.resolve([
      { name: "project", label: "Project", type: "string" },
      { name: "stream", label: "Stream", type: "string" },
      { name: "sequence", label: "Sequence", type: "number" },
    ]);
  }

  /** Counts per time bucket of every matching entry, with a count per level. */
  async histogram(ctx: sdk.CallContext, query: sdk.LogQuery, buckets: number): Promise<sdk.HistogramBucket[]> {
    await this.#pause();
    // A histogram reads the whole window: its page size does not matter.
    const window = sdk.checkLogQuery({ ...query, limit: 1 });
    const width = Math.max(1, Math.ceil((window.endMs - window.startMs) / buckets));
    const out: sdk.HistogramBucket[] = Array.from({ length: buckets }, (_, i) => ({
      timestamp: new Date(window.startMs + i * width).toISOString(),
      count: 0,
      levels: {},
    }));
    for (const entry of this.#fetchEntries(ctx, query, { ...window, beforeMs: window.endMs })) {
      const bucket = out[Math.min(buckets - 1, Math.floor((Date.parse(entry.timestamp) - window.startMs) / width))]!;
      bucket.count++;
      bucket.levels[entry.level!] = (bucket.levels[entry.level!] ?? 0) + 1;
    }
    return out;
  }
}

/** The package's entry points. */
export const plugins = [DemoLogs];
