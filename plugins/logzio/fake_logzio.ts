/**
 * A faithful local fake of the Logz.io Search API (`POST /v1/search`), for
 * tests of the logzio plugin. Logz.io cannot run here.
 *
 * What it follows (Logz.io's public API documentation of `/v1/search`):
 * - the `X-API-TOKEN` header; a wrong token is HTTP 401, a throttled one 429
 *   with `Retry-After`;
 * - only the documented top-level body elements: `query`, `from`, `size`,
 *   `sort`, `_source`, `post_filter`, `aggs`, `aggregations` (anything else,
 *   such as `search_after`, is HTTP 400);
 * - `size` up to 10,000 (1,000 when aggregating), no sorting on `message`,
 *   `wildcard` not starting with `*` or `?`, `query_string` without
 *   `allow_leading_wildcard: true`, no nesting of bucket aggregations of the
 *   forbidden kinds (date_histogram, histogram, terms, ...);
 * - Elasticsearch response shapes: `hits.total`, `hits.hits[]` with `_id`,
 *   `_source`, `sort`, and `aggregations`.
 *
 * It evaluates the query DSL subset the plugin uses: `bool` (`filter`,
 * `must`, `must_not`, `should`), `range`, `term`, `terms`, `match_phrase`,
 * `prefix`, `regexp`, `ids`, `match_all`, `query_string` (`*`, `field:value`,
 * `field:prefix*`, bare words, AND-ed); aggregations `date_histogram`
 * (`interval`/`fixed_interval` with ms/s/m/h/d units) with `filters`
 * sub-aggregations.
 *
 * @module
 */

import { lookupField } from "@imbi/plugin-sdk";
import { type FakeBackend, serveFakeBackend } from "@imbi/plugin-sdk/testing";

/** One stored log document. */
export interface FakeLogDoc {
  _id: string;
  _source: Record<string, unknown> & { "@timestamp": string };
}

/** A running fake. */
export interface FakeLogzio extends FakeBackend {
  /** The token requests must carry. */
  token: string;
  /** A token the fake answers with 429. */
  throttledToken: string;
  /** Every request body received, in order. */
  requests: Record<string, unknown>[];
  /** Adds documents. */
  add(docs: FakeLogDoc[]): void;
}

const TOP_LEVEL = new Set(["query", "from", "size", "sort", "_source", "post_filter", "aggs", "aggregations"]);
const NO_NEST = new Set(["date_histogram", "geohash_grid", "histogram", "ip_ranges", "significant_terms", "terms"]);

class BadRequest extends Error {}

function field(doc: FakeLogDoc, name: string): unknown {
  return name === "_id" ? doc._id : lookupField(doc._source, name);
}

function only(clause: Record<string, unknown>): [string, unknown] {
  const entries = Object.entries(clause);
  if (entries.length !== 1) throw new BadRequest(`expected one field in ${JSON.stringify(clause)}`);
  return entries[0]!;
}

function list(value: unknown): Record<string, unknown>[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : typeof value === "string" ? value : String(value);
}

function matches(doc: FakeLogDoc, query: Record<string, unknown>): boolean {
  const [kind, body] = only(query);
  const b = body as Record<string, unknown>;
  switch (kind) {
    case "match_all":
      return true;
    case "bool": {
      const must = [...list(b.filter), ...list(b.must)];
      const should = list(b.should);
      return must.every((q) => matches(doc, q)) && !list(b.must_not).some((q) => matches(doc, q)) &&
        (should.length === 0 || should.some((q) => matches(doc, q)));
    }
    case "range": {
      const [name, bounds] = only(b);
      const r = bounds as Record<string, unknown>;
      const raw = field(doc, name);
      const v = name === "@timestamp" ? Date.parse(String(raw)) : Number(raw);
      const bound = (x: unknown) => (name === "@timestamp" ? Date.parse(String(x)) : Number(x));
      return (r.gte === undefined || v >= bound(r.gte)) && (r.gt === undefined || v > bound(r.gt)) &&
        (r.lte === undefined || v <= bound(r.lte)) && (r.lt === undefined || v < bound(r.lt));
    }
    case "term": {
      const [name, value] = only(b);
      const want = typeof value === "object" && value !== null ? (value as { value: unknown }).value : value;
      return str(field(doc, name)) === str(want);
    }
    case "terms": {
      const [name, values] = only(b);
      return (values as unknown[]).map(str).includes(str(field(doc, name)));
    }
    case "match_phrase": {
      const [name, value] = only(b);
      const phrase = typeof value === "object" && value !== null ? (value as { query: unknown }).query : value;
      return (str(field(doc, name)) ?? "").toLowerCase().includes(String(phrase).toLowerCase());
    }
    case "prefix": {
      const [name, value] = only(b);
      return (str(field(doc, name)) ?? "").startsWith(String(value));
    }
    case "wildcard": {
      const [name, value] = only(b);
      const pattern = String(typeof value === "object" && value !== null ? (value as { value: unknown }).value : value);
      if (/^[*?]/.test(pattern)) throw new BadRequest("wildcard can't start with * or ?");
      const re = new RegExp(
        `^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`,
      );
      return re.test(str(field(doc, name)) ?? "");
    }
    case "regexp": {
      const [name, value] = only(b);
      const pattern = String(typeof value === "object" && value !== null ? (value as { value: unknown }).value : value);
      // Lucene regular expressions are anchored: they match the whole term.
      return new RegExp(`^(?:${pattern})$`).test(str(field(doc, name)) ?? "");
    }
    case "ids":
      return ((b.values ?? []) as string[]).includes(doc._id);
    case "query_string":
      if (b.allow_leading_wildcard === true) throw new BadRequest("allow_leading_wildcard must be false");
      return queryString(doc, String(b.query));
    default:
      throw new BadRequest(`query type ${kind} is not supported by the fake`);
  }
}

/** Lucene query strings, the subset tests use: `*`, `field:value`, `field:pre*`, bare words; AND-ed. */
function queryString(doc: FakeLogDoc, query: string): boolean {
  return query.split(/\s+AND\s+|\s+/).filter(Boolean).every((term) => {
    if (term === "*") return true;
    const colon = term.indexOf(":");
    if (colon < 0) return (str(doc._source.message) ?? "").toLowerCase().includes(term.toLowerCase());
    const value = str(field(doc, term.slice(0, colon))) ?? "";
    const want = term.slice(colon + 1).replace(/^"|"$/g, "");
    return want.endsWith("*") ? value.startsWith(want.slice(0, -1)) : value === want;
  });
}

function intervalMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new BadRequest(`bad interval ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
}

function checkNesting(aggs: Record<string, unknown>, insideBucket: boolean): void {
  for (const agg of Object.values(aggs)) {
    const a = agg as Record<string, unknown>;
    const kind = Object.keys(a).find((k) => k !== "aggs" && k !== "aggregations")!;
    if (NO_NEST.has(kind) && insideBucket) {
      throw new BadRequest(`cannot nest ${kind} inside another bucket aggregation`);
    }
    const sub = (a.aggs ?? a.aggregations) as Record<string, unknown> | undefined;
    if (sub) checkNesting(sub, insideBucket || NO_NEST.has(kind));
  }
}

function aggregate(docs: FakeLogDoc[], aggs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, agg] of Object.entries(aggs)) {
    const a = agg as Record<string, Record<string, unknown>>;
    const sub = (a.aggs ?? a.aggregations) as Record<string, unknown> | undefined;
    if (a.date_histogram) {
      const h = a.date_histogram;
      const step = intervalMs(String(h.fixed_interval ?? h.interval));
      const bounds = h.extended_bounds as { min?: unknown; max?: unknown } | undefined;
      const times = docs.map((d) => Date.parse(d._source["@timestamp"]));
      const min = bounds?.min !== undefined ? Date.parse(String(bounds.min)) : Math.min(...times);
      const max = bounds?.max !== undefined ? Date.parse(String(bounds.max)) : Math.max(...times);
      const buckets = [];
      for (let key = Math.floor(min / step) * step; key <= max; key += step) {
        const inBucket = docs.filter((d) => {
          const t = Date.parse(d._source["@timestamp"]);
          return t >= key && t < key + step;
        });
        if (inBucket.length === 0 && Number(h.min_doc_count ?? 1) > 0) continue;
        buckets.push({
          key_as_string: new Date(key).toISOString(),
          key,
          doc_count: inBucket.length,
          ...(sub ? aggregate(inBucket, sub) : {}),
        });
      }
      out[name] = { buckets };
    } else if (a.filters) {
      const filters = a.filters.filters as Record<string, Record<string, unknown>>;
      const buckets: Record<string, unknown> = {};
      for (const [key, query] of Object.entries(filters)) {
        buckets[key] = { doc_count: docs.filter((d) => matches(d, query)).length };
      }
      out[name] = { buckets };
    } else {
      throw new BadRequest(`aggregation ${Object.keys(a)[0]} is not supported by the fake`);
    }
  }
  return out;
}

function search(docs: FakeLogDoc[], body: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) throw new BadRequest(`${key} is not a supported element of the search request`);
  }
  const aggs = (body.aggs ?? body.aggregations) as Record<string, unknown> | undefined;
  const size = Number(body.size ?? 10);
  const from = Number(body.from ?? 0);
  if (!Number.isInteger(size) || size < 0 || size > (aggs ? 1000 : 10_000)) throw new BadRequest("size out of range");
  if (aggs) checkNesting(aggs, false);
  const hits = docs.filter((d) => matches(d, (body.query ?? { match_all: {} }) as Record<string, unknown>));
  const post = body.post_filter ? hits.filter((d) => matches(d, body.post_filter as Record<string, unknown>)) : hits;
  const sorts = list(body.sort).map((s) => {
    const [name, spec] = typeof s === "string" ? [s, "asc"] : only(s);
    if (name === "message") throw new BadRequest("Can't sort on analyzed field message");
    const order = typeof spec === "string" ? spec : String((spec as { order?: string }).order ?? "asc");
    return { name, desc: order === "desc" };
  });
  const key = (d: FakeLogDoc, name: string) =>
    name === "@timestamp" ? Date.parse(d._source["@timestamp"]) : str(field(d, name)) ?? "";
  post.sort((a, b) => {
    for (const { name, desc } of sorts) {
      const x = key(a, name);
      const y = key(b, name);
      if (x < y) return desc ? 1 : -1;
      if (x > y) return desc ? -1 : 1;
    }
    return 0;
  });
  return {
    took: 1,
    timed_out: false,
    hits: {
      total: post.length,
      max_score: null,
      hits: post.slice(from, from + size).map((d) => ({
        _index: "logzioCustomerIndex",
        _type: "doc",
        _id: d._id,
        _score: null,
        _source: d._source,
        sort: sorts.map(({ name }) => key(d, name)),
      })),
    },
    ...(aggs ? { aggregations: aggregate(hits, aggs) } : {}),
  };
}

/**
 * Starts the fake on a free loopback port.
 *
 * @param docs Documents to serve.
 * @returns The fake; `await using` closes it.
 */
export function startFakeLogzio(docs: FakeLogDoc[] = []): FakeLogzio {
  const token = `logzio-token-${crypto.randomUUID()}`;
  const throttledToken = `throttled-${crypto.randomUUID()}`;
  const store = [...docs];
  const requests: Record<string, unknown>[] = [];
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
  const backend = serveFakeBackend(async (request) => {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/v1/search") return json(404, { message: "Not found" });
    const given = request.headers.get("x-api-token");
    if (given === throttledToken) return json(429, { message: "Too many requests" }, { "retry-after": "30" });
    if (given !== token) return json(401, { code: 401, message: "Unauthorized: invalid API token" });
    let body: Record<string, unknown>;
    try {
      body = await request.json();
    } catch {
      return json(400, { message: "Malformed JSON" });
    }
    requests.push(body);
    try {
      return json(200, search(store, body));
    } catch (error) {
      if (error instanceof BadRequest) return json(400, { message: error.message });
      throw error;
    }
  });
  return { ...backend, token, throttledToken, requests, add: (more) => void store.push(...more) };
}
