/**
 * The operation table. Every route declares its operation once, between its
 * path and its handler:
 *
 * ```ts
 * const op = operations("Directory");
 * const rename = op.admin("Rename an organization", { body: namedUpdate, success: ok("Updated", orgView) });
 * app.patch("/orgs/:org", rename, async (c) => c.json(await store.updateOrg(c.req.param("org"), c.req.valid("json"))));
 * ```
 *
 * The declaration is the route's first middleware: it enforces the declared
 * auth level, then validates the query and the body against their JSON
 * Schemas, and the handler reads both typed from those schemas
 * (`c.req.valid("query")`, `c.req.valid("json")`) while Hono types the path
 * parameters from the path. `/openapi.json` is built from the same
 * declarations, read back from the app's routes with
 * {@linkcode declaredOperations}.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { FromSchema, JSONSchema } from "json-schema-to-ts";
import { BadRequestError, ValidationError } from "../core/errors.ts";
import { validate } from "../core/validation.ts";
import type { AppEnv } from "./_deps.ts";
import { type AuthLevel, authorize } from "./_auth.ts";
import { problemResponse, PROBLEMS } from "./_problem.ts";
import { readIfMatch } from "./_etag.ts";
import type { Schema } from "./_schemas.ts";

/** Query parameters: name to schema. A parameter that may be repeated has `type: "array"`. */
export type QuerySchema = Readonly<Record<string, Schema>>;

/** The success response of an operation. */
export interface Success {
  /** The status code. */
  status: number;
  /** What it returns, in words. */
  description: string;
  /** What it returns, as a schema (none only for a 204). */
  schema?: Schema;
  /** Its media type; default `application/json`. */
  mediaType?: string;
}

/**
 * The statuses of problem responses an operation may declare beyond the ones
 * its declaration implies (see {@linkcode problemStatuses}).
 */
export type ProblemStatus = 404 | 409 | 422 | 502 | 503 | 504;

/** What an operation declares besides its method and path (its route gives those). */
export interface OperationSpec<
  B extends Schema | undefined = Schema | undefined,
  Q extends QuerySchema | undefined = QuerySchema | undefined,
> {
  /** The OpenAPI tag it is listed under. */
  tag: string;
  /** One line on what it does. */
  summary: string;
  /** Who may call it. */
  auth: AuthLevel;
  /** The request body schema, when there is one. */
  body?: B;
  /** The query parameters, when there are any. */
  query?: Q;
  /** The success response. */
  success: Success;
  /** The success response carries the resource's `ETag` (see `_etag.ts`). */
  etag?: boolean;
  /** The request may carry `If-Match`; a tag that no longer matches answers 412. */
  ifMatch?: boolean;
  /**
   * The operation calls a plugin: its failures answer 404, 409, 422, 502,
   * 503 or 504 (`routes/_problem.ts` maps each plugin error kind).
   */
  pluginCall?: boolean;
  /**
   * A tab read the response cache may answer: the request may carry `Cache-Control: no-cache`, and the answer of a
   * cacheable Plugin node carries `Age`.
   */
  cached?: boolean;
  /** Problem statuses the operation answers beyond those its declaration implies. */
  problems?: readonly ProblemStatus[];
  /** A non-problem response besides the success, e.g. the 503 of `/readyz` that has the same shape. */
  alternative?: Success;
  /**
   * The body schema as `/openapi.json` shows it, when it depends on what is
   * installed (the data types the loaded manifests declare); `body` still
   * validates.
   */
  documentedBody?: (installed: Installed) => Schema;
}

/** What is installed, for the parts of `/openapi.json` that depend on it. */
export interface Installed {
  /** The names in the `data_types` of every loaded configuration entry point, sorted, without repeats. */
  dataTypes: readonly string[];
}

/** A declared operation as `/openapi.json` lists it. */
export interface Operation extends OperationSpec {
  /** The HTTP method, lower case. */
  method: string;
  /** OpenAPI style: `/orgs/{org}`. */
  path: string;
}

/** The TypeScript type of what a (literal) schema validates; defaulted properties are always present. */
export type JsonOf<S> = Schema extends S ? unknown : S extends JSONSchema ? FromSchema<S> : never;

/** The TypeScript type of a validated query: defaulted parameters are always present. */
export type QueryOf<Q> = JsonOf<{ type: "object"; properties: Q; additionalProperties: false }>;

/**
 * What a declared operation hands its handler: `c.req.valid("json")` and
 * `c.req.valid("query")`, typed from their schemas.
 */
export type OperationInput<B, Q> = {
  out:
    & (B extends Schema ? { json: JsonOf<B> } : Record<never, never>)
    & (Q extends QuerySchema ? { query: QueryOf<Q> } : Record<never, never>);
};

/** The middleware an operation declaration is, typed for its handler. */
export type OperationMiddleware<B, Q> = MiddlewareHandler<AppEnv, string, OperationInput<B, Q>>;

/** The declaration behind each operation middleware. */
const declarations = new WeakMap<object, OperationSpec>();

function operation(spec: OperationSpec): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const refused = authorize(c, spec.auth);
    if (refused) return refused;
    if (spec.ifMatch) c.set("ifMatch", readIfMatch(c));
    if (spec.query) c.req.addValidatedData("query", readQuery(c, spec.query));
    if (spec.body) {
      if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
        return problemResponse({
          ...PROBLEMS.unsupportedMediaType,
          detail: "The request body must be JSON (Content-Type: application/json)",
        }, { accept: "application/json" });
      }
      c.req.addValidatedData("json", await readBody(c, spec.body));
    }
    await next();
  };
  declarations.set(middleware, spec);
  return middleware;
}

/** What an operation declares besides its tag, auth level and summary. */
export type OperationDetails<B extends Schema | undefined, Q extends QuerySchema | undefined> = Omit<
  OperationSpec<B, Q>,
  "tag" | "auth" | "summary"
>;

/** Declares one operation: its summary, then its schemas and success response. */
export type Declare = <
  const B extends Schema | undefined = undefined,
  const Q extends QuerySchema | undefined = undefined,
>(summary: string, details: OperationDetails<B, Q>) => OperationMiddleware<B, Q>;

/** Declares operations under one tag: `admin`, `read` or `none` after who may call them. */
export type Operations = Record<AuthLevel, Declare>;

/**
 * Declares operations under one tag. Each declaration is the middleware
 * that goes between a route's path and its handler.
 *
 * @param tag The OpenAPI tag.
 * @param shared What every operation under the tag declares: `pluginCall` when each calls a plugin.
 * @returns One declaring method per auth level.
 * @example
 * ```ts
 * const op = operations("Directory");
 * app.get("/orgs", op.read("List organizations", { query: pageQuery, success: ok("The organizations", listOf(namedCreate)) }), handler);
 * ```
 */
export function operations(tag: string, shared: Pick<OperationSpec, "pluginCall"> = {}): Operations {
  const declare = (auth: AuthLevel): Declare => (summary, details) =>
    operation({ ...shared, ...details, tag, summary, auth });
  return { admin: declare("admin"), read: declare("read"), none: declare("none") };
}

/**
 * A 200 success.
 *
 * @param description What it returns.
 * @param schema Its schema.
 * @returns The success declaration.
 */
export function ok(description: string, schema: Schema): Success {
  return { status: 200, description, schema };
}

/**
 * A 201 success.
 *
 * @param description What it returns.
 * @param schema Its schema.
 * @returns The success declaration.
 */
export function created(description: string, schema: Schema): Success {
  return { status: 201, description, schema };
}

/** The 204 of a delete. */
export const deleted: Success = { status: 204, description: "Deleted" };

/** `application/json` and `application/<something>+json`, any parameters. */
const JSON_TYPE = /^application\/([a-z.+-]*\+)?json\s*(;|$)/i;

/**
 * Parses and validates a JSON body (its content type was checked).
 *
 * @throws {BadRequestError} For malformed JSON.
 * @throws {ValidationError} With a pointer per bad field.
 */
async function readBody(c: Context, schema: Schema): Promise<NonNullable<unknown>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch (error) {
    throw new BadRequestError(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  const result = validate(schema, raw);
  if (!result.ok) throw new ValidationError("The request body is not valid", result.errors);
  return result.value ?? {}; // every body schema is an object: never null here
}

/** The object schema of each declared query, built once per declaration. */
const querySchemas = new WeakMap<QuerySchema, Schema>();

function querySchema(query: QuerySchema): Schema {
  let schema = querySchemas.get(query);
  if (!schema) {
    schema = { type: "object", properties: query };
    querySchemas.set(query, schema);
  }
  return schema;
}

/**
 * Reads and validates query parameters: a list for `type: "array"` ones,
 * integers converted, defaults applied.
 *
 * @throws {BadRequestError} With a pointer per bad parameter.
 */
function readQuery(c: Context, query: QuerySchema): Record<string, unknown> {
  const bare = !c.req.url.includes("?");
  const known = bare ? bareQueries.get(query) : undefined;
  if (known !== undefined) return { ...known };
  const raw: Record<string, unknown> = {};
  const errors: { pointer: string; message: string }[] = [];
  for (const [name, schema] of Object.entries(query)) {
    const values = c.req.queries(name) ?? [];
    if (values.length === 0) continue;
    const repeatable = schema.type === "array";
    if (!repeatable && values.length > 1) {
      errors.push({ pointer: `/${name}`, message: "must be given once" });
      continue;
    }
    const converted = values.map((v) => (schema.type === "integer" && /^-?\d+$/.test(v) ? Number(v) : v));
    // Past 2^53 a number is no longer the integer written: refuse it here, whatever the schema's bounds.
    if (converted.some((v) => typeof v === "number" && !Number.isSafeInteger(v))) {
      errors.push({ pointer: `/${name}`, message: "must be an integer between -(2^53 - 1) and 2^53 - 1" });
      continue;
    }
    raw[name] = repeatable ? converted : converted[0];
  }
  const result = validate(querySchema(query), raw);
  if (!result.ok) errors.push(...result.errors);
  if (errors.length > 0) throw new BadRequestError("Invalid query parameters", { errors });
  const value = result.ok ? result.value as Record<string, unknown> : raw;
  if (bare && Object.values(value).every((v) => typeof v !== "object" || v === null)) {
    bareQueries.set(query, { ...value });
  }
  return value;
}

/** What a request without a query string validates to, per query schema (only defaults: the same every time). */
const bareQueries = new WeakMap<QuerySchema, Record<string, unknown>>();

/**
 * Hono's `/orgs/:org` and `/admin/plugins/:package{.+}` as OpenAPI's `/orgs/{org}`.
 *
 * @param route A route path, Hono style.
 * @returns The path, OpenAPI style.
 */
export function openApiPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)(\{[^/]*\})?/g, "{$1}");
}

/**
 * Every operation an app declares, in the order its routes were added.
 * Declarations are found on the routes' handlers, so they must be mounted
 * with `app.route()` from sub-apps without their own `onError`.
 *
 * @param app The app, with every resource mounted.
 * @returns The operations.
 */
export function declaredOperations(
  app: { routes: readonly { method: string; path: string; handler: object }[] },
): Operation[] {
  return app.routes.flatMap((route) => {
    const spec = declarations.get(route.handler);
    return spec ? [{ ...spec, method: route.method.toLowerCase(), path: openApiPath(route.path) }] : [];
  });
}

const PROBLEM_SCHEMA = {
  type: "object",
  description: "An RFC 9457 problem; validation problems name each bad field by JSON pointer",
  required: ["type", "title", "status", "detail"],
  properties: {
    type: { type: "string", format: "uri", description: "https://imbi.dev/problems/<slug>" },
    title: { type: "string" },
    status: { type: "integer", minimum: 400, maximum: 599 },
    detail: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        required: ["pointer", "message"],
        properties: {
          pointer: { type: "string", description: "JSON pointer (RFC 6901) to the bad value or parameter" },
          message: { type: "string", description: "the rule it breaks" },
        },
      },
    },
  },
};

/** Each problem response: the components name, the status and when it is answered. */
const PROBLEM_RESPONSES = {
  400: ["BadRequest", "Malformed JSON, a bad query parameter or header (each named by pointer)"],
  401: ["Unauthorized", "No bearer token, or not a valid one"],
  403: ["Forbidden", "A read-only token on an admin operation"],
  404: ["NotFound", "Nothing at this path (a path parameter names nothing)"],
  409: ["Conflict", "The write conflicts with the stored state (exists, in use, concurrent write)"],
  412: ["PreconditionFailed", "If-Match names none of the resource's current ETag"],
  413: ["PayloadTooLarge", "The body is larger than IMBI_MAX_BODY_BYTES; refused before it is read"],
  415: ["UnsupportedMediaType", "The body is not application/json"],
  422: ["Validation", "The body breaks its schema or a rule (each field named by pointer)"],
  500: ["Internal", "An unexpected error; the body quotes the request id, never the cause"],
  502: ["BadGateway", "The plugin, its backend or the package registry failed"],
  503: ["Unavailable", "The graph store or the plugin cannot answer now; retry after Retry-After seconds"],
  504: ["Timeout", "The plugin overran its deadline"],
} as const satisfies Record<number, readonly [string, string]>;

type Status = keyof typeof PROBLEM_RESPONSES;

const RETRY_AFTER = { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 1 } };
const CHALLENGE = { description: 'Bearer realm="imbi"', schema: { type: "string" } };

function problemComponents(): Record<string, unknown> {
  const content = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } };
  return Object.fromEntries(
    Object.entries(PROBLEM_RESPONSES).map(([status, [name, description]]) => {
      const headers = status === "401"
        ? { "WWW-Authenticate": CHALLENGE }
        : status === "503"
        ? { "Retry-After": RETRY_AFTER }
        : undefined;
      return [name, { description, ...(headers ? { headers } : {}), content }];
    }),
  );
}

/**
 * The problem statuses an operation answers, from its declaration: 401 and
 * 403 from its auth level, 400 for a query or `If-Match`, 400/413/415/422
 * for a body, 404 for a path parameter, 409 for an admin write, 412 for
 * `If-Match`, 404/409/422/502/503/504 for a plugin call, 503 for anything
 * that reads the graph, 500 always, and what it declares in `problems`.
 *
 * @param op The operation.
 * @returns The statuses, ascending.
 */
function problemStatuses(op: Operation): Status[] {
  const statuses = new Set<Status>([500]);
  const add = (...more: Status[]) => more.forEach((s) => statuses.add(s));
  if (op.auth !== "none") add(401, 503);
  if (op.auth === "admin") add(403);
  if (op.query || op.ifMatch) add(400);
  if (op.body) add(400, 413, 415, 422);
  if (op.path.includes("{")) add(404);
  if (op.auth === "admin" && op.method !== "get") add(409);
  if (op.ifMatch) add(412);
  if (op.pluginCall) add(404, 409, 422, 502, 503, 504);
  add(...(op.problems ?? []));
  return [...statuses].sort((a, b) => a - b);
}

const ETAG_HEADER = {
  description: "Strong entity tag of the resource's stored state; send it back in If-Match to update or delete " +
    "only what you read",
  schema: { type: "string", example: '"x3Jp0Qd2kVQ5lE0ZB6m9hA"' },
};

const IF_MATCH_PARAMETER = {
  name: "If-Match",
  in: "header",
  required: false,
  description: "Write only while the resource's ETag is one of these (`*`: it exists); else 412 (RFC 9110 13.1.1)",
  schema: {
    type: "string",
    pattern: '^ *([*]|(W/)?"[\\x21\\x23-\\x7E]*"( *, *(W/)?"[\\x21\\x23-\\x7E]*")*) *$',
    description: '`*`, or entity tags as the ETag header gave them: `"x3Jp0Qd2kVQ5lE0ZB6m9hA"`',
  },
};

const AGE_HEADER = {
  description: "Seconds since the plugin gave this answer (0: it was asked for this request); only on reads of a " +
    "Plugin node whose manifest sets hints.cacheable while the response cache is on",
  schema: { type: "integer", minimum: 0 },
};

const CACHE_CONTROL_PARAMETER = {
  name: "Cache-Control",
  in: "header",
  required: false,
  description: "`no-cache` (or `no-store`, `max-age=0`): ask the plugin even when this replica's response cache " +
    "holds an answer; the fresh answer replaces the cached one",
  schema: { type: "string" },
};

function operationId(op: Operation): string {
  const words = op.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, ch) => (ch ?? "").toUpperCase());
  return `${op.method}${words}`;
}

function successResponse(success: Success, op: { etag?: boolean; cached?: boolean }): Record<string, unknown> {
  const { description, schema, mediaType = "application/json" } = success;
  const headers = {
    ...(op.etag ? { ETag: { $ref: "#/components/headers/ETag" } } : {}),
    ...(op.cached ? { Age: { $ref: "#/components/headers/Age" } } : {}),
  };
  return {
    description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(schema ? { content: { [mediaType]: { schema } } } : {}),
  };
}

function describe(op: Operation, installed: Installed): Record<string, unknown> {
  const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = Object.entries(op.query ?? {}).map(([name, schema]) =>
    schema.type === "array"
      ? { name, in: "query", required: false, explode: true, schema: { type: "array", items: schema.items ?? {} } }
      : { name, in: "query", required: false, schema }
  );
  const responses: Record<string, unknown> = { [String(op.success.status)]: successResponse(op.success, op) };
  if (op.alternative) responses[String(op.alternative.status)] = successResponse(op.alternative, {});
  for (const status of problemStatuses(op)) {
    responses[String(status)] ??= { $ref: `#/components/responses/${PROBLEM_RESPONSES[status][0]}` };
  }
  return {
    summary: op.summary,
    tags: [op.tag],
    operationId: operationId(op),
    parameters: [
      ...params,
      ...query,
      ...(op.ifMatch ? [{ $ref: "#/components/parameters/IfMatch" }] : []),
      ...(op.cached ? [{ $ref: "#/components/parameters/CacheControl" }] : []),
    ],
    ...(op.body
      ? {
        requestBody: {
          required: true,
          content: { "application/json": { schema: op.documentedBody?.(installed) ?? op.body } },
        },
      }
      : {}),
    responses,
    // OpenAPI 3.1 lets a bearer requirement list roles: admin operations need the admin token.
    ...(op.auth === "none" ? { security: [] } : op.auth === "admin" ? { security: [{ bearer: ["admin"] }] } : {}),
  };
}

/**
 * The OpenAPI 3.1 document of some operations.
 *
 * @param operations What {@linkcode declaredOperations} found.
 * @param info Title and version, and what is installed (no data types when not given).
 * @returns The document.
 */
export function openApiDocument(
  operations: readonly Operation[],
  info: { title: string; version: string; installed?: Installed },
): Record<string, unknown> {
  const { installed = { dataTypes: [] }, ...titled } = info;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) (paths[op.path] ??= {})[op.method] = describe(op, installed);
  const tags = [...new Set(operations.map((op) => op.tag))].map((name) => ({ name, description: TAGS[name] ?? name }));
  return {
    openapi: "3.1.0",
    info: {
      ...titled,
      description: "Imbi's plugin runtime: the directory graph, Plugin nodes, and the Configuration and Logs tabs " +
        "answered by sandboxed plugins. Every error is an RFC 9457 problem (application/problem+json).",
    },
    servers: [{ url: "/", description: "This service" }],
    tags,
    paths,
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Problem: PROBLEM_SCHEMA },
      headers: { ETag: ETAG_HEADER, Age: AGE_HEADER },
      parameters: { IfMatch: IF_MATCH_PARAMETER, CacheControl: CACHE_CONTROL_PARAMETER },
      responses: problemComponents(),
    },
  };
}

/** What each tag groups. */
const TAGS: Record<string, string> = {
  Operations: "Liveness, readiness and this document; no token needed",
  Directory: "Organizations, project types and projects",
  Vendors: "Third-party services, their applications (write-only credentials) and Plugin nodes",
  Bindings: "Which Plugin nodes answer which tab of a project type or project",
  Tabs: "The Configuration and Logs tabs of a project, answered by the bound plugin",
  Admin: "Plugin packages, their lockfile history and audit, and credential keys; admin token only",
};
