/**
 * Histograms of a CloudWatch Logs group: the time grid both ways of
 * counting share, and the CloudWatch Logs Insights way
 * (`stats count(*) by bin()`), which counts any volume of events on AWS's
 * side (billed per GB scanned) where FilterLogEvents has to read each one.
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";
import type { AwsJsonClient } from "./_aws.ts";

/** The buckets of a histogram: whole seconds wide, aligned to the epoch (as Insights' `bin()` is). */
export interface HistogramGrid {
  /** Start of the first bucket, ms since the epoch. */
  originMs: number;
  /** Width of a bucket, ms (a whole number of seconds). */
  widthMs: number;
  /** How many buckets cover the window. */
  count: number;
}

/**
 * The grid of `buckets` buckets over a window: each bucket is a whole
 * number of seconds wide and starts at a multiple of its width since the
 * epoch, so the window may need one bucket more than asked for.
 *
 * @param startMs Start of the window.
 * @param endMs End of the window (inclusive).
 * @param buckets How many buckets the caller asked for, 1 to 1000.
 * @returns The grid.
 * @throws {sdk.InvalidInput} For a bucket count out of range.
 */
export function histogramGrid(startMs: number, endMs: number, buckets: number): HistogramGrid {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1000) {
    throw new sdk.InvalidInput("buckets must be an integer from 1 to 1000");
  }
  const widthMs = Math.max(1000, Math.ceil((endMs - startMs) / buckets / 1000) * 1000);
  const originMs = Math.floor(startMs / widthMs) * widthMs;
  return { originMs, widthMs, count: Math.floor((endMs - originMs) / widthMs) + 1 };
}

/**
 * Empty buckets for a grid, and a function that counts one event into them.
 *
 * @param grid The grid.
 * @returns The buckets and `add(timestampMs, level, n)`; times outside the grid are ignored.
 */
export function histogramCounter(grid: HistogramGrid): {
  buckets: sdk.HistogramBucket[];
  add(timestampMs: number, level: string | undefined, n?: number): void;
} {
  const buckets: sdk.HistogramBucket[] = Array.from({ length: grid.count }, (_, i) => ({
    timestamp: new Date(grid.originMs + i * grid.widthMs).toISOString(),
    count: 0,
    levels: {},
  }));
  return {
    buckets,
    add(timestampMs, level, n = 1) {
      const bucket = buckets[Math.floor((timestampMs - grid.originMs) / grid.widthMs)];
      if (!bucket) return;
      bucket.count += n;
      if (level) bucket.levels[level] = (bucket.levels[level] ?? 0) + n;
    },
  };
}

/** How log lines are read, as the `aws-cloudwatch-logs` options say. */
export interface LineFormat {
  /** `json` or `text`. */
  format: "json" | "text";
  /** JSON field with the level. */
  level_field: string;
  /** JSON field with the message. */
  message_field: string;
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const TEXT_LEVELS = "fatal|critical|error|warning|warn|info|debug|trace";

/**
 * A double-quoted string literal, as both CloudWatch filter patterns and
 * Logs Insights queries write them.
 *
 * @param value The text.
 * @returns The literal, backslashes and quotes escaped.
 */
export function quote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function regex(pattern: string): string {
  return `/${pattern.replaceAll("/", "\\/")}/`;
}

function literal(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function jsonField(name: string): string {
  if (FIELD.test(name)) return name;
  throw new sdk.InvalidInput(`The field ${JSON.stringify(name)} cannot be used in a CloudWatch Logs Insights query`);
}

function insightsField(name: string, format: LineFormat): string {
  if (name === "message") return format.format === "json" ? jsonField(format.message_field) : "@message";
  if (name === "level") return "imbi_level";
  if (name === "log_stream") return "@logStream";
  if (format.format === "json" && FIELD.test(name)) return name;
  throw new sdk.InvalidInput(
    `The field ${JSON.stringify(name)} cannot be used in a CloudWatch Logs Insights histogram` +
      (format.format === "text" ? " of text logs (message, level and log_stream can)" : ""),
  );
}

/** The Insights condition of each filter operator, on a field and a value. */
const INSIGHTS_CONDITIONS: Record<sdk.FilterOp, (field: string, value: string) => string> = {
  eq: (field, value) => `${field} = ${quote(value)}`,
  ne: (field, value) => `${field} != ${quote(value)}`,
  contains: (field, value) => `${field} like ${quote(value)}`,
  starts_with: (field, value) => `${field} like ${regex(`^${literal(value)}`)}`,
  regex: (field, value) => `${field} like ${regex(value)}`,
};

function insightsFilter(given: sdk.LogFilter, format: LineFormat): string {
  const field = insightsField(given.field, format);
  // Levels are compared lower-cased, as the search compares them.
  const value = given.field === "level" ? given.value.toLowerCase() : given.value;
  return INSIGHTS_CONDITIONS[given.op](field, value);
}

/**
 * The Logs Insights query that counts a log query's events per bucket and
 * level: the level read as the search reads it (a JSON field, or the first
 * level word of a text line), lower-cased; the filters and levels as
 * `filter` commands; `stats count(*) by bin()` and the level.
 *
 * @param query The filters and levels.
 * @param options The line format and the bucket width.
 * @returns The query string.
 * @throws {sdk.InvalidInput} For a filter on a field Insights cannot name.
 * @example
 * ```ts
 * insightsQuery({ filters: [], levels: ["error"] }, { format: "json", level_field: "level", message_field: "msg", widthSeconds: 60 });
 * // fields tolower(level) as imbi_level | filter imbi_level in ["error"] | stats count(*) as imbi_count by bin(60s) as imbi_bucket, imbi_level
 * ```
 */
export function insightsQuery(
  query: Pick<sdk.LogQuery, "filters" | "levels">,
  options: LineFormat & { widthSeconds: number },
): string {
  const commands = options.format === "json"
    ? [`fields tolower(${jsonField(options.level_field)}) as imbi_level`]
    : [`parse @message /(?i)\\b(?<imbi_word>${TEXT_LEVELS})\\b/`, "fields tolower(imbi_word) as imbi_level"];
  for (const filter of query.filters ?? []) commands.push(`filter ${insightsFilter(filter, options)}`);
  const levels = [...new Set((query.levels ?? []).map((l) => l.toLowerCase()))];
  if (options.format === "text" && levels.includes("warn")) levels.push("warning");
  if (levels.length > 0) commands.push(`filter imbi_level in [${levels.map(quote).join(", ")}]`);
  commands.push(`stats count(*) as imbi_count by bin(${options.widthSeconds}s) as imbi_bucket, imbi_level`);
  return commands.join(" | ");
}

interface QueryResults {
  status?: string;
  results?: { field?: string; value?: string }[][];
}

/** Polls of GetQueryResults: the first after 100 ms, doubling to 1 s, for at most this long. */
const POLL_BUDGET_MS = 15_000;

/**
 * Runs an Insights query and counts its rows into the grid's buckets.
 *
 * @param client The Logs client.
 * @param request The log group, the window (ms), the query string and the grid.
 * @returns The buckets.
 * @throws {sdk.UpstreamUnavailable} When the query fails or does not finish within 15 s (it is stopped then).
 */
export async function insightsHistogram(
  client: AwsJsonClient,
  request: { group: string; startMs: number; endMs: number; queryString: string; grid: HistogramGrid },
): Promise<sdk.HistogramBucket[]> {
  const { queryId } = await client.call<{ queryId?: string }>("StartQuery", {
    logGroupName: request.group,
    startTime: Math.floor(request.startMs / 1000),
    endTime: Math.ceil(request.endMs / 1000),
    queryString: request.queryString,
  });
  if (!queryId) throw new sdk.UpstreamUnavailable("Logs StartQuery answered without a queryId");
  const deadline = Date.now() + POLL_BUDGET_MS;
  let wait = 100;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(1000, wait * 2);
    const page = await client.call<QueryResults>("GetQueryResults", { queryId });
    if (page.status === "Complete") return countRows(page.results ?? [], request.grid);
    if (page.status !== "Running" && page.status !== "Scheduled") {
      throw new sdk.UpstreamUnavailable(
        `The CloudWatch Logs Insights query ended ${page.status ?? "without a status"}`,
      );
    }
    if (Date.now() > deadline) {
      await client.call("StopQuery", { queryId }).catch(() => undefined);
      throw new sdk.UpstreamUnavailable(
        `The CloudWatch Logs Insights query did not finish within ${POLL_BUDGET_MS / 1000} s; narrow the window`,
      );
    }
  }
}

/** Insights' `bin()` times read `2024-05-01 10:00:00.000`, in UTC. */
function insightsTime(value: string): number {
  return Date.parse(`${value.replace(" ", "T")}${/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? "" : "Z"}`);
}

function countRows(rows: { field?: string; value?: string }[][], grid: HistogramGrid): sdk.HistogramBucket[] {
  const counter = histogramCounter(grid);
  for (const row of rows) {
    const cell = (name: string) => row.find((c) => c.field === name)?.value;
    const at = insightsTime(cell("imbi_bucket") ?? "");
    const n = Number(cell("imbi_count"));
    if (Number.isNaN(at) || !Number.isFinite(n)) {
      throw new sdk.UpstreamUnavailable("The CloudWatch Logs Insights answer has a row without a bucket or a count");
    }
    const level = cell("imbi_level");
    counter.add(at, level === "warning" ? "warn" : level || undefined, n);
  }
  return counter.buckets;
}
