/**
 * The tabs: Configuration and Logs of a project, answered by whichever
 * plugin the bindings select.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import type { FilterOp, LogQuery } from "@imbi/plugin-sdk/types";
import { BadRequestError } from "../core/errors.ts";
import type { TabRequest } from "../core/tabs.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation, params, readBody, readQuery } from "./_openapi.ts";
import { configPut, configValues, logsQuery, tabQuery } from "./_schemas.ts";

const TAG = "Tabs";
const P = "/orgs/{org}/projects/{id}";
const ops = {
  listKeys: operation({
    method: "get",
    path: `${P}/configuration`,
    summary: "Configuration keys (no values)",
    tag: TAG,
    query: tabQuery,
    success: { status: 200, description: "`{source, items, prefix}`" },
    auth: "read",
  }),
  values: operation({
    method: "post",
    path: `${P}/configuration/values`,
    summary: "Configuration values of some or all keys (missing keys omitted)",
    tag: TAG,
    query: tabQuery,
    body: configValues,
    success: { status: 200, description: "`{source, items}`" },
    auth: "read",
  }),
  put: operation({
    method: "put",
    path: `${P}/configuration/{key}`,
    summary: "Write one configuration key",
    tag: TAG,
    query: tabQuery,
    body: configPut,
    success: { status: 200, description: "`{source, item}`" },
    auth: "admin",
  }),
  delete: operation({
    method: "delete",
    path: `${P}/configuration/{key}`,
    summary: "Delete one configuration key (idempotent)",
    tag: TAG,
    query: tabQuery,
    success: { status: 200, description: "`{source}`" },
    auth: "admin",
  }),
  logs: operation({
    method: "get",
    path: `${P}/logs`,
    summary: "Search logs, newest first",
    tag: TAG,
    query: logsQuery,
    success: { status: 200, description: "`{source, entries, next_cursor?, warnings}`" },
    auth: "read",
  }),
  schema: operation({
    method: "get",
    path: `${P}/logs/schema`,
    summary: "Searchable log fields",
    tag: TAG,
    query: tabQuery,
    success: { status: 200, description: "`{source, fields}`" },
    auth: "read",
  }),
  histogram: operation({
    method: "get",
    path: `${P}/logs/histogram`,
    summary: "Log counts per time bucket",
    tag: TAG,
    query: { ...logsQuery, buckets: { type: "integer", minimum: 1, maximum: 500, default: 60 } },
    success: { status: 200, description: "`{source, buckets}`" },
    auth: "read",
  }),
};

function tabRequest(c: Context<AppEnv>, query: Record<string, unknown>): TabRequest {
  return {
    org: params(c).org,
    project: params(c).id,
    source: query.source as string | undefined,
    environment: query.environment as string | undefined,
    requestId: c.get("requestId"),
  };
}

function logQuery(query: Record<string, unknown>, now: Date): LogQuery {
  const parse = (name: string, fallback: number) => {
    const raw = query[name] as string | undefined;
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
  const filters = ((query.filter as string[] | undefined) ?? []).map((text) => {
    const [field, op, ...rest] = text.split(":");
    return { field: field!, op: op as FilterOp, value: rest.join(":") };
  });
  return {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    filters,
    levels: (query.level as string[] | undefined) ?? [],
    limit: query.limit as number,
    ...(query.cursor !== undefined ? { cursor: query.cursor as string } : {}),
  };
}

/**
 * Tab routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function projectTabRoutes(deps: AppDeps): Hono<AppEnv> {
  const { tabs } = deps;
  const app = new Hono<AppEnv>();
  app.get(ops.listKeys.route, async (c) => {
    const answer = await tabs.listKeys(tabRequest(c, readQuery(c, ops.listKeys)));
    return c.json({ source: answer.source, items: answer.result });
  });
  app.post(ops.values.route, async (c) => {
    const request = tabRequest(c, readQuery(c, ops.values));
    const body = await readBody<{ keys?: string[] }>(c, ops.values);
    const answer = await tabs.getValues(request, body.keys);
    return c.json({ source: answer.source, items: answer.result });
  });
  app.put(ops.put.route, async (c) => {
    const request = tabRequest(c, readQuery(c, ops.put));
    const body = await readBody<{ value: string; data_type: string }>(c, ops.put);
    const answer = await tabs.setValue(request, params(c).key, body);
    return c.json({ source: answer.source, item: answer.result });
  });
  app.delete(ops.delete.route, async (c) => {
    const answer = await tabs.deleteKey(tabRequest(c, readQuery(c, ops.delete)), params(c).key);
    return c.json({ source: answer.source });
  });
  app.get(ops.logs.route, async (c) => {
    const query = readQuery(c, ops.logs);
    const answer = await tabs.search(tabRequest(c, query), logQuery(query, deps.clock()));
    return c.json({ source: answer.source, ...answer.result });
  });
  app.get(ops.schema.route, async (c) => {
    const answer = await tabs.schema(tabRequest(c, readQuery(c, ops.schema)));
    return c.json({ source: answer.source, fields: answer.result });
  });
  app.get(ops.histogram.route, async (c) => {
    const query = readQuery(c, ops.histogram);
    const answer = await tabs.histogram(tabRequest(c, query), logQuery(query, deps.clock()), query.buckets as number);
    return c.json({ source: answer.source, buckets: answer.result });
  });
  return app;
}
