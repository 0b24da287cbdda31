/**
 * `logzio`: logs from Logz.io through its Search API (`POST /v1/search`,
 * `X-API-TOKEN` header, Elasticsearch query DSL).
 *
 * The rendered `search_template` is a Lucene query string that scopes the
 * project (e.g. `service:{project.slug}`; empty or `*` for all). Filters and
 * levels become `bool` clauses; results are sorted by `@timestamp`
 * descending. Paging is keyset paging in the manner of `search_after`, built
 * only from documented elements: the next page asks for `@timestamp <=` the
 * last timestamp returned and excludes (`ids`) the documents already
 * returned at that timestamp. Histograms use a `date_histogram` with a
 * `filters` sub-aggregation per level (Logz.io forbids nesting `terms` in
 * `date_histogram`).
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";

/** Options of a `logzio` capability. */
export interface LogzioOptions {
  /** API base URL of the account's region, e.g. `https://api-eu.logz.io`. */
  endpoint: string;
  /** Field holding the level. */
  level_field: string;
  /** Levels counted per histogram bucket. */
  histogram_levels: string[];
}

interface Hit {
  _id: string;
  _source: Record<string, unknown>;
}

interface CursorState {
  /** Boundary timestamp (ISO) of the last entry returned. */
  b: string;
  /** `_id`s returned at the boundary. */
  x: string[];
}

const TWO_DAYS_MS = 2 * 86_400_000;

function escapeRegexp(value: string): string {
  // Lucene regexp reserved characters.
  return value.replace(/[.?+*|{}[\]()"\\#@&<>~]/g, "\\$&");
}

function filterClause(filter: sdk.LogFilter): Record<string, unknown> {
  const name = filter.field;
  const analysed = name === "message";
  switch (filter.op) {
    case "eq":
    case "ne":
      return analysed ? { match_phrase: { [name]: filter.value } } : { term: { [name]: filter.value } };
    case "contains":
      return analysed
        ? { match_phrase: { [name]: filter.value } }
        : { regexp: { [name]: `.*${escapeRegexp(filter.value)}.*` } };
    case "starts_with":
      return { prefix: { [name]: filter.value } };
    case "regex":
      return { regexp: { [name]: filter.value } };
  }
}

/**
 * The query DSL of a search: the scope query, the time range up to the
 * boundary, levels, filters and the ids already returned.
 *
 * @param scope The rendered search_template (a Lucene query string).
 * @param query The search.
 * @param options Where the level is, and the paging boundary.
 * @returns A `query` element.
 */
export function buildQuery(
  scope: string,
  query: Pick<sdk.LogQuery, "start" | "end" | "filters" | "levels">,
  options: { levelField: string; boundary?: string; exclude?: string[] },
): Record<string, unknown> {
  const filter: Record<string, unknown>[] = [
    { range: { "@timestamp": { gte: query.start, lte: options.boundary ?? query.end } } },
  ];
  const mustNot: Record<string, unknown>[] = [];
  const trimmed = scope.trim();
  if (trimmed !== "" && trimmed !== "*") {
    filter.push({ query_string: { query: trimmed, allow_leading_wildcard: false } });
  }
  const levels = [...new Set((query.levels ?? []).flatMap((l) => [l.toLowerCase(), l.toUpperCase()]))];
  if (levels.length > 0) filter.push({ terms: { [options.levelField]: levels } });
  for (const f of query.filters ?? []) (f.op === "ne" ? mustNot : filter).push(filterClause(f));
  if (options.exclude?.length) mustNot.push({ ids: { values: options.exclude } });
  return { bool: { filter, ...(mustNot.length ? { must_not: mustNot } : {}) } };
}

/** Logs from Logz.io, newest first. */
export class LogzioLogs implements sdk.LogsHandler {
  /** The `logzio` manifest. */
  static manifest: sdk.PluginManifest = {
    slug: "logzio",
    name: "Logz.io",
    description: "Logs from Logz.io's Search API; the binding's search_template is a Lucene query " +
      "that selects the project's logs, e.g. service:{project.slug}.",
    plugin_type: "logs",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        endpoint: {
          type: "string",
          format: "uri",
          default: "https://api.logz.io",
          description: "API host of the account's region: https://api.logz.io (US), https://api-eu.logz.io, " +
            "https://api-uk.logz.io, https://api-ca.logz.io, https://api-au.logz.io, https://api-wa.logz.io",
        },
        level_field: { type: "string", default: "level", description: "Field holding the log level" },
        histogram_levels: {
          type: "array",
          items: { type: "string" },
          default: ["error", "warn", "info", "debug"],
          description: "Levels counted in each histogram bucket",
        },
      },
      additionalProperties: false,
    },
    credentials: [{ name: "api_token", label: "API token" }],
    network: { hosts: ["{endpoint}"] },
    timeout_ms: 15_000,
    hints: { cacheable: false, supports_histogram: true },
  };

  #endpoint: string;
  #token: string;
  #options: LogzioOptions;

  /** @param init Options (endpoint, level_field, histogram_levels) and the `api_token` credential. */
  constructor(init: sdk.HandlerInit) {
    this.#options = init.options as unknown as LogzioOptions;
    this.#endpoint = String(this.#options.endpoint ?? "https://api.logz.io").replace(/\/+$/, "");
    this.#token = init.credentials.api_token ?? "";
  }

  async #search(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!this.#token) throw new sdk.CredentialsRejected("The Logz.io API token is not configured");
    const response = await sdk.fetchUpstream(`${this.#endpoint}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-token": this.#token },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = "";
      try {
        detail = String((await response.json()).message ?? "");
      } catch {
        // no JSON body
      }
      const error = sdk.errorForStatus(response, "Logz.io search");
      if (detail && error.kind === "invalid_input") throw new sdk.InvalidInput(`Logz.io refused the search: ${detail}`);
      throw error;
    }
    return await response.json();
  }

  #toEntry(hit: Hit): sdk.LogEntry {
    const { "@timestamp": timestamp, message, [this.#options.level_field]: level, ...fields } = hit._source;
    return {
      timestamp: new Date(String(timestamp)).toISOString(),
      ...(typeof level === "string" ? { level: level.toLowerCase() } : {}),
      message: typeof message === "string" ? message : JSON.stringify(message ?? ""),
      fields: { ...fields, _id: hit._id },
    };
  }

  /** A search of no hits over the last minute: the endpoint answers and accepts the API token. */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    await this.#search({
      size: 0,
      query: { range: { "@timestamp": { gte: new Date(Date.now() - 60_000).toISOString() } } },
    });
    return { checked: [`Logz.io search API answered on ${new URL(this.#endpoint).host}`] };
  }

  /** One page of matching logs, newest first. */
  async search(ctx: sdk.CallContext, query: sdk.LogQuery): Promise<sdk.LogPage> {
    const checked = sdk.checkLogQuery(query);
    const scope = `${this.#endpoint}|${ctx.search_template}`;
    const state = query.cursor ? sdk.decodeCursor<CursorState>(query.cursor, query, { scope }) : undefined;
    const warnings: string[] = [];
    if (checked.endMs - checked.startMs > TWO_DAYS_MS) {
      warnings.push("Logz.io searches at most 2 calendar days at a time; older days may be missing");
    }
    const doc = await this.#search({
      query: buildQuery(ctx.search_template, query, {
        levelField: this.#options.level_field,
        ...(state ? { boundary: state.b, exclude: state.x } : {}),
      }),
      size: query.limit + 1,
      sort: [{ "@timestamp": { order: "desc" } }],
    });
    const hits = ((doc.hits as { hits?: Hit[] })?.hits ?? []) as Hit[];
    const page = hits.slice(0, query.limit);
    const entries = page.map((h) => this.#toEntry(h));
    const result: sdk.LogPage = { entries, warnings };
    if (hits.length > query.limit && page.length > 0) {
      const last = entries[entries.length - 1]!.timestamp;
      const atBoundary = page.filter((_hit, i) => entries[i]!.timestamp === last).map((h) => h._id);
      const carried = state && Date.parse(state.b) === Date.parse(last) ? state.x : [];
      result.next_cursor = sdk.encodeCursor(query, { b: last, x: [...carried, ...atBoundary] }, { scope });
    }
    return result;
  }

  /** Counts per time bucket, with a count per level. */
  async histogram(ctx: sdk.CallContext, query: sdk.LogQuery, buckets: number): Promise<sdk.HistogramBucket[]> {
    const checked = sdk.checkLogQuery({ ...query, limit: Math.min(Math.max(query.limit ?? 1, 1), 1000) });
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1000) {
      throw new sdk.InvalidInput("buckets must be an integer from 1 to 1000");
    }
    const interval = Math.max(1000, Math.ceil((checked.endMs - checked.startMs + 1) / buckets / 1000) * 1000);
    const levels = this.#options.histogram_levels;
    const doc = await this.#search({
      query: buildQuery(ctx.search_template, query, { levelField: this.#options.level_field }),
      size: 0,
      aggs: {
        over_time: {
          date_histogram: {
            field: "@timestamp",
            interval: `${interval}ms`,
            min_doc_count: 0,
            extended_bounds: { min: query.start, max: query.end },
          },
          aggs: {
            levels: {
              filters: {
                filters: Object.fromEntries(
                  levels.map((
                    l,
                  ) => [l, { terms: { [this.#options.level_field]: [l.toLowerCase(), l.toUpperCase()] } }]),
                ),
              },
            },
          },
        },
      },
    });
    const raw = ((doc.aggregations as Record<string, { buckets?: unknown[] }>)?.over_time?.buckets ?? []) as {
      key: number;
      doc_count: number;
      levels?: { buckets: Record<string, { doc_count: number }> };
    }[];
    return raw.map((b) => ({
      timestamp: new Date(b.key).toISOString(),
      count: b.doc_count,
      levels: Object.fromEntries(Object.entries(b.levels?.buckets ?? {}).map(([l, v]) => [l, v.doc_count])),
    }));
  }

  /** The fields every entry has. */
  schema(_ctx: sdk.CallContext): Promise<sdk.LogField[]> {
    return Promise.resolve([
      ...sdk.ENTRY_FIELDS,
      { name: "type", label: "Log type", type: "keyword" },
    ]);
  }
}
