/**
 * The tabs: Configuration and Logs of a project, answered by whichever
 * plugin the bindings select.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { FilterOp, LogQuery } from "@imbi/plugin-sdk/types";
import { BadRequestError } from "../core/errors.ts";
import { MASKED_VALUE, type TabAnswer, type TabRequest } from "../core/tabs.ts";
import { jsonListStream, SLICE_ITEMS } from "../core/slices.ts";
import { EncodedList } from "../core/encoded_list.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, operations, type QueryOf, type Success } from "./_openapi.ts";
import {
  configPut,
  configPutDocumented,
  configValues,
  logsQuery,
  object,
  type Schema,
  tabQuery,
  tabSource,
} from "./_schemas.ts";

/** Every tab operation calls the plugin the bindings select. */
const op = operations("Tabs", { pluginCall: true });
const histogramQuery = { ...logsQuery, buckets: { type: "integer", minimum: 1, maximum: 500, default: 60 } } as const;
const configKey = {
  type: "object",
  required: ["key", "data_type", "secret"],
  properties: {
    key: { type: "string" },
    data_type: { type: "string" },
    secret: { type: "boolean" },
    last_modified: { type: "string", format: "date-time" },
  },
} as const;
/**
 * A tab's 200: the `source` block and the given properties, described by
 * their names (`{source, items, prefix?}`).
 *
 * @param properties What the plugin answered, by name.
 * @param required The ones always present besides `source`.
 */
function tabAnswer(properties: Record<string, Schema>, required: readonly string[]): Success {
  const names = Object.keys(properties).map((name) => required.includes(name) ? name : `${name}?`);
  const description = `\`{${["source", ...names].join(", ")}}\``;
  return ok(description, object({ source: tabSource, ...properties }, ["source", ...required]));
}
const warnings = {
  type: "array",
  items: { type: "string" },
  description: "e.g. that the plugin does not support histograms (then buckets is empty)",
} as const;
const keysAnswer = tabAnswer({
  items: { type: "array", items: configKey },
  prefix: {
    type: ["string", "null"],
    description: "where the keys live, e.g. ssm://us-east-1/acme/web/; only when the plugin implements describePrefix",
  },
}, ["items"]);
const configValue = object({
  ...configKey.properties,
  value: {
    type: "string",
    description: `the value; "${MASKED_VALUE}" for a secret key unless the caller holds the admin token`,
  },
  masked: { const: true, description: "present when value is the mask, not the value" },
}, [...configKey.required, "value"]);
const valuesAnswer = tabAnswer({ items: { type: "array", items: configValue } }, ["items"]);
const histogramBucket = object({
  timestamp: { type: "string", format: "date-time" },
  count: { type: "integer" },
  levels: { type: "object", additionalProperties: { type: "integer" } },
});
const histogramAnswer = tabAnswer({ buckets: { type: "array", items: histogramBucket }, warnings }, [
  "buckets",
  "warnings",
]);
const logEntry = object({
  timestamp: { type: "string", description: "ISO 8601" },
  level: { type: "string" },
  message: { type: "string" },
  fields: { type: "object" },
}, ["timestamp", "message", "fields"]);
const logsAnswer = tabAnswer({
  entries: { type: "array", items: logEntry },
  next_cursor: { type: "string", description: "present when more entries match: pass it back as cursor" },
  warnings,
}, ["entries", "warnings"]);
const logField = object({ name: { type: "string" }, label: { type: "string" }, type: { type: "string" } }, [
  "name",
  "label",
  "type",
]);
const fieldsAnswer = tabAnswer({ fields: { type: "array", items: logField } }, ["fields"]);
const ops = {
  listKeys: op.read("Configuration keys (no values), and their prefix when the plugin describes one", {
    query: tabQuery,
    success: keysAnswer,
    cached: true,
  }),
  values: op.read(
    "Configuration values of some or all keys (missing keys omitted; secret ones masked for read tokens)",
    {
      query: tabQuery,
      body: configValues,
      success: valuesAnswer,
      cached: true,
    },
  ),
  put: op.admin("Write one configuration key", {
    query: tabQuery,
    body: configPut,
    documentedBody: ({ dataTypes }) => configPutDocumented(dataTypes),
    success: tabAnswer({ item: configKey }, ["item"]),
  }),
  delete: op.admin("Delete one configuration key (idempotent)", {
    query: tabQuery,
    success: tabAnswer({}, []),
  }),
  logs: op.read("Search logs, newest first", {
    query: logsQuery,
    success: logsAnswer,
  }),
  schema: op.read("Searchable log fields", {
    query: tabQuery,
    success: fieldsAnswer,
    cached: true,
  }),
  histogram: op.read("Log counts per time bucket (none, with a warning, when the plugin has no histogram)", {
    query: histogramQuery,
    success: histogramAnswer,
  }),
};

/** Where the tab routes hang. */
const PROJECT = "/orgs/:org/projects/:id";

/** A request to a tab route, with the tab query validated. */
type TabContext = Context<AppEnv, typeof PROJECT, { out: { query: QueryOf<typeof tabQuery> } }>;

/** `Cache-Control: no-cache` (or `no-store`, or `max-age=0`) asks for an answer from the plugin itself. */
const NO_CACHE = /(?:^|,)\s*(?:no-cache|no-store|max-age\s*=\s*"?0"?)\s*(?:,|$)/i;

function tabRequest(c: TabContext): TabRequest {
  const { source, environment } = c.req.valid("query");
  return {
    org: c.req.param("org"),
    project: c.req.param("id"),
    source,
    environment,
    requestId: c.get("requestId"),
    revealSecrets: c.get("access") === "admin",
    bypassCache: NO_CACHE.test(c.req.header("cache-control") ?? ""),
  };
}

/**
 * A tab's answer as the API shows it: the source block and the result under `field`. A cacheable read sets
 * `Age` (RFC 9111 section 5.1): seconds since the plugin gave the answer, 0 when it was called for this request.
 */
function reply<T>(c: Context, answer: TabAnswer<T>, field: string): Record<string, unknown> {
  if (answer.age !== undefined) c.header("Age", String(answer.age));
  return { source: answer.source, [field]: answer.result };
}

const JSON_TYPE = { "content-type": "application/json" };
const utf8 = new TextEncoder();

/**
 * The JSON text of results the response cache answered (it hands out the same object on every hit) and of source
 * blocks (`Tabs` makes one per target, entry and `cached`).
 */
const cachedJson = new WeakMap<object, string>();

/**
 * `c.json()` of {@linkcode reply} followed by `extra`'s members, the result of a cache hit serialised once per cache
 * entry instead of on every hit (a listing of 50 keys is most of a cached answer's serialisation).
 */
function replyJson<T>(c: Context, answer: TabAnswer<T>, field: string, extra: Record<string, unknown> = {}): Response {
  const result = answer.result;
  if (!answer.source.cached || typeof result !== "object" || result === null) {
    return c.json({ ...reply(c, answer, field), ...extra });
  }
  let text = cachedJson.get(result);
  if (text === undefined) cachedJson.set(result, text = JSON.stringify(result));
  let source = cachedJson.get(answer.source);
  if (source === undefined) cachedJson.set(answer.source, source = JSON.stringify(answer.source));
  const rest = JSON.stringify(extra).slice(1, -1);
  // Headers in the init, not through `c.header()`: Hono would copy a `Headers` object of its own into the response.
  return new Response(
    `{"source":${source},${JSON.stringify(field)}:${text}${rest && `,${rest}`}}`,
    { headers: answer.age === undefined ? JSON_TYPE : { ...JSON_TYPE, age: String(answer.age) } },
  );
}

/**
 * A long list's response; null for a short one, which the caller answers in one piece. A list of megabytes arrives
 * encoded by the answer worker, and its bytes are written between the members around it as they are; a list of more
 * than {@linkcode SLICE_ITEMS} items is streamed, serialised a slice at a time with the event loop let in between (a
 * plugin's 100,000 keys would otherwise hold every other request for the whole `JSON.stringify`).
 */
function longList(
  answer: TabAnswer<readonly unknown[] | EncodedList>,
  field: string,
  extra: Record<string, unknown> = {},
): Response | null {
  const { result, source } = answer;
  const headers = answer.age === undefined ? JSON_TYPE : { ...JSON_TYPE, age: String(answer.age) };
  if (result instanceof EncodedList) {
    const rest = JSON.stringify(extra).slice(1, -1);
    // Three chunks: the list's bytes go to the connection as they are, and a cached one is never copied.
    const parts = [
      utf8.encode(`{"source":${JSON.stringify(source)},${JSON.stringify(field)}:`),
      result.json,
      utf8.encode(`${rest && `,${rest}`}}`),
    ];
    return new Response(ReadableStream.from(parts), { headers });
  }
  if (result.length <= SLICE_ITEMS) return null;
  return new Response(jsonListStream({ source }, field, result, extra), { headers });
}

function logQuery(query: QueryOf<typeof logsQuery>, now: Date): LogQuery {
  const parse = (name: "start" | "end", fallback: number) => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    const at = Date.parse(raw);
    if (Number.isNaN(at)) {
      throw new BadRequestError(`${name} is not an ISO 8601 time`, {
        errors: [{ pointer: `/${name}`, message: "must be an ISO 8601 time" }],
      });
    }
    return at;
  };
  const end = parse("end", now.getTime());
  const start = parse("start", end - 3_600_000);
  if (start > end) {
    throw new BadRequestError("start is after end", {
      errors: [{ pointer: "/start", message: "must not be after end" }],
    });
  }
  const filters = (query.filter ?? []).map((text) => {
    const [field, op, ...rest] = text.split(":");
    return { field: field!, op: op as FilterOp, value: rest.join(":") };
  });
  return {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    filters,
    levels: query.level ?? [],
    limit: query.limit,
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
  };
}

/**
 * Tab routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function projectTabRoutes(deps: AppDeps): Hono<AppEnv> {
  const { tabs, clock } = deps;
  return new Hono<AppEnv>()
    .basePath(PROJECT)
    .get("/configuration", ops.listKeys, async (c) => {
      const answer = await tabs.listKeys(tabRequest(c));
      const extra = "prefix" in answer ? { prefix: answer.prefix } : {};
      return longList(answer, "items", extra) ?? replyJson(c, answer, "items", extra);
    })
    .post("/configuration/values", ops.values, async (c) => {
      const answer = await tabs.getValues(tabRequest(c), c.req.valid("json").keys);
      return longList(answer, "items") ?? c.json(reply(c, answer, "items"));
    })
    .put("/configuration/:key", ops.put, async (c) => {
      const answer = await tabs.setValue(tabRequest(c), c.req.param("key"), c.req.valid("json"));
      return c.json(reply(c, answer, "item"));
    })
    .delete("/configuration/:key", ops.delete, async (c) => {
      const answer = await tabs.deleteKey(tabRequest(c), c.req.param("key"));
      return c.json({ source: answer.source });
    })
    .get("/logs", ops.logs, async (c) => {
      const answer = await tabs.search(tabRequest(c), logQuery(c.req.valid("query"), clock()));
      return c.json({ source: answer.source, ...answer.result });
    })
    .get("/logs/schema", ops.schema, async (c) => replyJson(c, await tabs.schema(tabRequest(c)), "fields"))
    .get("/logs/histogram", ops.histogram, async (c) => {
      const query = c.req.valid("query");
      const answer = await tabs.histogram(tabRequest(c), logQuery(query, clock()), query.buckets);
      return c.json({ ...reply(c, answer, "buckets"), warnings: answer.warnings });
    });
}
