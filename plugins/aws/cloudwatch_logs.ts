/**
 * `aws-cloudwatch-logs`: logs from one CloudWatch Logs log group through
 * FilterLogEvents.
 *
 * The rendered `search_template` is the log group name (`/ecs/{project.slug}`).
 * FilterLogEvents returns events oldest first; the protocol wants newest
 * first. So a page is read backwards in time slices: the newest slice that
 * ends at the page boundary is drained (following `nextToken` inside it),
 * and the slice widens fourfold until it holds more than `limit` events or
 * reaches `start`. The cursor remembers the boundary timestamp and the ids
 * of events already returned at that very millisecond, fingerprinted
 * against the query and the log group.
 *
 * Filters and levels become a CloudWatch filter pattern, so AWS sends only
 * matching events, and are applied again to the parsed events, so the
 * answer is exact whatever the pattern matched.
 *
 * Histograms count the same events the search finds: by default by reading
 * them all with FilterLogEvents (exact, up to `max_scan` events), or, when
 * the operator sets `histogram_source: "insights"`, with a CloudWatch Logs
 * Insights `stats count(*) by bin()` query (`insights.ts`).
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";
import { AWS_CREDENTIALS, AwsJsonClient, type AwsOptions, endpointOption, REGION_OPTION } from "./_aws.ts";
import { histogramCounter, histogramGrid, insightsHistogram, insightsQuery, quote } from "./insights.ts";

/** Options of an `aws-cloudwatch-logs` capability. */
export interface CloudWatchLogsOptions extends AwsOptions {
  /** `json`: messages are JSON objects; `text`: plain lines with a level word. */
  format: "json" | "text";
  /** JSON field holding the level (json format). */
  level_field: string;
  /** JSON field holding the message (json format); the whole line when absent. */
  message_field: string;
  /** Most events one search (or a FilterLogEvents histogram) may read from AWS. */
  max_scan: number;
  /** How histograms count: by reading events (`filter_log_events`) or with a Logs Insights query. */
  histogram_source: "filter_log_events" | "insights";
}

interface FilteredEvent {
  logStreamName: string;
  timestamp: number;
  message: string;
  ingestionTime?: number;
  eventId: string;
}

interface CursorState {
  /** Boundary: the timestamp (ms) of the last entry returned. */
  b: number;
  /** Event ids at the boundary already returned. */
  x: string[];
}

const TEXT_LEVELS = ["fatal", "critical", "error", "warning", "warn", "info", "debug", "trace"];
const FIRST_SLICE_MS = 15 * 60_000;

function jsonSelector(field: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(field)) {
    throw new sdk.InvalidInput(`The field ${JSON.stringify(field)} cannot be used in a CloudWatch filter`);
  }
  return `$.${field}`;
}

function jsonTerm(filter: sdk.LogFilter, messageField: string): string | undefined {
  const selector = jsonSelector(filter.field === "message" ? messageField : filter.field);
  const wild = (v: string) => v.replaceAll("*", "");
  switch (filter.op) {
    case "eq":
      return `${selector} = ${quote(filter.value)}`;
    case "ne":
      return `${selector} != ${quote(filter.value)}`;
    case "contains":
      return `${selector} = ${quote(`*${wild(filter.value)}*`)}`;
    case "starts_with":
      return `${selector} = ${quote(`${wild(filter.value)}*`)}`;
    case "regex":
      return /^[^%]*$/.test(filter.value) ? `${selector} = %${filter.value}%` : undefined;
  }
}

/**
 * The CloudWatch filter pattern of a query's filters and levels, or `""`
 * for none. Filters the pattern language cannot express are left to the
 * exact local filtering.
 *
 * @param query The filters and levels.
 * @param options The log format and field names.
 * @returns A filter pattern.
 */
export function filterPattern(
  query: Pick<sdk.LogQuery, "filters" | "levels">,
  options: Pick<CloudWatchLogsOptions, "format" | "level_field" | "message_field">,
): string {
  const levels = [...new Set((query.levels ?? []).map((l) => l.toLowerCase()))];
  if (options.format === "text") {
    // Text patterns: terms AND together; `?term` ORs. Only one kind per pattern.
    if (levels.length > 0) {
      return levels.flatMap((l) => [l, l.toUpperCase()]).map((l) => `?${quote(l)}`).join(" ");
    }
    const terms = (query.filters ?? [])
      .filter((f) => f.field === "message" && (f.op === "contains" || f.op === "eq"))
      .map((f) => quote(f.value));
    return terms.join(" ");
  }
  const clauses: string[] = [];
  if (levels.length > 0) {
    const selector = jsonSelector(options.level_field);
    const variants = [...new Set(levels.flatMap((l) => [l, l.toUpperCase()]))];
    clauses.push(`(${variants.map((l) => `${selector} = ${quote(l)}`).join(" || ")})`);
  }
  for (const filter of query.filters ?? []) {
    const term = jsonTerm(filter, options.message_field);
    if (term) clauses.push(`(${term})`);
  }
  return clauses.length === 0 ? "" : `{ ${clauses.join(" && ")} }`;
}

/** Logs of one CloudWatch Logs group, newest first. */
export class CloudWatchLogs implements sdk.LogsHandler {
  /** The `aws-cloudwatch-logs` manifest. */
  static manifest: sdk.PluginManifest = {
    slug: "aws-cloudwatch-logs",
    name: "AWS CloudWatch Logs",
    description: "Logs from a CloudWatch Logs group named by the binding's search_template " +
      "(e.g. /ecs/{project.slug}), newest first.",
    plugin_type: "logs",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        region: REGION_OPTION,
        endpoint: endpointOption("logs"),
        format: { type: "string", enum: ["json", "text"], default: "json", description: "How log lines are written" },
        level_field: { type: "string", default: "level", description: "JSON field with the level" },
        message_field: { type: "string", default: "message", description: "JSON field with the message" },
        max_scan: { type: "integer", minimum: 100, maximum: 100000, default: 10000 },
        histogram_source: {
          type: "string",
          enum: ["filter_log_events", "insights"],
          default: "filter_log_events",
          description: "How histograms count: read the events with FilterLogEvents (exact, up to max_scan events), " +
            "or a CloudWatch Logs Insights stats query (any volume; Insights bills per GB scanned)",
        },
      },
      additionalProperties: false,
    },
    credentials: AWS_CREDENTIALS,
    network: { hosts: ["{endpoint}"] },
    timeout_ms: 20_000,
    hints: { cacheable: false, supports_histogram: true },
  };

  #client: AwsJsonClient;
  #options: CloudWatchLogsOptions;

  /** @param init Options (region, endpoint, format, field names), AWS credentials and the service. */
  constructor(init: sdk.HandlerInit) {
    this.#options = init.options as unknown as CloudWatchLogsOptions;
    this.#client = new AwsJsonClient(init, "logs", "Logs_20140328");
  }

  #toEntry(event: FilteredEvent): sdk.LogEntry {
    const fields: Record<string, unknown> = { log_stream: event.logStreamName, event_id: event.eventId };
    let message = event.message;
    let level: string | undefined;
    const { format, level_field: levelField, message_field: messageField } = this.#options;
    if (format === "json" && message.trimStart().startsWith("{")) {
      try {
        const parsed = JSON.parse(message) as Record<string, unknown>;
        for (const [k, v] of Object.entries(parsed)) {
          if (k !== levelField && k !== messageField) fields[k] = v;
        }
        if (typeof parsed[levelField] === "string") level = (parsed[levelField] as string).toLowerCase();
        if (typeof parsed[messageField] === "string") message = parsed[messageField] as string;
      } catch {
        // not JSON after all: keep the line
      }
    } else {
      const word = message.match(/\b(FATAL|CRITICAL|ERROR|WARNING|WARN|INFO|DEBUG|TRACE)\b/i)?.[1]?.toLowerCase();
      if (word && TEXT_LEVELS.includes(word)) level = word === "warning" ? "warn" : word;
    }
    return {
      timestamp: new Date(event.timestamp).toISOString(),
      ...(level ? { level } : {}),
      message,
      fields,
    };
  }

  /** Drains FilterLogEvents over [fromMs, toMs], every page of it, reading at most `budget` events. */
  async #slice(group: string, fromMs: number, toMs: number, pattern: string, budget: number) {
    const events: FilteredEvent[] = [];
    const body = () => ({
      logGroupName: group,
      startTime: fromMs,
      endTime: toMs,
      limit: Math.min(10000, Math.max(1, budget - events.length)),
      ...(pattern ? { filterPattern: pattern } : {}),
    });
    let truncated = false;
    for await (const page of this.#client.pages<{ events?: FilteredEvent[] }>("FilterLogEvents", "nextToken", body)) {
      events.push(...(page.events ?? []));
      truncated = Boolean(page.nextToken);
      if (events.length >= budget) break;
    }
    return { events, truncated };
  }

  /** One page of matching events, newest first. */
  /** One `DescribeLogGroups` call: the endpoint answers and accepts the credentials. */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    await this.#client.call("DescribeLogGroups", { limit: 1 });
    return { checked: [`logs:DescribeLogGroups answered on ${this.#client.host} (region ${this.#client.region})`] };
  }

  async search(ctx: sdk.CallContext, query: sdk.LogQuery): Promise<sdk.LogPage> {
    const checked = sdk.checkLogQuery(query);
    const group = logGroup(ctx);
    const scope = `${this.#client.host}|${group}`;
    const state = query.cursor
      ? sdk.decodeCursor<CursorState>(query.cursor, query, { scope })
      : { b: checked.endMs, x: [] };
    const pattern = filterPattern(query, this.#options);
    const seen = new Set(state.x);
    const warnings: string[] = [];
    const collected: { entry: sdk.LogEntry; event: FilteredEvent }[] = [];
    let budget = this.#options.max_scan;
    let to = state.b;
    let width = FIRST_SLICE_MS;
    while (to >= checked.startMs && collected.length <= query.limit) {
      const from = Math.max(checked.startMs, to - width + 1);
      const { events, truncated } = await this.#slice(group, from, to, pattern, budget);
      budget -= events.length;
      for (const event of events) {
        if (event.timestamp > state.b || (event.timestamp === state.b && seen.has(event.eventId))) continue;
        const entry = this.#toEntry(event);
        if (sdk.matchesLogQuery(entry, query)) collected.push({ entry, event });
      }
      if (truncated || budget <= 0) {
        warnings.push(`Stopped after reading ${this.#options.max_scan} events; narrow the time range or filters`);
        break;
      }
      to = from - 1;
      width *= 4;
    }
    collected.sort((a, b) => b.event.timestamp - a.event.timestamp || (a.event.eventId < b.event.eventId ? 1 : -1));
    const page = collected.slice(0, query.limit);
    const result: sdk.LogPage = { entries: page.map((c) => c.entry), warnings };
    if (collected.length > query.limit && page.length > 0) {
      const boundary = page[page.length - 1]!.event.timestamp;
      const atBoundary = page.filter((c) => c.event.timestamp === boundary).map((c) => c.event.eventId);
      const carried = boundary === state.b ? state.x : [];
      result.next_cursor = sdk.encodeCursor(query, { b: boundary, x: [...carried, ...atBoundary] }, { scope });
    }
    return result;
  }

  /** Counts of matching events per time bucket and level, over the query's window. */
  async histogram(ctx: sdk.CallContext, query: sdk.LogQuery, buckets: number): Promise<sdk.HistogramBucket[]> {
    // A histogram reads the whole window: its page size does not matter.
    const window = sdk.checkLogQuery({ ...query, limit: 1 });
    const group = logGroup(ctx);
    const grid = histogramGrid(window.startMs, window.endMs, buckets);
    if (this.#options.histogram_source === "insights") {
      const queryString = insightsQuery(query, { ...this.#options, widthSeconds: grid.widthMs / 1000 });
      return await insightsHistogram(this.#client, { group, ...window, queryString, grid });
    }
    const budget = this.#options.max_scan;
    const pattern = filterPattern(query, this.#options);
    const { events, truncated } = await this.#slice(group, window.startMs, window.endMs, pattern, budget);
    if (truncated || events.length >= budget) {
      throw new sdk.InvalidInput(
        `The window holds more than ${budget} events (max_scan): narrow it, or set the histogram_source option ` +
          `to "insights" to count with CloudWatch Logs Insights`,
      );
    }
    const counter = histogramCounter(grid);
    for (const event of events) {
      const entry = this.#toEntry(event);
      if (sdk.matchesLogQuery(entry, query)) counter.add(event.timestamp, entry.level);
    }
    return counter.buckets;
  }

  /** The fields entries carry. */
  schema(_ctx: sdk.CallContext): Promise<sdk.LogField[]> {
    return Promise.resolve([
      ...sdk.ENTRY_FIELDS,
      { name: "log_stream", label: "Log stream", type: "keyword" },
      { name: "event_id", label: "Event ID", type: "keyword" },
    ]);
  }
}

/** The rendered `search_template`: a log group name. */
function logGroup(ctx: sdk.CallContext): string {
  const group = ctx.search_template.trim();
  if (!/^[\.\-_/#A-Za-z0-9]{1,512}$/.test(group)) {
    throw new sdk.InvalidInput(`The search_template ${JSON.stringify(group)} is not a log group name`);
  }
  return group;
}
