/**
 * The Logs tab's filters (time range in UTC, levels, field filters), the
 * query string the logs API takes from them, and the histogram as inline SVG.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import { InputField, SelectField } from "./_forms.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

const LEVELS = ["debug", "info", "warn", "error"] as const;
const OPS = ["eq", "ne", "contains", "starts_with", "regex"] as const;
const FILTER_ROWS = 3;
const PAGE_SIZES = ["10", "50", "200"];

function iso(local: string | undefined): string | undefined {
  if (!local) return undefined;
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(local) ? `${local}:00Z` : local;
}

/**
 * The logs API query for the console's filter parameters.
 *
 * @param q The console request's query (`start`, `end`, `level`, `field0`/`op0`/`value0`…, `limit`, `cursor`).
 * @param options A cursor to page with; `paging: false` leaves limit and cursor out (for the histogram).
 * @returns The query string.
 */
export function logsQuery(
  q: Record<string, string[]>,
  options: { cursor?: string; paging?: boolean } = {},
): string {
  const params = new URLSearchParams();
  const first = (name: string) => q[name]?.[0] || undefined;
  const start = iso(first("start"));
  const end = iso(first("end"));
  if (start) params.set("start", start);
  if (end) params.set("end", end);
  for (const level of q.level ?? []) if (level) params.append("level", level);
  for (let i = 0; i < FILTER_ROWS; i++) {
    const field = first(`field${i}`);
    const value = q[`value${i}`]?.[0];
    if (field && value !== undefined && value !== "") {
      params.append("filter", `${field}:${first(`op${i}`) ?? "eq"}:${value}`);
    }
  }
  if (options.paging !== false) {
    const limit = first("limit");
    params.set("limit", limit && PAGE_SIZES.includes(limit) ? limit : "50");
    const cursor = options.cursor ?? first("cursor");
    if (cursor) params.set("cursor", cursor);
  }
  return params.toString();
}

/**
 * The console query of the next page: the same filters and range, and the cursor.
 *
 * @param q The console request's query, its end pinned.
 * @param cursor The `next_cursor` of the page shown.
 * @returns The query string.
 */
export function pageLink(q: Record<string, string[]>, cursor: string): string {
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(q)) {
    if (name !== "cursor") { for (const value of values) params.append(name, value); }
  }
  params.set("tab", "logs");
  params.set("cursor", cursor);
  return params.toString();
}

/**
 * The filter form.
 *
 * @param props The page's URL, the searchable fields (from the schema), the current query.
 * @returns The form.
 */
export function LogFilters(
  props: { action: string; fields: Json[]; query: Record<string, string[]> },
): JSX.Element | null {
  const q = props.query;
  const first = (name: string) => q[name]?.[0] ?? "";
  return (
    <form method="get" action={props.action} class="card">
      <input type="hidden" name="tab" value="logs" />
      <div class="row">
        <InputField id="start" name="start" label="From (UTC)" type="datetime-local" value={first("start")} />
        <InputField id="end" name="end" label="To (UTC)" type="datetime-local" value={first("end")} />
        <fieldset>
          <legend>Levels</legend>
          {LEVELS.map((level) => (
            <span class="check">
              <input
                id={`level-${level}`}
                type="checkbox"
                name="level"
                value={level}
                checked={(q.level ?? []).includes(level)}
              />
              <label for={`level-${level}`}>{level}</label>
            </span>
          ))}
        </fieldset>
      </div>
      <fieldset>
        <legend>Field filters</legend>
        {Array.from({ length: FILTER_ROWS }, (_, i) => (
          <div class="row">
            <SelectField
              id={`field${i}`}
              name={`field${i}`}
              label={`Field ${i + 1}`}
              options={[
                { value: "", text: "(none)" },
                ...props.fields.map((f) => ({
                  value: f.name,
                  text: f.label ?? f.name,
                  selected: first(`field${i}`) === f.name,
                })),
              ]}
            />
            <SelectField
              id={`op${i}`}
              name={`op${i}`}
              label={`Operator ${i + 1}`}
              options={OPS.map((op) => ({ value: op, text: op, selected: first(`op${i}`) === op }))}
            />
            <InputField id={`value${i}`} name={`value${i}`} label={`Value ${i + 1}`} value={first(`value${i}`)} />
          </div>
        ))}
      </fieldset>
      <SelectField
        id="limit"
        name="limit"
        label="Entries per page"
        options={PAGE_SIZES.map((n) => ({ value: n, text: n, selected: (first("limit") || "50") === n }))}
      />
      <button type="submit">Search logs</button>
    </form>
  );
}

/**
 * Log counts per bucket as an SVG bar chart, or the plugin's warning when it has no histogram.
 *
 * @param props The buckets and warnings of `GET …/logs/histogram`.
 * @returns The figure.
 */
export function Histogram(props: { buckets: Json[]; warnings?: string[] }): JSX.Element | null {
  if (!props.buckets?.length) {
    return <p class="help">{(props.warnings ?? []).join(" ") || "No histogram for this range."}</p>;
  }
  const width = 800;
  const height = 120;
  const max = Math.max(1, ...props.buckets.map((b) => b.count));
  const bar = width / props.buckets.length;
  const total = props.buckets.reduce((n, b) => n + b.count, 0);
  const first = props.buckets[0].timestamp;
  const last = props.buckets[props.buckets.length - 1].timestamp;
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-labelledby="histogram-title">
        <title id="histogram-title">
          {`${total} log entries in ${props.buckets.length} buckets from ${first} to ${last}`}
        </title>
        {props.buckets.map((b, i) => {
          const h = Math.round((b.count / max) * height);
          return (
            <rect
              x={(i * bar + 1).toFixed(1)}
              y={height - h}
              width={Math.max(1, bar - 2).toFixed(1)}
              height={h}
              fill="#0b5cad"
            >
              <title>{`${b.timestamp}: ${b.count}`}</title>
            </rect>
          );
        })}
        <line x1="0" y1={height} x2={width} y2={height} stroke="#4a5361" />
      </svg>
      <figcaption>Entries per bucket, {first} to {last} (peak {max}).</figcaption>
    </figure>
  );
}
